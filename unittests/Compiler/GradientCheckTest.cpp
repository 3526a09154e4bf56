//===- GradientCheckTest.cpp - Finite-difference checks of gradient rules -===//
//
// Every operation with a gradient rule (DifferentiableOpInterface) is
// checked against central finite differences in float64. A case is a small
// function `@f` of one or more tensors around the operation under test; the
// harness turns it into
//   @loss(args) = sum over results r of sum(r * w_r)   (w_r random, fixed)
//   @grad(args) = (@loss(args), d@loss/d arg for every arg)
// with nn::differentiate, JIT-compiles both through the CPU pipeline with
// linalg convolutions (the runtime's kernels are float32 only), and compares
// @grad's gradients with (loss(x + eps) - loss(x - eps)) / (2 eps) for every
// element of every argument. Random weights make every output element
// matter, so a rule that gets one element or one broadcast axis wrong fails.
//
// `EveryRuleHasACase` compares the operations that have a rule with the
// operations the cases check, so a new rule without a case fails the suite.
//
//===----------------------------------------------------------------------===//

#include "adagp/Dialect/NN/Autodiff.h"
#include "adagp/Dialect/NN/NNDialect.h"
#include "adagp/Dialect/NN/NNOps.h"
#include "adagp/Dialect/Train/TrainDialect.h"
#include "adagp/InitAll.h"
#include "adagp/Target/CPU/CPUTarget.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/xxhash.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

using namespace mlir;
using namespace adagp;

