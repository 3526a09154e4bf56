//===- ModelLoader.cpp - Parse, check and shape-infer ONNX models ---------===//

#include "ModelLoader.h"

#include "onnx/checker.h"
#include "onnx/defs/parser.h"
#include "onnx/defs/schema.h"
#include "onnx/shape_inference/implementation.h"

#include <set>
#include <sstream>

namespace adagp::onnx_import {

int64_t defaultOpset(const onnx::ModelProto &model) {
  for (const auto &opset : model.opset_import())
    if (opset.domain().empty() || opset.domain() == "ai.onnx")
      return opset.version();
  return -1;
}

int sinceVersion(const std::string &opType, int64_t opset) {
  const onnx::OpSchema *schema =
      onnx::OpSchemaRegistry::Schema(opType, static_cast<int>(opset), "");
  return schema ? schema->SinceVersion() : -1;
}

bool checkModel(const onnx::ModelProto &model, std::string &error) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception &e) {
    error = std::string("the ONNX checker rejects the model: ") + e.what();
    return false;
  }
  return true;
}

/// Binds the symbolic first dimension of every graph input to `batch` (and
/// every other use of the same symbol). Any other symbolic dimension is an
/// error.
static bool bindBatch(onnx::GraphProto &graph, std::optional<int64_t> batch,
                      std::string &error) {
  std::set<std::string> initializers;
  for (const auto &init : graph.initializer())
    initializers.insert(init.name());

  std::set<std::string> batchSymbols;
  for (auto &input : *graph.mutable_input()) {
    if (initializers.count(input.name()) || !input.type().has_tensor_type() ||
        !input.type().tensor_type().has_shape())
      continue;
    auto *shape = input.mutable_type()->mutable_tensor_type()->mutable_shape();
    for (int i = 0; i < shape->dim_size(); ++i) {
      auto *dim = shape->mutable_dim(i);
      if (dim->has_dim_value())
        continue;
      std::string symbol = dim->has_dim_param() ? dim->dim_param() : "?";
      if (i != 0) {
        error = "graph input '" + input.name() + "' has symbolic dimension '" +
                symbol + "' at position " + std::to_string(i) +
                "; only the batch dimension (position 0) may be symbolic";
        return false;
      }
      if (!batch) {
        error = "graph input '" + input.name() +
                "' has a symbolic batch dimension '" + symbol +
                "'; bind it with --batch-size";
        return false;
      }
      batchSymbols.insert(symbol);
      dim->clear_dim_param();
      dim->set_dim_value(*batch);
    }
  }

  // Outputs keep their declared shapes, with the batch symbol bound; other
  // symbols are inferred anew. Intermediate shapes are inferred from scratch
  // because the exporter recorded them with symbols.
  graph.clear_value_info();
  for (auto &output : *graph.mutable_output()) {
    if (!output.type().has_tensor_type() ||
        !output.type().tensor_type().has_shape())
      continue;
    auto *shape = output.mutable_type()->mutable_tensor_type()->mutable_shape();
    bool symbolic = false;
    for (auto &dim : *shape->mutable_dim()) {
      if (dim.has_dim_param() && batchSymbols.count(dim.dim_param())) {
        dim.clear_dim_param();
        dim.set_dim_value(*batch);
      } else if (!dim.has_dim_value()) {
        symbolic = true;
      }
    }
    if (symbolic)
      output.mutable_type()->mutable_tensor_type()->clear_shape();
  }
  return true;
}

bool parseModel(const std::string &bytes, bool text, onnx::ModelProto &model,
                std::string &error) {
  if (bytes.empty()) {
    error = "the file is empty";
    return false;
  }
  if (text) {
    try {
      auto status = onnx::OnnxParser::Parse(model, bytes.c_str());
      if (!status.IsOK()) {
        error = "cannot parse ONNX text syntax: " + status.ErrorMessage();
        return false;
      }
    } catch (const std::exception &e) {
      error = std::string("cannot parse ONNX text syntax: ") + e.what();
      return false;
    }
  } else if (!model.ParseFromString(bytes)) {
    error = "not a valid ONNX model (the protobuf does not parse: truncated "
            "or not ONNX)";
    return false;
  }
  if (!model.has_graph() || model.graph().node_size() == 0) {
    error = "not a valid ONNX model (it has no graph nodes)";
    return false;
  }
  if (defaultOpset(model) < 0) {
    error = "the model imports no opset of the default ONNX domain";
    return false;
  }
  for (const auto &init : model.graph().initializer()) {
    if (init.data_location() == onnx::TensorProto::EXTERNAL) {
      error = "initializer '" + init.name() +
              "' is stored in an external data file, which is not supported";
      return false;
    }
  }
  return true;
}

bool schemaArity(const std::string &opType, int64_t opset, int &minInputs,
                 int &maxInputs, int &minOutputs, int &maxOutputs) {
  const onnx::OpSchema *schema =
      onnx::OpSchemaRegistry::Schema(opType, static_cast<int>(opset), "");
  if (!schema)
    return false;
  minInputs = schema->min_input();
  maxInputs = schema->max_input();
  minOutputs = schema->min_output();
  maxOutputs = schema->max_output();
  return true;
}

bool prepareModel(onnx::ModelProto &model, std::optional<int64_t> batchSize,
                  std::string &error) {
  if (!checkModel(model, error))
    return false;
  if (!bindBatch(*model.mutable_graph(), batchSize, error))
    return false;
  try {
    onnx::ShapeInferenceOptions options(/*check_type=*/true,
                                        /*strict_mode=*/1,
                                        /*data_prop=*/true);
    onnx::shape_inference::InferShapes(model, onnx::OpSchemaRegistry::Instance(),
                                       options);
  } catch (const std::exception &e) {
    error = std::string("ONNX shape inference fails: ") + e.what();
    return false;
  }
  return true;
}

} // namespace adagp::onnx_import
