//===- NNDialect.td - The nn dialect -----------------------*- tablegen -*-===//

#ifndef ADAGP_DIALECT_NN_NNDIALECT_TD
#define ADAGP_DIALECT_NN_NNDIALECT_TD

include "mlir/IR/OpBase.td"

def NN_Dialect : Dialect {
  let name = "nn";
  let cppNamespace = "::adagp::nn";
  let summary = "Tensor-level neural-network operations";
  let description = [{
    The `nn` dialect holds the math of a neural network at the level of whole
    tensors, as ONNX graphs describe it: convolutions, matrix products,
    normalisation, pooling, activations, elementwise arithmetic with NumPy
    broadcasting, and shape manipulation. All shapes are static: the importer
    binds the batch dimension. Layout is ONNX's NCHW throughout.

    Besides the forward operations it has the backward operations that are
    awkward to compose from forward ones (convolution input and filter
    gradients, pooling gradients, batch-norm backward, activation gradients);
    reverse-mode differentiation (`--train-build-step`) emits them through
    `DifferentiableOpInterface`.

    Model parameters are not constants of this dialect: they are mutable
    `ml_program.global`s loaded with `ml_program.global_load`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let useDefaultAttributePrinterParser = 0;
  // Type inference at parse time reads the attribute dictionary, so keep
  // inherent attributes there rather than in properties.
  let usePropertiesForAttributes = 0;
}

#endif // ADAGP_DIALECT_NN_NNDIALECT_TD
