//===- AccelDialect.cpp - Dialect, attributes and containers --------------===//

#include "adagp/Dialect/Accel/AccelDialect.h"
#include "adagp/ISA/ProgramInfo.h"

#include "mlir/Dialect/MLProgram/IR/MLProgram.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

#include "adagp/Dialect/Accel/AccelOpsDialect.cpp.inc"

namespace adagp::accel {

//===----------------------------------------------------------------------===//
// #accel.region
//===----------------------------------------------------------------------===//

static ParseResult parseLayout(AsmParser &parser,
                               SmallVector<int64_t> &layout) {
  return parser.parseCommaSeparatedList(
      AsmParser::Delimiter::Square, [&]() -> ParseResult {
        int64_t d;
        if (parser.parseInteger(d))
          return failure();
        layout.push_back(d);
        return success();
      });
}

static void printLayout(AsmPrinter &p, ArrayRef<int64_t> layout) {
  p << '[';
  llvm::interleaveComma(layout, p);
  p << ']';
}

} // namespace adagp::accel

#define GET_ATTRDEF_CLASSES
#include "adagp/Dialect/Accel/AccelOpsAttributes.cpp.inc"

namespace adagp::accel {

LogicalResult RegionAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 uint64_t offset, uint64_t bytes,
                                 StringRef cls, ArrayRef<int64_t> layout) {
  isa::TensorClass parsed;
  if (!isa::parseTensorClass(cls.str(), parsed))
    return emitError() << "unknown tensor class '" << cls << "'";
  if (offset % 4 != 0)
    return emitError() << "DRAM offset " << offset
                       << " is not 4-byte aligned";
  if (offset + bytes > isa::kDramAddressLimit || offset + bytes < offset)
    return emitError() << "region [" << offset << ", +" << bytes
                       << ") lies beyond the 2^40-byte DRAM address space";
  SmallVector<bool> seen(layout.size(), false);
  for (int64_t d : layout) {
    if (d < 0 || d >= int64_t(layout.size()) || seen[d])
      return emitError() << "layout must be a permutation of 0.."
                         << int64_t(layout.size()) - 1;
    seen[d] = true;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Dialect
//===----------------------------------------------------------------------===//

void AccelDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "adagp/Dialect/Accel/AccelOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "adagp/Dialect/Accel/AccelOpsAttributes.cpp.inc"
      >();
  unsigned n = unsigned(isa::Opcode::NumOpcodes);
  fieldNames.resize(n);
  for (unsigned op = 1; op < n; ++op) {
    const isa::OpcodeInfo &info = isa::opcodeInfo(isa::Opcode(op));
    for (unsigned i = 0; i < info.numFields; ++i)
      fieldNames[op].push_back(StringAttr::get(getContext(),
                                               info.fields[i].name));
  }
}

//===----------------------------------------------------------------------===//
// Containers and the DRAM plan
//===----------------------------------------------------------------------===//

void ProgramOp::build(OpBuilder &b, OperationState &state, StringRef name,
                      StringRef kind) {
  state.addAttribute(mlir::SymbolTable::getSymbolAttrName(),
                     b.getStringAttr(name));
  state.addAttribute("kind", b.getStringAttr(kind));
  Region *body = state.addRegion();
  body->push_back(new Block());
}

LogicalResult ProgramOp::verify() {
  if (getKind() != "main" && getKind() != "subroutine")
    return emitOpError("kind must be \"main\" or \"subroutine\", got \"")
           << getKind() << "\"";
  for (Operation &op : getBlock())
    if (!llvm::isa<LabelOp>(op) && !getOpcode(&op))
      return op.emitOpError("is not an instruction or a label; an "
                            "accel.program holds only those");
  return success();
}

/// Bytes of one element as the accelerator stores it: labels are int32
/// words on the device whatever their type in the model.
static unsigned deviceElementBytes(Type t) {
  if (t.isInteger(64))
    return 8;
  return 4;
}

LogicalResult SymbolOp::verify() {
  auto type = dyn_cast<RankedTensorType>(getType());
  if (!type || !type.hasStaticShape())
    return emitOpError("type must be a statically shaped tensor, got ")
           << getType();
  RegionAttr region = getRegion();
  if (!region.getLayout().empty() &&
      int64_t(region.getLayout().size()) != type.getRank())
    return emitOpError("layout has ")
           << region.getLayout().size() << " dimensions but the tensor has "
           << type.getRank();
  uint64_t need = uint64_t(type.getNumElements()) *
                  deviceElementBytes(type.getElementType());
  if (getRole() == "labels")
    need = uint64_t(type.getNumElements()) * 4;
  if (need > region.getBytes())
    return emitOpError("needs ")
           << need << " bytes but its region has " << region.getBytes();
  static const char *const roles[] = {"parameter", "state", "input",
                                      "labels",    "loss",  "logits"};
  if (!llvm::is_contained(roles, getRole()))
    return emitOpError("unknown role '")
           << getRole()
           << "' (parameter, state, input, labels, loss or logits)";
  return success();
}

LogicalResult DataOp::verify() {
  auto type = dyn_cast<ShapedType>(getValue().getType());
  if (!type || !type.hasStaticShape())
    return emitOpError("value must have a static shape");
  RegionAttr region = getRegion();
  if (!region.getLayout().empty() &&
      int64_t(region.getLayout().size()) != type.getRank())
    return emitOpError("layout rank ")
           << region.getLayout().size() << " differs from the value's rank "
           << type.getRank();
  Type et = type.getElementType();
  if (!et.isF32() && !et.isInteger(32) && !et.isInteger(64))
    return emitOpError("element type must be f32, i32 or i64, got ") << et;
  uint64_t need = uint64_t(type.getNumElements()) * deviceElementBytes(et);
  if (need > region.getBytes())
    return emitOpError("value of ")
           << need << " bytes does not fit its region of "
           << region.getBytes();
  return success();
}

//===----------------------------------------------------------------------===//
// Regions of tensor values
//===----------------------------------------------------------------------===//

RegionAttr getRegion(Value value) {
  StringRef name = AccelDialect::kDramAttrName;
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    auto func = dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
    if (!func || arg.getOwner() != &func.getFunctionBody().front())
      return {};
    return dyn_cast_or_null<RegionAttr>(
        func.getArgAttr(arg.getArgNumber(), name));
  }
  Operation *def = value.getDefiningOp();
  if (auto load = dyn_cast<ml_program::GlobalLoadOp>(def)) {
    auto global = SymbolTable::lookupNearestSymbolFrom<ml_program::GlobalOp>(
        load, load.getGlobalAttr());
    return global ? dyn_cast_or_null<RegionAttr>(global->getAttr(name))
                  : RegionAttr();
  }
  auto array = def->getAttrOfType<ArrayAttr>(name);
  unsigned idx = cast<OpResult>(value).getResultNumber();
  if (!array || idx >= array.size())
    return {};
  return dyn_cast<RegionAttr>(array[idx]);
}

void setRegion(Value value, RegionAttr region) {
  StringRef name = AccelDialect::kDramAttrName;
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    auto func = cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
    func.setArgAttr(arg.getArgNumber(), name, region);
    return;
  }
  Operation *def = value.getDefiningOp();
  SmallVector<Attribute> entries(def->getNumResults(), UnitAttr());
  if (auto old = def->getAttrOfType<ArrayAttr>(name))
    for (auto [i, a] : llvm::enumerate(old))
      if (i < entries.size())
        entries[i] = a;
  entries[cast<OpResult>(value).getResultNumber()] = region;
  def->setAttr(name, ArrayAttr::get(def->getContext(), entries));
}

} // namespace adagp::accel
