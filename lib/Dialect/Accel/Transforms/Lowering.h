//===- Lowering.h - Shared machinery of the accelerator lowering -*- C++ -*-===//
//
// What --accel-tile and --accel-lower-steps share: an instruction builder
// that speaks in DMA boxes and vector views, the implicit-GEMM engine that
// tiles a matrix product onto the array with double-buffered operands, the
// tiling cost model, and the per-op lowering registry. Internal to
// lib/Dialect/Accel/Transforms.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_LIB_DIALECT_ACCEL_TRANSFORMS_LOWERING_H
#define ADAGP_LIB_DIALECT_ACCEL_TRANSFORMS_LOWERING_H

#include "adagp/Dialect/Accel/AccelDialect.h"
#include "adagp/ISA/ISA.h"
#include "adagp/ISA/ProgramInfo.h"
#include "adagp/Sim/Config.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace adagp::accel {

//===----------------------------------------------------------------------===//
// Instructions
//===----------------------------------------------------------------------===//

/// One dimension of a DMA box (docs/isa.md section 3).
struct BoxDim {
  int64_t size = 1, start = 0, extent = 0, dstride = 0, cstride = 0;
};

/// A DMA box: dim[0] is the load/store's own dimension, dim[1..4] go to the
/// queue's DMACFG registers.
struct DmaBox {
  BoxDim dim[isa::kMaxDmaDims];
  float pad = 0;

  /// `n` contiguous elements on both sides.
  static DmaBox contiguous(int64_t n);
  /// `rows` rows of `cols` contiguous elements, rows `dramRowStride` apart in
  /// DRAM and `chipRowStride` apart on chip (strides in elements); one run
  /// when the rows are back to back on both sides.
  static DmaBox rows(int64_t rows, int64_t cols, int64_t dramRowStride,
                     int64_t chipRowStride);
  int64_t numElements() const;
};

/// A 2-D view of on-chip memory for the vector unit.
struct View {
  int64_t addr = 0, rs = 0, cs = 0;
};

/// Emits instructions at a builder's insertion point, each with the current
/// phase label. Addresses: DRAM in bytes, on-chip in elements.
class InstBuilder {
public:
  InstBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  void setPhase(isa::Phase p) { phase = p; }
  isa::Phase getPhase() const { return phase; }
  void setLoc(mlir::Location l) { loc = l; }
  mlir::OpBuilder &builder() { return b; }

  mlir::Operation *emit(isa::Instruction inst, llvm::StringRef target = {},
                        llvm::StringRef tensorClass = {});

  void load(uint64_t dram, int64_t chip, const DmaBox &box,
            isa::TensorClass cls);
  void store(uint64_t dram, int64_t chip, const DmaBox &box,
             isa::TensorClass cls);

  struct Gemm {
    int64_t a = 0, lda = 0, b = 0, ldb = 0, c = 0, ldc = 0, m = 1, k = 1,
            n = 1;
    bool ta = false, tb = false, tc = false, acc = false, keep = false;
  };
  void gemm(const Gemm &g);
  /// D = f(A, B, imm) over rows x cols.
  void vec(isa::VecFunct f, int64_t rows, int64_t cols, View d,
           View a = View{0, 0, 0}, View b = View{0, 0, 0}, float imm = 0);
  /// Vector op on `n` contiguous elements (d, a, b each contiguous; a/b
  /// ignored when negative), split into rows of at most 65536.
  void vecFlat(isa::VecFunct f, int64_t n, int64_t d, int64_t a = -1,
               int64_t b = -1, float imm = 0);
  void fill(int64_t rows, int64_t cols, View d, float value);

  /// Scalar instructions.
  void sopi(isa::ScalarFunct f, unsigned rd, unsigned rs1, int64_t imm);
  void sopiF(isa::ScalarFunct f, unsigned rd, unsigned rs1, double imm);
  void sop(isa::ScalarFunct f, unsigned rd, unsigned rs1, unsigned rs2);
  void sld(isa::SMemFunct f, unsigned r, int64_t addr);
  void sst(isa::SMemFunct f, unsigned r, int64_t addr);

private:
  void dma(bool isLoad, uint64_t dram, int64_t chip, const DmaBox &box,
           isa::TensorClass cls);

