//===- Dataset.cpp - Training data ----------------------------------------===//

#include "adagp/Data/Dataset.h"

#include "adagp/Support/FileUtils.h"

#include <cmath>
#include <cstring>
#include <random>
#include <zlib.h>

namespace adagp::data {

static bool gunzip(const std::string &compressed, const std::string &path,
                   std::string &out, std::string &error) {
  z_stream stream;
  std::memset(&stream, 0, sizeof(stream));
  if (inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) {
    error = "cannot decompress '" + path + "'";
    return false;
  }
  stream.next_in =
      reinterpret_cast<Bytef *>(const_cast<char *>(compressed.data()));
  stream.avail_in = static_cast<uInt>(compressed.size());
  char buffer[1 << 16];
  int status;
  do {
    stream.next_out = reinterpret_cast<Bytef *>(buffer);
    stream.avail_out = sizeof(buffer);
    status = inflate(&stream, Z_NO_FLUSH);
    if (status != Z_OK && status != Z_STREAM_END) {
      inflateEnd(&stream);
      error = "'" + path + "' is not a valid gzip file (truncated or corrupt)";
      return false;
    }
    out.append(buffer, sizeof(buffer) - stream.avail_out);
  } while (status != Z_STREAM_END);
  inflateEnd(&stream);
  return true;
}

bool readIdx(const std::string &path, std::vector<uint8_t> &data,
             std::vector<int64_t> &dims, std::string &error) {
  std::string raw;
  if (!readFile(path, raw, error))
    return false;
  std::string bytes;
  if (raw.size() >= 2 && static_cast<uint8_t>(raw[0]) == 0x1f &&
      static_cast<uint8_t>(raw[1]) == 0x8b) {
    if (!gunzip(raw, path, bytes, error))
      return false;
  } else {
    bytes = std::move(raw);
  }
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08) {
    error = "'" + path + "' is not an IDX file of unsigned bytes";
    return false;
  }
  int ndim = static_cast<uint8_t>(bytes[3]);
  size_t offset = 4 + 4 * static_cast<size_t>(ndim);
  if (ndim == 0 || bytes.size() < offset) {
    error = "'" + path + "' has a truncated IDX header";
    return false;
  }
  dims.clear();
  int64_t count = 1;
  for (int i = 0; i < ndim; ++i) {
    const auto *p = reinterpret_cast<const uint8_t *>(bytes.data() + 4 + 4 * i);
    int64_t d = (int64_t(p[0]) << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    dims.push_back(d);
    count *= d;
  }
  if (bytes.size() - offset != static_cast<size_t>(count)) {
    error = "'" + path + "' should hold " + std::to_string(count) +
            " bytes of data but holds " + std::to_string(bytes.size() - offset);
    return false;
  }
  data.assign(bytes.begin() + offset, bytes.end());
  return true;
}

bool loadIdxPair(const std::string &imagesPath, const std::string &labelsPath,
                 Images &out, std::string &error) {
  std::vector<uint8_t> pixels, labels;
  std::vector<int64_t> imageDims, labelDims;
  if (!readIdx(imagesPath, pixels, imageDims, error) ||
      !readIdx(labelsPath, labels, labelDims, error))
    return false;
  if (imageDims.size() != 3) {
    error = "'" + imagesPath + "' should hold images [count, height, width]";
    return false;
  }
  if (labelDims.size() != 1) {
    error = "'" + labelsPath + "' should hold one label per image";
    return false;
  }
  if (imageDims[0] != labelDims[0]) {
    error = "'" + imagesPath + "' has " + std::to_string(imageDims[0]) +
            " images but '" + labelsPath + "' has " +
            std::to_string(labelDims[0]) + " labels";
    return false;
  }
  out.count = imageDims[0];
  out.height = imageDims[1];
  out.width = imageDims[2];
  out.pixels = std::move(pixels);
  out.labels.assign(labels.begin(), labels.end());
  out.labelsSource = labelsPath;
  return true;
}

bool loadFashionMNIST(const std::string &dir, Images &train, Images &test,
                      std::string &error) {
  const char *files[] = {"train-images-idx3-ubyte.gz",
                         "train-labels-idx1-ubyte.gz",
                         "t10k-images-idx3-ubyte.gz",
                         "t10k-labels-idx1-ubyte.gz"};
  for (const char *f : files) {
    std::string path = dir + "/" + f;
    std::string bytes, ignored;
    FILE *probe = std::fopen(path.c_str(), "rb");
    if (!probe) {
      error = "Fashion-MNIST not found: no '" + path +
              "' (install Debian's dataset-fashion-mnist package, or give "
              "--dataset idx:TRAIN_IMAGES,TRAIN_LABELS,TEST_IMAGES,"
              "TEST_LABELS)";
      return false;
    }
    std::fclose(probe);
  }
  return loadIdxPair(dir + "/" + files[0], dir + "/" + files[1], train,
                     error) &&
         loadIdxPair(dir + "/" + files[2], dir + "/" + files[3], test, error);
}

Images synthetic(int64_t count, int64_t classes, int64_t height,
                 int64_t width, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> pixel(0, 255);
  std::vector<std::vector<uint8_t>> patterns(classes);
  for (auto &p : patterns) {
    p.resize(height * width);
    for (auto &v : p)
      v = static_cast<uint8_t>(pixel(rng));
  }
  Images out;
  out.count = count;
  out.height = height;
  out.width = width;
  out.pixels.resize(count * height * width);
  out.labels.resize(count);
  std::normal_distribution<double> noise(0.0, 40.0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t label = static_cast<int64_t>(rng() % classes);
    out.labels[i] = label;
    for (int64_t k = 0; k < height * width; ++k) {
      double v = patterns[label][k] + noise(rng);
      out.pixels[i * height * width + k] =
          static_cast<uint8_t>(std::min(255.0, std::max(0.0, v)));
    }
  }
  return out;
}

bool checkShape(const Images &images, const InputShape &shape,
                std::string &error) {
  bool same = images.height == shape.height && images.width == shape.width;
  bool padded = images.height == 28 && images.width == 28 &&
                shape.height == 32 && shape.width == 32;
  if (!same && !padded) {
    error = "the images are " + std::to_string(images.height) + "x" +
            std::to_string(images.width) + " but the model takes " +
            std::to_string(shape.channels) + "x" +
            std::to_string(shape.height) + "x" + std::to_string(shape.width);
    return false;
  }
  return true;
}

void preprocess(const Images &images, const int64_t *indices, int64_t n,
                const InputShape &shape, double mean, double std,
                float *out) {
  // Same float32 arithmetic as fashion_mnist.preprocess: x / 255, pad,
  // (x - mean) / std, with mean and std rounded to float32.
  const float m = static_cast<float>(mean), s = static_cast<float>(std);
  int64_t pad = (shape.height - images.height) / 2;
  int64_t plane = shape.height * shape.width;
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t *src = images.pixels.data() +
                         indices[i] * images.height * images.width;
    float *dst = out + i * shape.size();
    for (int64_t y = 0; y < shape.height; ++y)
      for (int64_t x = 0; x < shape.width; ++x) {
        int64_t sy = y - pad, sx = x - pad;
        float v = 0.0f;
        if (sy >= 0 && sy < images.height && sx >= 0 && sx < images.width)
          v = static_cast<float>(src[sy * images.width + sx]) / 255.0f;
        dst[y * shape.width + x] = (v - m) / s;
      }
    for (int64_t c = 1; c < shape.channels; ++c)
      std::memcpy(dst + c * plane, dst, plane * sizeof(float));
  }
}

std::vector<int64_t> epochPermutation(int64_t n, uint64_t seed,
                                      uint64_t epoch) {
  std::vector<int64_t> perm(n);
  for (int64_t i = 0; i < n; ++i)
    perm[i] = i;
  uint64_t state = (seed << 32) + epoch;
  for (int64_t i = n - 1; i > 0; --i) {
    state += 0x9E3779B97F4A7C15ull;
    uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    int64_t j = static_cast<int64_t>(z % static_cast<uint64_t>(i + 1));
    std::swap(perm[i], perm[j]);
  }
  return perm;
}

} // namespace adagp::data
