//===- ModelLoader.h - Parse, check and shape-infer ONNX models -*- C++ -*-===//
//
// The only part of the importer that calls into ONNX's C++ library, which
// reports errors with exceptions; this file is compiled with exceptions and
// turns them into error strings.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_LIB_TARGET_ONNX_MODELLOADER_H
#define ADAGP_LIB_TARGET_ONNX_MODELLOADER_H

#include "onnx/onnx_pb.h"

#include <cstdint>
#include <optional>
#include <string>

namespace adagp::onnx_import {

/// Parses `bytes` (text syntax when `text`) into `model`.
bool parseModel(const std::string &bytes, bool text, onnx::ModelProto &model,
                std::string &error);

/// Runs the checker, binds the symbolic batch dimension of the graph inputs
/// to `batchSize`, and runs shape inference.
bool prepareModel(onnx::ModelProto &model, std::optional<int64_t> batchSize,
                  std::string &error);

/// The number of inputs and outputs the schema of `opType` allows at
/// `opset`; false for an unknown operator.
bool schemaArity(const std::string &opType, int64_t opset, int &minInputs,
                 int &maxInputs, int &minOutputs, int &maxOutputs);

/// The opset version of the default ONNX domain.
int64_t defaultOpset(const onnx::ModelProto &model);

/// The version in which the schema of `opType` that applies at `opset` was
/// introduced (ONNX's since_version), or -1 for an unknown operator.
int sinceVersion(const std::string &opType, int64_t opset);

/// Runs ONNX's checker; returns false with a message on failure.
bool checkModel(const onnx::ModelProto &model, std::string &error);

} // namespace adagp::onnx_import

#endif // ADAGP_LIB_TARGET_ONNX_MODELLOADER_H