  mlir::OpBuilder &b;
  mlir::Location loc;
  isa::Phase phase = isa::Phase::Other;
};

//===----------------------------------------------------------------------===//
// Tiling
//===----------------------------------------------------------------------===//

/// A matrix product C[M x N] = A[M x K] * B[K x N] in "units": a unit of M,
/// K or N is what the tensors' layout lets a DMA box take as one step (an
/// image row of pixels, a channel with all its filter taps, a matrix row).
struct GemmShape {
  int64_t mUnits = 1, kUnits = 1, nUnits = 1;
  /// GEMM elements per unit (pixels per row, taps per channel, ...).
  int64_t mScale = 1, kScale = 1, nScale = 1;
  /// Units in a group (the rows of one image) that a block may not straddle:
  /// a block holds at most one group's worth of units (then stays inside a
  /// group) or a whole number of groups. 0: no grouping.
  int64_t mGroup = 0, kGroup = 0;
  /// DMAs that fill one A tile (the filter taps for an implicit im2col) and
  /// the bytes each moves per tile element (>= 4: strided rows cost bursts).
  int64_t aDmas = 1, bDmas = 1;
  double aBytesPerElement = 4, bBytesPerElement = 4;
  /// Extra scratchpad elements per output column (bias) and fixed.
  int64_t spadPerN = 0, spadFixed = 0;
  /// Whether computing C^T (the N side streamed through the array) is
  /// allowed.
  bool allowSwap = true;
  /// Dimensions that must be one block: a grouped convolution's
  /// block-diagonal filter tile keeps its zeros only while every tile of the
  /// product has the same shape.
  bool wholeM = false, wholeK = false, wholeN = false;
};

/// Span sizes in units, and the orientation.
struct GemmTile {
  int64_t m = 1, k = 1, n = 1;
  bool swap = false;
  double cost = 0; // estimated cycles
};

/// Chooses the block sizes minimising the estimated time on `cfg`. Fails
/// with `why` naming the memory and the shortfall when even the smallest
/// tile does not fit.
bool chooseGemmTile(const GemmShape &shape, const sim::Config &cfg,
                    GemmTile &tile, std::string &why);
/// Whether a tile fits the configuration (what --accel-tile promises).
bool gemmTileFits(const GemmShape &shape, const GemmTile &tile,
                  const sim::Config &cfg, std::string &why);

/// A block along one dimension: units [begin, begin + size).
struct Span {
  int64_t begin = 0, size = 0;
};
/// Splits `units` into blocks of `blockUnits`, respecting `group` as
/// GemmShape describes.
std::vector<Span> makeBlocks(int64_t units, int64_t blockUnits,
                              int64_t group);

/// Convolution geometry (NCHW input, OIHW filter; docs/accel-compiler.md).
struct ConvGeometry {
  int64_t n = 1, c = 1, h = 1, w = 1; // input
  int64_t o = 1, kh = 1, kw = 1;      // filter
  int64_t oh = 1, ow = 1;             // output
  int64_t sh = 1, sw = 1, pt = 0, pl = 0;
  int64_t groups = 1;
  int64_t taps() const { return kh * kw; }
  /// Input and output channels per group.
  int64_t cg() const { return c / groups; }
  int64_t og() const { return o / groups; }
  bool depthwise() const { return groups > 1 && cg() == 1 && og() == 1; }
};

/// A grouped convolution is computed a block of consecutive groups at a time
/// as a dense product whose filter tile is block-diagonal (zeros between the
/// groups): as many groups as fill the array's width, at least one.
int64_t convGroupsPerBlock(const ConvGeometry &g, int64_t dim);
/// The convolution of `groups` consecutive groups of `g` (channels and
/// outputs of those groups only).
ConvGeometry convGroupBlock(const ConvGeometry &g, int64_t groups);

/// The GEMM views of the three convolution products (of one group block
/// when `g` is grouped: see convGroupBlock).
GemmShape convForwardShape(const ConvGeometry &g);
/// The input gradient is computed per output phase (one per stride
/// position); this is the largest phase's view.
GemmShape convInputGradShape(const ConvGeometry &g);
GemmShape convFilterGradShape(const ConvGeometry &g);
/// C = op(A) op(B) with A, B and C row-major in DRAM.
GemmShape matmulShape(int64_t m, int64_t k, int64_t n);