namespace {

/// Where a case draws the values of one argument from.
struct Range {
  double lo = -1, hi = 1;
};

struct GradientCase {
  /// The test's name (letters, digits, underscores).
  const char *name;
  /// The operation whose gradient rule the case checks; empty for cases
  /// that check the differentiation itself (fan-in, whole networks).
  const char *subject;
  /// `func.func @f(args) -> results` around the operation. Every argument
  /// is differentiated; constants inside are not.
  const char *function;
  /// One range per argument (missing ones are [-1, 1]).
  std::vector<Range> ranges = {};
  /// Points where the function has a kink (relu's 0, clip's bounds):
  /// inputs keep away from them, and from each other (for max, pooling
  /// and sorting ties), so that x +- eps stays on one side.
  std::vector<double> kinks = {};
  bool distinct = false;
};

// Printed by gtest for a failing parameterised case.
[[maybe_unused]] void PrintTo(const GradientCase &c, std::ostream *os) {
  *os << c.name;
}

constexpr const char *kConv = "dilations = array<i64: 1, 1>, groups = 1 : i64";

// clang-format off
const GradientCase kCases[] = {
    //===------------------------------------------------------------===//
    // Elementwise arithmetic with broadcasting
    //===------------------------------------------------------------===//
    {"add_same_shape", "nn.add", R"mlir(
func.func @f(%a: tensor<3x4xf64>, %b: tensor<3x4xf64>) -> tensor<3x4xf64> {
  %0 = nn.add %a, %b : tensor<3x4xf64>, tensor<3x4xf64>
  return %0 : tensor<3x4xf64>
})mlir"},
    {"add_broadcast_rhs", "nn.add", R"mlir(
func.func @f(%a: tensor<2x3x4xf64>, %b: tensor<3x1xf64>) -> tensor<2x3x4xf64> {
  %0 = nn.add %a, %b : tensor<2x3x4xf64>, tensor<3x1xf64>
  return %0 : tensor<2x3x4xf64>
})mlir"},
    {"add_broadcast_both", "nn.add", R"mlir(
func.func @f(%a: tensor<1x3xf64>, %b: tensor<4x1xf64>) -> tensor<4x3xf64> {
  %0 = nn.add %a, %b : tensor<1x3xf64>, tensor<4x1xf64>
  return %0 : tensor<4x3xf64>
})mlir"},
    {"sub_broadcast_lhs", "nn.sub", R"mlir(
func.func @f(%a: tensor<4xf64>, %b: tensor<2x3x4xf64>) -> tensor<2x3x4xf64> {
  %0 = nn.sub %a, %b : tensor<4xf64>, tensor<2x3x4xf64>
  return %0 : tensor<2x3x4xf64>
})mlir"},
    {"sub_scalar_rhs", "nn.sub", R"mlir(
func.func @f(%a: tensor<2x3xf64>, %b: tensor<f64>) -> tensor<2x3xf64> {
  %0 = nn.sub %a, %b : tensor<2x3xf64>, tensor<f64>
  return %0 : tensor<2x3xf64>
})mlir"},
    {"mul_broadcast", "nn.mul", R"mlir(
func.func @f(%a: tensor<2x3x4xf64>, %b: tensor<1x3x1xf64>) -> tensor<2x3x4xf64> {
  %0 = nn.mul %a, %b : tensor<2x3x4xf64>, tensor<1x3x1xf64>
  return %0 : tensor<2x3x4xf64>
})mlir"},
    {"div_broadcast", "nn.div", R"mlir(
func.func @f(%a: tensor<2x3x4xf64>, %b: tensor<3x4xf64>) -> tensor<2x3x4xf64> {
  %0 = nn.div %a, %b : tensor<2x3x4xf64>, tensor<3x4xf64>
  return %0 : tensor<2x3x4xf64>
})mlir", {{-1, 1}, {0.5, 2}}},
    {"div_broadcast_lhs", "nn.div", R"mlir(
func.func @f(%a: tensor<3x1xf64>, %b: tensor<3x4xf64>) -> tensor<3x4xf64> {
  %0 = nn.div %a, %b : tensor<3x1xf64>, tensor<3x4xf64>
  return %0 : tensor<3x4xf64>
})mlir", {{-1, 1}, {-2, -0.5}}},
    {"pow_broadcast", "nn.pow", R"mlir(
func.func @f(%a: tensor<2x3xf64>, %b: tensor<3xf64>) -> tensor<2x3xf64> {
  %0 = nn.pow %a, %b : tensor<2x3xf64>, tensor<3xf64>
  return %0 : tensor<2x3xf64>
})mlir", {{0.5, 2}, {-1.5, 2.5}}},
    {"max_broadcast", "nn.max", R"mlir(
func.func @f(%a: tensor<2x3x4xf64>, %b: tensor<3x4xf64>) -> tensor<2x3x4xf64> {
  %0 = nn.max %a, %b : tensor<2x3x4xf64>, tensor<3x4xf64>
  return %0 : tensor<2x3x4xf64>
})mlir", {}, {}, /*distinct=*/true},
    {"min_same_shape", "nn.min", R"mlir(
func.func @f(%a: tensor<3x4xf64>, %b: tensor<3x4xf64>) -> tensor<3x4xf64> {
  %0 = nn.min %a, %b : tensor<3x4xf64>, tensor<3x4xf64>
  return %0 : tensor<3x4xf64>
})mlir", {}, {}, /*distinct=*/true},
    {"broadcast_to", "nn.broadcast_to", R"mlir(
func.func @f(%a: tensor<3x1xf64>) -> tensor<2x3x4xf64> {
  %0 = nn.broadcast_to %a : tensor<3x1xf64> -> tensor<2x3x4xf64>
  return %0 : tensor<2x3x4xf64>
})mlir"},

    //===------------------------------------------------------------===//
    // Unary operations and activations
    //===------------------------------------------------------------===//
    {"relu", "nn.relu", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.relu %x : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {}, {0.0}},
    {"leaky_relu", "nn.leaky_relu", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.leaky_relu %x {alpha = 0.1 : f64} : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {}, {0.0}},
    {"clip", "nn.clip", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.clip %x {min = -0.5 : f64, max = 0.3 : f64} : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {}, {-0.5, 0.3}},
    {"clip_relu6", "nn.clip", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.clip %x {min = 0.0 : f64, max = 6.0 : f64} : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {{-2, 8}}, {0.0, 6.0}},
    {"hard_sigmoid_onnx", "nn.hard_sigmoid", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.hard_sigmoid %x {alpha = 0.2 : f64, beta = 0.5 : f64} : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {{-4, 4}}, {-2.5, 2.5}},
    {"hard_sigmoid_pytorch", "nn.hard_sigmoid", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.hard_sigmoid %x {alpha = 0.16666666666666666 : f64, beta = 0.5 : f64} : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {{-4, 4}}, {-3.0, 3.0}},
    {"hard_swish", "nn.hard_swish", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.hard_swish %x : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {{-4, 4}}, {-3.0, 3.0}},
    {"sigmoid", "nn.sigmoid", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.sigmoid %x : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {{-3, 3}}},
    {"tanh", "nn.tanh", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.tanh %x : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {{-2, 2}}},
    {"exp", "nn.exp", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.exp %x : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir"},
    {"log", "nn.log", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.log %x : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {{0.2, 3}}},
    {"sqrt", "nn.sqrt", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.sqrt %x : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {{0.2, 3}}},
    {"erf", "nn.erf", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.erf %x : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {{-2, 2}}},
    {"neg", "nn.neg", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.neg %x : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir"},
    {"abs", "nn.abs", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.abs %x : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {}, {0.0}},
    {"reciprocal", "nn.reciprocal", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.reciprocal %x : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir", {{0.5, 2}}},
    {"scale", "nn.scale", R"mlir(
func.func @f(%x: tensor<4x6xf64>) -> tensor<4x6xf64> {
  %0 = nn.scale %x {factor = -1.5 : f64} : tensor<4x6xf64>
  return %0 : tensor<4x6xf64>
})mlir"},
    // The mask is a function of (seed, key, position): the perturbed
    // evaluations see the same mask as the gradient.
    {"dropout", "nn.dropout", R"mlir(
func.func @f(%x: tensor<4x8xf64>) -> tensor<4x8xf64> {
  %key = arith.constant 5 : i64
  %0 = nn.dropout %x, %key {ratio = 0.3 : f64, seed = 11 : i64} : tensor<4x8xf64>
  return %0 : tensor<4x8xf64>
})mlir"},

    //===------------------------------------------------------------===//
    // Convolutions and matrix products
    //===------------------------------------------------------------===//
    {"conv2d_pad1", "nn.conv2d", R"mlir(
func.func @f(%x: tensor<2x3x5x5xf64>, %w: tensor<4x3x3x3xf64>) -> tensor<2x4x5x5xf64> {
  %0 = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x3x5x5xf64>, tensor<4x3x3x3xf64>
  return %0 : tensor<2x4x5x5xf64>
})mlir"},
    {"conv2d_bias", "nn.conv2d", R"mlir(
func.func @f(%x: tensor<2x2x4x4xf64>, %w: tensor<3x2x3x3xf64>, %b: tensor<3xf64>) -> tensor<2x3x2x2xf64> {
  %0 = nn.conv2d %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x2x4x4xf64>, tensor<3x2x3x3xf64>, tensor<3xf64>
  return %0 : tensor<2x3x2x2xf64>
})mlir"},
    // Stride (2, 1), asymmetric padding [top 1, left 0, bottom 2, right 1],
    // a non-square kernel.
    {"conv2d_stride_asymmetric_pads", "nn.conv2d", R"mlir(
func.func @f(%x: tensor<1x2x7x6xf64>, %w: tensor<3x2x3x2xf64>) -> tensor<1x3x4x6xf64> {
  %0 = nn.conv2d %x, %w {strides = array<i64: 2, 1>, pads = array<i64: 1, 0, 2, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<1x2x7x6xf64>, tensor<3x2x3x2xf64>
  return %0 : tensor<1x3x4x6xf64>
})mlir"},
    // Stride 2 where the last rows and columns are in no window: their
    // input gradient is zero.
    {"conv2d_stride2_uncovered_edge", "nn.conv2d", R"mlir(
func.func @f(%x: tensor<1x2x6x6xf64>, %w: tensor<2x2x3x3xf64>) -> tensor<1x2x2x2xf64> {
  %0 = nn.conv2d %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<1x2x6x6xf64>, tensor<2x2x3x3xf64>
  return %0 : tensor<1x2x2x2xf64>
})mlir"},
    {"conv2d_dilation", "nn.conv2d", R"mlir(
func.func @f(%x: tensor<1x2x7x7xf64>, %w: tensor<2x2x3x3xf64>) -> tensor<1x2x7x7xf64> {
  %0 = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 2, 1, 2, 1>, dilations = array<i64: 2, 1>, groups = 1 : i64} : tensor<1x2x7x7xf64>, tensor<2x2x3x3xf64>
  return %0 : tensor<1x2x7x7xf64>
})mlir"},
    {"conv2d_groups_bias", "nn.conv2d", R"mlir(
func.func @f(%x: tensor<2x4x5x5xf64>, %w: tensor<6x2x3x3xf64>, %b: tensor<6xf64>) -> tensor<2x6x5x5xf64> {
  %0 = nn.conv2d %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 2 : i64} : tensor<2x4x5x5xf64>, tensor<6x2x3x3xf64>, tensor<6xf64>
  return %0 : tensor<2x6x5x5xf64>
})mlir"},
    {"conv2d_depthwise_stride2", "nn.conv2d", R"mlir(
func.func @f(%x: tensor<1x3x5x5xf64>, %w: tensor<3x1x3x3xf64>) -> tensor<1x3x3x3xf64> {
  %0 = nn.conv2d %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 3 : i64} : tensor<1x3x5x5xf64>, tensor<3x1x3x3xf64>
  return %0 : tensor<1x3x3x3xf64>
})mlir"},
    {"conv2d_1x1_stride2", "nn.conv2d", R"mlir(
func.func @f(%x: tensor<2x3x5x5xf64>, %w: tensor<4x3x1x1xf64>, %b: tensor<4xf64>) -> tensor<2x4x3x3xf64> {
  %0 = nn.conv2d %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x3x5x5xf64>, tensor<4x3x1x1xf64>, tensor<4xf64>
  return %0 : tensor<2x4x3x3xf64>
})mlir"},
    // A constant input needs no gradient (the first layer of a model):
    // only the filter's is built.
    {"conv2d_filter_only", "nn.conv2d", R"mlir(
func.func @f(%w: tensor<2x1x2x2xf64>) -> tensor<1x2x3x3xf64> {
  %x = arith.constant dense<[[[[0.1, -0.4, 0.9, 0.3], [-0.7, 0.2, 0.5, -0.1],
                               [0.8, -0.6, -0.3, 0.4], [0.0, 0.6, -0.9, 0.7]]]]> : tensor<1x1x4x4xf64>
  %0 = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<1x1x4x4xf64>, tensor<2x1x2x2xf64>
  return %0 : tensor<1x2x3x3xf64>
})mlir"},
    {"gemm_plain", "nn.gemm", R"mlir(
func.func @f(%a: tensor<3x4xf64>, %b: tensor<4x5xf64>) -> tensor<3x5xf64> {
  %0 = nn.gemm %a, %b : tensor<3x4xf64>, tensor<4x5xf64>
  return %0 : tensor<3x5xf64>
})mlir"},
    {"gemm_linear_layer", "nn.gemm", R"mlir(
func.func @f(%x: tensor<3x4xf64>, %w: tensor<5x4xf64>, %b: tensor<5xf64>) -> tensor<3x5xf64> {
  %0 = nn.gemm %x, %w, %b {trans_b = true} : tensor<3x4xf64>, tensor<5x4xf64>, tensor<5xf64>
  return %0 : tensor<3x5xf64>
})mlir"},
    {"gemm_transa_transb_alpha_beta", "nn.gemm", R"mlir(
func.func @f(%a: tensor<4x3xf64>, %b: tensor<5x4xf64>, %c: tensor<1x5xf64>) -> tensor<3x5xf64> {
  %0 = nn.gemm %a, %b, %c {alpha = 0.7 : f64, beta = -1.3 : f64, trans_a = true, trans_b = true} : tensor<4x3xf64>, tensor<5x4xf64>, tensor<1x5xf64>
  return %0 : tensor<3x5xf64>
})mlir"},
    {"gemm_transa_column_bias", "nn.gemm", R"mlir(
func.func @f(%a: tensor<4x3xf64>, %b: tensor<4x5xf64>, %c: tensor<3x1xf64>) -> tensor<3x5xf64> {
  %0 = nn.gemm %a, %b, %c {beta = 0.5 : f64, trans_a = true} : tensor<4x3xf64>, tensor<4x5xf64>, tensor<3x1xf64>
  return %0 : tensor<3x5xf64>
})mlir"},
    {"gemm_full_c_alpha", "nn.gemm", R"mlir(
func.func @f(%a: tensor<3x4xf64>, %b: tensor<5x4xf64>, %c: tensor<3x5xf64>) -> tensor<3x5xf64> {
  %0 = nn.gemm %a, %b, %c {alpha = 2.0 : f64, trans_b = true} : tensor<3x4xf64>, tensor<5x4xf64>, tensor<3x5xf64>
  return %0 : tensor<3x5xf64>
})mlir"},
    {"matmul_2d", "nn.matmul", R"mlir(
func.func @f(%a: tensor<3x4xf64>, %b: tensor<4x2xf64>) -> tensor<3x2xf64> {
  %0 = nn.matmul %a, %b : tensor<3x4xf64>, tensor<4x2xf64>
  return %0 : tensor<3x2xf64>
})mlir"},
    {"matmul_batched_broadcast_rhs", "nn.matmul", R"mlir(
func.func @f(%a: tensor<2x3x4xf64>, %b: tensor<4x5xf64>) -> tensor<2x3x5xf64> {
  %0 = nn.matmul %a, %b : tensor<2x3x4xf64>, tensor<4x5xf64>
  return %0 : tensor<2x3x5xf64>
})mlir"},
    {"matmul_4d_broadcast_both", "nn.matmul", R"mlir(
func.func @f(%a: tensor<2x1x3x4xf64>, %b: tensor<3x4x2xf64>) -> tensor<2x3x3x2xf64> {
  %0 = nn.matmul %a, %b : tensor<2x1x3x4xf64>, tensor<3x4x2xf64>
  return %0 : tensor<2x3x3x2xf64>
})mlir"},

    //===------------------------------------------------------------===//
    // Pooling
    //===------------------------------------------------------------===//
    {"max_pool2d_2x2", "nn.max_pool2d", R"mlir(
func.func @f(%x: tensor<2x2x4x4xf64>) -> tensor<2x2x2x2xf64> {
  %0 = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<2x2x4x4xf64>
  return %0 : tensor<2x2x2x2xf64>
})mlir", {}, {}, /*distinct=*/true},
    // Overlapping windows (a position can be the maximum of several) with
    // padding and ceil_mode.
    {"max_pool2d_overlap_pads_ceil", "nn.max_pool2d", R"mlir(
func.func @f(%x: tensor<1x2x6x6xf64>) -> tensor<1x2x4x4xf64> {
  %0 = nn.max_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, ceil_mode = true} : tensor<1x2x6x6xf64>
  return %0 : tensor<1x2x4x4xf64>
})mlir", {}, {}, /*distinct=*/true},
    {"max_pool2d_ceil_partial_window", "nn.max_pool2d", R"mlir(
func.func @f(%x: tensor<1x1x5x5xf64>) -> tensor<1x1x2x2xf64> {
  %0 = nn.max_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 3, 3>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = true} : tensor<1x1x5x5xf64>
  return %0 : tensor<1x1x2x2xf64>
})mlir", {}, {}, /*distinct=*/true},
    {"max_pool2d_dilation_asymmetric_pads", "nn.max_pool2d", R"mlir(
func.func @f(%x: tensor<1x1x5x5xf64>) -> tensor<1x1x4x4xf64> {
  %0 = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 1, 1>, pads = array<i64: 0, 1, 1, 0>, dilations = array<i64: 2, 2>} : tensor<1x1x5x5xf64>
  return %0 : tensor<1x1x4x4xf64>
})mlir", {}, {}, /*distinct=*/true},
    {"avg_pool2d_exclude_pad", "nn.avg_pool2d", R"mlir(
func.func @f(%x: tensor<1x2x5x5xf64>) -> tensor<1x2x3x3xf64> {
  %0 = nn.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, count_include_pad = false} : tensor<1x2x5x5xf64>
  return %0 : tensor<1x2x3x3xf64>
})mlir"},
    {"avg_pool2d_include_pad", "nn.avg_pool2d", R"mlir(
func.func @f(%x: tensor<1x2x5x5xf64>) -> tensor<1x2x3x3xf64> {
  %0 = nn.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, count_include_pad = true} : tensor<1x2x5x5xf64>
  return %0 : tensor<1x2x3x3xf64>
})mlir"},
    {"avg_pool2d_ceil", "nn.avg_pool2d", R"mlir(
func.func @f(%x: tensor<2x1x5x5xf64>) -> tensor<2x1x3x3xf64> {
  %0 = nn.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = true} : tensor<2x1x5x5xf64>
  return %0 : tensor<2x1x3x3xf64>
})mlir"},
    // ceil_mode adds a window past the right padding: its positions out
    // there never count, even with count_include_pad.
    {"avg_pool2d_ceil_include_pad_asymmetric", "nn.avg_pool2d", R"mlir(
func.func @f(%x: tensor<1x1x6x5xf64>) -> tensor<1x1x3x3xf64> {
  %0 = nn.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 0, 0, 1>, ceil_mode = true, count_include_pad = true} : tensor<1x1x6x5xf64>
  return %0 : tensor<1x1x3x3xf64>
})mlir"},
    {"global_avg_pool", "nn.global_avg_pool", R"mlir(
func.func @f(%x: tensor<2x3x4x4xf64>) -> tensor<2x3x1x1xf64> {
  %0 = nn.global_avg_pool %x : tensor<2x3x4x4xf64>
  return %0 : tensor<2x3x1x1xf64>
})mlir"},

    //===------------------------------------------------------------===//
    // Normalisation
    //===------------------------------------------------------------===//
    // Training mode: the gradient flows through the batch statistics. The
    // running statistics are state (constants here), not differentiated.
    {"batch_norm_train_nchw", "nn.batch_norm_train", R"mlir(
func.func @f(%x: tensor<3x2x2x3xf64>, %g: tensor<2xf64>, %b: tensor<2xf64>) -> tensor<3x2x2x3xf64> {
  %rm = arith.constant dense<[0.1, -0.2]> : tensor<2xf64>
  %rv = arith.constant dense<[1.5, 0.5]> : tensor<2xf64>
  %y, %m, %v, %bm, %bv = nn.batch_norm_train %x, %g, %b, %rm, %rv {epsilon = 1.0e-5 : f64, momentum = 0.9 : f64} : tensor<3x2x2x3xf64>, tensor<2xf64>, tensor<2xf64>, tensor<2xf64>, tensor<2xf64>
  return %y : tensor<3x2x2x3xf64>
})mlir", {{-1, 1}, {0.5, 1.5}}},
    {"batch_norm_train_nc", "nn.batch_norm_train", R"mlir(
func.func @f(%x: tensor<6x4xf64>, %g: tensor<4xf64>, %b: tensor<4xf64>) -> tensor<6x4xf64> {
  %rm = arith.constant dense<0.0> : tensor<4xf64>
  %rv = arith.constant dense<1.0> : tensor<4xf64>
  %y, %m, %v, %bm, %bv = nn.batch_norm_train %x, %g, %b, %rm, %rv {epsilon = 1.0e-3 : f64, momentum = 0.9 : f64} : tensor<6x4xf64>, tensor<4xf64>, tensor<4xf64>, tensor<4xf64>, tensor<4xf64>
  return %y : tensor<6x4xf64>
})mlir", {{-2, 2}, {0.5, 1.5}}},
    {"batch_norm_inference", "nn.batch_norm_inference", R"mlir(
func.func @f(%x: tensor<2x3x2x2xf64>, %g: tensor<3xf64>, %b: tensor<3xf64>) -> tensor<2x3x2x2xf64> {
  %m = arith.constant dense<[0.1, -0.2, 0.3]> : tensor<3xf64>
  %v = arith.constant dense<[1.5, 0.5, 2.0]> : tensor<3xf64>
  %y = nn.batch_norm_inference %x, %g, %b, %m, %v {epsilon = 1.0e-5 : f64} : tensor<2x3x2x2xf64>, tensor<3xf64>, tensor<3xf64>, tensor<3xf64>, tensor<3xf64>
  return %y : tensor<2x3x2x2xf64>
})mlir"},
    {"layer_norm_bias", "nn.layer_norm", R"mlir(
func.func @f(%x: tensor<2x3x4xf64>, %g: tensor<3x4xf64>, %b: tensor<3x4xf64>) -> tensor<2x3x4xf64> {
  %y, %m, %s = nn.layer_norm %x, %g, %b {axis = 1 : i64, epsilon = 1.0e-5 : f64} : tensor<2x3x4xf64>, tensor<3x4xf64>, tensor<3x4xf64>
  return %y : tensor<2x3x4xf64>
})mlir", {{-1, 1}, {0.5, 1.5}}},
    {"layer_norm_last_axis_no_bias", "nn.layer_norm", R"mlir(
func.func @f(%x: tensor<2x3x5xf64>, %g: tensor<5xf64>) -> tensor<2x3x5xf64> {
  %y, %m, %s = nn.layer_norm %x, %g {axis = 2 : i64, epsilon = 1.0e-5 : f64} : tensor<2x3x5xf64>, tensor<5xf64>
  return %y : tensor<2x3x5xf64>
})mlir", {{-1, 1}, {0.5, 1.5}}},

    //===------------------------------------------------------------===//
    // Shape manipulation
    //===------------------------------------------------------------===//
    {"reshape", "nn.reshape", R"mlir(
func.func @f(%x: tensor<2x3x4xf64>) -> tensor<6x4xf64> {
  %0 = nn.reshape %x : tensor<2x3x4xf64> -> tensor<6x4xf64>
  return %0 : tensor<6x4xf64>
})mlir"},
    {"flatten", "nn.flatten", R"mlir(
func.func @f(%x: tensor<2x3x2x2xf64>) -> tensor<6x4xf64> {
  %0 = nn.flatten %x {axis = 2 : i64} : tensor<2x3x2x2xf64>
  return %0 : tensor<6x4xf64>
})mlir"},
    {"transpose", "nn.transpose", R"mlir(
func.func @f(%x: tensor<2x3x4xf64>) -> tensor<4x2x3xf64> {
  %0 = nn.transpose %x {permutation = array<i64: 2, 0, 1>} : tensor<2x3x4xf64>
  return %0 : tensor<4x2x3xf64>
})mlir"},
    {"concat", "nn.concat", R"mlir(
func.func @f(%a: tensor<2x1x3xf64>, %b: tensor<2x2x3xf64>, %c: tensor<2x3x3xf64>) -> tensor<2x6x3xf64> {
  %0 = nn.concat %a, %b, %c {axis = 1 : i64} : tensor<2x1x3xf64>, tensor<2x2x3xf64>, tensor<2x3x3xf64>
  return %0 : tensor<2x6x3xf64>
})mlir"},
    // An operand used twice in one concat gets the sum of both slices.
    {"concat_same_operand_twice", "nn.concat", R"mlir(
func.func @f(%a: tensor<2x3xf64>) -> tensor<4x3xf64> {
  %0 = nn.concat %a, %a {axis = 0 : i64} : tensor<2x3xf64>, tensor<2x3xf64>
  return %0 : tensor<4x3xf64>
})mlir"},
    {"split_both_used", "nn.split", R"mlir(
func.func @f(%x: tensor<2x5x2xf64>) -> (tensor<2x2x2xf64>, tensor<2x3x2xf64>) {
  %0:2 = nn.split %x {axis = 1 : i64, sizes = array<i64: 2, 3>} : tensor<2x5x2xf64>
  return %0#0, %0#1 : tensor<2x2x2xf64>, tensor<2x3x2xf64>
})mlir"},
    // An unused piece contributes a zero gradient.
    {"split_one_used", "nn.split", R"mlir(
func.func @f(%x: tensor<6x2xf64>) -> tensor<2x2xf64> {
  %0:3 = nn.split %x {axis = 0 : i64, sizes = array<i64: 1, 2, 3>} : tensor<6x2xf64>
  return %0#1 : tensor<2x2xf64>
})mlir"},
    {"slice", "nn.slice", R"mlir(
func.func @f(%x: tensor<4x5x3xf64>) -> tensor<2x5x2xf64> {
  %0 = nn.slice %x {starts = array<i64: 1, 0, 1>, sizes = array<i64: 2, 5, 2>, steps = array<i64: 1, 1, 1>} : tensor<4x5x3xf64>
  return %0 : tensor<2x5x2xf64>
})mlir"},
    // A step with a single element taken (the class token of a ViT).
    {"slice_single_index_with_step", "nn.slice", R"mlir(
func.func @f(%x: tensor<2x5x3xf64>) -> tensor<2x1x3xf64> {
  %0 = nn.slice %x {starts = array<i64: 0, 3, 0>, sizes = array<i64: 2, 1, 3>, steps = array<i64: 1, 2, 1>} : tensor<2x5x3xf64>
  return %0 : tensor<2x1x3xf64>
})mlir"},
    {"pad_asymmetric_value", "nn.pad", R"mlir(
func.func @f(%x: tensor<2x3xf64>) -> tensor<5x5xf64> {
  %0 = nn.pad %x {pads = array<i64: 1, 0, 2, 2>, value = 0.5 : f64} : tensor<2x3xf64>
  return %0 : tensor<5x5xf64>
})mlir"},

    //===------------------------------------------------------------===//
    // Reductions and softmax
    //===------------------------------------------------------------===//
    {"reduce_sum_one_axis", "nn.reduce_sum", R"mlir(
func.func @f(%x: tensor<2x3x4xf64>) -> tensor<2x4xf64> {
  %0 = nn.reduce_sum %x {axes = array<i64: 1>, keepdims = false} : tensor<2x3x4xf64>
  return %0 : tensor<2x4xf64>
})mlir"},
    {"reduce_sum_keepdims", "nn.reduce_sum", R"mlir(
func.func @f(%x: tensor<2x3x4xf64>) -> tensor<1x3x1xf64> {
  %0 = nn.reduce_sum %x {axes = array<i64: 0, 2>, keepdims = true} : tensor<2x3x4xf64>
  return %0 : tensor<1x3x1xf64>
})mlir"},
    {"reduce_mean_keepdims", "nn.reduce_mean", R"mlir(
func.func @f(%x: tensor<2x3x4xf64>) -> tensor<2x1x1xf64> {
  %0 = nn.reduce_mean %x {axes = array<i64: 1, 2>, keepdims = true} : tensor<2x3x4xf64>
  return %0 : tensor<2x1x1xf64>
})mlir"},
    {"reduce_mean_first_axis", "nn.reduce_mean", R"mlir(
func.func @f(%x: tensor<2x3x4xf64>) -> tensor<3x4xf64> {
  %0 = nn.reduce_mean %x {axes = array<i64: 0>, keepdims = false} : tensor<2x3x4xf64>
  return %0 : tensor<3x4xf64>
})mlir"},
    {"reduce_max_last_axis", "nn.reduce_max", R"mlir(
func.func @f(%x: tensor<2x3x4xf64>) -> tensor<2x3xf64> {
  %0 = nn.reduce_max %x {axes = array<i64: 2>, keepdims = false} : tensor<2x3x4xf64>
  return %0 : tensor<2x3xf64>
})mlir", {}, {}, /*distinct=*/true},
    {"reduce_max_keepdims", "nn.reduce_max", R"mlir(
func.func @f(%x: tensor<2x3x4xf64>) -> tensor<1x1x4xf64> {
  %0 = nn.reduce_max %x {axes = array<i64: 0, 1>, keepdims = true} : tensor<2x3x4xf64>
  return %0 : tensor<1x1x4xf64>
})mlir", {}, {}, /*distinct=*/true},
    {"softmax_middle_axis", "nn.softmax", R"mlir(
func.func @f(%x: tensor<2x3x4xf64>) -> tensor<2x3x4xf64> {
  %0 = nn.softmax %x {axis = 1 : i64} : tensor<2x3x4xf64>
  return %0 : tensor<2x3x4xf64>
})mlir", {{-2, 2}}},
    {"softmax_last_axis", "nn.softmax", R"mlir(
func.func @f(%x: tensor<3x5xf64>) -> tensor<3x5xf64> {
  %0 = nn.softmax %x {axis = 1 : i64} : tensor<3x5xf64>
  return %0 : tensor<3x5xf64>
})mlir", {{-2, 2}}},
    {"log_softmax_last_axis", "nn.log_softmax", R"mlir(
func.func @f(%x: tensor<3x5xf64>) -> tensor<3x5xf64> {
  %0 = nn.log_softmax %x {axis = 1 : i64} : tensor<3x5xf64>
  return %0 : tensor<3x5xf64>
})mlir", {{-2, 2}}},
    {"log_softmax_first_axis", "nn.log_softmax", R"mlir(
func.func @f(%x: tensor<3x2x4xf64>) -> tensor<3x2x4xf64> {
  %0 = nn.log_softmax %x {axis = 0 : i64} : tensor<3x2x4xf64>
  return %0 : tensor<3x2x4xf64>
})mlir", {{-2, 2}}},

    //===------------------------------------------------------------===//
    // Losses (train dialect)
    //===------------------------------------------------------------===//
    {"softmax_cross_entropy", "train.softmax_cross_entropy", R"mlir(
func.func @f(%logits: tensor<4x5xf64>) -> tensor<f64> {
  %labels = arith.constant dense<[0, 3, 4, 1]> : tensor<4xi64>
  %0 = train.softmax_cross_entropy %logits, %labels : tensor<4x5xf64>, tensor<4xi64> -> tensor<f64>
  return %0 : tensor<f64>
})mlir", {{-3, 3}}},
    {"mse_loss", "train.mse_loss", R"mlir(
func.func @f(%p: tensor<3x4xf64>) -> tensor<f64> {
  %t = arith.constant dense<[[0.5, -1.0, 0.25, 2.0], [0.0, 1.5, -0.5, 0.75], [1.0, 1.0, -2.0, 0.1]]> : tensor<3x4xf64>
  %0 = train.mse_loss %p, %t : tensor<3x4xf64> -> tensor<f64>
  return %0 : tensor<f64>
})mlir"},

    //===------------------------------------------------------------===//
    // Differentiation itself: fan-in, inactive operands, whole networks
    //===------------------------------------------------------------===//
    // %x reaches the loss along three paths, %t along two: the gradients
    // are summed.
    {"fan_in_sums_gradients", "", R"mlir(
func.func @f(%x: tensor<3x4xf64>) -> tensor<3x4xf64> {
  %t = nn.tanh %x : tensor<3x4xf64>
  %0 = nn.mul %t, %x : tensor<3x4xf64>, tensor<3x4xf64>
  %1 = nn.add %0, %t : tensor<3x4xf64>, tensor<3x4xf64>
  %2 = nn.mul %x, %x : tensor<3x4xf64>, tensor<3x4xf64>
  %3 = nn.sub %1, %2 : tensor<3x4xf64>, tensor<3x4xf64>
  return %3 : tensor<3x4xf64>
})mlir"},
    // A function with two results, one of which depends on only one input.
    {"two_results", "", R"mlir(
func.func @f(%a: tensor<2x3xf64>, %b: tensor<3xf64>) -> (tensor<2x3xf64>, tensor<2x3xf64>) {
  %0 = nn.mul %a, %b : tensor<2x3xf64>, tensor<3xf64>
  %1 = nn.exp %a : tensor<2x3xf64>
  return %0, %1 : tensor<2x3xf64>, tensor<2x3xf64>
})mlir"},
    // A small residual CNN: conv, training batch norm, relu, a residual
    // add (fan-in), max pooling, a linear layer and the cross-entropy.
    {"residual_cnn_cross_entropy", "", R"mlir(
func.func @f(%x: tensor<2x2x4x4xf64>, %w1: tensor<2x2x3x3xf64>, %g: tensor<2xf64>, %beta: tensor<2xf64>, %fc: tensor<3x8xf64>, %fb: tensor<3xf64>) -> tensor<f64> {
  %rm = arith.constant dense<0.0> : tensor<2xf64>
  %rv = arith.constant dense<1.0> : tensor<2xf64>
  %labels = arith.constant dense<[2, 0]> : tensor<2xi64>
  %0 = nn.conv2d %x, %w1 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : tensor<2x2x4x4xf64>, tensor<2x2x3x3xf64>
  %1, %m, %v, %bm, %bv = nn.batch_norm_train %0, %g, %beta, %rm, %rv {epsilon = 1.0e-5 : f64, momentum = 0.9 : f64} : tensor<2x2x4x4xf64>, tensor<2xf64>, tensor<2xf64>, tensor<2xf64>, tensor<2xf64>
  %2 = nn.add %1, %x : tensor<2x2x4x4xf64>, tensor<2x2x4x4xf64>
  %3 = nn.tanh %2 : tensor<2x2x4x4xf64>
  %4 = nn.max_pool2d %3 {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : tensor<2x2x4x4xf64>
  %5 = nn.flatten %4 {axis = 1 : i64} : tensor<2x2x2x2xf64>
  %6 = nn.gemm %5, %fc, %fb {trans_b = true} : tensor<2x8xf64>, tensor<3x8xf64>, tensor<3xf64>
  %7 = train.softmax_cross_entropy %6, %labels : tensor<2x3xf64>, tensor<2xi64> -> tensor<f64>
  return %7 : tensor<f64>
})mlir", {{-1, 1}, {-1, 1}, {0.5, 1.5}}, {}, /*distinct=*/true},
};
// clang-format on

