//===- Utils.h - Building linalg for the nn lowering ------------*- C++ -*-===//

#ifndef ADAGP_LIB_CONVERSION_NNTOLINALG_UTILS_H
#define ADAGP_LIB_CONVERSION_NNTOLINALG_UTILS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/Transforms/DialectConversion.h"

#include <functional>

namespace adagp::lowering {

using BodyBuilder = std::function<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                              mlir::ValueRange)>;

inline mlir::RankedTensorType tensorType(mlir::Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType());
}

/// A scalar constant of a float type.
mlir::Value floatConstant(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Type type, double value);

/// An uninitialised tensor, and one filled with `value`.
mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type);
mlir::Value filledTensor(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::RankedTensorType type, double value);

/// A new tensor that CSE never merges with another (bufferization.
/// alloc_tensor): the outputs of a multi-result linalg.generic must not be
/// one tensor.empty, or they would share one buffer.
mlir::Value freshTensor(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type);
mlir::Value freshFilledTensor(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::RankedTensorType type, double value);

/// The indexing map that reads an operand of `operandShape` broadcast
/// (NumPy rules) to a result of `resultShape`.
mlir::AffineMap broadcastMap(mlir::MLIRContext *ctx,
                             llvm::ArrayRef<int64_t> operandShape,
                             llvm::ArrayRef<int64_t> resultShape);

/// A linalg.generic over `resultType` whose body computes one element from
/// the inputs' elements; the inputs are broadcast to the result.
mlir::Value elementwise(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType resultType,
                        mlir::ValueRange inputs, const BodyBuilder &body);

/// A linalg.generic reducing `input` over `axes` with `combine(acc, x)`
/// starting from `init`; the result has the reduced dimensions removed, or
/// kept as 1 with `keepdims`. `extraInputs` are broadcast to the input's
/// shape and passed to `combine` after x.
mlir::Value reduce(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                   llvm::ArrayRef<int64_t> axes, bool keepdims, double init,
                   const BodyBuilder &combine,
                   mlir::ValueRange extraInputs = {});

/// An f-add that may be reassociated: reductions built with it vectorise.
mlir::Value reassocAdd(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                       mlir::Value y);

/// Indexing maps for a reduction over `axes` of `shape`, with the kept
/// dimensions first in the iteration space (so that the outermost loops are
/// parallel and run on all threads): the map of an operand broadcast to
/// `shape` and of the reduced result.
mlir::AffineMap reductionInputMap(mlir::MLIRContext *ctx,
                                  llvm::ArrayRef<int64_t> operandShape,
                                  llvm::ArrayRef<int64_t> shape,
                                  llvm::ArrayRef<int64_t> axes);
mlir::AffineMap reductionOutputMap(mlir::MLIRContext *ctx,
                                   llvm::ArrayRef<int64_t> shape,
                                   llvm::ArrayRef<int64_t> axes);
llvm::SmallVector<mlir::utils::IteratorType>
reductionIterators(int64_t rank, llvm::ArrayRef<int64_t> axes);

/// Reshapes a statically shaped tensor (collapse to 1-D, then expand).
mlir::Value reshapeTo(mlir::OpBuilder &b, mlir::Location loc,
                      mlir::Value value, mlir::RankedTensorType type);

/// The shape with the given axes removed / set to 1.
llvm::SmallVector<int64_t> reducedShape(llvm::ArrayRef<int64_t> shape,
                                        llvm::ArrayRef<int64_t> axes,
                                        bool keepdims);

/// The strides/dilations attribute of linalg's named convolutions and
/// poolings: a dense i64 tensor.
mlir::DenseIntElementsAttr i64Elements(mlir::OpBuilder &b,
                                       llvm::ArrayRef<int64_t> values);

/// Pads with a constant (tensor.pad); `low` and `high` per dimension.
mlir::Value padTensor(mlir::OpBuilder &b, mlir::Location loc,
                      mlir::Value value, llvm::ArrayRef<int64_t> low,
                      llvm::ArrayRef<int64_t> high, double padValue);

/// Divides every element of `value` by a constant tensor of per-element
/// divisors broadcast against it.
mlir::Value constantTensor(mlir::OpBuilder &b, mlir::Location loc,
                           llvm::ArrayRef<int64_t> shape, mlir::Type element,
                           llvm::ArrayRef<double> values);

/// The divisor of each average-pooling window, as PyTorch computes it.
std::vector<double> avgPoolDivisors(int64_t H, int64_t W, int64_t OH,
                                    int64_t OW, llvm::ArrayRef<int64_t> kernel,
                                    llvm::ArrayRef<int64_t> strides,
                                    llvm::ArrayRef<int64_t> pads,
                                    bool countIncludePad);

void populateElementwisePatterns(mlir::RewritePatternSet &patterns);
void populateShapePatterns(mlir::RewritePatternSet &patterns);
void populateReductionPatterns(mlir::RewritePatternSet &patterns);
void populateNormalizationPatterns(mlir::RewritePatternSet &patterns);
void populatePoolingPatterns(mlir::RewritePatternSet &patterns,
                             bool useKernels);
void populateLinearPatterns(mlir::RewritePatternSet &patterns,
                            bool useKernels);

} // namespace adagp::lowering

#endif // ADAGP_LIB_CONVERSION_NNTOLINALG_UTILS_H
