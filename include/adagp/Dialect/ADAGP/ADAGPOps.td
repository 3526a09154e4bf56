//===- ADAGPOps.td - Adaptive gradient prediction ----------*- tablegen -*-===//

#ifndef ADAGP_DIALECT_ADAGP_ADAGPOPS_TD
#define ADAGP_DIALECT_ADAGP_ADAGPOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def ADAGP_Dialect : Dialect {
  let name = "adagp";
  let cppNamespace = "::adagp::gp";
  let summary = "Adaptive gradient prediction (ADA-GP)";
  let description = [{
    The ops ADA-GP adds to a training step: the tensor reorganization that
    turns a layer's output activation into predictor samples (one per output
    channel), the mapping of the predictor's outputs back onto a weight
    gradient, the schedule that alternates back-propagation (BP) and
    gradient-prediction (GP) steps, and the host I/O the compiled schedule
    uses. The predictor's own layers are ordinary `nn` ops and its
    parameters ordinary `ml_program` globals. docs/adagp.md describes the
    algorithm and shows the IR before and after each pass.
  }];
  let usePropertiesForAttributes = 0;
}

class ADAGP_Op<string mnemonic, list<Trait> traits = []>
    : Op<ADAGP_Dialect, mnemonic, traits>;

def ADAGP_FloatTensor : RankedTensorOf<[F32, F64]>;

def ADAGP_ReorganizeOp : ADAGP_Op<"reorganize", [Pure]> {
  let summary = "a layer's output activation as one predictor sample per channel";
  let description = [{
    ADA-GP's tensor reorganization. For an activation `[N, C, H, W]` the
    batch mean `m[c, h, w]` is average-pooled adaptively to
    `pooled_size x pooled_size` (window rows `[floor(i*H/P), ceil((i+1)*H/P))`,
    as PyTorch's `adaptive_avg_pool2d`, so maps smaller than `P` are
    replicated) and each channel becomes one sample `[1, P, P]`. A linear
    layer's output `[N, F]` gives `F` samples whose map is the constant batch
    mean of the feature. With `normalize`, the whole result is divided by its
    root mean square (plus 1e-12), so that one predictor serves layers whose
    activations have different scales.

    Example:
    ```mlir
    %samples = adagp.reorganize %act {pooled_size = 4 : i64, normalize = true}
        : tensor<64x16x32x32xf32> -> tensor<16x1x4x4xf32>
    ```
  }];
  let arguments = (ins ADAGP_FloatTensor:$input,
                       ConfinedAttr<I64Attr, [IntMinValue<1>]>:$pooled_size,
                       DefaultValuedAttr<BoolAttr, "true">:$normalize);
  let results = (outs ADAGP_FloatTensor:$result);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($result)
  }];
  let hasVerifier = 1;
}

def ADAGP_ReorganizeGradientOp : ADAGP_Op<"reorganize_gradient", [Pure]> {
  let summary = "a weight gradient as one predictor target row per output channel";
  let description = [{
    The layout of the predictor's targets: row `k` of the result is the
    gradient of output channel `k`'s filter, flattened (`[C, R, S]` of a
    convolution, `[In]` of a linear layer), followed by zeros up to the
    result's width (none when the width is the filter size, which is what
    `--adagp-insert-predictors` builds). Inverse of
    `adagp.expand_prediction` (without its scale).

    Example:
    ```mlir
    %rows = adagp.reorganize_gradient %dw
        : tensor<16x8x3x3xf32> -> tensor<16x144xf32>
    // row k = [flatten(%dw[k]), 72 zeros]
    ```
  }];
  let arguments = (ins ADAGP_FloatTensor:$gradient);
  let results = (outs 2DTensorOf<[F32, F64]>:$result);
  let assemblyFormat = [{
    $gradient attr-dict `:` type($gradient) `->` type($result)
  }];
  let hasVerifier = 1;
}

