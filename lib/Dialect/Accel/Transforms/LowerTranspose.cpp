//===- LowerTranspose.cpp - Permutations of dimensions --------------------===//
//
// nn.transpose writes its result densely in the result's storage order; the
// source offsets of that walk are strides of the operand's storage. Size-1
// dimensions are dropped and neighbours the walk crosses contiguously are
// merged, which leaves one of two cases:
//
// * The innermost result dimension is contiguous in the operand (a
//   permutation of outer dimensions, such as swapping the head and token
//   dimensions of attention): each chunk is one gathering DMA, rows of the
//   innermost dimension, and one contiguous store.
// * It is not (a matrix transposition, possibly batched): DMA rows are
//   contiguous along the operand's innermost dimension J instead, and the
//   vector unit transposes on chip. A tile holds a block of J, a block of
//   the result's innermost dimension I and a block of one more (outer)
//   dimension F, loaded as [I][F][J]; one `copy` whose source view steps
//   F x J elements along a column writes it as [F][J][I], the result's
//   order, and a store scatters it. The column stride is a 12-bit field, so
//   F x J blocks stay below 2048; other dimensions are loops.
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "adagp/Dialect/NN/NNOps.h"

using namespace mlir;

namespace adagp::accel {
namespace {

/// A dimension of the walk: its size and its strides in the operand and in
/// the result (elements).
struct WalkDim {
  int64_t size, src, dst;
};

SmallVector<int64_t> storageOrder(ArrayRef<int64_t> layout, int64_t rank) {
  if (!layout.empty())
    return SmallVector<int64_t>(layout);
  return llvm::to_vector(llvm::seq<int64_t>(0, rank));
}

/// Strides of the logical dimensions of a tensor stored in `layout`.
SmallVector<int64_t> strides(ArrayRef<int64_t> shape,
                             ArrayRef<int64_t> layout) {
  SmallVector<int64_t> order = storageOrder(layout, shape.size());
  SmallVector<int64_t> st(shape.size(), 0);
  int64_t s = 1;
  for (int64_t i = int64_t(order.size()) - 1; i >= 0; --i) {
    st[order[i]] = s;
    s *= shape[order[i]];
  }
  return st;
}

/// Calls `body` with the source and destination offsets of every index of
/// `dims` (an odometer over loops the DMA boxes do not cover).
void forEachIndex(ArrayRef<WalkDim> dims,
                  llvm::function_ref<void(int64_t, int64_t)> body) {
  SmallVector<int64_t> idx(dims.size(), 0);
  while (true) {
    int64_t src = 0, dst = 0;
    for (auto [i, d] : llvm::enumerate(dims)) {
      src += idx[i] * d.src;
      dst += idx[i] * d.dst;
    }
    body(src, dst);
    size_t i = 0;
    for (; i < dims.size(); ++i) {
      if (++idx[i] < dims[i].size)
        break;
      idx[i] = 0;
    }
    if (i == dims.size())
      return;
  }
}

LogicalResult lowerTranspose(Operation *op, LoweringContext &ctx) {
  auto tr = cast<nn::TransposeOp>(op);
  Value srcV = tr.getInput(), dstV = tr.getResult();
  RegionAttr rs = ctx.region(srcV), rd = ctx.region(dstV);
  if (!rs || !rd)
    return failure();
  auto st = cast<RankedTensorType>(srcV.getType());
  auto dt = cast<RankedTensorType>(dstV.getType());
  int64_t rank = dt.getRank();
  ArrayRef<int64_t> perm = tr.getPermutation();
  SmallVector<int64_t> srcStrides = strides(st.getShape(), rs.getLayout());
  SmallVector<int64_t> dstStrides = strides(dt.getShape(), rd.getLayout());
  // The result's storage order, innermost first; result dimension i is
  // operand dimension perm[i].
  SmallVector<int64_t> order = storageOrder(rd.getLayout(), rank);
  SmallVector<WalkDim> dims;
  for (int64_t i = rank - 1; i >= 0; --i) {
    int64_t d = order[i];
    if (dt.getDimSize(d) != 1)
      dims.push_back({dt.getDimSize(d), srcStrides[perm[d]], dstStrides[d]});
  }
  if (dims.empty())
    dims.push_back({1, 1, 1});
  for (size_t i = 0; i + 1 < dims.size();) {
    WalkDim &a = dims[i], &o = dims[i + 1];
    if (o.src == a.size * a.src && o.dst == a.size * a.dst) {
      a.size *= o.size;
      dims.erase(dims.begin() + i + 1);
    } else {
      ++i;
    }
  }
  InstBuilder &ib = ctx.ib;
  uint64_t src = rs.getOffset(), dst = rd.getOffset();
  isa::TensorClass srcCls = ctx.cls(srcV), dstCls = ctx.cls(dstV);
  unsigned parity = 0;

  if (dims[0].src == 1 || dims.size() == 1) {
    // Gather: dimensions [0, q) whole and a chunk of dimension q per DMA,
    // the rest in loops. A chunk is contiguous in the result.
    int64_t budget = std::min<int64_t>(ctx.spadElems() / 2, 65536);
    size_t q = 0;
    int64_t inner = 1;
    while (q + 1 < dims.size() && q + 1 < isa::kMaxDmaDims &&
           inner * dims[q].size <= budget) {
      inner *= dims[q].size;
      ++q;
    }
    int64_t chunk =
        std::max<int64_t>(1, std::min<int64_t>(dims[q].size, budget / inner));
    if (inner > budget)
      return op->emitError("a transposition row of ")
             << inner << " elements does not fit the scratchpad twice";
    SmallVector<WalkDim> loops(dims.begin() + q + 1, dims.end());
    forEachIndex(loops, [&](int64_t srcOff, int64_t dstOff) {
      for (int64_t c0 = 0; c0 < dims[q].size; c0 += chunk) {
        int64_t cc = std::min(chunk, dims[q].size - c0);
        DmaBox box;
        int64_t cstride = 1;
        for (size_t i = 0; i <= q; ++i) {
          int64_t size = i == q ? cc : dims[i].size;
          box.dim[i] = {size, 0, 0, dims[i].src, cstride};
          cstride *= size;
        }
        int64_t chip = (parity++ % 2) * budget;
        ib.load(src + 4 * uint64_t(srcOff + c0 * dims[q].src), chip, box,
                srcCls);
        ib.store(dst + 4 * uint64_t(dstOff + c0 * dims[q].dst), chip,
                 DmaBox::contiguous(cc * inner), dstCls);
      }
    });
    return success();
  }

  // Transposition on chip. J: the operand's innermost dimension in the
  // walk; I: the result's innermost; F: the innermost other one.
  size_t jIdx = 0;
  for (size_t i = 1; i < dims.size(); ++i)
    if (dims[i].src < dims[jIdx].src)
      jIdx = i;
  WalkDim I = dims[0], J = dims[jIdx], F{1, 0, 0};
  SmallVector<WalkDim> loops;
  for (size_t i = 1; i < dims.size(); ++i) {
    if (i == jIdx)
      continue;
    if (F.size == 1 && loops.empty())
      F = dims[i];
    else
      loops.push_back(dims[i]);
  }
  constexpr int64_t kMaxColStride = 2047;
  int64_t budget = ctx.spadElems() / 4; // source and result tiles, twice
  int64_t jb = std::min<int64_t>({J.size, kMaxColStride, 65536});
  int64_t fb =
      std::max<int64_t>(1, std::min<int64_t>(F.size, kMaxColStride / jb));
  int64_t ibk = std::min<int64_t>({I.size, budget / (fb * jb), 65536});
  if (ibk < 1)
    return op->emitError("a transposition tile does not fit the scratchpad");
  forEachIndex(loops, [&](int64_t srcOff, int64_t dstOff) {
    for (int64_t f0 = 0; f0 < F.size; f0 += fb) {
      int64_t fc = std::min(fb, F.size - f0);
      for (int64_t j0 = 0; j0 < J.size; j0 += jb) {
        int64_t jc = std::min(jb, J.size - j0);
        for (int64_t i0 = 0; i0 < I.size; i0 += ibk) {
          int64_t ic = std::min(ibk, I.size - i0);
          unsigned b = parity++ % 2;
          int64_t in = 2 * b * budget, out = in + budget;
          // [I][F][J] on chip, rows of J contiguous in DRAM.
          DmaBox lb;
          lb.dim[0] = {jc, 0, 0, J.src, 1};
          lb.dim[1] = {fc, 0, 0, F.src, jc};
          lb.dim[2] = {ic, 0, 0, I.src, fc * jc};
          ib.load(
              src + 4 * uint64_t(srcOff + f0 * F.src + j0 * J.src + i0 * I.src),
              in, lb, srcCls);
          // Row (f, j) of the result tile is column (f, j) of the source
          // tile.
          ib.vec(isa::VecFunct::Copy, fc * jc, ic, View{out, ic, 1},
                 View{in, 1, fc * jc});
          DmaBox sb;
          sb.dim[0] = {ic, 0, 0, I.dst, 1};
          sb.dim[1] = {jc, 0, 0, J.dst, ic};
          sb.dim[2] = {fc, 0, 0, F.dst, jc * ic};
          ib.store(
              dst + 4 * uint64_t(dstOff + f0 * F.dst + j0 * J.dst + i0 * I.dst),
              out, sb, dstCls);
        }
      }
    }
  });
  return success();
}

} // namespace

void populateTransposeLowerings(LoweringRegistry &r) {
  r.add(nn::TransposeOp::getOperationName(), lowerTranspose);
}

} // namespace adagp::accel