/// The operations whose gradient rules the cases check.
std::set<std::string> checkedOperations() {
  std::set<std::string> names;
  for (const GradientCase &c : kCases)
    if (*c.subject)
      names.insert(c.subject);
  return names;
}

/// A context with every adagp dialect and pass, shared by the tests.
MLIRContext &sharedContext() {
  static MLIRContext *context = [] {
    DialectRegistry registry;
    registerAllDialects(registry);
    registerAllPasses();
    auto *ctx = new MLIRContext(registry);
    ctx->getOrLoadDialect<nn::NNDialect>();
    ctx->getOrLoadDialect<train::TrainDialect>();
    ctx->getOrLoadDialect<arith::ArithDialect>();
    ctx->getOrLoadDialect<func::FuncDialect>();
    return ctx;
  }();
  return *context;
}

/// Random values for one argument in `range`, away from `kinks` and (with
/// `distinct`) from the values already in `taken`.
std::vector<double> drawValues(int64_t count, Range range,
                               ArrayRef<double> kinks, bool distinct,
                               std::vector<double> &taken,
                               std::mt19937_64 &rng) {
  std::uniform_real_distribution<double> uniform(range.lo, range.hi);
  // Far enough that x +- eps (1e-6) never crosses a kink or reorders two
  // inputs.
  const double kinkGap = 1e-3, valueGap = 1e-4;
  std::vector<double> values;
  while (static_cast<int64_t>(values.size()) < count) {
    double v = uniform(rng);
    bool nearKink = llvm::any_of(
        kinks, [&](double k) { return std::abs(v - k) < kinkGap; });
    bool nearValue =
        distinct && llvm::any_of(taken, [&](double t) {
          return std::abs(v - t) < valueGap;
        });
    if (nearKink || nearValue)
      continue;
    values.push_back(v);
    taken.push_back(v);
  }
  return values;
}

