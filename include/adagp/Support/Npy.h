//===- Npy.h - NumPy .npy arrays ---------------------------------*- C++ -*-===//
//
// Reads and writes NumPy's .npy format (versions 1.0-3.0, little endian,
// C order), the array format of every adagp tool.
//
//===----------------------------------------------------------------------===//

#ifndef ADAGP_SUPPORT_NPY_H
#define ADAGP_SUPPORT_NPY_H

#include <cstdint>
#include <string>
#include <vector>

namespace adagp {

/// An n-dimensional array in C order. `dtype` is a NumPy type string without
/// byte order: "f4", "f8", "i1", "i2", "i4", "i8", "u1", "b1".
struct NpyArray {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<char> data;

  int64_t numElements() const;
  /// Size of one element in bytes, 0 for an unknown dtype.
  static int64_t elementSize(const std::string &dtype);

  static NpyArray fromFloats(const std::vector<int64_t> &shape,
                             const float *values);
  static NpyArray fromInt64(const std::vector<int64_t> &shape,
                            const int64_t *values);
  template <typename T> const T *as() const {
    return reinterpret_cast<const T *>(data.data());
  }
  template <typename T> T *as() { return reinterpret_cast<T *>(data.data()); }

  /// "[64, 3, 32, 32]".
  std::string shapeString() const;
};

/// Parses .npy bytes. `name` appears in errors.
bool parseNpy(const std::string &bytes, const std::string &name, NpyArray &out,
              std::string &error);
bool readNpy(const std::string &path, NpyArray &out, std::string &error);
std::string serializeNpy(const NpyArray &array);
/// Writes atomically (see FileUtils.h).
bool writeNpy(const std::string &path, const NpyArray &array,
              std::string &error);

} // namespace adagp

#endif // ADAGP_SUPPORT_NPY_H
