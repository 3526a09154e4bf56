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
      ib.store(rd.getOffset() + 4 * uint64_t(e0), chip, DmaBox::contiguous(ec),
               ctx.cls(dst));
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

/// The storage order of a region (identity when empty).
SmallVector<int64_t> storageOrder(ArrayRef<int64_t> layout, int64_t rank) {
  if (!layout.empty())
    return SmallVector<int64_t>(layout);
  return llvm::to_vector(llvm::seq<int64_t>(0, rank));
}

/// Concatenation in the result's storage order: with the axis at storage
/// position k, every operand is [outer][c_i * inner] and lands in the
/// result's [outer][C * inner] rows at column offset (c_0 + ...) * inner. A
/// channel concatenation of channel-last activations is thus a strided
/// store of each operand's pixels.
LogicalResult lowerConcat(Operation *op, LoweringContext &ctx) {
  auto concat = cast<nn::ConcatOp>(op);
  Value dst = concat.getResult();
  auto dt = cast<RankedTensorType>(dst.getType());
  RegionAttr rd = ctx.region(dst);
  if (!rd)
    return failure();
  int64_t rank = dt.getRank();
  int64_t axis =
      concat.getAxis() < 0 ? concat.getAxis() + rank : concat.getAxis();
  SmallVector<int64_t> order = storageOrder(rd.getLayout(), rank);
  int64_t k = llvm::find(order, axis) - order.begin();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i) {
    if (i < k)
      outer *= dt.getDimSize(order[i]);
    else if (i > k)
      inner *= dt.getDimSize(order[i]);
  }
  int64_t total = dt.getDimSize(axis) * inner;
  InstBuilder &ib = ctx.ib;
  int64_t budget = ctx.spadElems() / 2;
  unsigned parity = 0;
  int64_t offset = 0;
  for (Value src : concat.getInputs()) {
    auto st = cast<RankedTensorType>(src.getType());
    RegionAttr rs = ctx.region(src);
    if (!rs)
      return failure();
    int64_t cols = st.getDimSize(axis) * inner;
    if (st.getNumElements() > 0 &&
        storageOrder(rs.getLayout(), rank) != order) {
      // Size-1 dimensions make orders interchangeable; anything else would
      // need a transposition.
      bool same = true;
      SmallVector<int64_t> a = storageOrder(rs.getLayout(), rank);
      auto squeeze = [&](ArrayRef<int64_t> o) {
        SmallVector<int64_t> r;
        for (int64_t d : o)
          if (st.getDimSize(d) != 1)
            r.push_back(d);
        return r;
      };
      same = squeeze(a) == squeeze(order);
      if (!same)
        return op->emitError("concatenation of operands stored in different "
                             "orders is not supported on the accelerator");
    }
    // Rows are contiguous on both sides, so a long row goes in pieces.
    int64_t piece = std::min<int64_t>({cols, budget, 65536});
    int64_t rowsPer =
        piece < cols ? 1
                     : std::max<int64_t>(
                           1, std::min<int64_t>({outer, budget / cols, 65536}));
    for (int64_t r0 = 0; r0 < outer; r0 += rowsPer) {
      int64_t rr = std::min(rowsPer, outer - r0);
      for (int64_t c0 = 0; c0 < cols; c0 += piece) {
        int64_t cc = std::min(piece, cols - c0);
        int64_t chip = (parity++ % 2) * budget;
        ib.load(rs.getOffset() + 4 * uint64_t(r0 * cols + c0), chip,
                DmaBox::rows(rr, cc, cols, cc), ctx.cls(src));
        ib.store(rd.getOffset() + 4 * uint64_t(r0 * total + offset + c0), chip,
                 DmaBox::rows(rr, cc, total, cc), ctx.cls(dst));
      }
    }
    offset += cols;
  }
  return success();
}

