//===- ShapeTest.cpp - Shape rules of the nn dialect ------------------------===//

#include "adagp/Dialect/NN/NNOps.h"

#include <gtest/gtest.h>

using namespace adagp::nn;

TEST(Shapes, BroadcastsLikeNumPy) {
  auto s = broadcastShapes({64, 16, 8, 8}, {16, 1, 1});
  ASSERT_TRUE(mlir::succeeded(s));
  EXPECT_EQ(llvm::ArrayRef<int64_t>(*s),
            llvm::ArrayRef<int64_t>({64, 16, 8, 8}));
  s = broadcastShapes({1, 3}, {4, 1});
  ASSERT_TRUE(mlir::succeeded(s));
  EXPECT_EQ(llvm::ArrayRef<int64_t>(*s), llvm::ArrayRef<int64_t>({4, 3}));
  EXPECT_TRUE(mlir::failed(broadcastShapes({2, 3}, {4})));
}

TEST(Shapes, WindowOutputSizesMatchPyTorch) {
  // floor((in + pads - dilation*(k-1) - 1) / stride) + 1
  EXPECT_EQ(windowOutputSize(32, 3, 1, 1, 1, 1, false), 32);
  EXPECT_EQ(windowOutputSize(32, 3, 2, 1, 1, 1, false), 16);
  EXPECT_EQ(windowOutputSize(7, 3, 2, 0, 0, 1, false), 3);
  EXPECT_EQ(windowOutputSize(9, 3, 1, 2, 2, 2, false), 9);
  // ceil_mode: torch.nn.MaxPool2d(3, 2, ceil_mode=True) on 8 gives 4, on 9
  // gives 4; with padding 1 on 8, the last window would start in the
  // trailing padding, so 4, not 5.
  EXPECT_EQ(windowOutputSize(8, 3, 2, 0, 0, 1, true), 4);
  EXPECT_EQ(windowOutputSize(9, 3, 2, 0, 0, 1, true), 4);
  EXPECT_EQ(windowOutputSize(8, 2, 2, 1, 1, 1, true), 5);
  EXPECT_EQ(windowOutputSize(2, 3, 1, 0, 0, 1, false), 0);
}
