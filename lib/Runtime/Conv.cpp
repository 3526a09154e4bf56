//===- Conv.cpp - Convolutions on oneDNN ----------------------------------===//
//
// Forward, input-gradient and filter-gradient convolutions run oneDNN's
// primitives (the same library PyTorch uses on the CPU). The model keeps
// NCHW tensors; a primitive may compute in oneDNN's blocked layouts, with
// reorders from and to NCHW around it. Which layout is chosen by a fixed
// rule (not by timing, so that a run is reproducible):
//   - small feature maps (<= 16 output positions, as in late ResNet-18
//     stages) use oneDNN's GEMM-based implementation on NCHW directly;
//   - everything else lets oneDNN pick its blocked direct convolution.
// Primitives, reorders and scratch memories are created once per shape and
// cached; a call only rebinds the data pointers.
//
//===----------------------------------------------------------------------===//

#include "adagp/Runtime/Kernels.h"

#include "Dnnl.h"

#include <map>
#include <memory>
#include <vector>

using namespace adagp::runtime;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

namespace {

enum class Kind { Forward, ForwardBias, InputGrad, FilterGrad };

struct Geometry {
  int64_t N, C, H, W, K, R, S, OH, OW, SH, SW, PT, PL, PB, PR, DH, DW, G;

  std::vector<int64_t> key(Kind kind) const {
    return {static_cast<int64_t>(kind), N, C, H, W, K, R, S, OH, OW, SH, SW,
            PT, PL, PB, PR, DH, DW, G};
  }
  dnnl::memory::dims src() const { return {N, C, H, W}; }
  dnnl::memory::dims dst() const { return {N, K, OH, OW}; }
  dnnl::memory::dims weights() const {
    if (G == 1)
      return {K, C, R, S};
    return {G, K / G, C / G, R, S};
  }
  tag weightsTag() const { return G == 1 ? tag::oihw : tag::goihw; }
  dnnl::memory::dims strides() const { return {SH, SW}; }
  // oneDNN counts dilation from 0.
  dnnl::memory::dims dilations() const { return {DH - 1, DW - 1}; }
  dnnl::memory::dims padLow() const { return {PT, PL}; }
  dnnl::memory::dims padHigh() const { return {PB, PR}; }
  // GEMM on plain NCHW wins for small feature maps of dense convolutions;
  // grouped (depthwise) ones need the blocked direct kernels.
  bool plain() const { return OH * OW <= 16 && G == 1; }
};

/// One argument of a primitive: the user's NCHW buffer, and when the
/// primitive wants another layout, its own buffer and the reorder.
struct Operand {
  dnnl::memory user;
  dnnl::memory internal;
  dnnl::reorder toInternal, toUser;
  bool reordered = false;

