//===- Passes.td - Building training steps -----------------*- tablegen -*-===//

#ifndef ADAGP_DIALECT_TRAIN_PASSES_TD
#define ADAGP_DIALECT_TRAIN_PASSES_TD

include "mlir/Pass/PassBase.td"

def TrainBuildStep : Pass<"train-build-step", "::mlir::ModuleOp"> {
  let summary = "Build the training step of a model: loss, gradients, "
                "optimizer update";
  let description = [{
    From the model function (`@forward` by default) builds:
    - `@bp_step(inputs..., labels) -> loss`: the forward pass in training
      mode, the loss, its gradients by reverse-mode differentiation (only
      along paths from the trained parameters to the loss), the optimizer's
      update of every trained parameter and of its state, the batch-norm
      running statistics and the step counter, all stored back into
      `ml_program` globals at the end of the step;
    - `@eval_step(inputs...) -> logits`: the inference form (batch norm with
      running statistics, no dropout);
    - with `gradients-function`, `@gradients(inputs..., labels) -> (loss,
      gradients...)`, which changes no state (its `train.parameters`
      attribute names the parameters in order).
    Trained parameters are the float globals the model loads, except
    batch-norm running statistics. Optimizer state lives in new globals
    `<parameter>.momentum` (SGD) or `<parameter>.adam_m`/`.adam_v`, and the
    step counter in `@train.step`; dropout takes the step counter as its
    random key, so every step draws a new, reproducible mask.

    ```mlir
    func.func @forward(%x: tensor<64x784xf32>) -> tensor<64x10xf32> {...}
    ```
    becomes, with `loss=cross-entropy optimizer=sgd lr=0.01 momentum=0.9`,
    ```mlir
    func.func @bp_step(%x: tensor<64x784xf32>, %labels: tensor<64xi64>) -> tensor<f32> {
      %step = ml_program.global_load @train.step : tensor<i64>
      ... forward ...
      %loss = train.softmax_cross_entropy %logits, %labels ...
      %g = train.softmax_cross_entropy_grad %logits, %labels, %one ...
      ... backward ...
      %lr = train.lr_schedule %step {kind = "constant", base_lr = 1.0e-02} ...
      %w1, %v1 = train.sgd_update %w, %dw, %v, %lr {momentum = 9.0e-01} ...
      ml_program.global_store @fc.weight = %w1 : tensor<10x784xf32>
      ml_program.global_store @"fc.weight.momentum" = %v1 : tensor<10x784xf32>
      ...
      return %loss : tensor<f32>
    }
    ```
  }];
  let options = [
    Option<"functionName", "function", "std::string", "\"forward\"",
           "The model function">,
    Option<"loss", "loss", "std::string", "\"cross-entropy\"",
           "Loss: cross-entropy (integer labels) or mse (float targets of "
           "the output's shape)">,
    Option<"optimizer", "optimizer", "std::string", "\"sgd\"",
           "Optimizer: sgd, adam or adamw">,
    Option<"lr", "lr", "double", "0.01", "Learning rate">,
    Option<"momentum", "momentum", "double", "0.0", "SGD momentum">,
    Option<"nesterov", "nesterov", "bool", "false", "Nesterov momentum">,
    Option<"weightDecay", "weight-decay", "double", "0.0",
           "Weight decay (L2 for sgd and adam, decoupled for adamw)">,
    Option<"beta1", "beta1", "double", "0.9", "Adam beta1">,
    Option<"beta2", "beta2", "double", "0.999", "Adam beta2">,
    Option<"epsilon", "epsilon", "double", "1e-8", "Adam epsilon">,
    Option<"schedule", "lr-schedule", "std::string", "\"constant\"",
           "Learning-rate schedule: constant, step or cosine">,
    Option<"stepSize", "lr-step-size", "int64_t", "1",
           "Steps between decays (step schedule)">,
    Option<"gamma", "lr-gamma", "double", "0.1",
           "Decay factor (step schedule)">,
    Option<"totalSteps", "lr-total-steps", "int64_t", "1",
           "Length of the cosine schedule in steps">,
    Option<"minLr", "lr-min", "double", "0.0",
           "Final learning rate (cosine schedule)">,
    Option<"dropout", "dropout", "bool", "true",
           "Apply the model's Dropout in training; false removes it (to "
           "compare gradients with a deterministic reference)">,
    Option<"gradientsFunction", "gradients-function", "bool", "false",
           "Also build @gradients, which returns the loss and every "
           "parameter's gradient without updating anything">,
  ];
  let dependentDialects = [
    "::adagp::train::TrainDialect", "::adagp::nn::NNDialect",
    "::mlir::ml_program::MLProgramDialect", "::mlir::tensor::TensorDialect",
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect"
  ];
}

#endif // ADAGP_DIALECT_TRAIN_PASSES_TD
