//===- LowerShape.cpp - Reshapes and constants ----------------------------===//
//
// A reshape that keeps the storage order aliases its operand (the DRAM plan
// gives both one region) and costs nothing. One that does not (flattening a
// channel-last activation into NCHW order for a linear layer, and the
// reshape back in the backward pass) is a transposition through the
// scratchpad: the DMA engine gathers with one stride and scatters with
// another. Constants that are not scalars become initial DRAM contents.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/NN/NNOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace adagp::accel {
namespace {

bool isNhwc(ArrayRef<int64_t> layout) {
  return layout.size() == 4 && layout[0] == 0 && layout[1] == 2 &&
         layout[2] == 3 && layout[3] == 1;
}

LogicalResult lowerReshape(Operation *op, LoweringContext &ctx) {
  Value src = op->getOperand(0), dst = op->getResult(0);
  RegionAttr rs = ctx.region(src), rd = ctx.region(dst);
  if (!rs || !rd)
    return failure();
  if (rs.getOffset() == rd.getOffset())
    return success();
  auto st = cast<RankedTensorType>(src.getType());
  auto dt = cast<RankedTensorType>(dst.getType());
  InstBuilder &ib = ctx.ib;
  int64_t total = st.getNumElements();
  bool srcNhwc = isNhwc(rs.getLayout()), dstNhwc = isNhwc(rd.getLayout());
  if (!srcNhwc && !dstNhwc) {
    // Both row-major: a plain copy.
    int64_t chunk = std::min<int64_t>({total, ctx.spadElems() / 2, 65536});
    unsigned parity = 0;
    for (int64_t e0 = 0; e0 < total; e0 += chunk) {
      int64_t ec = std::min(chunk, total - e0);
      int64_t chip = (parity++ % 2) * chunk;
      ib.load(rs.getOffset() + 4 * uint64_t(e0), chip, DmaBox::contiguous(ec),
              ctx.cls(src));
      ib.store(rd.getOffset() + 4 * uint64_t(e0), chip,
               DmaBox::contiguous(ec), ctx.cls(dst));
    }
    return success();
  }
  if (srcNhwc == dstNhwc)
    return op->emitError("reshape between two channel-last layouts is not "
                         "supported on the accelerator");
  // One side is [N][H*W][C] (channel-last), the other [N][C][H*W] (logical
  // order); N is the leading dimension of both.
  RankedTensorType four = srcNhwc ? st : dt;
  int64_t n = four.getDimSize(0), c = four.getDimSize(1),
          hw = four.getDimSize(2) * four.getDimSize(3);
  if ((srcNhwc ? dt : st).getDimSize(0) != n)
    return op->emitError("reshape that mixes the batch dimension is not "
                         "supported on the accelerator");
  int64_t perImage = c * hw;
  int64_t nb = std::max<int64_t>(
      1, std::min<int64_t>({n, (ctx.spadElems() / 2) / perImage,
                            65536 / std::max<int64_t>(1, hw)}));
  if (perImage > ctx.spadElems() / 2 || hw > 65536)
    return op->emitError("one image of ")
           << perImage << " elements does not fit the scratchpad twice";
  // The channel-last tile on chip; the logical-order side is strided.
  DmaBox logical;
  logical.dim[0] = {hw, 0, 0, 1, c};
  logical.dim[1] = {c, 0, 0, hw, 1};
  unsigned parity = 0;
  for (int64_t n0 = 0; n0 < n; n0 += nb) {
    int64_t nn = std::min(nb, n - n0);
    int64_t chip = (parity++ % 2) * (ctx.spadElems() / 2);
    uint64_t off = 4 * uint64_t(n0 * perImage);
    DmaBox strided = logical;
    strided.dim[2] = {nn, 0, 0, perImage, perImage};
    DmaBox dense = DmaBox::rows(nn * hw, c, c, c);
    if (srcNhwc) {
      ib.load(rs.getOffset() + off, chip, dense, ctx.cls(src));
      ib.store(rd.getOffset() + off, chip, strided, ctx.cls(dst));
    } else {
      ib.load(rs.getOffset() + off, chip, strided, ctx.cls(src));
      ib.store(rd.getOffset() + off, chip, dense, ctx.cls(dst));
    }
  }
  return success();
}

LogicalResult lowerConstant(Operation *op, LoweringContext &ctx) {
  auto c = cast<arith::ConstantOp>(op);
  auto type = dyn_cast<RankedTensorType>(c.getType());
  if (!type)
    return success();
  // Scalars are immediates or registers; only planned constants need data.
  auto regions = op->getAttrOfType<ArrayAttr>(AccelDialect::kDramAttrName);
  if (!regions || regions.empty())
    return success();
  auto r = dyn_cast<RegionAttr>(regions[0]);
  if (!r)
    return success();
  ctx.addData(c.getValue(), r);
  return success();
}

} // namespace

void populateShapeLowerings(LoweringRegistry &r) {
  r.add(nn::ReshapeOp::getOperationName(), lowerReshape);
  r.add(nn::FlattenOp::getOperationName(), lowerReshape);
  r.add(arith::ConstantOp::getOperationName(), lowerConstant);
}

} // namespace adagp::accel
