//===- EmitProgram.cpp - accel dialect -> accelerator program -------------===//

#include "adagp/Target/Accel/AccelEmitter.h"
#include "adagp/Dialect/Accel/AccelDialect.h"
#include "adagp/ISA/Assembler.h"
#include "adagp/ISA/ProgramInfo.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringMap.h"

#include <cstring>

using namespace mlir;

namespace adagp::accel {

namespace {

/// The raw little-endian bytes of an elements attribute in logical order,
/// converted to the device's element size (i64 stays 8 bytes).
LogicalResult rawBytes(Operation *op, ElementsAttr value,
                       std::vector<uint8_t> &out, unsigned &elementBytes) {
  auto type = cast<ShapedType>(value.getType());
  Type et = type.getElementType();
  elementBytes = et.isInteger(64) ? 8 : 4;
  int64_t n = type.getNumElements();
  out.assign(size_t(n) * elementBytes, 0);
  ArrayRef<char> raw;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return op->emitError("data refers to a resource blob that is missing");
    raw = blob->getData();
  } else if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
    raw = dense.getRawData();
    if (dense.isSplat()) {
      for (int64_t i = 0; i < n; ++i)
        std::memcpy(out.data() + i * elementBytes, raw.data(), elementBytes);
      return success();
    }
  } else {
    return op->emitError("unsupported initial value kind");
  }
  if (raw.size() != out.size())
    return op->emitError("data has ")
           << raw.size() << " bytes, expected " << out.size();
  std::memcpy(out.data(), raw.data(), out.size());
  return success();
}

ProgramOp findProgram(ModuleOp module, StringRef name) {
  ProgramOp found;
  for (auto program : module.getOps<ProgramOp>()) {
    if (name.empty() ? program.getKind() == "main"
                     : program.getSymName() == name) {
      if (found && name.empty()) {
        program.emitError("more than one accel.program of kind \"main\"; "
                          "name the one to emit");
        return {};
      }
      found = program;
    }
  }
  if (!found)
    module.emitError(name.empty()
                         ? std::string("no accel.program of kind \"main\"")
                         : "no accel.program named '" + name.str() + "'");
  return found;
}

} // namespace

LogicalResult translateToProgram(ModuleOp module,
                                               isa::Program &out,
                                               StringRef programName) {
  out = isa::Program();
  ProgramOp program = findProgram(module, programName);
  if (!program)
    return failure();

  // Labels name the index of the next instruction.
  llvm::StringMap<int64_t> labels;
  int64_t index = 0;
  for (Operation &op : program.getBlock()) {
    if (auto label = dyn_cast<LabelOp>(op))
      labels[label.getSymName()] = index;
    else
      ++index;
  }
  isa::ProgramInfo info;
  out.instructions.reserve(index);
  info.dramTags.reserve(index);
  bool anyTag = false;
  for (Operation &op : program.getBlock()) {
    if (llvm::isa<LabelOp>(op))
      continue;
    isa::Instruction inst = toInstruction(&op);
    StringRef target = getTarget(&op);
    if (!target.empty()) {
      auto it = labels.find(target);
      if (it == labels.end())
        return op.emitError("branch target @") << target << " is undefined";
      if (inst.opcode == isa::Opcode::Branch)
        inst.set(isa::branch::Target, it->second);
      else
        inst.set(isa::jump::Target, it->second);
    }
    uint8_t tag = 0;
    StringRef cls = getTensorClass(&op);
    if (!cls.empty()) {
      isa::TensorClass tc;
      isa::parseTensorClass(cls.str(), tc);
      tag = uint8_t(tc);
      anyTag = true;
    }
    uint8_t encoded[isa::kInstructionBytes];
    std::string err;
    if (!isa::encode(inst, encoded, err))
      return op.emitError("does not encode: ") << err;
    out.instructions.push_back(inst);
    info.dramTags.push_back(tag);
  }
  if (out.instructions.empty())
    return program.emitError("has no instructions");
  if (!anyTag)
    info.dramTags.clear();

  // Initial DRAM contents, permuted into each region's storage order.
  for (auto data : module.getOps<DataOp>()) {
    std::vector<uint8_t> logical;
    unsigned eb;
    if (failed(rawBytes(data, data.getValue(), logical, eb)))
      return failure();
    RegionAttr region = data.getRegion();
    auto type = cast<ShapedType>(data.getValue().getType());
    std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
    std::vector<int64_t> layout(region.getLayout().begin(),
                                region.getLayout().end());
    isa::DataSegment seg;
    seg.dramAddr = region.getOffset();
    seg.bytes.resize(logical.size());
    isa::logicalToStorage(logical.data(), seg.bytes.data(), shape, layout, eb);
    out.segments.push_back(std::move(seg));
  }

  // The symbol table.
  auto strAttr = [&](StringRef name) -> std::string {
    if (auto a = module->getAttrOfType<StringAttr>(name))
      return a.getValue().str();
    return "";
  };
  auto intAttr = [&](StringRef name) -> int64_t {
    if (auto a = module->getAttrOfType<IntegerAttr>(name))
      return a.getInt();
    return 0;
  };
  info.model = strAttr("accel.model");
  info.mode = strAttr("accel.mode");
  info.config = strAttr("accel.config");
  info.batchSize = intAttr("accel.batch_size");
  info.classes = intAttr("accel.classes");
  info.hasPlainBPStep = module->hasAttr("accel.bp_plain_step");
  if (module->hasAttr("accel.predictor_every"))
    info.predictorEvery = intAttr("accel.predictor_every");
  for (auto sym : module.getOps<SymbolOp>()) {
    auto type = cast<RankedTensorType>(sym.getType());
    RegionAttr region = sym.getRegion();
    isa::DramRegion r;
    r.name = sym.getName().str();
    r.role = sym.getRole().str();
    isa::parseTensorClass(region.getCls().str(), r.cls);
    r.offset = region.getOffset();
    r.bytes = region.getBytes();
    Type et = type.getElementType();
    r.dtype = r.role == "labels"     ? "i32"
              : et.isInteger(64)     ? "i64"
              : et.isInteger(32)     ? "i32"
                                     : "f32";
    r.shape.assign(type.getShape().begin(), type.getShape().end());
    r.layout.assign(region.getLayout().begin(), region.getLayout().end());
    info.regions.push_back(std::move(r));
  }
  std::string err;
  if (!isa::writeProgramInfo(info, out, err))
    return program.emitError(err);
  return success();
}

LogicalResult emitAccelProgram(ModuleOp module,
                                             std::string &out, bool asmText,
                                             StringRef programName) {
  isa::Program program;
  if (failed(translateToProgram(module, program, programName)))
    return failure();
  if (asmText) {
    out = isa::disassemble(program);
    return success();
  }
  std::vector<uint8_t> bytes;
  std::string err;
  if (!isa::writeProgram(program, bytes, err))
    return module.emitError(err);
  out.assign(bytes.begin(), bytes.end());
  return success();
}

} // namespace adagp::accel
