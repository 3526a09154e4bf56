//===- AccelOps.cpp - Instruction syntax, verification, conversion --------===//
//
// Every instruction op is described by the ISA's field table of its opcode,
// so parsing, printing, verification and the conversions to and from
// isa::Instruction are written once, over that table.
//
//===----------------------------------------------------------------------===//

#include "adagp/Dialect/Accel/AccelDialect.h"
#include "adagp/ISA/ProgramInfo.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"
#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <mutex>
#include <cstring>

using namespace mlir;

namespace adagp::accel {

namespace {

const char *const kDepNames[] = {"pop_prev", "pop_next", "push_prev",
                                 "push_next"};

/// Names of the attributes that are not instruction fields.
constexpr llvm::StringLiteral kFunctAttr = "funct";
constexpr llvm::StringLiteral kPhaseAttr = "phase";
constexpr llvm::StringLiteral kDepsAttr = "deps";
constexpr llvm::StringLiteral kClassAttr = "tensor_class";

/// Fields whose values are addresses print in hex.
bool printsInHex(const isa::FieldInfo &f) {
  if (f.kind == isa::FieldKind::OnChip)
    return true;
  StringRef n = f.name;
  return n == "dram" || n == "addr" || n == "in" || n == "labels";
}

int64_t defaultValue(const isa::FieldInfo &f) {
  return f.kind == isa::FieldKind::Count ? 1 : 0;
}

bool isFloatImmediate(isa::Opcode opcode, uint8_t funct) {
  return opcode == isa::Opcode::Sopi &&
         isa::isFloatScalarFunct(static_cast<isa::ScalarFunct>(funct));
}

/// The index of `name` among the opcode's function codes, or -1.
int functIndex(const isa::OpcodeInfo &info, StringRef name) {
  for (unsigned i = 0; i < info.numFuncts; ++i)
    if (name == info.functNames[i])
      return int(i);
  return -1;
}

uint8_t functOf(Operation *op, const isa::OpcodeInfo &info) {
  if (!info.numFuncts)
    return 0;
  auto attr = op->getAttrOfType<StringAttr>(kFunctAttr);
  int i = attr ? functIndex(info, attr.getValue()) : -1;
  return i < 0 ? 0 : uint8_t(i);
}

ArrayRef<StringAttr> fieldNames(MLIRContext *ctx, isa::Opcode opcode) {
  return ctx->getLoadedDialect<AccelDialect>()->getFieldNames(
      unsigned(opcode));
}

std::optional<int64_t> intField(Operation *op, StringAttr name) {
  std::optional<Attribute> a = op->getInherentAttr(name.getValue());
  if (!a || !*a)
    return std::nullopt;
  if (auto i = dyn_cast<IntegerAttr>(*a))
    return i.getValue().getSExtValue();
  if (auto f = dyn_cast<FloatAttr>(*a)) {
    float v = float(f.getValueAsDouble());
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    return int64_t(bits);
  }
  if (llvm::isa<UnitAttr>(*a))
    return 1;
  return std::nullopt;
}

} // namespace

//===----------------------------------------------------------------------===//
// Syntax
//===----------------------------------------------------------------------===//

ParseResult parseInstruction(OpAsmParser &parser,
                                           OperationState &result,
                                           isa::Opcode opcode) {
  const isa::OpcodeInfo &info = isa::opcodeInfo(opcode);
  MLIRContext *ctx = parser.getContext();
  Builder b(ctx);
  uint8_t funct = 0;
  if (info.numFuncts) {
    std::string name;
    SMLoc loc = parser.getCurrentLocation();
    if (parser.parseKeywordOrString(&name))
      return failure();
    int i = functIndex(info, name);
    if (i < 0)
      return parser.emitError(loc, "unknown function code '")
             << name << "' for " << info.name;
    funct = uint8_t(i);
    result.addAttribute(kFunctAttr, b.getStringAttr(name));
  }
  auto parseEntry = [&]() -> ParseResult {
    SMLoc loc = parser.getCurrentLocation();
    std::string key;
    if (parser.parseKeywordOrString(&key))
      return failure();
    if (key == kPhaseAttr) {
      std::string phase;
      if (parser.parseEqual() || parser.parseKeywordOrString(&phase))
        return failure();
      result.addAttribute(kPhaseAttr, b.getStringAttr(phase));
      return success();
    }
    if (key == kClassAttr) {
      std::string cls;
      if (parser.parseEqual() || parser.parseKeywordOrString(&cls))
        return failure();
      result.addAttribute(kClassAttr, b.getStringAttr(cls));
      return success();
    }
    if (key == kDepsAttr) {
      int64_t mask = 0;
      if (parser.parseEqual() ||
          parser.parseCommaSeparatedList(
              OpAsmParser::Delimiter::Square, [&]() -> ParseResult {
                SMLoc fl = parser.getCurrentLocation();
                std::string flag;
                if (parser.parseKeywordOrString(&flag))
                  return failure();
                for (unsigned i = 0; i < 4; ++i)
                  if (flag == kDepNames[i]) {
                    mask |= int64_t(1) << i;
                    return success();
                  }
                return parser.emitError(fl, "unknown dependency flag '")
                       << flag
                       << "' (pop_prev, pop_next, push_prev, push_next)";
              }))
        return failure();
      result.addAttribute(kDepsAttr, b.getI64IntegerAttr(mask));
      return success();
    }
    const isa::FieldInfo *field = nullptr;
    for (unsigned i = 0; i < info.numFields; ++i)
      if (key == info.fields[i].name)
        field = &info.fields[i];
    if (!field)
      return parser.emitError(loc, "'")
             << key << "' is not a field of " << info.name;
    if (field->kind == isa::FieldKind::Bool) {
      result.addAttribute(key, b.getUnitAttr());
      return success();
    }
    if (parser.parseEqual())
      return failure();
    switch (field->kind) {
    case isa::FieldKind::Reg: {
      std::string reg;
      SMLoc rl = parser.getCurrentLocation();
      unsigned n;
      if (parser.parseKeywordOrString(&reg))
        return failure();
      if (reg.size() < 2 || reg[0] != 'r' ||
          StringRef(reg).drop_front().getAsInteger(10, n) ||
          n >= isa::kNumRegisters)
        return parser.emitError(rl, "expected a register r0..r31, got '")
               << reg << "'";
      result.addAttribute(key, b.getI64IntegerAttr(n));
      return success();
    }
    case isa::FieldKind::Target: {
      FlatSymbolRefAttr target;
      if (parser.parseAttribute(target))
        return failure();
      result.addAttribute(key, target);
      return success();
    }
    case isa::FieldKind::F32: {
      // A float literal; non-finite values print as their hex bit pattern,
      // which parseFloat reads back under the f32 semantics.
      APFloat v(0.0f);
      if (parser.parseFloat(llvm::APFloat::IEEEsingle(), v))
        return failure();
      result.addAttribute(key, b.getF32FloatAttr(v.convertToFloat()));
      return success();
    }
    case isa::FieldKind::Imm64: {
      if (isFloatImmediate(opcode, funct)) {
        APFloat v(0.0);
        if (parser.parseFloat(llvm::APFloat::IEEEdouble(), v))
          return failure();
        result.addAttribute(
            key, b.getI64IntegerAttr(
                     int64_t(v.bitcastToAPInt().getZExtValue())));
        return success();
      }
      [[fallthrough]];
    }
    default: {
      APInt v;
      if (parser.parseInteger(v))
        return failure();
      result.addAttribute(key, b.getI64IntegerAttr(v.getSExtValue()));
      return success();
    }
    }
  };
  if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::LessGreater,
                                     parseEntry) ||
      parser.parseOptionalAttrDict(result.attributes))
    return failure();
  return success();
}

