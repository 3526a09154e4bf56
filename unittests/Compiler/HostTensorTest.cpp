//===- HostTensorTest.cpp - The importer's constant folding -----------------===//

#include "HostTensor.h"

#include <gtest/gtest.h>

using namespace adagp::onnx_import;

static onnx::NodeProto node(const std::string &op,
                            std::vector<std::pair<std::string, int64_t>>
                                intAttrs = {}) {
  onnx::NodeProto n;
  n.set_op_type(op);
  for (auto &[name, value] : intAttrs) {
    auto *a = n.add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  return n;
}

static std::vector<HostTensor> eval(const onnx::NodeProto &n, int since,
                                    std::vector<const HostTensor *> inputs) {
  std::string error;
  auto result = evaluateOnHost(n, since, inputs, error);
  EXPECT_TRUE(result.has_value()) << error;
  return result ? *result : std::vector<HostTensor>{};
}

TEST(HostTensor, FoldsAChannelShuffleShape) {
  // Gather(shape, 1) / 2, unsqueezed and concatenated with other dims.
  HostTensor shape = HostTensor::fromInts({8, 48, 4, 4}, {4});
  HostTensor one = HostTensor::fromInts({1}, {});
  HostTensor two = HostTensor::fromInts({2}, {});
  auto c = eval(node("Gather", {{"axis", 0}}), 13, {&shape, &one});
  ASSERT_EQ(c.size(), 1u);
  EXPECT_TRUE(c[0].shape.empty());
  EXPECT_EQ(c[0].ints[0], 48);
  auto per = eval(node("Div"), 14, {&c[0], &two});
  EXPECT_EQ(per[0].ints[0], 24);
  HostTensor axes = HostTensor::fromInts({0}, {1});
  auto u = eval(node("Unsqueeze"), 13, {&per[0], &axes});
  EXPECT_EQ(u[0].shape, std::vector<int64_t>{1});
  auto cat = eval(node("Concat", {{"axis", 0}}), 13, {&shape, &u[0]});
  EXPECT_EQ(cat[0].ints, (std::vector<int64_t>{8, 48, 4, 4, 24}));
}

TEST(HostTensor, SlicesWithOnnxBounds) {
  HostTensor x = HostTensor::fromInts({0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {10});
  HostTensor starts = HostTensor::fromInts({-3}, {1});
  HostTensor ends = HostTensor::fromInts({INT64_MAX}, {1});
  auto r = eval(node("Slice"), 13, {&x, &starts, &ends});
  EXPECT_EQ(r[0].ints, (std::vector<int64_t>{7, 8, 9}));
  HostTensor s2 = HostTensor::fromInts({1}, {1});
  HostTensor e2 = HostTensor::fromInts({8}, {1});
  HostTensor axes = HostTensor::fromInts({0}, {1});
  HostTensor steps = HostTensor::fromInts({3}, {1});
  r = eval(node("Slice"), 13, {&x, &s2, &e2, &axes, &steps});
  EXPECT_EQ(r[0].ints, (std::vector<int64_t>{1, 4, 7}));
}

TEST(HostTensor, ReshapesWithZeroAndMinusOne) {
  HostTensor x = HostTensor::fromInts(std::vector<int64_t>(24, 1), {2, 3, 4});
  HostTensor target = HostTensor::fromInts({0, -1}, {2});
  auto r = eval(node("Reshape"), 14, {&x, &target});
  EXPECT_EQ(r[0].shape, (std::vector<int64_t>{2, 12}));
}

TEST(HostTensor, BroadcastsBinaryOpsAndCasts) {
  HostTensor a = HostTensor::fromInts({1, 2, 3}, {3});
  HostTensor b = HostTensor::fromInts({10}, {1});
  auto sum = eval(node("Add"), 14, {&a, &b});
  EXPECT_EQ(sum[0].ints, (std::vector<int64_t>{11, 12, 13}));
  onnx::NodeProto cast = node("Cast", {{"to", onnx::TensorProto::FLOAT}});
  auto f = eval(cast, 13, {&sum[0]});
  ASSERT_TRUE(f[0].isFloat());
  EXPECT_DOUBLE_EQ(f[0].floats[2], 13.0);
}

TEST(HostTensor, ReportsBadInputs) {
  HostTensor x = HostTensor::fromInts({1, 2}, {2});
  HostTensor idx = HostTensor::fromInts({5}, {});
  std::string error;
  auto r = evaluateOnHost(node("Gather"), 13, {&x, &idx}, error);
  EXPECT_FALSE(r.has_value());
  EXPECT_NE(error.find("out of range"), std::string::npos);
  // Operators the host does not evaluate: no result and no error.
  error.clear();
  EXPECT_FALSE(evaluateOnHost(node("Conv"), 11, {&x, &x}, error).has_value());
  EXPECT_TRUE(error.empty());
}