  void init(const dnnl::memory::desc &userDesc,
            const dnnl::memory::desc &wanted, bool input) {
    user = dnnl::memory(userDesc, engine(), DNNL_MEMORY_NONE);
    reordered = wanted != userDesc;
    if (!reordered) {
      internal = user;
      return;
    }
    internal = dnnl::memory(wanted, engine());
    if (input)
      toInternal = dnnl::reorder(user, internal);
    else
      toUser = dnnl::reorder(internal, user);
  }
  void bind(const void *data) {
    user.set_data_handle(const_cast<void *>(data));
  }
  void before(dnnl::stream &s) {
    if (reordered && toInternal)
      toInternal.execute(s, user, internal);
  }
  void after(dnnl::stream &s) {
    if (reordered && toUser)
      toUser.execute(s, internal, user);
  }
};

struct Entry {
  dnnl::primitive primitive;
  Operand a, b, c, bias; // the primitive's two inputs, output, bias
  int aArg = 0, bArg = 0, cArg = 0;
  bool hasBias = false;
};

dnnl::memory::desc plainDesc(const dnnl::memory::dims &dims, tag t) {
  return dnnl::memory::desc(dims, dt::f32, t);
}

dnnl::memory::desc layoutFor(const Geometry &g, const dnnl::memory::dims &dims,
                             tag plainTag) {
  return dnnl::memory::desc(dims, dt::f32, g.plain() ? plainTag : tag::any);
}

dnnl::convolution_forward::primitive_desc forwardDesc(const Geometry &g,
                                                      bool bias) {
  auto src = layoutFor(g, g.src(), tag::nchw);
  auto weights = layoutFor(g, g.weights(), g.weightsTag());
  auto dst = layoutFor(g, g.dst(), tag::nchw);
  auto prop = dnnl::prop_kind::forward_training;
  auto alg = dnnl::algorithm::convolution_direct;
  if (bias) {
    auto b = plainDesc({g.K}, tag::x);
    dnnl::convolution_forward::desc d(prop, alg, src, weights, b, dst,
                                      g.strides(), g.dilations(), g.padLow(),
                                      g.padHigh());
    return dnnl::convolution_forward::primitive_desc(d, engine());
  }
  dnnl::convolution_forward::desc d(prop, alg, src, weights, dst, g.strides(),
                                    g.dilations(), g.padLow(), g.padHigh());
  return dnnl::convolution_forward::primitive_desc(d, engine());
}

std::unique_ptr<Entry> build(const Geometry &g, Kind kind) {
  auto entry = std::make_unique<Entry>();
  auto srcUser = plainDesc(g.src(), tag::nchw);
  auto dstUser = plainDesc(g.dst(), tag::nchw);
  auto weightsUser = plainDesc(g.weights(), g.weightsTag());
  auto alg = dnnl::algorithm::convolution_direct;
  switch (kind) {
  case Kind::Forward:
  case Kind::ForwardBias: {
    bool bias = kind == Kind::ForwardBias;
    auto pd = forwardDesc(g, bias);
    entry->a.init(srcUser, pd.src_desc(), true);
    entry->b.init(weightsUser, pd.weights_desc(), true);
    entry->c.init(dstUser, pd.dst_desc(), false);
    if (bias) {
      entry->hasBias = true;
      entry->bias.init(plainDesc({g.K}, tag::x), pd.bias_desc(), true);
    }
    entry->aArg = DNNL_ARG_SRC, entry->bArg = DNNL_ARG_WEIGHTS,
    entry->cArg = DNNL_ARG_DST;
    entry->primitive = dnnl::convolution_forward(pd);
    break;
  }
  case Kind::InputGrad: {
    auto hint = forwardDesc(g, false);
    dnnl::convolution_backward_data::desc d(
        alg, layoutFor(g, g.src(), tag::nchw),
        layoutFor(g, g.weights(), g.weightsTag()),
        layoutFor(g, g.dst(), tag::nchw), g.strides(), g.dilations(),
        g.padLow(), g.padHigh());
    dnnl::convolution_backward_data::primitive_desc pd(d, engine(), hint);
    entry->a.init(dstUser, pd.diff_dst_desc(), true);
    entry->b.init(weightsUser, pd.weights_desc(), true);
    entry->c.init(srcUser, pd.diff_src_desc(), false);
    entry->aArg = DNNL_ARG_DIFF_DST, entry->bArg = DNNL_ARG_WEIGHTS,
    entry->cArg = DNNL_ARG_DIFF_SRC;
    entry->primitive = dnnl::convolution_backward_data(pd);
    break;
  }
  case Kind::FilterGrad: {
    auto hint = forwardDesc(g, false);
    dnnl::convolution_backward_weights::desc d(
        alg, layoutFor(g, g.src(), tag::nchw),
        layoutFor(g, g.weights(), g.weightsTag()),
        layoutFor(g, g.dst(), tag::nchw), g.strides(), g.dilations(),
        g.padLow(), g.padHigh());
    dnnl::convolution_backward_weights::primitive_desc pd(d, engine(), hint);
    entry->a.init(dstUser, pd.diff_dst_desc(), true);
    entry->b.init(srcUser, pd.src_desc(), true);
    entry->c.init(weightsUser, pd.diff_weights_desc(), false);
    entry->aArg = DNNL_ARG_DIFF_DST, entry->bArg = DNNL_ARG_SRC,
    entry->cArg = DNNL_ARG_DIFF_WEIGHTS;
    entry->primitive = dnnl::convolution_backward_weights(pd);
    break;
  }
  }
  return entry;
}

Entry &lookup(const Geometry &g, Kind kind) {
  static std::map<std::vector<int64_t>, std::unique_ptr<Entry>> cache;
  auto &slot = cache[g.key(kind)];
  if (!slot)
    slot = build(g, kind);
  return *slot;
}

void run(const Geometry &g, Kind kind, const float *a, const float *b,
         const float *bias, float *c) {
  Entry &e = lookup(g, kind);
  dnnl::stream &s = stream();
  e.a.bind(a);
  e.b.bind(b);
  e.c.bind(c);
  e.a.before(s);
  e.b.before(s);
  std::unordered_map<int, dnnl::memory> args = {{e.aArg, e.a.internal},
                                                {e.bArg, e.b.internal},
                                                {e.cArg, e.c.internal}};
  if (e.hasBias) {
    e.bias.bind(bias);
    e.bias.before(s);
    args[DNNL_ARG_BIAS] = e.bias.internal;
  }
  e.primitive.execute(s, args);
  e.c.after(s);
  s.wait();
}

} // namespace

#define ADAGP_GEOMETRY                                                         \
  Geometry {                                                                   \
    N, C, H, W, K, R, S, OH, OW, SH, SW, PT, PL, PB, PR, DH, DW, G             \
  }

extern "C" {

void adagp_conv2d_forward(const float *x, const float *w, float *y,
                          ADAGP_CONV_PARAMS) {
  run(ADAGP_GEOMETRY, Kind::Forward, x, w, nullptr, y);
}

void adagp_conv2d_forward_bias(const float *x, const float *w, const float *b,
                               float *y, ADAGP_CONV_PARAMS) {
  run(ADAGP_GEOMETRY, Kind::ForwardBias, x, w, b, y);
}

void adagp_conv2d_input_grad(const float *dy, const float *w, float *dx,
                             ADAGP_CONV_PARAMS) {
  run(ADAGP_GEOMETRY, Kind::InputGrad, dy, w, nullptr, dx);
}

void adagp_conv2d_filter_grad(const float *dy, const float *x, float *dw,
                              ADAGP_CONV_PARAMS) {
  run(ADAGP_GEOMETRY, Kind::FilterGrad, dy, x, nullptr, dw);
}

} // extern "C"