/// A strided box of a row-major tensor: one DMA gathers it (dimensions that
/// are contiguous across each other merged), chunked along the outermost
/// remaining dimension, and a contiguous store writes it.
/// Checks a copy's box, innermost dimension first (`sizes`), against the
/// DMA's limits and splits its outermost dimension into double-buffered
/// chunks: returns (elements of one outermost row, rows per chunk). The
/// outermost dimension goes in chunks of at most 65536 elements, so only
/// the inner ones are bounded by the DMA's sizes (a long 1-D slice, such as
/// one layer's entries of the predictor's flattened loss gradient, is
/// fine). `what` names the operation in errors.
FailureOr<std::pair<int64_t, int64_t>> chunkOutermost(Operation *op,
                                                      ArrayRef<int64_t> sizes,
                                                      StringRef what,
                                                      LoweringContext &ctx) {
  if (sizes.size() > isa::kMaxDmaDims)
    return op->emitError("a ")
           << what << " with more than " << isa::kMaxDmaDims
           << " strided dimensions is not supported on the accelerator";
  int64_t innerElems = 1;
  for (int64_t size : sizes.drop_back()) {
    if (size > 65536)
      return op->emitError("a ") << what << " dimension of " << size
                                 << " elements exceeds the DMA's 65536";
    innerElems *= size;
  }
  int64_t budget = ctx.spadElems() / 2;
  if (innerElems > budget)
    return op->emitError("one row of the ")
           << what << " (" << innerElems
           << " elements) does not fit the scratchpad twice";
  int64_t per =
      std::max<int64_t>(1, std::min<int64_t>(budget, 65536) / innerElems);
  return std::make_pair(innerElems, per);
}

/// The storage order (outermost first) that a copy from `src` to `dst`
/// walks both in, or failure if they have no regions yet (silently) or are
/// stored in different orders. `what` names the operation in errors.
FailureOr<SmallVector<int64_t>> commonStorageOrder(Operation *op, Value src,
                                                   Value dst, StringRef what,
                                                   LoweringContext &ctx) {
  RegionAttr rs = ctx.region(src), rd = ctx.region(dst);
  if (!rs || !rd)
    return failure();
  int64_t rank = cast<RankedTensorType>(src.getType()).getRank();
  SmallVector<int64_t> order = storageOrder(rs.getLayout(), rank);
  if (storageOrder(rd.getLayout(), rank) != order)
    return op->emitError("a ")
           << what << " stored in another order than its operand is not "
           << "supported on the accelerator";
  return order;
}

