//===- Dataset.h - Training data --------------------------------*- C++ -*-===//
//
// Image classification data for the trainer (and the simulator's host):
// IDX files (gzip-compressed or not, as Debian's dataset-fashion-mnist ships
// them), the Fashion-MNIST preprocessing that scripts/reference/
// fashion_mnist.py defines (the two must agree bit for bit), the seeded
// epoch order, and a synthetic dataset for tests. No MLIR dependency.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_DATA_DATASET_H
#define ADAGP_DATA_DATASET_H

#include <cstdint>
#include <string>
#include <vector>

namespace adagp::data {

inline constexpr const char *kFashionMNISTDir =
    "/usr/share/datasets/fashion-mnist";
inline constexpr double kFashionMNISTMean = 0.2860405969887955;
inline constexpr double kFashionMNISTStd = 0.35302424451492237;

/// Images as uint8 [count, height, width] and labels in [0, classes).
struct Images {
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  int64_t count = 0, height = 0, width = 0;
  /// Where the labels came from (a file path, or a description), for
  /// error messages about them.
  std::string labelsSource;
};

/// Reads an IDX file of unsigned bytes (gzip-compressed when it starts with
/// the gzip magic). Fails with a message naming the file.
bool readIdx(const std::string &path, std::vector<uint8_t> &data,
             std::vector<int64_t> &dims, std::string &error);

/// Images and labels from two IDX files, checked against each other.
bool loadIdxPair(const std::string &imagesPath, const std::string &labelsPath,
                 Images &out, std::string &error);

/// Fashion-MNIST's training and test sets from `dir`; a missing file is
/// reported with the path looked for and the Debian package providing it.
bool loadFashionMNIST(const std::string &dir, Images &train, Images &test,
                      std::string &error);

/// A deterministic dataset for tests: `count` images of `height` x `width`
/// whose label is which of `classes` fixed random patterns the image is a
/// noisy copy of.
Images synthetic(int64_t count, int64_t classes, int64_t height,
                 int64_t width, uint64_t seed);

/// The model input layout: channels x height x width.
struct InputShape {
  int64_t channels = 1, height = 28, width = 28;
  int64_t size() const { return channels * height * width; }
};

/// Whether images of `height` x `width` can be fed to `shape` (same size,
/// or 28x28 padded to 32x32), and if not why.
bool checkShape(const Images &images, const InputShape &shape,
                std::string &error);

/// Writes the preprocessed images `indices[0..n)` as float32 [n, shape]:
/// pixel / 255, zero-padded by 2 to 32x32 if the model wants 32x32,
/// normalised with mean and std, replicated over the channels.
void preprocess(const Images &images, const int64_t *indices, int64_t n,
                const InputShape &shape, double mean, double std,
                float *out);

/// The training order of `epoch`: a SplitMix64-driven Fisher-Yates shuffle
/// of [0, n) seeded with seed * 2^32 + epoch.
std::vector<int64_t> epochPermutation(int64_t n, uint64_t seed,
                                      uint64_t epoch);

} // namespace adagp::data

#endif // ADAGP_DATA_DATASET_H
