//===- ModelSummary.cpp - Print a model's size and cost --------------------===//

#include "adagp/Dialect/NN/ModelStats.h"
#include "adagp/Dialect/NN/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

namespace adagp::nn {
#define GEN_PASS_DEF_NNMODELSUMMARY
#include "adagp/Dialect/NN/Passes.h.inc"
} // namespace adagp::nn

using namespace mlir;

namespace {

/// "1234567" -> "1,234,567".
std::string grouped(int64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0)
      out += ',';
    out += digits[i];
  }
  return out;
}

std::string shapeOf(Type type) {
  auto t = dyn_cast<RankedTensorType>(type);
  if (!t)
    return "?";
  std::string s;
  for (auto [i, d] : llvm::enumerate(t.getShape()))
    s += (i ? "x" : "") + std::to_string(d);
  return s;
}

struct ModelSummaryPass
    : adagp::nn::impl::NNModelSummaryBase<ModelSummaryPass> {
  using NNModelSummaryBase::NNModelSummaryBase;

  void runOnOperation() override {
    auto func = getOperation().lookupSymbol<func::FuncOp>(functionName);
    if (!func || func.isExternal()) {
      getOperation().emitError("no function @") << functionName
                                                 << " to summarise";
      return signalPassFailure();
    }
    adagp::nn::ModelStats stats = adagp::nn::computeModelStats(func);
    int64_t conv = stats.operations["nn.conv2d"];
    int64_t gemm = stats.operations["nn.gemm"];
    std::string inputs, outputs;
    for (Type t : func.getArgumentTypes())
      inputs += (inputs.empty() ? "" : ", ") + shapeOf(t);
    for (Type t : func.getResultTypes())
      outputs += (outputs.empty() ? "" : ", ") + shapeOf(t);
    int64_t perImage =
        stats.batchSize > 0 ? stats.multiplyAdds / stats.batchSize : 0;

    if (json) {
      llvm::json::Object ops;
      for (auto &[name, count] : stats.operations)
        ops[name] = count;
      llvm::json::Object object{
          {"function", functionName},
          {"batch_size", stats.batchSize},
          {"layers_with_weights", stats.layersWithWeights},
          {"trainable_parameters", stats.trainableParameters},
          {"trainable_tensors", stats.trainableTensors},
          {"non_trainable_parameters", stats.nonTrainableParameters},
          {"multiply_adds", stats.multiplyAdds},
          {"multiply_adds_per_image", perImage},
          {"operations", std::move(ops)}};
      llvm::outs() << llvm::json::Value(std::move(object)) << "\n";
      return markAllAnalysesPreserved();
    }

    llvm::outs() << llvm::formatv("model @{0}: batch {1}, input {2}, "
                                  "output {3}\n",
                                  functionName, stats.batchSize, inputs,
                                  outputs);
    llvm::outs() << llvm::formatv(
        "layers with weights: {0} ({1} conv2d, {2} gemm)\n",
        stats.layersWithWeights, conv, gemm);
    llvm::outs() << llvm::formatv(
        "parameters: {0} trainable in {1} tensors, {2} batch-norm "
        "statistics\n",
        grouped(stats.trainableParameters), stats.trainableTensors,
        grouped(stats.nonTrainableParameters));
    llvm::outs() << llvm::formatv(
        "multiply-adds: {0} per image ({1:f2} M), {2} per batch\n",
        grouped(perImage), perImage / 1e6, grouped(stats.multiplyAdds));
    llvm::outs() << "operations:";
    for (auto &[name, count] : stats.operations)
      llvm::outs() << " " << name << " " << count << ";";
    llvm::outs() << "\n";
    markAllAnalysesPreserved();
  }
};

} // namespace