def ADAGP_ExpandPredictionOp : ADAGP_Op<"expand_prediction", [Pure]> {
  let summary = "predictor outputs as a weight gradient";
  let description = [{
    Maps the predictor's output rows `[K, width]` of a layer with `K` output
    channels back onto its weight shape `[K, ...]`: the first
    `prod(shape[1:])` entries of each row (the rest of a wider row is
    ignored; `--adagp-insert-predictors` produces rows exactly as wide as
    the filter), times `scale`, which restores the gradient scale that the
    per-layer normalisation of the targets removed.

    Example:
    ```mlir
    %dw = adagp.expand_prediction %rows, %scale
        : tensor<16x144xf32>, tensor<f32> -> tensor<16x8x3x3xf32>
    // %dw[k, c, r, s] = %rows[k, c*9 + r*3 + s] * %scale
    ```
  }];
  let arguments = (ins 2DTensorOf<[F32, F64]>:$prediction,
                       0DTensorOf<[F32, F64]>:$scale);
  let results = (outs ADAGP_FloatTensor:$result);
  let assemblyFormat = [{
    $prediction `,` $scale attr-dict `:` type($prediction) `,` type($scale)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def ADAGP_ScheduleOp : ADAGP_Op<"schedule",
    [DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "when training runs BP steps and when GP steps";
  let description = [{
    Declares the ADA-GP schedule over a module's `@bp_step` and `@gp_step`;
    `--adagp-lower-schedule` turns it into `@train`, a loop that takes batches
    from the host and picks the step for each.

    `policy`:
    - `bp`: every step is a BP step; `gp`: every step is a GP step (no
      warm-up; an ablation).
    - `fixed`: after `warmup_epochs` of BP, runs of `bp_run` BP and `gp_run`
      GP steps alternate (`unit = "epoch"` counts epochs instead of
      batches), as in the paper's fixed BP:GP ratios.
    - `adaptive`: after warm-up, BP runs of `bp_run` steps measure the
      predictor's quality (`quality` global: cosine similarity between
      predicted and true gradients, written by `@bp_step`). A GP run follows
      when the quality (an exponential moving average) is at least
      `min_quality`; its length starts at `gp_run` and is multiplied by
      `growth` (up to `max_gp_run`) while the quality is at least
      `high_quality`, divided by it (down to `min_gp_run`) when it is below
      `low_quality`. A GP run ends early, and the next one is shorter, when a
      GP step's loss exceeds the moving average of BP losses by more than
      `loss_margin` (relative).

    With `predictor_every = N > 1` only every N-th BP step (counting all BP
    steps, warm-up included) calls `bp_step`, which trains the predictor and
    measures its quality; the others call `bp_plain_step`, the same BP step
    without the predictor (the quality average then keeps its last value).

    Example:
    ```mlir
    adagp.schedule {bp_step = @bp_step, gp_step = @gp_step,
        quality = @adagp.quality, policy = "adaptive", unit = "batch",
        warmup_epochs = 1 : i64, bp_run = 4 : i64, gp_run = 8 : i64,
        min_gp_run = 2 : i64, max_gp_run = 64 : i64, growth = 2.0 : f64,
        min_quality = 0.05 : f64, low_quality = 0.2 : f64,
        high_quality = 0.4 : f64, loss_margin = 0.1 : f64}
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$bp_step,
                       FlatSymbolRefAttr:$gp_step,
                       FlatSymbolRefAttr:$quality,
                       StrAttr:$policy, StrAttr:$unit,
                       I64Attr:$warmup_epochs, I64Attr:$bp_run,
                       I64Attr:$gp_run, I64Attr:$min_gp_run,
                       I64Attr:$max_gp_run, F64Attr:$growth,
                       F64Attr:$min_quality, F64Attr:$low_quality,
                       F64Attr:$high_quality, F64Attr:$loss_margin,
                       OptionalAttr<FlatSymbolRefAttr>:$bp_plain_step,
                       DefaultValuedAttr<I64Attr, "1">:$predictor_every);
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def ADAGP_NextBatchOp : ADAGP_Op<"next_batch", [
    MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "the host's next training batch";
  let description = [{
    Asks the host for the next batch: `inputs`, integer `labels` and the
    `epoch` the batch belongs to; a negative epoch means training is over
    (the tensors are then unspecified). Between epochs the host may evaluate
    the model or write a checkpoint: the globals are consistent at every
    `adagp.next_batch`. On the CPU it becomes a call of the runtime's
    `adagp_host_next_batch`, on the accelerator a `RECV`.

    Example:
    ```mlir
    %x, %y, %epoch = adagp.next_batch
        : tensor<64x1x28x28xf32>, tensor<64xi64>, tensor<i64>
    ```
  }];
  let results = (outs ADAGP_FloatTensor:$inputs, 1DTensorOf<[I64]>:$labels,
                      0DTensorOf<[I64]>:$epoch);
  let assemblyFormat = [{
    attr-dict `:` type($inputs) `,` type($labels) `,` type($epoch)
  }];
  let hasVerifier = 1;
}

def ADAGP_ReportOp : ADAGP_Op<"report", [
    MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "one step's metrics to the host";
  let description = [{
    Sends the host the record of a finished step: its `mode` (0 = BP,
    1 = GP), training `loss`, and in BP steps that trained the predictor its
    loss and quality (NaN in GP steps and in BP steps without the
    predictor). On the CPU it becomes a call of the runtime's
    `adagp_host_report`, on the accelerator a `SEND`.

    Example:
    ```mlir
    adagp.report %mode, %loss, %predictor_loss, %quality
        : tensor<i64>, tensor<f32>, tensor<f32>, tensor<f32>
    ```
  }];
  let arguments = (ins 0DTensorOf<[I64]>:$mode, 0DTensorOf<[F32]>:$loss,
                       0DTensorOf<[F32]>:$predictor_loss,
                       0DTensorOf<[F32]>:$quality);
  let assemblyFormat = [{
    $mode `,` $loss `,` $predictor_loss `,` $quality attr-dict `:`
    type($mode) `,` type($loss) `,` type($predictor_loss) `,` type($quality)
  }];
}

#endif // ADAGP_DIALECT_ADAGP_ADAGPOPS_TD
