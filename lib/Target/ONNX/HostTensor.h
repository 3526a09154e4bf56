//===- HostTensor.h - Constants the importer evaluates itself ---*- C++ -*-===//
//
// Shape subgraphs (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, as in
// ShuffleNet's channel shuffle) become constant once the batch dimension is
// bound. The importer evaluates them on the host with these small tensors
// instead of emitting IR for them.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_LIB_TARGET_ONNX_HOSTTENSOR_H
#define ADAGP_LIB_TARGET_ONNX_HOSTTENSOR_H

#include "onnx/onnx_pb.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace adagp::onnx_import {

/// A constant tensor. Integers (and booleans) are held exactly as int64,
/// floating-point values as double; `elementType` remembers the ONNX type.
struct HostTensor {
  int elementType = onnx::TensorProto::INT64;
  std::vector<int64_t> shape;
  std::vector<int64_t> ints;
  std::vector<double> floats;

  bool isFloat() const;
  int64_t numElements() const;
  /// Element `i` as a double or an int64, whatever the storage.
  double getDouble(int64_t i) const;
  int64_t getInt(int64_t i) const;

  static HostTensor fromInts(std::vector<int64_t> values,
                             std::vector<int64_t> shape);
  static HostTensor fromFloats(std::vector<double> values,
                               std::vector<int64_t> shape, int elementType);
};

/// Whether the ONNX element type is one the importer handles as data.
bool isSupportedFloatType(int elementType);
bool isSupportedIntType(int elementType);
std::string elementTypeName(int elementType);

/// Decodes an initializer or a Constant's tensor. Fails with a message for
/// unsupported element types.
bool decodeTensorProto(const onnx::TensorProto &proto, HostTensor &out,
                       std::string &error);

/// Evaluates node `node` on constant inputs (null entries are absent
/// optional inputs). Returns std::nullopt (with `error` empty) when the
/// operator is not one the host evaluator knows, and fails with `error` set
/// when the inputs are invalid for it.
std::optional<std::vector<HostTensor>>
evaluateOnHost(const onnx::NodeProto &node, int sinceVersion,
               const std::vector<const HostTensor *> &inputs,
               std::string &error);

} // namespace adagp::onnx_import

#endif // ADAGP_LIB_TARGET_ONNX_HOSTTENSOR_H
