//===- NNOps.td - Operations of the nn dialect -------------*- tablegen -*-===//
//
// Conventions:
// - Tensors are ranked and static, with a floating-point element type (f32
//   for models, f64 for gradient checks), NCHW for images.
// - Spatial attributes follow ONNX: `pads` of a 2-D op are
//   [top, left, bottom, right]; `strides` and `dilations` are [h, w].
// - Result types are inferred wherever the operands and attributes fix them;
//   the assembly format then omits them.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_DIALECT_NN_NNOPS_TD
#define ADAGP_DIALECT_NN_NNOPS_TD

include "adagp/Dialect/NN/NNDialect.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

class NN_Op<string mnemonic, list<Trait> traits = []>
    : Op<NN_Dialect, mnemonic, traits>;

def NN_FloatTensor : RankedTensorOf<[F32, F64]>;
def NN_Tensor4D : 4DTensorOf<[F32, F64]>;
def NN_Tensor1D : 1DTensorOf<[F32, F64]>;

def NN_PadsAttr : ConfinedAttr<DenseI64ArrayAttr, [DenseArrayCount<4>]>;
def NN_Pair : ConfinedAttr<DenseI64ArrayAttr, [DenseArrayCount<2>]>;

//===----------------------------------------------------------------------===//
// Elementwise arithmetic with NumPy broadcasting
//===----------------------------------------------------------------------===//

