//===- Passes.td - ADA-GP passes ---------------------------*- tablegen -*-===//

#ifndef ADAGP_DIALECT_ADAGP_PASSES_TD
#define ADAGP_DIALECT_ADAGP_PASSES_TD

include "mlir/Pass/PassBase.td"

def InsertPredictors : Pass<"adagp-insert-predictors", "::mlir::ModuleOp"> {
  let summary = "add the gradient predictor, train it in @bp_step, build @gp_step";
  let description = [{
    Runs on a module that `--train-build-step` produced (`@forward`,
    `@bp_step`, `@eval_step`). Every trainable layer (a `nn.conv2d` or a
    `nn.gemm` whose weight is a parameter global) gets a predictor sample
    (`adagp.reorganize` of its output) and a predictor target
    (`adagp.reorganize_gradient` of its true weight gradient, divided by the
    gradient's root mean square).

    `@bp_step` additionally runs the shared predictor on all layers' samples
    at once, trains it against the targets (mean squared error over every
    layer's real filter entries, `predictor-optimizer`), keeps a running
    RMS of every layer's gradient (`@adagp.scale`), and stores the
    predictor's loss and its quality (`@adagp.quality`: mean over layers of
    the cosine similarity between predicted and true gradients, measured
    before the predictor's update) in globals.

    `@gp_step(inputs, labels) -> loss` runs the forward pass layer by layer;
    right after each predicted layer it predicts the layer's weight gradient
    (`adagp.expand_prediction` of the predictor's output, times the running
    RMS) and updates the weight with the model's optimizer. There is no
    backward pass; the loss is computed for monitoring and, with
    `head=exact`, for the true gradient of the last layer, which costs one
    small matrix product. It finally adds an `adagp.schedule` with default
    parameters for `--adagp-lower-schedule`.

    The predictor (parameters `@adagp.predictor.*`): `predictor-depth` 3x3
    convolutions with `predictor-width` channels and ReLU over the
    `pooled-size` x `pooled-size` sample (plus a constant plane that tells
    the layer's depth in the network), a linear layer to `predictor-hidden`
    units with ReLU (the trunk, shared by all layers), and a linear head
    with one output row per element of the largest predicted filter. The
    layers are grouped by filter size: a group of layers with filters of
    `F` elements applies only the head's first `F` rows, so every layer
    computes exactly its filter's entries. With `bias=predict` a separate
    one-output bias head predicts the biases.
  }];
  let options = [
    Option<"pooledSize", "pooled-size", "int64_t", "4",
           "Side of the pooled per-channel map a sample holds">,
    Option<"predictorWidth", "predictor-width", "int64_t", "8",
           "Channels of the predictor's convolutions">,
    Option<"predictorDepth", "predictor-depth", "int64_t", "2",
           "Number of 3x3 convolutions in the predictor (0-8)">,
    Option<"trunkForm", "trunk-form", "std::string", "\"auto\"",
           "How the trunk's 3x3 convolutions are computed: conv "
           "(nn.conv2d), gemm (one matrix product per convolution with the "
           "P*P map unfolded: [rows, Cin*P*P] x [Cin*P*P, Cout*P*P], the "
           "same function with P*P/9 times the multiplications but dense "
           "operands), or auto (gemm when pooled-size <= 4)">,
    Option<"predictorHidden", "predictor-hidden", "int64_t", "64",
           "Units of the predictor's hidden linear layer">,
    Option<"maxOutputs", "max-outputs", "int64_t", "16384",
           "Largest filter size the predictor may be built for; layers "
           "with larger filters are not predicted">,
    ListOption<"layerNames", "layers", "std::string",
               "Weights (ONNX initializer names) of the layers to predict; "
               "default: every convolution and linear layer">,
    Option<"linear", "linear", "std::string", "\"predict\"",
           "Linear layers other than the last: predict or freeze">,
    Option<"head", "head", "std::string", "\"exact\"",
           "The last trainable layer in GP steps: exact (its true gradient "
           "from the loss), predict, or freeze">,
    Option<"bias", "bias", "std::string", "\"freeze\"",
           "Biases of predicted layers in GP steps: freeze or predict (a "
           "separate one-output bias head)">,
    Option<"batchNorm", "batch-norm", "std::string", "\"freeze\"",
           "BatchNorm scale and bias in GP steps: freeze (running "
           "statistics are still updated)">,
    Option<"predictorOptimizer", "predictor-optimizer", "std::string",
           "\"adam\"", "The predictor's optimizer: adam or sgd">,
    Option<"predictorLr", "predictor-lr", "double", "1e-3",
           "The predictor's learning rate">,
    Option<"baseline", "baseline", "std::string", "\"mean\"",
           "What the network's prediction is added to: mean (a running "
           "mean of each channel's normalised gradient, one global per "
           "filter-size group) or "
           "none (the network alone, as in the paper)">,
    Option<"baselineMomentum", "baseline-momentum", "double", "0.9",
           "Momentum of the per-channel running mean gradient">,
    Option<"batchedPredictions", "batched-predictions", "bool", "true",
           "In @gp_step, run the predictor once on all layers' samples "
           "after the forward pass (the same result, far fewer operations) "
           "instead of once after each layer">,
    Option<"gpGradient", "gp-gradient", "std::string", "\"predicted\"",
           "What GP steps apply to predicted layers: predicted (the "
           "predictor's output plus the baseline), or, as ablations, "
           "baseline (the running mean alone) or zero (no gradient: the "
           "optimizer's momentum alone moves the layer)">,
    Option<"gpGradientScale", "gp-gradient-scale", "double", "1.0",
           "Factor on the gradients GP steps apply to predicted layers "
           "(and their predicted biases), in (0, 4]">,
    Option<"scaleMomentum", "scale-momentum", "double", "0.9",
           "Momentum of the running RMS of each layer's gradient">,
    Option<"seed", "seed", "uint64_t", "0",
           "Seed of the predictor's initial weights">,
  ];
  let dependentDialects = [
    "::adagp::gp::ADAGPDialect", "::adagp::train::TrainDialect",
    "::adagp::nn::NNDialect", "::mlir::ml_program::MLProgramDialect",
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
    "::mlir::func::FuncDialect"
  ];
}

def LowerSchedule : Pass<"adagp-lower-schedule", "::mlir::ModuleOp"> {
  let summary = "adagp.schedule -> @train, the compiled BP/GP loop";
  let description = [{
    Replaces the module's `adagp.schedule` by `func.func @train()`: a loop
    that takes batches from the host (`adagp.next_batch`) until it signals
    the end, picks BP or GP for each batch by the schedule's policy, calls
    `@bp_step` or `@gp_step`, and reports each step (`adagp.report`). The
    policy's state (current phase, steps left in it, GP run length, moving
    averages of the BP loss and the predictor quality) lives in globals
    `@adagp.schedule.*`, loaded and stored around each step, so a
    checkpoint taken between steps captures it and the same code serves
    the accelerator.

    Options given explicitly override the schedule op's attributes.
  }];
  let options = [
    Option<"policy", "policy", "std::string", "\"adaptive\"",
           "bp, gp, fixed or adaptive">,
    Option<"unit", "unit", "std::string", "\"batch\"",
           "What fixed runs count: batch or epoch">,
    Option<"warmupEpochs", "warmup-epochs", "int64_t", "1",
           "Epochs of BP before the first GP step">,
    Option<"bpRun", "bp-run", "int64_t", "4",
           "Steps (or epochs) of each BP run">,
    Option<"gpRun", "gp-run", "int64_t", "8",
           "Steps (or epochs) of each GP run (fixed) or of the first one "
           "(adaptive)">,
    Option<"minGpRun", "min-gp-run", "int64_t", "1",
           "Shortest adaptive GP run">,
    Option<"maxGpRun", "max-gp-run", "int64_t", "64",
           "Longest adaptive GP run">,
    Option<"growth", "growth", "double", "2.0",
           "Factor by which adaptive GP runs lengthen or shorten (> 1)">,
    Option<"minQuality", "min-quality", "double", "0.0",
           "Predictor quality below which no GP run starts">,
    Option<"lowQuality", "low-quality", "double", "0.1",
           "Quality below which GP runs shorten">,
    Option<"highQuality", "high-quality", "double", "0.3",
           "Quality from which GP runs lengthen">,
    Option<"lossMargin", "loss-margin", "double", "0.1",
           "Relative rise of a GP step's loss over the BP average that ends "
           "a GP run">,
    Option<"predictorEvery", "predictor-every", "int64_t", "1",
           "Train the predictor (and measure its quality) in every N-th BP "
           "step only; the others call @bp_plain_step">,
  ];
  let dependentDialects = [
    "::adagp::gp::ADAGPDialect", "::mlir::ml_program::MLProgramDialect",
    "::mlir::tensor::TensorDialect", "::mlir::arith::ArithDialect",
    "::mlir::scf::SCFDialect", "::mlir::func::FuncDialect"
  ];
}

#endif // ADAGP_DIALECT_ADAGP_PASSES_TD
