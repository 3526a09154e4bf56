//===- TrainOps.td - Losses and optimizers -----------------*- tablegen -*-===//

#ifndef ADAGP_DIALECT_TRAIN_TRAINOPS_TD
#define ADAGP_DIALECT_TRAIN_TRAINOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Train_Dialect : Dialect {
  let name = "train";
  let cppNamespace = "::adagp::train";
  let summary = "Losses, optimizer updates and learning-rate schedules";
  let description = [{
    What `--train-build-step` adds around a model: the loss and its
    gradient, and the optimizer's update of each parameter. Optimizer state
    (momentum buffers, Adam moments, the step counter) is explicit: each
    update takes the old state and returns the new one, which the training
    step stores back into `ml_program` globals.
  }];
  let usePropertiesForAttributes = 0;
}

class Train_Op<string mnemonic, list<Trait> traits = []>
    : Op<Train_Dialect, mnemonic, traits>;

def Train_FloatTensor : RankedTensorOf<[F32, F64]>;
def Train_Scalar : 0DTensorOf<[F32, F64]>;
def Train_Labels : 1DTensorOf<[I64]>;

def Train_SoftmaxCrossEntropyOp
    : Train_Op<"softmax_cross_entropy", [Pure]> {
  let summary = "mean softmax cross-entropy of logits and integer labels";
  let description = [{
    `loss = mean over n of (logsumexp(logits[n, :]) - logits[n, labels[n]])`
    for logits `[N, C]` and labels `[N]` in `[0, C)`.

    Example:
    ```mlir
    %loss = train.softmax_cross_entropy %logits, %labels
        : tensor<64x10xf32>, tensor<64xi64> -> tensor<f32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[F32, F64]>:$logits, Train_Labels:$labels);
  let results = (outs Train_Scalar:$loss);
  let assemblyFormat = [{
    $logits `,` $labels attr-dict `:` type($logits) `,` type($labels) `->` type($loss)
  }];
  let hasVerifier = 1;
}

def Train_SoftmaxCrossEntropyGradOp
    : Train_Op<"softmax_cross_entropy_grad", [Pure,
        AllTypesMatch<["logits", "result"]>]> {
  let summary = "gradient of the mean softmax cross-entropy";
  let description = [{
    `result[n, c] = grad * (softmax(logits)[n, c] - (c == labels[n])) / N`,
    where `grad` is the gradient with respect to the loss.

    Example:
    ```mlir
    %dlogits = train.softmax_cross_entropy_grad %logits, %labels, %dloss
        : tensor<64x10xf32>, tensor<64xi64>, tensor<f32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[F32, F64]>:$logits, Train_Labels:$labels,
                       Train_Scalar:$grad);
  let results = (outs 2DTensorOf<[F32, F64]>:$result);
  let assemblyFormat = [{
    $logits `,` $labels `,` $grad attr-dict `:` type($logits) `,` type($labels)
    `,` type($grad)
  }];
  let hasVerifier = 1;
}

def Train_MSELossOp : Train_Op<"mse_loss", [Pure,
    AllTypesMatch<["prediction", "target"]>]> {
  let summary = "mean squared error";
  let description = [{
    `loss = mean((prediction - target)^2)` over all elements.

    Example:
    ```mlir
    %loss = train.mse_loss %p, %t : tensor<64x10xf32> -> tensor<f32>
    ```
  }];
  let arguments = (ins Train_FloatTensor:$prediction,
                       Train_FloatTensor:$target);
  let results = (outs Train_Scalar:$loss);
  let assemblyFormat = [{
    $prediction `,` $target attr-dict `:` type($prediction) `->` type($loss)
  }];
  let hasVerifier = 1;
}

def Train_MSELossGradOp : Train_Op<"mse_loss_grad", [Pure,
    AllTypesMatch<["prediction", "target", "result"]>]> {
  let summary = "gradient of the mean squared error";
  let description = [{
    `result = grad * 2 * (prediction - target) / numel`.

    Example:
    ```mlir
    %dp = train.mse_loss_grad %p, %t, %dloss : tensor<64x10xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Train_FloatTensor:$prediction,
                       Train_FloatTensor:$target, Train_Scalar:$grad);
  let results = (outs Train_FloatTensor:$result);
  let assemblyFormat = [{
    $prediction `,` $target `,` $grad attr-dict `:` type($prediction) `,`
    type($grad)
  }];
  let hasVerifier = 1;
}

def Train_SGDUpdateOp : Train_Op<"sgd_update", [Pure,
    AllTypesMatch<["param", "grad", "velocity", "new_param",
                   "new_velocity"]>]> {
  let summary = "one step of SGD with momentum, Nesterov and weight decay";
  let description = [{
    PyTorch's `torch.optim.SGD` (with `dampening = 0`):
    ```
    g = grad + weight_decay * param
    v = momentum * velocity + g        (v = g when momentum = 0)
    d = nesterov ? g + momentum * v : v
    new_param = param - lr * d
    ```
    `lr` is a scalar tensor so that a schedule can compute it.

    Example:
    ```mlir
    %p1, %v1 = train.sgd_update %p, %g, %v, %lr
        {momentum = 0.9, weight_decay = 5.0e-04, nesterov = false}
        : tensor<16x3x3x3xf32>, tensor<f32>
    ```
  }];
  let arguments = (ins Train_FloatTensor:$param, Train_FloatTensor:$grad,
                       Train_FloatTensor:$velocity, Train_Scalar:$lr,
                       DefaultValuedAttr<F64Attr, "0.0">:$momentum,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_decay,
                       DefaultValuedAttr<BoolAttr, "false">:$nesterov);
  let results = (outs Train_FloatTensor:$new_param,
                      Train_FloatTensor:$new_velocity);
  let assemblyFormat = [{
    $param `,` $grad `,` $velocity `,` $lr attr-dict `:` type($param) `,`
    type($lr)
  }];
  let hasVerifier = 1;
}

def Train_AdamUpdateOp : Train_Op<"adam_update", [Pure,
    AllTypesMatch<["param", "grad", "m", "v", "new_param", "new_m",
                   "new_v"]>]> {
  let summary = "one step of Adam or AdamW";
  let description = [{
    PyTorch's `torch.optim.Adam` (`decoupled = false`: L2 weight decay added
    to the gradient) or `AdamW` (`decoupled = true`: the parameter decays by
    `lr * weight_decay` directly); `step` is the number of steps taken
    before this one, so the bias corrections use `t = step + 1`:
    ```
    g  = grad (+ weight_decay * param)
    m' = beta1 m + (1 - beta1) g;  v' = beta2 v + (1 - beta2) g^2
    p' = p (1 - lr wd if decoupled)
         - lr / (1 - beta1^t) * m' / (sqrt(v') / sqrt(1 - beta2^t) + eps)
    ```

    Example:
    ```mlir
    %p1, %m1, %v1 = train.adam_update %p, %g, %m, %v, %lr, %step
        {beta1 = 0.9, beta2 = 0.999, epsilon = 1.0e-08, weight_decay = 0.0,
         decoupled = false} : tensor<10x84xf32>, tensor<f32>, tensor<i64>
    ```
  }];
  let arguments = (ins Train_FloatTensor:$param, Train_FloatTensor:$grad,
                       Train_FloatTensor:$m, Train_FloatTensor:$v,
                       Train_Scalar:$lr, 0DTensorOf<[I64]>:$step,
                       DefaultValuedAttr<F64Attr, "0.9">:$beta1,
                       DefaultValuedAttr<F64Attr, "0.999">:$beta2,
                       DefaultValuedAttr<F64Attr, "1.0e-8">:$epsilon,
                       DefaultValuedAttr<F64Attr, "0.0">:$weight_decay,
                       DefaultValuedAttr<BoolAttr, "false">:$decoupled);
  let results = (outs Train_FloatTensor:$new_param, Train_FloatTensor:$new_m,
                      Train_FloatTensor:$new_v);
  let assemblyFormat = [{
    $param `,` $grad `,` $m `,` $v `,` $lr `,` $step attr-dict `:`
    type($param) `,` type($lr) `,` type($step)
  }];
  let hasVerifier = 1;
}

def Train_LRScheduleOp : Train_Op<"lr_schedule", [Pure]> {
  let summary = "the learning rate at a step";
  let description = [{
    `step` counts optimizer steps from 0.
    - `constant`: `base_lr`;
    - `step`: `base_lr * gamma^floor(step / step_size)`;
    - `cosine`: `min_lr + (base_lr - min_lr) * (1 + cos(pi * min(step,
      total_steps) / total_steps)) / 2`.

    Example:
    ```mlir
    %lr = train.lr_schedule %step {kind = "cosine", base_lr = 0.1,
        min_lr = 0.0, total_steps = 4690 : i64} : tensor<i64> -> tensor<f32>
    ```
  }];
  let arguments = (ins 0DTensorOf<[I64]>:$step, StrAttr:$kind,
                       F64Attr:$base_lr,
                       DefaultValuedAttr<F64Attr, "0.1">:$gamma,
                       DefaultValuedAttr<I64Attr, "1">:$step_size,
                       DefaultValuedAttr<I64Attr, "1">:$total_steps,
                       DefaultValuedAttr<F64Attr, "0.0">:$min_lr);
  let results = (outs Train_Scalar:$lr);
  let assemblyFormat = "$step attr-dict `:` type($step) `->` type($lr)";
  let hasVerifier = 1;
}

#endif // ADAGP_DIALECT_TRAIN_TRAINOPS_TD
