//===- AccelDialect.h - The accelerator's instructions as ops ---*- C++ -*-===//
//
// The `accel` dialect: one op per instruction of the ISA (adagp/ISA/ISA.h),
// containers (`accel.program`, `accel.label`) and the DRAM plan's outputs
// (`accel.symbol`, `accel.data`, `#accel.region`). The helpers below convert
// between ops and isa::Instruction, so that passes can build instructions
// with the ISA's own field enums and the emitter can encode them with the
// ISA's own encoder.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_DIALECT_ACCEL_ACCELDIALECT_H
#define ADAGP_DIALECT_ACCEL_ACCELDIALECT_H

#include "adagp/ISA/ISA.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "adagp/Dialect/Accel/AccelOpsDialect.h.inc"

#define GET_ATTRDEF_CLASSES
#include "adagp/Dialect/Accel/AccelOpsAttributes.h.inc"

namespace adagp::accel {

/// The generic instruction syntax shared by every instruction op.
mlir::ParseResult parseInstruction(mlir::OpAsmParser &parser,
                                   mlir::OperationState &result,
                                   isa::Opcode opcode);
void printInstruction(mlir::OpAsmPrinter &p, mlir::Operation *op,
                      isa::Opcode opcode);
/// Checks the function code, phase, dependency flags and every field against
/// the ISA's tables (ranges, required fields), and branch targets.
llvm::LogicalResult verifyInstruction(mlir::Operation *op,
                                      isa::Opcode opcode);

} // namespace adagp::accel

#define GET_OP_CLASSES
#include "adagp/Dialect/Accel/AccelOps.h.inc"

namespace adagp::accel {

/// The opcode of an instruction op, or std::nullopt for other ops (labels,
/// containers, foreign ops).
std::optional<isa::Opcode> getOpcode(mlir::Operation *op);

/// Creates the op for `inst` at the builder's insertion point. Branch and
/// jump targets are the label `target` (the instruction's target field is
/// ignored); `tensorClass` tags loads and stores. Fields at their default
/// value are left out.
mlir::Operation *createInstruction(mlir::OpBuilder &b, mlir::Location loc,
                                   const isa::Instruction &inst,
                                   llvm::StringRef target = {},
                                   llvm::StringRef tensorClass = {});

/// The instruction an op encodes. Branch/jump targets are left 0: the
/// emitter resolves labels (getTarget).
isa::Instruction toInstruction(mlir::Operation *op);
/// The label a branch or jump names, or empty.
llvm::StringRef getTarget(mlir::Operation *op);
/// The tensor class of a load or store ("" when untagged).
llvm::StringRef getTensorClass(mlir::Operation *op);

/// Reads and writes the DRAM region of a tensor value: a block argument's
/// `accel.dram` argument attribute, an op result's entry in its op's
/// `accel.dram` array, or for `ml_program.global_load` the global's
/// `accel.dram` attribute.
RegionAttr getRegion(mlir::Value value);
void setRegion(mlir::Value value, RegionAttr region);

} // namespace adagp::accel

#endif // ADAGP_DIALECT_ACCEL_ACCELDIALECT_H
