//===- MemRefCopy.cpp - memref.copy between strided buffers ---------------===//
//
// Lowered code calls `memrefCopy` for copies that are not one contiguous
// block (slices of larger buffers). MLIR's own implementation lives in
// libmlir_c_runner_utils; adagp's compiled models carry this one so that
// they need no MLIR library at run time.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <cstring>
#include <vector>

namespace {
/// MLIR's unranked memref: a rank and a pointer to the ranked descriptor
/// { allocated, aligned, offset, sizes[rank], strides[rank] }.
struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};

struct Descriptor {
  char *allocated;
  char *aligned;
  int64_t offset;
  int64_t sizesAndStrides[];
};
} // namespace

extern "C" void memrefCopy(int64_t elementSize, UnrankedMemRef *src,
                           UnrankedMemRef *dst) {
  int64_t rank = src->rank;
  auto *s = static_cast<Descriptor *>(src->descriptor);
  auto *d = static_cast<Descriptor *>(dst->descriptor);
  const int64_t *sizes = s->sizesAndStrides;
  const int64_t *srcStrides = s->sizesAndStrides + rank;
  const int64_t *dstStrides = d->sizesAndStrides + rank;
  char *from = s->aligned + s->offset * elementSize;
  char *to = d->aligned + d->offset * elementSize;
  if (rank == 0) {
    std::memcpy(to, from, elementSize);
    return;
  }
  for (int64_t i = 0; i < rank; ++i)
    if (sizes[i] == 0)
      return;
  // Odometer over all but the innermost dimension; the innermost run is
  // one memcpy when both sides are contiguous there.
  std::vector<int64_t> index(rank, 0);
  int64_t inner = sizes[rank - 1];
  bool contiguous = srcStrides[rank - 1] == 1 && dstStrides[rank - 1] == 1;
  for (;;) {
    int64_t so = 0, dof = 0;
    for (int64_t i = 0; i < rank - 1; ++i) {
      so += index[i] * srcStrides[i];
      dof += index[i] * dstStrides[i];
    }
    if (contiguous) {
      std::memcpy(to + dof * elementSize, from + so * elementSize,
                  inner * elementSize);
    } else {
      for (int64_t j = 0; j < inner; ++j)
        std::memcpy(to + (dof + j * dstStrides[rank - 1]) * elementSize,
                    from + (so + j * srcStrides[rank - 1]) * elementSize,
                    elementSize);
    }
    int64_t i = rank - 2;
    for (; i >= 0; --i) {
      if (++index[i] < sizes[i])
        break;
      index[i] = 0;
    }
    if (i < 0)
      return;
  }
}