LogicalResult lowerSlice(Operation *op, LoweringContext &ctx) {
  auto slice = cast<nn::SliceOp>(op);
  Value src = slice.getInput(), dst = slice.getResult();
  auto st = cast<RankedTensorType>(src.getType());
  // Placed inside its operand's region by --accel-plan-dram: nothing to do.
  if (std::optional<int64_t> start = contiguousSliceStart(op);
      start && st.getElementType().isF32()) {
    RegionAttr rs = ctx.region(src), rd = ctx.region(dst);
    if (rs && rd && rd.getOffset() == rs.getOffset() + 4 * uint64_t(*start))
      return success();
  }
  // Source and result are walked in the same storage order (row-major, or
  // channel-last for activations: a channel slice is a strided box).
  auto common = commonStorageOrder(op, src, dst, "slice", ctx);
  if (failed(common))
    return failure();
  SmallVector<int64_t> order = std::move(*common);
  RegionAttr rs = ctx.region(src), rd = ctx.region(dst);
  int64_t rank = st.getRank();
  ArrayRef<int64_t> starts = slice.getStarts(), sizes = slice.getSizes(),
                    steps = slice.getSteps();
  // Innermost first: (size, DRAM stride).
  SmallVector<std::pair<int64_t, int64_t>> dims;
  int64_t stride = 1, base = 0;
  for (int64_t i = rank - 1; i >= 0; --i) {
    int64_t d = order[i];
    base += starts[d] * stride;
    if (sizes[d] != 1)
      dims.push_back({sizes[d], stride * steps[d]});
    stride *= st.getDimSize(d);
  }
  if (dims.empty())
    dims.push_back({1, 1});
  for (size_t i = 0; i + 1 < dims.size();) {
    if (dims[i + 1].second == dims[i].first * dims[i].second &&
        dims[i].first * dims[i + 1].first <= 65536) {
      dims[i].first *= dims[i + 1].first;
      dims.erase(dims.begin() + i + 1);
    } else {
      ++i;
    }
  }
  SmallVector<int64_t> boxSizes;
  for (auto [size, dstride] : dims)
    boxSizes.push_back(size);
  auto chunks = chunkOutermost(op, boxSizes, "slice", ctx);
  if (failed(chunks))
    return failure();
  auto [innerElems, per] = *chunks;
  int64_t budget = ctx.spadElems() / 2;
  auto [outerSize, outerStride] = dims.back();
  InstBuilder &ib = ctx.ib;
  unsigned parity = 0;
  for (int64_t o0 = 0; o0 < outerSize; o0 += per) {
    int64_t oo = std::min(per, outerSize - o0);
    DmaBox box;
    int64_t cstride = 1;
    for (size_t i = 0; i < dims.size(); ++i) {
      int64_t size = i + 1 == dims.size() ? oo : dims[i].first;
      box.dim[i] = {size, 0, 0, dims[i].second, cstride};
      cstride *= size;
    }
    int64_t chip = (parity++ % 2) * budget;
    ib.load(rs.getOffset() + 4 * uint64_t(base + o0 * outerStride), chip, box,
            ctx.cls(src));
    int64_t n = oo * innerElems;
    ib.store(rd.getOffset() + 4 * uint64_t(o0 * innerElems), chip,
             DmaBox::contiguous(n), ctx.cls(dst));
  }
  return success();
}