void printInstruction(OpAsmPrinter &p, Operation *op,
                                    isa::Opcode opcode) {
  const isa::OpcodeInfo &info = isa::opcodeInfo(opcode);
  uint8_t funct = functOf(op, info);
  if (info.numFuncts)
    p << ' ' << info.functNames[funct];
  p << " <";
  bool first = true;
  auto sep = [&]() {
    if (!first)
      p << ", ";
    first = false;
  };
  ArrayRef<StringAttr> names = fieldNames(op->getContext(), opcode);
  for (unsigned i = 0; i < info.numFields; ++i) {
    const isa::FieldInfo &f = info.fields[i];
    std::optional<Attribute> attr = op->getInherentAttr(names[i].getValue());
    if (!attr || !*attr)
      continue;
    if (f.kind == isa::FieldKind::Bool) {
      sep();
      p << f.name;
      continue;
    }
    if (f.kind == isa::FieldKind::Target) {
      sep();
      p << f.name << " = ";
      p.printAttribute(*attr);
      continue;
    }
    int64_t v = *intField(op, names[i]);
    sep();
    p << f.name << " = ";
    switch (f.kind) {
    case isa::FieldKind::Reg:
      p << 'r' << v;
      break;
    case isa::FieldKind::F32: {
      float fv = cast<FloatAttr>(*attr).getValue().convertToFloat();
      if (std::isfinite(fv))
        p.printFloat(APFloat(fv));
      else
        p << llvm::format_hex(uint32_t(v), 10);
      break;
    }
    case isa::FieldKind::Imm64:
      if (isFloatImmediate(opcode, funct)) {
        double d;
        std::memcpy(&d, &v, 8);
        if (std::isfinite(d))
          p.printFloat(APFloat(d));
        else
          p << llvm::format_hex(uint64_t(v), 18);
        break;
      }
      p << v;
      break;
    default:
      if (printsInHex(f) && v >= 0)
        p << llvm::format_hex(uint64_t(v), 3);
      else
        p << v;
    }
  }
  if (auto cls = op->getAttrOfType<StringAttr>(kClassAttr)) {
    sep();
    p << kClassAttr << " = " << cls.getValue();
  }
  if (auto phase = op->getAttrOfType<StringAttr>(kPhaseAttr)) {
    sep();
    p << kPhaseAttr << " = " << phase.getValue();
  }
  if (auto deps = op->getAttrOfType<IntegerAttr>(kDepsAttr)) {
    if (deps.getInt()) {
      sep();
      p << kDepsAttr << " = [";
      bool f = true;
      for (unsigned i = 0; i < 4; ++i)
        if (deps.getInt() & (1 << i)) {
          p << (f ? "" : ", ") << kDepNames[i];
          f = false;
        }
      p << ']';
    }
  }
  p << '>';
  SmallVector<StringRef> elided = {kFunctAttr, kPhaseAttr, kDepsAttr,
                                   kClassAttr};
  for (const isa::FieldInfo &f : ArrayRef(info.fields, info.numFields))
    elided.push_back(f.name);
  p.printOptionalAttrDict(op->getAttrs(), elided);
}

