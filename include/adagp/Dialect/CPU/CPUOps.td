//===- CPUOps.td - Calls into adagp's CPU kernel library ---*- tablegen -*-===//

#ifndef ADAGP_DIALECT_CPU_CPUOPS_TD
#define ADAGP_DIALECT_CPU_CPUOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def CPU_Dialect : Dialect {
  let name = "cpu";
  let cppNamespace = "::adagp::cpu";
  let summary = "Calls into adagp's CPU kernel library";
  let description = [{
    The CPU back end compiles most of a model through upstream `linalg`, but
    hands the operations that dominate the run time (convolutions and their
    gradients, matrix products, pooling gradients) to hand-tuned kernels of
    `libadagp_runtime` (im2col + packed GEMM on a thread pool). This dialect
    is the bridge: `cpu.kernel_call` keeps tensor semantics until
    bufferization, which turns it into a call of the C function on buffers.
  }];
  let usePropertiesForAttributes = 0;
}

def CPU_KernelCallOp : Op<CPU_Dialect, "kernel_call", [Pure]> {
  let summary = "call a kernel of the CPU runtime on tensors";
  let description = [{
    Calls the C function `adagp_<kernel>` of the runtime. Each result is a
    new tensor that the kernel writes completely. `params` are integer
    parameters (shapes, strides, flags) and `fparams` floating-point ones;
    the function receives, in order: a pointer to each operand's data (dense,
    row-major), a pointer to each result's data, each integer parameter as an
    `int64_t`, each float parameter as a `double`.

    One-shot bufferization turns the operation into the call:
    ```mlir
    %y = cpu.kernel_call "conv2d_forward"(%x, %w) {params = array<i64: ...>}
        : (tensor<64x16x32x32xf32>, tensor<16x16x3x3xf32>) -> tensor<64x16x32x32xf32>
    ```
    becomes
    ```mlir
    %alloc = memref.alloc() {alignment = 64 : i64} : memref<64x16x32x32xf32>
    func.call @adagp_conv2d_forward(%xm, %wm, %alloc, %c64, ...) : (...) -> ()
    ```
    with `func.func private @adagp_conv2d_forward` declared in the module.
    Operands that bufferize to non-contiguous views are copied first.
  }];
  let arguments = (ins StrAttr:$kernel, Variadic<AnyRankedTensor>:$inputs,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$params,
                       DefaultValuedAttr<DenseF64ArrayAttr, "{}">:$fparams);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $kernel `(` $inputs `)` attr-dict `:` functional-type($inputs, $results)
  }];
}

def CPU_HostCallOp : Op<CPU_Dialect, "host_call",
                         [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "call the host interface of the runtime on tensors";
  let description = [{
    Like `cpu.kernel_call`, but the C function `adagp_host_<function>` talks to
    the program that runs the compiled code (include/adagp/Runtime/Host.h):
    it has side effects, so it is never hoisted, merged or removed. It
    receives a pointer to each operand's data, then to each result's data.

    ```mlir
    %x, %y, %epoch = cpu.host_call "next_batch"()
        : () -> (tensor<64x1x28x28xf32>, tensor<64xi64>, tensor<i64>)
    ```
    becomes
    ```mlir
    func.call @adagp_host_next_batch(%xaddr, %yaddr, %eaddr) : (i64, i64, i64) -> ()
    ```
  }];
  let arguments = (ins StrAttr:$function, Variadic<AnyRankedTensor>:$inputs);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $function `(` $inputs `)` attr-dict `:` functional-type($inputs, $results)
  }];
}

#endif // ADAGP_DIALECT_CPU_CPUOPS_TD