/// Constant padding (the gradient of a slice): a load whose box has the
/// result's shape and a window (start, extent) onto the input per
/// dimension reads the padding value outside the input (docs/isa.md
/// section 3), then a contiguous store writes the result. Both sides are
/// walked in the same storage order.
LogicalResult lowerPad(Operation *op, LoweringContext &ctx) {
  auto pad = cast<nn::PadOp>(op);
  Value src = pad.getInput(), dst = pad.getResult();
  auto st = cast<RankedTensorType>(src.getType());
  auto dt = cast<RankedTensorType>(dst.getType());
  auto common = commonStorageOrder(op, src, dst, "padding", ctx);
  if (failed(common))
    return failure();
  SmallVector<int64_t> order = std::move(*common);
  RegionAttr rs = ctx.region(src), rd = ctx.region(dst);
  int64_t rank = st.getRank();
  ArrayRef<int64_t> pads = pad.getPads();
  // Innermost first; an unpadded dimension has start 0 and extent 0
  // (unbounded).
  SmallVector<BoxDim> dims;
  int64_t stride = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    int64_t d = order[i];
    int64_t low = pads[d], size = dt.getDimSize(d), in = st.getDimSize(d);
    bool padded = size != in;
    if (size != 1)
      dims.push_back({size, -low, padded ? in : 0, stride, 0});
    stride *= in;
  }
  if (dims.empty())
    dims.push_back({1, 0, 0, 1, 0});
  // An unpadded dimension that is contiguous with the next one merges into
  // it: the window of the outer dimension scales by its size. Inner
  // dimensions stay within the DMA's 65536 elements, so their windows fit
  // the start and extent fields.
  for (size_t i = 0; i + 1 < dims.size();) {
    BoxDim &a = dims[i], &o = dims[i + 1];
    int64_t n = a.size;
    if (a.extent == 0 && o.dstride == n * a.dstride && n * o.size <= 65536) {
      o = {n * o.size, n * o.start, n * o.extent, a.dstride, 0};
      dims.erase(dims.begin() + i);
    } else {
      ++i;
    }
  }
  SmallVector<int64_t> sizes;
  for (const BoxDim &d : dims)
    sizes.push_back(d.size);
  auto chunks = chunkOutermost(op, sizes, "padding", ctx);
  if (failed(chunks))
    return failure();
  auto [innerElems, per] = *chunks;
  int64_t budget = ctx.spadElems() / 2;
  BoxDim outer = dims.back();
  int64_t low = -outer.start, in = outer.extent ? outer.extent : outer.size;
  InstBuilder &ib = ctx.ib;
  unsigned parity = 0;
  for (int64_t o0 = 0; o0 < outer.size; o0 += per) {
    int64_t oo = std::min(per, outer.size - o0);
    DmaBox box;
    box.pad = float(pad.getValue().convertToDouble());
    int64_t cstride = 1;
    for (size_t i = 0; i + 1 < dims.size(); ++i) {
      box.dim[i] = dims[i];
      box.dim[i].cstride = cstride;
      cstride *= dims[i].size;
    }
    // The chunk's window onto the input: the DRAM base moves to its first
    // input element, so start and extent stay within the chunk's size
    // (the fields are 20 bits wide, the tensor may be longer).
    int64_t first = o0 - low; // input index of the chunk's first element
    uint64_t dram = rs.getOffset();
    BoxDim &d = box.dim[dims.size() - 1];
    d = {oo, 0, 0, outer.dstride, cstride};
    if (first + oo <= 0 || first >= in) {
      // Only padding: a window no element falls into.
      d.start = -oo;
      d.extent = 1;
    } else {
      int64_t shift = std::max<int64_t>(0, first);
      dram += 4 * uint64_t(shift * outer.dstride);
      d.start = first - shift;
      d.extent = std::min(in, first + oo) - shift;
    }
    int64_t chip = (parity++ % 2) * budget;
    ib.load(dram, chip, box, ctx.cls(src));
    ib.store(rd.getOffset() + 4 * uint64_t(o0 * innerElems), chip,
             DmaBox::contiguous(oo * innerElems), ctx.cls(dst));
  }
  return success();
}

} // namespace

bool rowMajorEquivalent(RankedTensorType t, ArrayRef<int64_t> layout) {
  int64_t last = -1;
  for (int64_t d : layout) {
    if (t.getDimSize(d) == 1)
      continue;
    if (d < last)
      return false;
    last = d;
  }
  return true;
}

std::optional<int64_t> contiguousSliceStart(Operation *op) {
  auto slice = dyn_cast<nn::SliceOp>(op);
  if (!slice)
    return std::nullopt;
  auto st = cast<RankedTensorType>(slice.getInput().getType());
  ArrayRef<int64_t> starts = slice.getStarts(), sizes = slice.getSizes(),
                    steps = slice.getSteps();
  int64_t rank = st.getRank(), start = 0, stride = 1;
  bool partial = false; // a dimension inside was not taken whole
  for (int64_t d = rank - 1; d >= 0; --d) {
    if (sizes[d] > 1 && steps[d] != 1)
      return std::nullopt;
    if (partial && sizes[d] != 1)
      return std::nullopt;
    if (sizes[d] != st.getDimSize(d))
      partial = true;
    start += starts[d] * stride;
    stride *= st.getDimSize(d);
  }
  return start;
}

void populateShapeLowerings(LoweringRegistry &r) {
  r.add(nn::ConcatOp::getOperationName(), lowerConcat);
  r.add(nn::SliceOp::getOperationName(), lowerSlice);
  r.add(nn::PadOp::getOperationName(), lowerPad);
  r.add(nn::ReshapeOp::getOperationName(), lowerReshape);
  r.add(nn::FlattenOp::getOperationName(), lowerReshape);
  r.add(arith::ConstantOp::getOperationName(), lowerConstant);
}

} // namespace adagp::accel