//===----------------------------------------------------------------------===//
// Verification
//===----------------------------------------------------------------------===//

LogicalResult verifyInstruction(Operation *op,
                                              isa::Opcode opcode) {
  const isa::OpcodeInfo &info = isa::opcodeInfo(opcode);
  if (info.numFuncts) {
    auto funct = op->getAttrOfType<StringAttr>(kFunctAttr);
    if (!funct || functIndex(info, funct.getValue()) < 0) {
      std::string names;
      for (unsigned i = 0; i < info.numFuncts; ++i)
        names += std::string(i ? ", " : "") + info.functNames[i];
      return op->emitOpError("needs a function code, one of: ") << names;
    }
  }
  if (auto phase = op->getAttrOfType<StringAttr>(kPhaseAttr)) {
    isa::Phase ph;
    if (!isa::parsePhase(phase.getValue().str(), ph))
      return op->emitOpError("unknown phase '") << phase.getValue() << "'";
  }
  if (auto deps = op->getAttrOfType<IntegerAttr>(kDepsAttr)) {
    int64_t mask = deps.getInt();
    if (mask < 0 || mask > 15 || (mask & ~isa::allowedDeps(info.queue)))
      return op->emitOpError("dependency flags ")
             << mask << " are not allowed on the "
             << isa::queueName(info.queue) << " queue";
  }
  if (auto cls = op->getAttrOfType<StringAttr>(kClassAttr)) {
    isa::TensorClass tc;
    if (opcode != isa::Opcode::Load && opcode != isa::Opcode::Store)
      return op->emitOpError("only loads and stores carry a tensor class");
    if (!isa::parseTensorClass(cls.getValue().str(), tc))
      return op->emitOpError("unknown tensor class '") << cls.getValue()
                                                       << "'";
  }
  ArrayRef<StringAttr> names = fieldNames(op->getContext(), opcode);
  for (unsigned i = 0; i < info.numFields; ++i) {
    const isa::FieldInfo &f = info.fields[i];
    std::optional<Attribute> attr = op->getInherentAttr(names[i].getValue());
    bool present = attr && *attr;
    if (!present) {
      if (f.required)
        return op->emitOpError("needs field '") << f.name << "'";
      continue;
    }
    if (f.kind == isa::FieldKind::Target) {
      auto ref = cast<FlatSymbolRefAttr>(*attr);
      Operation *target = SymbolTable::lookupNearestSymbolFrom(op, ref);
      if (!target || !llvm::isa<LabelOp>(target))
        return op->emitOpError("branches to ")
               << ref << ", which is not a label of the program";
      continue;
    }
    if (f.kind == isa::FieldKind::Bool || f.kind == isa::FieldKind::F32 ||
        f.kind == isa::FieldKind::Imm64)
      continue;
    int64_t lo, hi, v = *intField(op, names[i]);
    isa::fieldRange(f, lo, hi);
    if (v < lo || v > hi)
      return op->emitOpError("field '")
             << f.name << "' = " << v << " is outside [" << lo << ", " << hi
             << "] (" << unsigned(f.width) << "-bit "
             << (f.kind == isa::FieldKind::Count ? "count" : "field") << ")";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

std::optional<isa::Opcode> getOpcode(Operation *op) {
  return llvm::TypeSwitch<Operation *, std::optional<isa::Opcode>>(op)
#define CASE(Op) .Case([](Op) { return Op::kOpcode; })
      CASE(NopOp) CASE(FinishOp) CASE(FenceOp) CASE(LoadOp) CASE(StoreOp)
          CASE(DmaCfgOp) CASE(GemmOp) CASE(VecOp) CASE(PoolOp) CASE(XentOp)
              CASE(OptOp) CASE(SopOp) CASE(SopiOp) CASE(BranchOp)
                  CASE(JumpOp) CASE(SldOp) CASE(SstOp) CASE(RecvOp)
                      CASE(SendOp)
#undef CASE
                          .Default([](Operation *) { return std::nullopt; });
}

Operation *createInstruction(OpBuilder &b, Location loc,
                                           const isa::Instruction &inst,
                                           StringRef target,
                                           StringRef tensorClass) {
  const isa::OpcodeInfo &info = isa::opcodeInfo(inst.opcode);
  MLIRContext *ctx = b.getContext();
  OperationState state(loc, (Twine("accel.") + info.name).str());
  Operation *op = b.create(state);
  ArrayRef<StringAttr> names = fieldNames(ctx, inst.opcode);
  Type i64 = b.getI64Type();
  if (info.numFuncts)
    op->setInherentAttr(StringAttr::get(ctx, kFunctAttr),
                        StringAttr::get(ctx, info.functNames[inst.funct]));
  for (unsigned i = 0; i < info.numFields; ++i) {
    const isa::FieldInfo &f = info.fields[i];
    int64_t v = inst.field[i];
    Attribute attr;
    switch (f.kind) {
    case isa::FieldKind::Bool:
      if (v)
        attr = UnitAttr::get(ctx);
      break;
    case isa::FieldKind::Target:
      if (!target.empty())
        attr = FlatSymbolRefAttr::get(ctx, target);
      break;
    case isa::FieldKind::F32:
      if (v != 0 || f.required) {
        uint32_t bits = uint32_t(v);
        float fv;
        std::memcpy(&fv, &bits, 4);
        attr = FloatAttr::get(Float32Type::get(ctx), fv);
      }
      break;
    default:
      if (v != defaultValue(f) || f.required)
        attr = IntegerAttr::get(i64, v);
    }
    if (attr)
      op->setInherentAttr(names[i], attr);
  }
  if (inst.phase != isa::Phase::Other)
    op->setInherentAttr(StringAttr::get(ctx, kPhaseAttr),
                        StringAttr::get(ctx, isa::phaseName(inst.phase)));
  if (inst.deps)
    op->setInherentAttr(StringAttr::get(ctx, kDepsAttr),
                        IntegerAttr::get(i64, inst.deps));
  if (!tensorClass.empty())
    op->setInherentAttr(StringAttr::get(ctx, kClassAttr),
                        StringAttr::get(ctx, tensorClass));
  return op;
}

isa::Instruction toInstruction(Operation *op) {
  isa::Opcode opcode = *getOpcode(op);
  const isa::OpcodeInfo &info = isa::opcodeInfo(opcode);
  isa::Phase phase = isa::Phase::Other;
  if (auto p = op->getAttrOfType<StringAttr>(kPhaseAttr))
    isa::parsePhase(p.getValue().str(), phase);
  uint8_t deps = 0;
  if (auto d = op->getAttrOfType<IntegerAttr>(kDepsAttr))
    deps = uint8_t(d.getInt());
  isa::Instruction inst =
      isa::makeInstruction(opcode, functOf(op, info), phase, deps);
  ArrayRef<StringAttr> names = fieldNames(op->getContext(), opcode);
  for (unsigned i = 0; i < info.numFields; ++i) {
    if (info.fields[i].kind == isa::FieldKind::Target)
      continue;
    if (std::optional<int64_t> v = intField(op, names[i]))
      inst.field[i] = *v;
  }
  return inst;
}

StringRef getTarget(Operation *op) {
  if (auto ref = op->getAttrOfType<FlatSymbolRefAttr>("target"))
    return ref.getValue();
  return {};
}

StringRef getTensorClass(Operation *op) {
  if (auto cls = op->getAttrOfType<StringAttr>(kClassAttr))
    return cls.getValue();
  return {};
}

} // namespace adagp::accel

#define GET_OP_CLASSES
#include "adagp/Dialect/Accel/AccelOps.cpp.inc"