//===----------------------------------------------------------------------===//
// The implicit-GEMM engine
//===----------------------------------------------------------------------===//

/// A tiled matrix product whose operand tiles are filled by callbacks, so
/// that the same engine computes matrix products, convolutions (A is an
/// implicit im2col built by one DMA per filter tap) and their gradients.
struct GemmProblem {
  GemmShape shape;
  GemmTile tile;
  /// How the A tile of a block is stored on chip: [m][k] row-major, or
  /// [k][m] (kMajorA) as it comes from DRAM for a transposed operand. B:
  /// [k][n], or [n][k] (nMajorB).
  bool kMajorA = false, nMajorB = false;
  /// Fill the A tile (m-block x k-block) at `chip` with the given leading
  /// dimension (elements between rows of its storage order).
  std::function<void(InstBuilder &, const Span &m, const Span &k,
                     int64_t chip, int64_t ld)>
      loadA;
  std::function<void(InstBuilder &, const Span &k, const Span &n,
                     int64_t chip, int64_t ld)>
      loadB;
  /// Optional: prepares each B buffer (`size` elements at `chip`) once
  /// before the first tile, for loadB callbacks that write only part of the
  /// tile (the diagonal blocks of a grouped filter; the rest stays zero).
  std::function<void(InstBuilder &, int64_t chip, int64_t size)> initB;
  /// Finish a C block in the accumulator ([m][n] row-major, leading
  /// dimension `ldc`): epilogue and store. `spadScratch` is free scratchpad
  /// of `spadScratchSize` elements.
  std::function<void(InstBuilder &, const Span &m, const Span &n,
                     int64_t acc, int64_t ldc, int64_t spadScratch)>
      storeC;
};

/// Emits the whole product: for each n-block and m-block, the k-blocks'
/// operand loads into alternating scratchpad buffers, the GEMMs into one of
/// two accumulator buffers, then `storeC`. Tokens come later
/// (--accel-insert-tokens) and make the alternation a double buffer.
llvm::LogicalResult emitGemm(InstBuilder &ib, const GemmProblem &problem,
                             const sim::Config &cfg, mlir::Operation *op);

//===----------------------------------------------------------------------===//
// Per-op lowerings
//===----------------------------------------------------------------------===//

class LoweringContext;

/// Fused element-wise groups (LowerElementwise.cpp): maximal runs of
/// consecutive chunk-streamed element-wise ops with one result type, each
/// reading what an earlier op of the run reads or computes (global loads and
/// constants between them neither join nor end a run). The lowering emits a
/// group as one chunk loop: each chunk of the external operands is loaded
/// once, every op runs on chip, and only the results read outside the group
/// are stored. Structural only; the lowering falls back to one loop per op
/// when the results' storage orders differ or the tiles do not fit.
/// --accel-plan-dram keeps everything a group reads live until its last op,
/// so that a region freed inside the group is never one the loop still
/// reads, whichever way the group is lowered.
struct ElementwiseGroups {
  std::vector<llvm::SmallVector<mlir::Operation *, 4>> groups;
  llvm::DenseMap<mlir::Operation *, unsigned> groupOf;
  /// The group that `op` starts, if any.
  llvm::ArrayRef<mlir::Operation *> startingAt(mlir::Operation *op) const {
    auto it = groupOf.find(op);
    if (it == groupOf.end() || groups[it->second].front() != op)
      return {};
    return groups[it->second];
  }
};
ElementwiseGroups findElementwiseGroups(mlir::Block &body);
/// A group's first op when it is not element-wise itself: the last pass of
/// a batch normalisation (y = (x - mean) * k + bias, its statistics on chip
/// before the loop).
struct GroupLeader {
  /// What it reads per chunk, and its instructions on one chunk.
  llvm::SmallVector<mlir::Value, 2> inputs;
  std::function<void(InstBuilder &, llvm::ArrayRef<View> in, View out,
                     int64_t rows, int64_t cols)>
      body;
  /// The logical shape of a per-channel operand ([1, C, 1, 1]): chunks are
  /// rows of all channels, so that its vectors broadcast along the rows.
  llvm::SmallVector<int64_t, 4> columnShape;
  /// The loop's tiles stay below this scratchpad element (its vectors lie
  /// above).
  int64_t spadLimit = 0;
};
/// Emits a group of findElementwiseGroups as one chunk loop (`leader`: how
/// its first op computes a chunk when it is not element-wise); false when
/// it cannot (the stored results in different orders, a broadcast pattern
/// the stream cannot express, rows that do not fit), and the caller then
/// lowers each op by itself.
mlir::FailureOr<bool>
lowerElementwiseGroup(llvm::ArrayRef<mlir::Operation *> ops,
                      LoweringContext &ctx,
                      const GroupLeader *leader = nullptr);