DenseElementsAttr randomConstant(RankedTensorType type, std::mt19937_64 &rng) {
  std::uniform_real_distribution<double> uniform(-1, 1);
  std::vector<double> values(type.getNumElements());
  for (double &v : values)
    v = uniform(rng);
  return DenseElementsAttr::get(type, ArrayRef<double>(values));
}

/// Builds @loss and @grad from @f (see the file comment) and erases @f.
LogicalResult buildLossAndGradient(ModuleOp module, std::mt19937_64 &rng) {
  auto f = module.lookupSymbol<func::FuncOp>("f");
  if (!f)
    return module.emitError("the case has no @f");
  // The same weights in both functions.
  auto ret = cast<func::ReturnOp>(f.getBody().front().getTerminator());
  SmallVector<DenseElementsAttr> weights;
  for (Value r : ret.getOperands())
    weights.push_back(
        randomConstant(cast<RankedTensorType>(r.getType()), rng));

  for (bool withGradients : {false, true}) {
    OpBuilder mb(module.getBody(), module.getBody()->end());
    Location loc = f.getLoc();
    auto func = func::FuncOp::create(mb, loc,
                                     withGradients ? "grad" : "loss",
                                     f.getFunctionType());
    Block *entry = func.addEntryBlock();
    auto b = OpBuilder::atBlockEnd(entry);
    IRMapping mapping;
    mapping.map(f.getArguments(), entry->getArguments());
    for (Operation &op : f.getBody().front().without_terminator())
      b.clone(op, mapping);

    Value loss;
    for (auto [r, w] : llvm::zip(ret.getOperands(), weights)) {
      Value weighted = nn::MulOp::create(
          b, loc, mapping.lookup(r), arith::ConstantOp::create(b, loc, w));
      auto type = cast<RankedTensorType>(weighted.getType());
      if (type.getRank() > 0)
        weighted = nn::ReduceSumOp::create(
            b, loc, weighted,
            b.getDenseI64ArrayAttr(
                llvm::to_vector(llvm::seq<int64_t>(0, type.getRank()))),
            b.getBoolAttr(false));
      loss = loss ? Value(nn::AddOp::create(b, loc, loss, weighted))
                  : weighted;
    }
    SmallVector<Value> results = {loss};
    if (withGradients) {
      auto grads = nn::differentiate(
          b, loss, SmallVector<Value>(entry->getArguments()));
      if (failed(grads))
        return failure();
      for (auto [arg, g] : llvm::zip(entry->getArguments(), *grads)) {
        // No gradient means zero; the finite differences say whether that
        // is right.
        if (!g) {
          auto type = cast<RankedTensorType>(arg.getType());
          g = arith::ConstantOp::create(
              b, loc,
              DenseElementsAttr::get(type,
                                     b.getZeroAttr(type.getElementType())));
        }
        results.push_back(g);
      }
    }
    func::ReturnOp::create(b, loc, results);
    func.setType(b.getFunctionType(entry->getArgumentTypes(),
                                   ValueRange(results).getTypes()));
  }
  f.erase();
  return success();
}

