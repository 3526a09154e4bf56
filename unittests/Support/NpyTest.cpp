//===- NpyTest.cpp - NumPy array files -------------------------------------===//

#include "adagp/Support/FileUtils.h"
#include "adagp/Support/Npy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

using namespace adagp;

TEST(Npy, RoundTripsShapesAndTypes) {
  for (std::vector<int64_t> shape :
       {std::vector<int64_t>{}, {7}, {2, 3}, {64, 3, 32, 32}}) {
    NpyArray a;
    a.dtype = "f4";
    a.shape = shape;
    a.data.resize(a.numElements() * 4);
    for (int64_t i = 0; i < a.numElements(); ++i)
      a.as<float>()[i] = 0.5f * i - 3;
    std::string bytes = serializeNpy(a);
    // The data starts on a 64-byte boundary, as NumPy writes it.
    EXPECT_EQ((bytes.size() - a.data.size()) % 64, 0u);
    NpyArray b;
    std::string error;
    ASSERT_TRUE(parseNpy(bytes, "x.npy", b, error)) << error;
    EXPECT_EQ(b.dtype, "f4");
    EXPECT_EQ(b.shape, shape);
    EXPECT_EQ(b.data, a.data);
  }
}

TEST(Npy, ParsesNumPyHeaders) {
  // Written by numpy.save(np.array([[1, 2]], dtype=np.int64)).
  std::string header = "{'descr': '<i8', 'fortran_order': False, 'shape': (1, "
                       "2), }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::string bytes = std::string("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(header.size());
  bytes += '\0';
  bytes += header;
  int64_t values[2] = {1, 2};
  bytes.append(reinterpret_cast<const char *>(values), sizeof(values));
  NpyArray a;
  std::string error;
  ASSERT_TRUE(parseNpy(bytes, "y.npy", a, error)) << error;
  EXPECT_EQ(a.dtype, "i8");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(a.as<int64_t>()[1], 2);
}

TEST(Npy, RejectsBadFiles) {
  NpyArray a;
  std::string error;
  EXPECT_FALSE(parseNpy("hello", "bad.npy", a, error));
  EXPECT_NE(error.find("bad.npy"), std::string::npos);
  NpyArray f = NpyArray::fromFloats({4}, std::vector<float>(4, 1).data());
  std::string bytes = serializeNpy(f);
  EXPECT_FALSE(parseNpy(bytes.substr(0, bytes.size() - 3), "t.npy", a, error));
  EXPECT_NE(error.find("truncated data"), std::string::npos);
  std::string fortran = bytes;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_FALSE(parseNpy(fortran, "f.npy", a, error));
  EXPECT_NE(error.find("Fortran"), std::string::npos);
  std::string complex = bytes;
  complex.replace(complex.find("<f4"), 3, "<c8");
  EXPECT_FALSE(parseNpy(complex, "c.npy", a, error));
  EXPECT_NE(error.find("unsupported dtype '<c8'"), std::string::npos);
}
