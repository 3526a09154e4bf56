//===- ProgramInfoTest.cpp - Symbol tables, DMA tags, layouts -------------===//

#include "adagp/ISA/ProgramInfo.h"

#include <gtest/gtest.h>
#include <numeric>

using namespace adagp::isa;

TEST(ProgramInfo, RoundTripsThroughTheProgramFile) {
  Program p;
  p.instructions.push_back(makeInstruction(Opcode::Load));
  p.instructions.push_back(makeInstruction(Opcode::Finish));
  ProgramInfo info;
  info.model = "lenet5.onnx";
  info.mode = "bp";
  info.config = "default";
  info.batchSize = 4;
  info.classes = 10;
  info.predictorEvery = 4;
  info.hasPlainBPStep = true;
  DramRegion w;
  w.name = "conv1.weight";
  w.role = "parameter";
  w.cls = TensorClass::Weight;
  w.offset = 0x40;
  w.bytes = 600;
  w.shape = {6, 1, 5, 5};
  w.layout = {2, 3, 1, 0};
  info.regions.push_back(w);
  DramRegion labels;
  labels.name = "labels";
  labels.role = "labels";
  labels.cls = TensorClass::Input;
  labels.dtype = "i32";
  labels.offset = 0x1000;
  labels.bytes = 16;
  labels.shape = {4};
  info.regions.push_back(labels);
  info.dramTags = {uint8_t(TensorClass::Weight), 0};

  std::string err;
  ASSERT_TRUE(writeProgramInfo(info, p, err)) << err;
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(writeProgram(p, bytes, err)) << err;
  Program back;
  ASSERT_TRUE(readProgram(bytes.data(), bytes.size(), back, err)) << err;
  ProgramInfo read;
  ASSERT_TRUE(readProgramInfo(back, read, err)) << err;
  EXPECT_EQ(read.model, "lenet5.onnx");
  EXPECT_EQ(read.batchSize, 4);
  EXPECT_EQ(read.predictorEvery, 4);
  EXPECT_TRUE(read.hasPlainBPStep);
  ASSERT_EQ(read.regions.size(), 2u);
  const DramRegion *r = read.find("conv1.weight");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->cls, TensorClass::Weight);
  EXPECT_EQ(r->offset, 0x40u);
  EXPECT_EQ(r->layout, (std::vector<int64_t>{2, 3, 1, 0}));
  EXPECT_EQ(read.find("labels")->dtype, "i32");
  EXPECT_EQ(read.dramTags, info.dramTags);

  // Rewriting replaces the sections instead of duplicating them.
  ASSERT_TRUE(writeProgramInfo(info, back, err)) << err;
  EXPECT_EQ(back.sections.size(), 2u);
}

TEST(ProgramInfo, RejectsMissingAndMalformedTables) {
  Program p;
  p.instructions.push_back(makeInstruction(Opcode::Finish));
  ProgramInfo info;
  std::string err;
  EXPECT_FALSE(readProgramInfo(p, info, err));
  EXPECT_NE(err.find("no symbol table"), std::string::npos) << err;

  std::string bad = "{\"batch_size\": 1}";
  p.sections.push_back(
      {kSymbolTableSection, 1, std::vector<uint8_t>(bad.begin(), bad.end())});
  EXPECT_FALSE(readProgramInfo(p, info, err));
  EXPECT_NE(err.find("malformed"), std::string::npos) << err;

  ProgramInfo wrongTags;
  wrongTags.dramTags = {1, 2, 3};
  EXPECT_FALSE(writeProgramInfo(wrongTags, p, err));
  EXPECT_NE(err.find("3 entries for 1 instructions"), std::string::npos)
      << err;

  ProgramInfo badLayout;
  DramRegion r;
  r.name = "x";
  r.shape = {2, 3};
  r.layout = {0, 0};
  badLayout.regions.push_back(r);
  EXPECT_FALSE(writeProgramInfo(badLayout, p, err));
  EXPECT_NE(err.find("permutation"), std::string::npos) << err;
}

TEST(ProgramInfo, PlainBPStepAndPredictorEvery) {
  auto table = [](const std::string &extra) {
    Program p;
    p.instructions.push_back(makeInstruction(Opcode::Finish));
    std::string text =
        "{\"batch_size\": 1, \"classes\": 2, " + extra + "\"regions\": []}";
    p.sections.push_back({kSymbolTableSection, 1,
                          std::vector<uint8_t>(text.begin(), text.end())});
    return p;
  };
  // Tables written before predictor-every: every BP step trains the
  // predictor.
  ProgramInfo info;
  std::string err;
  ASSERT_TRUE(readProgramInfo(table(""), info, err)) << err;
  EXPECT_EQ(info.predictorEvery, 1);
  EXPECT_FALSE(info.hasPlainBPStep);
  ASSERT_TRUE(readProgramInfo(
      table("\"predictor_every\": 3, \"bp_plain_step\": true, "), info, err))
      << err;
  EXPECT_EQ(info.predictorEvery, 3);
  EXPECT_TRUE(info.hasPlainBPStep);
  EXPECT_FALSE(readProgramInfo(table("\"predictor_every\": 0, "), info, err));
  EXPECT_NE(err.find("predictor_every 0 is not at least 1"), std::string::npos)
      << err;
  EXPECT_FALSE(readProgramInfo(table("\"predictor_every\": 2, "), info, err));
  EXPECT_NE(err.find("without a plain BP step"), std::string::npos) << err;

  // Writing checks the same.
  Program p;
  p.instructions.push_back(makeInstruction(Opcode::Finish));
  ProgramInfo bad;
  bad.predictorEvery = 2;
  EXPECT_FALSE(writeProgramInfo(bad, p, err));
  EXPECT_NE(err.find("no plain BP step"), std::string::npos) << err;
  bad.predictorEvery = 0;
  EXPECT_FALSE(writeProgramInfo(bad, p, err));
  EXPECT_NE(err.find("at least 1"), std::string::npos) << err;
}

TEST(ProgramInfo, LayoutConversionsArePermutationsAndInverse) {
  // NCHW [2,3,4,5] stored channel-last: element (n,c,h,w) lands at
  // ((n*4 + h)*5 + w)*3 + c.
  std::vector<int64_t> shape = {2, 3, 4, 5}, nhwc = {0, 2, 3, 1};
  std::vector<float> logical(120), storage(120), back(120);
  std::iota(logical.begin(), logical.end(), 0.0f);
  logicalToStorage(logical.data(), storage.data(), shape, nhwc, 4);
  for (int n = 0; n < 2; ++n)
    for (int c = 0; c < 3; ++c)
      for (int h = 0; h < 4; ++h)
        for (int w = 0; w < 5; ++w)
          ASSERT_EQ(storage[((n * 4 + h) * 5 + w) * 3 + c],
                    logical[((n * 3 + c) * 4 + h) * 5 + w]);
  storageToLogical(storage.data(), back.data(), shape, nhwc, 4);
  EXPECT_EQ(back, logical);
  // Identity layouts copy.
  logicalToStorage(logical.data(), storage.data(), shape, {}, 4);
  EXPECT_EQ(storage, logical);
}
