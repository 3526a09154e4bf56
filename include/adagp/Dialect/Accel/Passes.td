//===- Passes.td - Compiling training onto the accelerator -*- tablegen -*-===//

#ifndef ADAGP_DIALECT_ACCEL_PASSES_TD
#define ADAGP_DIALECT_ACCEL_PASSES_TD

include "mlir/Pass/PassBase.td"

// Every pass that sizes anything reads the accelerator configuration (the
// JSON presets in configs/, sim::Config); an empty path means the built-in
// default, identical to configs/default.json.
defvar AccelConfigOption =
    Option<"configPath", "config", "std::string", "\"\"",
           "Accelerator configuration (JSON); default: the built-in default "
           "configuration">;

def AccelPlanDram : Pass<"accel-plan-dram", "::mlir::ModuleOp"> {
  let summary = "Place every tensor of the training steps in DRAM";
  let description = [{
    The static DRAM plan. Globals (parameters, optimizer state, batch-norm
    statistics, the step counter) and the host buffers (the step functions'
    inputs and labels) get permanent regions; every other tensor of each step
    function gets a region for its live range, reusing the space of tensors
    that died (first fit over the op order). Results stored back into a
    global (`ml_program.global_store`) take the global's own region when no
    later op reads the old value, so optimizer updates happen in place; so
    do element-wise results of the global's type that read it element for
    element (the predictor's running baseline). Everything a fused
    element-wise group reads (docs/accel-compiler.md; one chunk loop at the
    group's first op) stays live until the group's last op.
    Reshapes that do not change the storage order alias their operand.

    Each region is an `#accel.region` recording its offset, size, tensor
    class (weight, activation, gradient, optimizer_state, statistics, input,
    constant) and storage layout: 4-D activations are stored channel-last
    (NHWC, `[0, 2, 3, 1]`), convolution filters as `[KH][KW][I][O]`
    (`[2, 3, 1, 0]`), everything else row-major. Regions are attached as
    `accel.dram` attributes: on globals, on function arguments, and as an
    array on each op (one entry per result).

    Before:
    ```mlir
    ml_program.global private mutable @fc.weight(dense<...> : tensor<10x64xf32>) : tensor<10x64xf32>
    func.func @eval_step(%x: tensor<4x64xf32>) -> tensor<4x10xf32> {
      %w = ml_program.global_load @fc.weight : tensor<10x64xf32>
      %y = nn.gemm %x, %w {trans_b = true} : tensor<4x64xf32>, tensor<10x64xf32>
      return %y : tensor<4x10xf32>
    }
    ```
    After:
    ```mlir
    ml_program.global private mutable @fc.weight(...) {accel.dram = #accel.region<offset = 0, bytes = 2560, class = "weight", layout = []>} ...
    func.func @eval_step(%x: tensor<4x64xf32> {accel.dram = #accel.region<offset = 2560, bytes = 1024, class = "input", layout = []>}) ... {
      %y = nn.gemm %x, %w {accel.dram = [#accel.region<offset = 3584, bytes = 160, class = "activation", layout = []>], trans_b = true} ...
    ```
    A plan that exceeds the configuration's DRAM is an error naming the
    shortfall.
  }];
  let options = [
    AccelConfigOption,
    ListOption<"functions", "functions", "std::string",
               "Step functions to plan (default: bp_step, bp_plain_step, "
               "gp_step, eval_step, those present)">,
  ];
  let dependentDialects = ["::adagp::accel::AccelDialect"];
}

def AccelTile : Pass<"accel-tile", "::mlir::ModuleOp"> {
  let summary = "Choose tile sizes for convolutions and matrix products";
  let description = [{
    Picks, for every convolution (forward, input gradient, filter gradient)
    and `nn.gemm`, the block sizes of its implicit GEMM from the
    configuration: the array size, scratchpad and accumulator capacities
    (double-buffered operand and result tiles must fit) and a cost model of
    the load, execute and store queues (DMA latency and bandwidth, GEMM
    fill/stream/drain). The choice is recorded as `accel.tile = {m, k, n,
    swap}` (block sizes in the op's GEMM view, see docs/accel-compiler.md);
    `--accel-lower-steps` follows it. A tile that cannot fit even at the
    smallest size is an error naming the op, the memory and the shortfall.

    ```mlir
    %y = nn.conv2d %x, %w {...} : tensor<64x16x32x32xf32>, tensor<16x16x3x3xf32>
    // becomes
    %y = nn.conv2d %x, %w {accel.tile = {k = 16 : i64, m = 32 : i64, n = 16 : i64, swap = false}, ...}
    ```
  }];
  let options = [AccelConfigOption];
  let dependentDialects = ["::adagp::accel::AccelDialect"];
}

def AccelLowerSteps : Pass<"accel-lower-steps", "::mlir::ModuleOp"> {
  let summary = "Lower planned step functions to accelerator instructions";
  let description = [{
    Replaces each planned step function by an `accel.program` of kind
    `subroutine` with the same name: straight-line load/execute/store and
    scalar instructions that compute the function on the tensors' DRAM
    regions. One lowering per op (convolutions and matrix products through a
    double-buffered implicit GEMM on the array; activations, pooling,
    batch normalisation, the loss and optimizer updates on the vector unit
    and the pooling, cross-entropy and optimizer instructions; the step
    counter and learning-rate schedule on the scalar core), except where ops
    are fused: an nn.relu or nn.add after a matrix product is its epilogue,
    a product summed by rows is computed by the sum, a predicted gradient's
    expansion by the update that applies it, and consecutive element-wise
    ops of one result type (also after a batch normalisation's last pass)
    run as one chunk loop that stores only what is read after it.
    Dependency flags are left for `--accel-insert-tokens`; DMA descriptors are set before
    every DMA and thinned out by `--accel-elide-dmacfg`.

    ```mlir
    func.func @eval_step(%x: tensor<4x64xf32> {accel.dram = ...}) -> tensor<4x10xf32> {
      %y = nn.gemm %x, %w {accel.dram = [...], accel.tile = {...}, trans_b = true} ...
      return %y : tensor<4x10xf32>
    }
    ```
    becomes
    ```mlir
    accel.program @eval_step attributes {kind = "subroutine", ...} {
      accel.dmacfg load.d12 <size_a = 4, dstride_a = 64, cstride_a = 64>
      accel.dmacfg load.d34 <>
      accel.load <dram = 0xa00, chip = 0x0, size = 64, dstride = 1, cstride = 1, tensor_class = input, phase = eval>
      ...
      accel.gemm <a = 0x0, lda = 64, b = 0x8000, ldb = 64, tb, c = 0x800000, ldc = 10, m = 4, k = 16, n = 10, phase = eval>
      ...
      accel.store <dram = 0xe00, chip = 0x800000, size = 10, dstride = 1, cstride = 1, tensor_class = activation, phase = eval>
    }
    ```
  }];
  let options = [AccelConfigOption];
  let dependentDialects = ["::adagp::accel::AccelDialect"];
}

def AccelBuildProgram : Pass<"accel-build-program", "::mlir::ModuleOp"> {
  let summary = "Link the step subroutines into a training program";
  let description = [{
    Builds `accel.program @main`: the training loop of the host protocol
    (docs/accel-compiler.md): per epoch, ask the control stream whether to
    run; receive training batches until the host says the epoch is over,
    calling the BP step (marked by step begin/end metrics and followed by a
    SEND of the loss); then receive evaluation batches, calling the
    evaluation step and sending the logits. Each subroutine is placed after
    a label of its name and returns through r31. The DRAM plan's named
    tensors become `accel.symbol` ops (the program's symbol table) and their
    initial values `accel.data` ops; the tensor-level functions and globals
    are removed.

    ```mlir
    accel.program @main {
      accel.label @epoch
      accel.recv <rd = r1, stream = 2>
      accel.br eq <rs1 = r1, target = @done>
      accel.label @train
      accel.recv <rd = r2, in = 0x..., in_bytes = 12544, labels = 0x..., label_bytes = 16>
      accel.br eq <rs1 = r2, target = @eval>
      accel.send i64 <tag = 1>
      accel.jump jal <rd = r31, target = @bp_step>
      ...
    }
    ```
  }];
  let options = [
    Option<"mode", "mode", "std::string", "\"bp\"",
           "Which step the training loop runs: bp (@bp_step), gp "
           "(@gp_step) or adagp (each step asks the host's schedule stream "
           "for BP, GP or, with @bp_plain_step, plain BP)">,
  ];
  let dependentDialects = ["::adagp::accel::AccelDialect"];
}

def AccelInsertTokens : Pass<"accel-insert-tokens", "::adagp::accel::ProgramOp"> {
  let summary = "Order conflicting accesses of the three queues";
  let description = [{
    The load, execute and store queues run concurrently; only dependency
    tokens (and fences) order them. For every instruction, in program order,
    this pass finds the latest earlier instruction of each other queue whose
    on-chip or DRAM footprint conflicts with it (read after write, write
    after read, write after write) and is not yet known to have completed,
    and orders the pair by a push on the earlier and a pop on the later
    instruction (every pair of queues has a token channel each way: the
    ring load -> execute -> store -> load), and before control
    instructions that read or write memory (sld, sst, recv, send) by a
    `fence` of the queues involved. Known completion is tracked as a vector
    clock per queue, so transitively ordered pairs get no token. Every basic
    block ends with all queues drained (a fence before labels and jumps), so
    no token crosses a branch.

    Double buffering falls out: the load into a buffer pops the token of the
    last GEMM that read it, not of the latest GEMM.

    ```mlir
    accel.load <dram = 0x0, chip = 0x0, size = 256, dstride = 1, cstride = 1>
    accel.gemm <a = 0x0, lda = 16, c = 0x800000, ldc = 16, m = 16, k = 16, n = 16>
    accel.store <dram = 0x400, chip = 0x800000, size = 256, dstride = 1, cstride = 1>
    ```
    becomes
    ```mlir
    accel.load <..., deps = [push_next]>
    accel.gemm <..., deps = [pop_prev, push_next]>
    accel.store <..., deps = [pop_prev]>
    ```
  }];
}

def AccelElideDmaCfg : Pass<"accel-elide-dmacfg", "::adagp::accel::ProgramOp"> {
  let summary = "Remove DMA descriptor writes that change nothing";
  let description = [{
    `accel.dmacfg` sets DMA box dimensions that persist until rewritten.
    The lowering sets all four before every DMA; this pass tracks the
    registers through straight-line code (forgetting them at labels and
    after calls) and erases writes of values already there.

    ```mlir
    accel.dmacfg load.d12 <size_a = 4, dstride_a = 16, cstride_a = 16>
    accel.load <...>
    accel.dmacfg load.d12 <size_a = 4, dstride_a = 16, cstride_a = 16>
    accel.load <...>
    ```
    keeps only the first `accel.dmacfg`.
  }];
}

#endif // ADAGP_DIALECT_ACCEL_PASSES_TD
