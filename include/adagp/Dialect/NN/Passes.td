//===- Passes.td - Passes on the nn dialect ----------------*- tablegen -*-===//

#ifndef ADAGP_DIALECT_NN_PASSES_TD
#define ADAGP_DIALECT_NN_PASSES_TD

include "mlir/Pass/PassBase.td"

def NNModelSummary : Pass<"nn-model-summary", "::mlir::ModuleOp"> {
  let summary = "Print a model's layers, parameters and multiply-adds";
  let description = [{
    An analysis that leaves the IR unchanged and prints a summary of the
    model function to standard output: the operations by kind, the layers
    with weights, the parameters (trainable, and the non-trainable batch-norm
    running statistics), and the multiply-adds of one forward pass.

    ```
    $ adagp-translate --import-onnx models/lenet5.onnx --batch-size 1 |
        adagp-opt --nn-model-summary -o /dev/null
    model @forward: batch 1, input 1x1x28x28, output 1x10
    layers with weights: 5 (2 conv2d, 3 gemm)
    ...
    ```
  }];
  let options = [
    Option<"functionName", "function", "std::string", /*default=*/"\"forward\"",
           "The model function to summarise">,
    Option<"json", "json", "bool", /*default=*/"false",
           "Print one JSON object instead of text">,
  ];
}

#endif // ADAGP_DIALECT_NN_PASSES_TD