/// Collects the diagnostics of a scope into a string for the test output.
struct CapturedDiagnostics {
  explicit CapturedDiagnostics(MLIRContext &context)
      : handler(&context, [this](Diagnostic &d) {
          llvm::raw_string_ostream os(text);
          os << d.getLocation() << ": " << d << "\n";
          for (const Diagnostic &note : d.getNotes())
            os << "  note: " << note << "\n";
          return success();
        }) {}
  std::string text;
  ScopedDiagnosticHandler handler;
};

class GradientCheck : public ::testing::TestWithParam<GradientCase> {};

TEST_P(GradientCheck, MatchesFiniteDifferences) {
  const GradientCase &c = GetParam();
  MLIRContext &context = sharedContext();
  CapturedDiagnostics diagnostics(context);
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(c.function, &context);
  ASSERT_TRUE(module) << "the case does not parse:\n" << diagnostics.text;

  auto f = module->lookupSymbol<func::FuncOp>("f");
  ASSERT_TRUE(f);
  if (*c.subject) {
    bool found = false;
    f.walk([&](Operation *op) {
      found |= op->getName().getStringRef() == c.subject;
    });
    ASSERT_TRUE(found) << "the case does not use " << c.subject;
  }

  // Inputs, drawn before the weights so that they do not depend on the
  // number of results.
  std::mt19937_64 rng(llvm::xxh3_64bits(llvm::StringRef(c.name)));
  std::vector<std::vector<double>> inputs;
  std::vector<double> taken;
  for (auto [i, arg] : llvm::enumerate(f.getArguments())) {
    auto type = cast<RankedTensorType>(arg.getType());
    ASSERT_TRUE(type.getElementType().isF64());
    Range range = i < c.ranges.size() ? c.ranges[i] : Range();
    inputs.push_back(drawValues(type.getNumElements(), range, c.kinks,
                                c.distinct, taken, rng));
  }
  ASSERT_TRUE(succeeded(buildLossAndGradient(*module, rng)))
      << diagnostics.text;

  CPUCompileOptions options;
  options.kernels = false; // the runtime's kernels are float32 only
  options.optLevel = 1;    // tiny functions: compile fast
  auto engine = CPUEngine::create(*module, options);
  ASSERT_TRUE(succeeded(engine)) << diagnostics.text;

  std::string error;
  auto evaluate = [&]() {
    double loss = 0;
    std::vector<void *> pointers;
    for (auto &x : inputs)
      pointers.push_back(x.data());
    pointers.push_back(&loss);
    EXPECT_TRUE(succeeded((*engine)->call("loss", pointers, error))) << error;
    return loss;
  };

  double gradLoss = 0;
  std::vector<std::vector<double>> grads;
  std::vector<void *> pointers;
  for (auto &x : inputs)
    pointers.push_back(x.data());
  pointers.push_back(&gradLoss);
  for (auto &x : inputs)
    grads.emplace_back(x.size());
  for (auto &g : grads)
    pointers.push_back(g.data());
  ASSERT_TRUE(succeeded((*engine)->call("grad", pointers, error))) << error;
  // The differentiated function computes the same loss.
  double loss = evaluate();
  EXPECT_NEAR(gradLoss, loss, 1e-12 * std::max(1.0, std::abs(loss)));

  const double eps = 1e-6, tolerance = 1e-6;
  for (size_t a = 0; a < inputs.size(); ++a) {
    std::vector<double> numeric(inputs[a].size());
    for (size_t i = 0; i < inputs[a].size(); ++i) {
      double saved = inputs[a][i];
      inputs[a][i] = saved + eps;
      double up = evaluate();
      inputs[a][i] = saved - eps;
      double down = evaluate();
      inputs[a][i] = saved;
      numeric[i] = (up - down) / (2 * eps);
    }
    // The error relative to the largest gradient element: elements that
    // are zero (a max's losing side, uncovered positions) must be zero to
    // the same accuracy.
    double scale = 0, worst = 0;
    size_t worstAt = 0;
    for (size_t i = 0; i < numeric.size(); ++i) {
      scale = std::max(scale, std::abs(numeric[i]));
      double e = std::abs(grads[a][i] - numeric[i]);
      if (e > worst)
        worst = e, worstAt = i;
    }
    // Every argument influences the loss: a zero gradient would make the
    // comparison vacuous.
    EXPECT_GT(scale, 1e-3) << "argument #" << a << " has a zero gradient";
    EXPECT_LE(worst, tolerance * std::max(scale, 1e-3))
        << "argument #" << a << ", element " << worstAt << ": gradient "
        << grads[a][worstAt] << ", finite differences " << numeric[worstAt]
        << " (largest gradient element " << scale << ")";
  }
}

INSTANTIATE_TEST_SUITE_P(
    Rules, GradientCheck, ::testing::ValuesIn(kCases),
    [](const ::testing::TestParamInfo<GradientCase> &info) {
      return std::string(info.param.name);
    });

/// The set of operations with a gradient rule is the set the cases check:
/// a new rule needs a case here.
TEST(GradientCheckCoverage, EveryRuleHasACase) {
  MLIRContext &context = sharedContext();
  // Rules are attached when their dialect loads.
  context.loadAllAvailableDialects();
  std::set<std::string> withRule;
  for (RegisteredOperationName name : context.getRegisteredOperations())
    if (name.hasInterface<nn::DifferentiableOpInterface>())
      withRule.insert(name.getStringRef().str());
  std::set<std::string> checked = checkedOperations();
  for (const std::string &name : withRule)
    EXPECT_TRUE(checked.count(name))
        << name << " has a gradient rule but no finite-difference case";
  for (const std::string &name : checked)
    EXPECT_TRUE(withRule.count(name))
        << "a case checks " << name << ", which has no gradient rule";
  // Guards against an empty registry making the comparison vacuous.
  EXPECT_GE(withRule.size(), 45u);
}

} // namespace
