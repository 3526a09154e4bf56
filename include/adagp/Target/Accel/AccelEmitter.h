//===- AccelEmitter.h - accel dialect -> accelerator program ----*- C++ -*-===//
//
// Encodes an `accel.program` (with the module's `accel.symbol` and
// `accel.data` ops) into an accelerator program: instructions through the
// ISA's encoder, labels resolved to instruction indices, data segments in
// storage order, and the SYMTAB and DMATAGS sections (adagp/ISA/
// ProgramInfo.h).
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_TARGET_ACCEL_ACCELEMITTER_H
#define ADAGP_TARGET_ACCEL_ACCELEMITTER_H

#include "adagp/ISA/ISA.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace adagp::accel {

/// Builds the program from the `accel.program` named `programName` (the
/// module's only program of kind "main" when empty). Diagnostics go to the
/// context.
llvm::LogicalResult translateToProgram(mlir::ModuleOp module,
                                       isa::Program &program,
                                       llvm::StringRef programName = {});

/// The binary .agp file, or with `asmText` the assembler's text form (which
/// `adagp-sim --assemble` turns into identical bytes).
llvm::LogicalResult emitAccelProgram(mlir::ModuleOp module, std::string &out,
                                     bool asmText,
                                     llvm::StringRef programName = {});

} // namespace adagp::accel

#endif // ADAGP_TARGET_ACCEL_ACCELEMITTER_H