class NN_BroadcastBinaryOp<string mnemonic, string formula>
    : NN_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = "elementwise " # formula # " with NumPy broadcasting";
  let description = [{
    Computes `result = }] # formula # [{` elementwise. The operand shapes are
    broadcast against each other as in NumPy (and ONNX): trailing dimensions
    are aligned and a dimension of size 1 stretches to the other's size.

    Example:
    ```mlir
    %y = nn.}] # mnemonic # [{ %x, %bias : tensor<64x16x8x8xf32>, tensor<16x1x1xf32>
    // %y : tensor<64x16x8x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$lhs, NN_FloatTensor:$rhs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)
  }];
}

def NN_AddOp : NN_BroadcastBinaryOp<"add", "lhs + rhs">;
def NN_SubOp : NN_BroadcastBinaryOp<"sub", "lhs - rhs">;
def NN_MulOp : NN_BroadcastBinaryOp<"mul", "lhs * rhs">;
def NN_DivOp : NN_BroadcastBinaryOp<"div", "lhs / rhs">;
def NN_PowOp : NN_BroadcastBinaryOp<"pow", "pow(lhs, rhs)">;
def NN_MaxOp : NN_BroadcastBinaryOp<"max", "max(lhs, rhs)">;
def NN_MinOp : NN_BroadcastBinaryOp<"min", "min(lhs, rhs)">;

def NN_BroadcastToOp : NN_Op<"broadcast_to", [Pure]> {
  let summary = "broadcast a tensor to a larger shape";
  let description = [{
    Stretches `input` to the result shape with NumPy broadcasting (ONNX
    `Expand`, and the gradient of reductions).

    Example:
    ```mlir
    %y = nn.broadcast_to %x : tensor<64x16x1x1xf32> -> tensor<64x16x8x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Unary elementwise operations
//===----------------------------------------------------------------------===//

class NN_UnaryOp<string mnemonic, string formula, dag attrs = (ins)>
    : NN_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = "elementwise " # formula;
  let description = [{
    Computes `}] # formula # [{` elementwise.

    Example:
    ```mlir
    %y = nn.}] # mnemonic # [{ %x : tensor<64x16x8x8xf32>
    ```
  }];
  let arguments = !con((ins NN_FloatTensor:$input), attrs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def NN_ReluOp : NN_UnaryOp<"relu", "max(x, 0)">;
def NN_SigmoidOp : NN_UnaryOp<"sigmoid", "1 / (1 + exp(-x))">;
def NN_TanhOp : NN_UnaryOp<"tanh", "tanh(x)">;
def NN_ExpOp : NN_UnaryOp<"exp", "exp(x)">;
def NN_LogOp : NN_UnaryOp<"log", "log(x)">;
def NN_SqrtOp : NN_UnaryOp<"sqrt", "sqrt(x)">;
def NN_ErfOp : NN_UnaryOp<"erf", "erf(x)">;
def NN_NegOp : NN_UnaryOp<"neg", "-x">;
def NN_AbsOp : NN_UnaryOp<"abs", "|x|">;
def NN_ReciprocalOp : NN_UnaryOp<"reciprocal", "1 / x">;
def NN_HardSwishOp : NN_UnaryOp<"hard_swish", "x * max(0, min(1, x / 6 + 1 / 2))">;
def NN_LeakyReluOp
    : NN_UnaryOp<"leaky_relu", "x >= 0 ? x : alpha * x", (ins F64Attr:$alpha)>;
def NN_ClipOp : NN_UnaryOp<"clip", "min(max(x, min), max)",
                           (ins F64Attr:$min, F64Attr:$max)> {
  let description = [{
    Clamps `input` to `[min, max]` (ONNX `Clip`; `relu6` is
    `min = 0, max = 6`). An unbounded side uses the largest finite float.

    Example:
    ```mlir
    %y = nn.clip %x {min = 0.0, max = 6.0} : tensor<64x32x16x16xf32>
    ```
  }];
  let hasVerifier = 1;
}
def NN_HardSigmoidOp
    : NN_UnaryOp<"hard_sigmoid", "max(0, min(1, alpha * x + beta))",
                 (ins F64Attr:$alpha, F64Attr:$beta)>;
def NN_ScaleOp
    : NN_UnaryOp<"scale", "x * factor", (ins F64Attr:$factor)> {
  let description = [{
    Multiplies by a compile-time constant (Gemm's `alpha` and `beta`, the
    `1 / n` of a mean, an optimizer's learning rate).

    Example:
    ```mlir
    %y = nn.scale %x {factor = 0.5} : tensor<64x10xf32>
    ```
  }];
}

//===----------------------------------------------------------------------===//
// Activation gradients
//===----------------------------------------------------------------------===//

class NN_ActivationGradOp<string mnemonic, string forward, string formula,
                          dag attrs = (ins)>
    : NN_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = "gradient of nn." # forward;
  let description = [{
    Given the gradient `grad` of the loss with respect to the result of
    `nn.}] # forward # [{` and that operation's `}] # !if(!eq(mnemonic,
    "sigmoid_grad"), "result", !if(!eq(mnemonic, "tanh_grad"), "result",
    !if(!eq(mnemonic, "relu_grad"), "result (or, the same, its input)",
    "input"))) # [{` `value`, returns the gradient with respect to its input:
    `}] # formula # [{`.

    Example:
    ```mlir
    %dx = nn.}] # mnemonic # [{ %dy, %x : tensor<64x16x8x8xf32>
    ```
  }];
  let arguments = !con((ins NN_FloatTensor:$grad, NN_FloatTensor:$value), attrs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$grad `,` $value attr-dict `:` type($grad)";
}

def NN_ReluGradOp : NN_ActivationGradOp<"relu_grad", "relu",
    "x > 0 ? grad : 0">;
def NN_LeakyReluGradOp : NN_ActivationGradOp<"leaky_relu_grad", "leaky_relu",
    "x >= 0 ? grad : alpha * grad", (ins F64Attr:$alpha)>;
def NN_ClipGradOp : NN_ActivationGradOp<"clip_grad", "clip",
    "min <= x <= max ? grad : 0", (ins F64Attr:$min, F64Attr:$max)>;
def NN_HardSigmoidGradOp : NN_ActivationGradOp<"hard_sigmoid_grad",
    "hard_sigmoid", "0 < alpha * x + beta < 1 ? alpha * grad : 0",
    (ins F64Attr:$alpha, F64Attr:$beta)>;
def NN_HardSwishGradOp : NN_ActivationGradOp<"hard_swish_grad", "hard_swish",
    "x < -3 ? 0 : x > 3 ? grad : grad * (2x + 3) / 6">;
def NN_SigmoidGradOp : NN_ActivationGradOp<"sigmoid_grad", "sigmoid",
    "grad * y * (1 - y)">;
def NN_TanhGradOp : NN_ActivationGradOp<"tanh_grad", "tanh",
    "grad * (1 - y * y)">;

//===----------------------------------------------------------------------===//
// Convolution and matrix products
//===----------------------------------------------------------------------===//

def NN_Conv2DOp : NN_Op<"conv2d", [Pure, InferTypeOpAdaptor]> {
  let summary = "2-D convolution (NCHW input, OIHW filter)";
  let description = [{
    ONNX `Conv` for images: `result[n, o, y, x] = bias[o] + sum over c, i, j of
    input[n, g*C/G + c, y*sh + i*dh - top, x*sw + j*dw - left] *
    filter[o, c, i, j]` where `g = o / (O/G)` is the group of output channel
    `o`. Out-of-range input positions read as zero (padding, which may be
    asymmetric). `groups` equal to the channel count is a depthwise
    convolution. The bias is optional.

    Example (a ResNet 3x3 convolution):
    ```mlir
    %y = nn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>,
                           dilations = array<i64: 1, 1>, groups = 1 : i64}
        : tensor<64x16x32x32xf32>, tensor<16x16x3x3xf32>
    // %y : tensor<64x16x32x32xf32>
    ```
  }];
  let arguments = (ins NN_Tensor4D:$input, NN_Tensor4D:$filter,
                       Optional<NN_Tensor1D>:$bias,
                       NN_Pair:$strides, NN_PadsAttr:$pads,
                       NN_Pair:$dilations, I64Attr:$groups);
  let results = (outs NN_Tensor4D:$result);
  let assemblyFormat = [{
    $input `,` $filter (`,` $bias^)? attr-dict `:` type($input) `,` type($filter)
    (`,` type($bias)^)?
  }];
  let hasVerifier = 1;
}

def NN_Conv2DInputGradOp : NN_Op<"conv2d_input_grad", [Pure]> {
  let summary = "gradient of nn.conv2d with respect to its input";
  let description = [{
    Given `grad`, the gradient with respect to the result of an `nn.conv2d`
    with these attributes, and its filter, returns the gradient with respect
    to its input (a transposed convolution). The result type is the forward
    input's type, which the operands alone do not fix.

    Example:
    ```mlir
    %dx = nn.conv2d_input_grad %dy, %w {strides = array<i64: 2, 2>,
        pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64}
        : tensor<64x32x16x16xf32>, tensor<32x16x3x3xf32> -> tensor<64x16x32x32xf32>
    ```
  }];
  let arguments = (ins NN_Tensor4D:$grad, NN_Tensor4D:$filter,
                       NN_Pair:$strides, NN_PadsAttr:$pads,
                       NN_Pair:$dilations, I64Attr:$groups);
  let results = (outs NN_Tensor4D:$result);
  let assemblyFormat = [{
    $grad `,` $filter attr-dict `:` type($grad) `,` type($filter) `->` type($result)
  }];
  let hasVerifier = 1;
}

def NN_Conv2DFilterGradOp : NN_Op<"conv2d_filter_grad", [Pure]> {
  let summary = "gradient of nn.conv2d with respect to its filter";
  let description = [{
    Given `grad`, the gradient with respect to the result of an `nn.conv2d`
    with these attributes, and its input, returns the gradient with respect
    to its filter (a correlation of the input with the output gradient,
    summed over the batch). The result type is the filter's type.

    Example:
    ```mlir
    %dw = nn.conv2d_filter_grad %dy, %x {strides = array<i64: 1, 1>,
        pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64}
        : tensor<64x16x32x32xf32>, tensor<64x16x32x32xf32> -> tensor<16x16x3x3xf32>
    ```
  }];
  let arguments = (ins NN_Tensor4D:$grad, NN_Tensor4D:$input,
                       NN_Pair:$strides, NN_PadsAttr:$pads,
                       NN_Pair:$dilations, I64Attr:$groups);
  let results = (outs NN_Tensor4D:$result);
  let assemblyFormat = [{
    $grad `,` $input attr-dict `:` type($grad) `,` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def NN_GemmOp : NN_Op<"gemm", [Pure, InferTypeOpAdaptor]> {
  let summary = "general matrix multiply (ONNX Gemm)";
  let description = [{
    `result = alpha * op(a) * op(b) + beta * c`, where `op(m)` transposes `m`
    when the corresponding flag is set, and `c` (optional) broadcasts to the
    result's `[M, N]` shape. A linear layer `x W^T + b` is
    `nn.gemm %x, %W, %b {trans_b = true}`.

    Example:
    ```mlir
    %y = nn.gemm %x, %w, %b {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true}
        : tensor<64x120xf32>, tensor<84x120xf32>, tensor<84xf32>
    // %y : tensor<64x84xf32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[F32, F64]>:$a, 2DTensorOf<[F32, F64]>:$b,
                       Optional<NN_FloatTensor>:$c,
                       DefaultValuedAttr<F64Attr, "1.0">:$alpha,
                       DefaultValuedAttr<F64Attr, "1.0">:$beta,
                       DefaultValuedAttr<BoolAttr, "false">:$trans_a,
                       DefaultValuedAttr<BoolAttr, "false">:$trans_b);
  let results = (outs 2DTensorOf<[F32, F64]>:$result);
  let assemblyFormat = [{
    $a `,` $b (`,` $c^)? attr-dict `:` type($a) `,` type($b) (`,` type($c)^)?
  }];
  let hasVerifier = 1;
}

def NN_MatMulOp : NN_Op<"matmul", [Pure, InferTypeOpAdaptor]> {
  let summary = "batched matrix product with broadcasting (ONNX MatMul)";
  let description = [{
    NumPy `matmul` for operands of rank 2 or more: the last two dimensions
    are multiplied as matrices and the leading (batch) dimensions broadcast.
    The importer reshapes rank-1 operands to rank 2.

    Example (attention scores):
    ```mlir
    %s = nn.matmul %q, %kt : tensor<64x4x65x32xf32>, tensor<64x4x32x65xf32>
    // %s : tensor<64x4x65x65xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$lhs, NN_FloatTensor:$rhs);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` type($lhs) `,` type($rhs)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

def NN_MaxPool2DOp : NN_Op<"max_pool2d", [Pure, InferTypeOpAdaptor]> {
  let summary = "2-D max pooling";
  let description = [{
    ONNX `MaxPool` on NCHW: the maximum over each `kernel` window, moved by
    `strides`, over the input padded with -inf by `pads`. With `ceil_mode`
    the output size rounds up (a last window that starts inside the input or
    the left padding is kept).

    Example:
    ```mlir
    %y = nn.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
        pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, ceil_mode = false}
        : tensor<64x6x28x28xf32>
    // %y : tensor<64x6x14x14xf32>
    ```
  }];
  let arguments = (ins NN_Tensor4D:$input, NN_Pair:$kernel, NN_Pair:$strides,
                       NN_PadsAttr:$pads, NN_Pair:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let results = (outs NN_Tensor4D:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def NN_AvgPool2DOp : NN_Op<"avg_pool2d", [Pure, InferTypeOpAdaptor]> {
  let summary = "2-D average pooling";
  let description = [{
    ONNX `AveragePool` on NCHW. The divisor of a window is the kernel size
    when `count_include_pad` is set, otherwise the number of window positions
    inside the input. Positions that only `ceil_mode` adds past the padded
    input never count.

    Example:
    ```mlir
    %y = nn.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>,
        pads = array<i64: 1, 1, 1, 1>, ceil_mode = false, count_include_pad = false}
        : tensor<64x32x16x16xf32>
    // %y : tensor<64x32x8x8xf32>
    ```
  }];
  let arguments = (ins NN_Tensor4D:$input, NN_Pair:$kernel, NN_Pair:$strides,
                       NN_PadsAttr:$pads,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode,
                       DefaultValuedAttr<BoolAttr, "false">:$count_include_pad);
  let results = (outs NN_Tensor4D:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def NN_GlobalAvgPoolOp : NN_Op<"global_avg_pool", [Pure, InferTypeOpAdaptor]> {
  let summary = "mean over all spatial positions";
  let description = [{
    ONNX `GlobalAveragePool`: `result[n, c, 0, 0]` is the mean of
    `input[n, c, :, :]`.

    Example:
    ```mlir
    %y = nn.global_avg_pool %x : tensor<64x64x8x8xf32>
    // %y : tensor<64x64x1x1xf32>
    ```
  }];
  let arguments = (ins NN_Tensor4D:$input);
  let results = (outs NN_Tensor4D:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def NN_MaxPool2DGradOp : NN_Op<"max_pool2d_grad",
                                [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "gradient of nn.max_pool2d";
  let description = [{
    Routes each element of `grad` to the position of its window's maximum in
    `input` (the first one in row-major order on ties, as PyTorch does); the
    other positions get zero. Attributes are those of the forward pooling.

    Example:
    ```mlir
    %dx = nn.max_pool2d_grad %dy, %x {kernel = array<i64: 2, 2>,
        strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>,
        dilations = array<i64: 1, 1>, ceil_mode = false}
        : tensor<64x6x14x14xf32>, tensor<64x6x28x28xf32>
    ```
  }];
  let arguments = (ins NN_Tensor4D:$grad, NN_Tensor4D:$input, NN_Pair:$kernel,
                       NN_Pair:$strides, NN_PadsAttr:$pads, NN_Pair:$dilations,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode);
  let results = (outs NN_Tensor4D:$result);
  let assemblyFormat = [{
    $grad `,` $input attr-dict `:` type($grad) `,` type($input)
  }];
  let hasVerifier = 1;
}

def NN_AvgPool2DGradOp : NN_Op<"avg_pool2d_grad", [Pure]> {
  let summary = "gradient of nn.avg_pool2d";
  let description = [{
    Spreads each element of `grad`, divided by its window's divisor, over the
    window. The result type is the forward input's type.

    Example:
    ```mlir
    %dx = nn.avg_pool2d_grad %dy {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>,
        pads = array<i64: 0, 0, 0, 0>, ceil_mode = false, count_include_pad = false}
        : tensor<64x6x14x14xf32> -> tensor<64x6x28x28xf32>
    ```
  }];
  let arguments = (ins NN_Tensor4D:$grad, NN_Pair:$kernel, NN_Pair:$strides,
                       NN_PadsAttr:$pads,
                       DefaultValuedAttr<BoolAttr, "false">:$ceil_mode,
                       DefaultValuedAttr<BoolAttr, "false">:$count_include_pad);
  let results = (outs NN_Tensor4D:$result);
  let assemblyFormat = "$grad attr-dict `:` type($grad) `->` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Normalisation and dropout
//===----------------------------------------------------------------------===//

def NN_BatchNormTrainOp : NN_Op<"batch_norm_train", [Pure, InferTypeOpAdaptor]> {
  let summary = "batch normalisation with batch statistics (training form)";
  let description = [{
    Normalises each channel of an NCHW (or NC) input with the mean and the
    biased variance of the batch, then scales and shifts:
    `result = scale * (x - mean) / sqrt(var + epsilon) + bias`.

    It also returns the updated running statistics, with ONNX's momentum
    convention: `running_mean_out = momentum * running_mean + (1 - momentum) *
    mean`, and likewise for the variance, which uses the unbiased batch
    variance `var * n / (n - 1)` as PyTorch does (`n` = elements per channel);
    and the batch mean and biased batch variance, which the backward
    operation needs.

    Example:
    ```mlir
    %y, %rm, %rv, %mean, %var = nn.batch_norm_train %x, %g, %b, %m, %v
        {epsilon = 1.0e-05, momentum = 0.9}
        : tensor<64x16x32x32xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_Tensor1D:$scale,
                       NN_Tensor1D:$bias, NN_Tensor1D:$running_mean,
                       NN_Tensor1D:$running_var,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon,
                       DefaultValuedAttr<F64Attr, "0.9">:$momentum);
  let results = (outs NN_FloatTensor:$result, NN_Tensor1D:$running_mean_out,
                      NN_Tensor1D:$running_var_out, NN_Tensor1D:$batch_mean,
                      NN_Tensor1D:$batch_var);
  let assemblyFormat = [{
    $input `,` $scale `,` $bias `,` $running_mean `,` $running_var attr-dict `:`
    type($input) `,` type($scale) `,` type($bias) `,` type($running_mean) `,`
    type($running_var)
  }];
  let hasVerifier = 1;
}

def NN_BatchNormInferenceOp : NN_Op<"batch_norm_inference",
                                    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "batch normalisation with given statistics (inference form)";
  let description = [{
    `result = scale * (x - mean) / sqrt(var + epsilon) + bias` per channel of
    an NCHW (or NC) input.

    Example:
    ```mlir
    %y = nn.batch_norm_inference %x, %g, %b, %m, %v {epsilon = 1.0e-05}
        : tensor<64x16x32x32xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_Tensor1D:$scale,
                       NN_Tensor1D:$bias, NN_Tensor1D:$mean,
                       NN_Tensor1D:$var,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scale `,` $bias `,` $mean `,` $var attr-dict `:`
    type($input) `,` type($scale) `,` type($bias) `,` type($mean) `,` type($var)
  }];
  let hasVerifier = 1;
}

def NN_BatchNormGradOp : NN_Op<"batch_norm_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "gradient of nn.batch_norm_train";
  let description = [{
    Given `grad` (with respect to the normalised result), the forward input,
    the scale, and the batch mean and biased variance that
    `nn.batch_norm_train` returned, computes the gradients with respect to
    the input, the scale and the bias:
    `xhat = (x - mean) * invstd`, `dbias = sum(grad)`,
    `dscale = sum(grad * xhat)`,
    `dx = scale * invstd / n * (n * grad - dbias - xhat * dscale)`.

    Example:
    ```mlir
    %dx, %dg, %db = nn.batch_norm_grad %dy, %x, %g, %mean, %var {epsilon = 1.0e-05}
        : tensor<64x16x32x32xf32>, tensor<64x16x32x32xf32>, tensor<16xf32>,
          tensor<16xf32>, tensor<16xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad, NN_FloatTensor:$input,
                       NN_Tensor1D:$scale, NN_Tensor1D:$batch_mean,
                       NN_Tensor1D:$batch_var,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon);
  let results = (outs NN_FloatTensor:$input_grad, NN_Tensor1D:$scale_grad,
                      NN_Tensor1D:$bias_grad);
  let assemblyFormat = [{
    $grad `,` $input `,` $scale `,` $batch_mean `,` $batch_var attr-dict `:`
    type($grad) `,` type($input) `,` type($scale) `,` type($batch_mean) `,`
    type($batch_var)
  }];
  let hasVerifier = 1;
}

def NN_LayerNormOp : NN_Op<"layer_norm", [Pure, InferTypeOpAdaptor]> {
  let summary = "layer normalisation over the trailing dimensions";
  let description = [{
    ONNX `LayerNormalization`: normalises over the dimensions from `axis` to
    the last with the biased variance, then applies `scale` and the optional
    `bias`, whose shape is those trailing dimensions. Also returns the mean
    and the inverse standard deviation (shape: the leading dimensions followed
    by ones), which the backward operation reuses.

    Example:
    ```mlir
    %y, %mean, %invstd = nn.layer_norm %x, %g, %b {axis = 2 : i64, epsilon = 1.0e-05}
        : tensor<64x65x128xf32>, tensor<128xf32>, tensor<128xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, NN_FloatTensor:$scale,
                       Optional<NN_FloatTensor>:$bias, I64Attr:$axis,
                       DefaultValuedAttr<F64Attr, "1.0e-5">:$epsilon);
  let results = (outs NN_FloatTensor:$result, NN_FloatTensor:$mean,
                      NN_FloatTensor:$inv_std_dev);
  let assemblyFormat = [{
    $input `,` $scale (`,` $bias^)? attr-dict `:` type($input) `,` type($scale)
    (`,` type($bias)^)?
  }];
  let hasVerifier = 1;
}

def NN_LayerNormGradOp : NN_Op<"layer_norm_grad", [Pure, InferTypeOpAdaptor]> {
  let summary = "gradient of nn.layer_norm";
  let description = [{
    Given `grad` (with respect to the normalised result), the forward input,
    the scale, and the mean and inverse standard deviation that
    `nn.layer_norm` returned, computes the gradients with respect to the
    input, the scale and the bias.

    Example:
    ```mlir
    %dx, %dg, %db = nn.layer_norm_grad %dy, %x, %g, %mean, %invstd {axis = 2 : i64}
        : tensor<64x65x128xf32>, tensor<64x65x128xf32>, tensor<128xf32>,
          tensor<64x65x1xf32>, tensor<64x65x1xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$grad, NN_FloatTensor:$input,
                       NN_FloatTensor:$scale, NN_FloatTensor:$mean,
                       NN_FloatTensor:$inv_std_dev, I64Attr:$axis);
  let results = (outs NN_FloatTensor:$input_grad, NN_FloatTensor:$scale_grad,
                      NN_FloatTensor:$bias_grad);
  let assemblyFormat = [{
    $grad `,` $input `,` $scale `,` $mean `,` $inv_std_dev attr-dict `:`
    type($grad) `,` type($input) `,` type($scale) `,` type($mean) `,`
    type($inv_std_dev)
  }];
  let hasVerifier = 1;
}

def NN_DropoutOp : NN_Op<"dropout", [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "inverted dropout with a counter-based random mask";
  let description = [{
    Zeroes each element with probability `ratio` and scales the others by
    `1 / (1 - ratio)`. The mask is a pure function of `(seed, key, linear
    index)`, a counter-based generator (a SplitMix64 hash), so a training
    step that passes its step counter as `key` is reproducible bit for bit,
    and the backward pass recomputes the same mask instead of storing it.

    Example:
    ```mlir
    %y = nn.dropout %x, %step {ratio = 2.0e-01, seed = 7 : i64} : tensor<64x1280xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, I64:$key, F64Attr:$ratio,
                       DefaultValuedAttr<I64Attr, "0">:$seed);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input `,` $key attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Shape manipulation
//===----------------------------------------------------------------------===//

def NN_ReshapeOp : NN_Op<"reshape", [Pure]> {
  let summary = "reinterpret the shape, keeping the row-major element order";
  let description = [{
    Example:
    ```mlir
    %y = nn.reshape %x : tensor<64x16x5x5xf32> -> tensor<64x400xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def NN_FlattenOp : NN_Op<"flatten", [Pure, InferTypeOpAdaptor]> {
  let summary = "collapse to 2-D around an axis (ONNX Flatten)";
  let description = [{
    Reshapes to `[prod(dims[:axis]), prod(dims[axis:])]`. Canonicalises to
    `nn.reshape`.

    Example:
    ```mlir
    %y = nn.flatten %x {axis = 1 : i64} : tensor<64x16x5x5xf32>
    // %y : tensor<64x400xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, I64Attr:$axis);
  let results = (outs 2DTensorOf<[F32, F64]>:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def NN_TransposeOp : NN_Op<"transpose", [Pure, InferTypeOpAdaptor]> {
  let summary = "permute dimensions";
  let description = [{
    `result` dimension `i` is `input` dimension `permutation[i]`.

    Example:
    ```mlir
    %y = nn.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : tensor<64x65x4x32xf32>
    // %y : tensor<64x4x65x32xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def NN_ConcatOp : NN_Op<"concat", [Pure, InferTypeOpAdaptor]> {
  let summary = "concatenate along an axis";
  let description = [{
    Example:
    ```mlir
    %y = nn.concat %a, %b {axis = 1 : i64} : tensor<64x32x8x8xf32>, tensor<64x16x8x8xf32>
    // %y : tensor<64x48x8x8xf32>
    ```
  }];
  let arguments = (ins Variadic<NN_FloatTensor>:$inputs, I64Attr:$axis);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` type($inputs)";
  let hasVerifier = 1;
}

def NN_SplitOp : NN_Op<"split", [Pure, InferTypeOpAdaptor]> {
  let summary = "split along an axis into pieces of given sizes";
  let description = [{
    Example:
    ```mlir
    %a, %b = nn.split %x {axis = 1 : i64, sizes = array<i64: 24, 24>} : tensor<64x48x8x8xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, I64Attr:$axis,
                       DenseI64ArrayAttr:$sizes);
  let results = (outs Variadic<NN_FloatTensor>:$results);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def NN_SliceOp : NN_Op<"slice", [Pure, InferTypeOpAdaptor]> {
  let summary = "strided slice with one range per dimension";
  let description = [{
    `result[i0, i1, ...] = input[starts[0] + i0 * steps[0], ...]`; `starts`,
    `sizes` and `steps` have one entry per dimension and are already clamped
    to the input (the importer resolves ONNX's negative and out-of-range
    indices). Steps are positive.

    Example:
    ```mlir
    %y = nn.slice %x {starts = array<i64: 0, 0, 0>, sizes = array<i64: 64, 1, 128>,
                      steps = array<i64: 1, 1, 1>} : tensor<64x65x128xf32>
    // %y : tensor<64x1x128xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$steps);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def NN_PadOp : NN_Op<"pad", [Pure, InferTypeOpAdaptor]> {
  let summary = "pad with a constant";
  let description = [{
    ONNX `Pad` in constant mode: `pads` holds the counts added before each
    dimension, then those added after each dimension; they are non-negative.

    Example:
    ```mlir
    %y = nn.pad %x {pads = array<i64: 0, 0, 2, 2, 0, 0, 2, 2>, value = 0.0}
        : tensor<64x1x28x28xf32>
    // %y : tensor<64x1x32x32xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, DenseI64ArrayAttr:$pads,
                       DefaultValuedAttr<F64Attr, "0.0">:$value);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Reductions and softmax
//===----------------------------------------------------------------------===//

class NN_ReduceOp<string mnemonic, string what>
    : NN_Op<mnemonic, [Pure, InferTypeOpAdaptor]> {
  let summary = what # " over the given axes";
  let description = [{
    Reduces `input` over `axes` (sorted, distinct, non-negative); with
    `keepdims` the reduced dimensions stay as size 1.

    Example:
    ```mlir
    %y = nn.}] # mnemonic # [{ %x {axes = array<i64: 2, 3>, keepdims = true} : tensor<64x16x8x8xf32>
    // %y : tensor<64x16x1x1xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, DenseI64ArrayAttr:$axes,
                       DefaultValuedAttr<BoolAttr, "true">:$keepdims);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def NN_ReduceSumOp : NN_ReduceOp<"reduce_sum", "sum">;
def NN_ReduceMeanOp : NN_ReduceOp<"reduce_mean", "mean">;
def NN_ReduceMaxOp : NN_ReduceOp<"reduce_max", "maximum">;

class NN_SoftmaxLikeOp<string mnemonic, string what>
    : NN_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = what # " along one axis";
  let description = [{
    Computes }] # what # [{ along `axis` (ONNX opset 13 semantics; the
    importer turns the older flatten-to-2-D semantics into this form).

    Example:
    ```mlir
    %y = nn.}] # mnemonic # [{ %x {axis = 1 : i64} : tensor<64x10xf32>
    ```
  }];
  let arguments = (ins NN_FloatTensor:$input, I64Attr:$axis);
  let results = (outs NN_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def NN_SoftmaxOp : NN_SoftmaxLikeOp<"softmax", "softmax">;
def NN_LogSoftmaxOp : NN_SoftmaxLikeOp<"log_softmax", "log-softmax">;

#endif // ADAGP_DIALECT_NN_NNOPS_TD