/// Whether `op` is a chunk-streamed element-wise op that may join a fused
/// group: f32 operands in DRAM, and not computed inside another op (a
/// matrix product's epilogue, a row sum's product).
bool isFusibleElementwise(mlir::Operation *op);

/// Everything a lowering needs about the function being lowered.
class LoweringContext {
public:
  LoweringContext(const sim::Config &cfg, InstBuilder &ib,
                  mlir::func::FuncOp func, mlir::ModuleOp module)
      : cfg(cfg), ib(ib), func(func), module(module) {}

  const sim::Config &cfg;
  InstBuilder &ib;
  mlir::func::FuncOp func;
  mlir::ModuleOp module;

  /// The DRAM region of a tensor value; emits an error at `user` when the
  /// plan has none.
  RegionAttr region(mlir::Value v);
  uint64_t addr(mlir::Value v) { return region(v).getOffset(); }
  isa::TensorClass cls(mlir::Value v);
  /// The storage order (empty: row-major).
  llvm::ArrayRef<int64_t> layout(mlir::Value v) {
    return region(v).getLayout();
  }

  /// Scalar registers for 0-d integer/float values computed on the scalar
  /// core (the step counter, the learning rate).
  llvm::DenseMap<mlir::Value, unsigned> regs;
  unsigned allocRegister(mlir::Operation *op);
  /// A register for temporaries that die within one op's lowering, shared
  /// by all ops (index < 8).
  unsigned scratchRegister(mlir::Operation *op, unsigned index) {
    while (scratch.size() <= index)
      scratch.push_back(allocRegister(op));
    return scratch[index];
  }
  llvm::SmallVector<unsigned, 8> scratch;
  unsigned nextRegister = 4; // r1..r3: the driver; r31: return address

  /// Ops already lowered together with an earlier one.
  llvm::DenseSet<mlir::Operation *> done;
  /// The function's fused element-wise groups (computed on first use).
  const ElementwiseGroups &elementwiseGroups() {
    if (!groups)
      groups = findElementwiseGroups(func.getBody().front());
    return *groups;
  }
  std::optional<ElementwiseGroups> groups;

  /// Constant data the lowering wants in DRAM (optimizer hyper-parameter
  /// blocks): placed in the region the plan reserved on the op.
  void addData(mlir::Attribute value, RegionAttr region);

  /// Scratchpad and accumulator sizes in elements.
  int64_t spadElems() const { return int64_t(cfg.spadElements()); }
  int64_t accElems() const { return int64_t(cfg.accElements()); }
  int64_t dim() const { return cfg.arrayDim; }
};

using LowerFn =
    std::function<llvm::LogicalResult(mlir::Operation *, LoweringContext &)>;

/// Op name -> lowering. Each family registers its ops (one file each), so
/// new ops (ADA-GP's) are new entries.
class LoweringRegistry {
public:
  void add(llvm::StringRef opName, LowerFn fn) { table[opName] = fn; }
  const LowerFn *lookup(llvm::StringRef opName) const {
    auto it = table.find(opName);
    return it == table.end() ? nullptr : &it->second;
  }

private:
  llvm::StringMap<LowerFn> table;
};

void populateConvLowerings(LoweringRegistry &r);
void populateMatmulLowerings(LoweringRegistry &r);
void populateElementwiseLowerings(LoweringRegistry &r);
void populatePoolLowerings(LoweringRegistry &r);
void populateNormLowerings(LoweringRegistry &r);
void populateLossLowerings(LoweringRegistry &r);
void populateOptimizerLowerings(LoweringRegistry &r);
void populateScalarLowerings(LoweringRegistry &r);
void populateShapeLowerings(LoweringRegistry &r);
void populateTransposeLowerings(LoweringRegistry &r);
void populateADAGPLowerings(LoweringRegistry &r);

/// Helpers shared by the lowerings.
/// The geometry of a convolution op (nn.conv2d, conv2d_input_grad,
/// conv2d_filter_grad); fails (with an error at `op`) on dilation, which
/// the lowering does not handle.
llvm::LogicalResult getConvGeometry(mlir::Operation *op, ConvGeometry &g);
/// Whether a depthwise convolution product runs on the vector unit
/// (LowerDepthwise.cpp): it does when one image of one channel fits; other
/// grouped convolutions, and depthwise ones too large for that, are
/// block-diagonal GEMMs.
bool depthwiseOnVectorUnit(const ConvGeometry &g, const sim::Config &cfg);
/// Lowers nn.conv2d, conv2d_input_grad or conv2d_filter_grad of geometry
/// `g` (for which depthwiseOnVectorUnit holds) on the vector unit.
llvm::LogicalResult lowerDepthwise(mlir::Operation *op, const ConvGeometry &g,
                                   LoweringContext &ctx);
/// The GEMM of one 2-D product of nn.gemm or nn.matmul (batched products
/// are one GEMM per batch index, or one with the batches folded into M).
mlir::FailureOr<GemmShape> matmulGemmShape(mlir::Operation *op);
/// The element-wise op that nn.gemm (or nn.conv2d) `gemm` computes in its
/// epilogue, if any: its only user, an nn.relu of its result or (a product
/// only) an nn.add of its result
/// and a tensor of the same type that already exists when the product runs
/// (a function argument, a global's load or an earlier op's result), with
/// nothing but global loads and constants between them. The product is
/// then never stored: the epilogue applies the op on the accumulator tile
/// and stores the op's result. Structural only; `fusedEpilogue` adds the
/// layout checks of the lowering. --accel-plan-dram keeps the product's
/// operands live until that op, so that the op's result region (allocated
/// at the op) cannot be one that the product still reads.
mlir::Operation *epilogueCandidate(mlir::Operation *gemm);
/// `epilogueCandidate(gemm)` if the lowering fuses it (a product's operands
/// and results row-major; a convolution on the array whose ReLU keeps its
/// storage order), otherwise null.
mlir::Operation *fusedEpilogue(mlir::Operation *gemm, LoweringContext &ctx);
/// Whether a tensor stored in `layout` (a storage order; empty: row-major)
/// has its elements in row-major order: the order's dimensions of size > 1
/// ascend.
bool rowMajorEquivalent(mlir::RankedTensorType t,
                        llvm::ArrayRef<int64_t> layout);
/// The first element, in row-major order, of a slice that is one contiguous
/// run of its operand when both are stored row-major: unit steps, every
/// dimension inside the first partly taken one whole, every one outside it
/// of size 1 (a block of rows, or part of one row). --accel-plan-dram then
/// places the slice inside its operand's region and the lowering copies
/// nothing. Null otherwise.
std::optional<int64_t> contiguousSliceStart(mlir::Operation *slice);
/// The optimizer update (train.sgd_update or train.adam_update) whose
/// gradient is `expand`'s result, an adagp.expand_prediction with no other
/// user; structural only. --accel-plan-dram keeps the expansion's operands
/// live until the update.
mlir::Operation *expansionUpdate(mlir::Operation *expand);
/// `expansionUpdate(expand)` if its lowering reads the predictor's rows
/// itself (f32, row-major rows, a row-major or [KH][KW][I][O] parameter,
/// blocks that fit the scratchpad): the expansion then emits nothing.
mlir::Operation *fusedExpansion(mlir::Operation *expand, LoweringContext &ctx);
/// Reads `accel.tile` from an op (set by --accel-tile).
bool readTile(mlir::Operation *op, GemmTile &tile);
void writeTile(mlir::Operation *op, const GemmTile &tile);

/// Elements per scratchpad bank (vector ops read two sources faster from
/// different banks).
int64_t spadBankElems(const sim::Config &cfg);
/// Element count of a shaped type.
int64_t numElements(mlir::Type t);

/// The scalar (0-d or splat) value of a constant operand, if it is one.
std::optional<double> constantScalar(mlir::Value v);

} // namespace adagp::accel

#endif // ADAGP_LIB_DIALECT_ACCEL_TRANSFORMS_LOWERING_H
