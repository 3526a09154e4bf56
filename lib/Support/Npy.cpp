//===- Npy.cpp - NumPy .npy arrays ----------------------------------------===//

#include "adagp/Support/Npy.h"
#include "adagp/Support/FileUtils.h"

#include <cstring>

namespace adagp {

int64_t NpyArray::elementSize(const std::string &dtype) {
  if (dtype == "f4" || dtype == "i4" || dtype == "u4")
    return 4;
  if (dtype == "f8" || dtype == "i8" || dtype == "u8")
    return 8;
  if (dtype == "i2" || dtype == "u2" || dtype == "f2")
    return 2;
  if (dtype == "i1" || dtype == "u1" || dtype == "b1")
    return 1;
  return 0;
}

int64_t NpyArray::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

NpyArray NpyArray::fromFloats(const std::vector<int64_t> &shape,
                              const float *values) {
  NpyArray a;
  a.dtype = "f4";
  a.shape = shape;
  a.data.resize(a.numElements() * 4);
  if (!a.data.empty())
    std::memcpy(a.data.data(), values, a.data.size());
  return a;
}

NpyArray NpyArray::fromInt64(const std::vector<int64_t> &shape,
                             const int64_t *values) {
  NpyArray a;
  a.dtype = "i8";
  a.shape = shape;
  a.data.resize(a.numElements() * 8);
  if (!a.data.empty())
    std::memcpy(a.data.data(), values, a.data.size());
  return a;
}

std::string NpyArray::shapeString() const {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Finds `'key': value` in the header dictionary and returns the value text.
static bool findHeaderValue(const std::string &header, const std::string &key,
                            std::string &value) {
  size_t pos = header.find("'" + key + "'");
  if (pos == std::string::npos)
    return false;
  pos = header.find(':', pos);
  if (pos == std::string::npos)
    return false;
  ++pos;
  while (pos < header.size() && header[pos] == ' ')
    ++pos;
  size_t end = pos;
  if (pos < header.size() && header[pos] == '(') {
    end = header.find(')', pos);
    if (end == std::string::npos)
      return false;
    ++end;
  } else if (pos < header.size() && header[pos] == '\'') {
    end = header.find('\'', pos + 1);
    if (end == std::string::npos)
      return false;
    ++end;
  } else {
    while (end < header.size() && header[end] != ',' && header[end] != '}')
      ++end;
  }
  value = header.substr(pos, end - pos);
  return true;
}

bool parseNpy(const std::string &bytes, const std::string &name, NpyArray &out,
              std::string &error) {
  auto fail = [&](const std::string &what) {
    error = "'" + name + "' is not a valid .npy file: " + what;
    return false;
  };
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    return fail("missing the \\x93NUMPY magic");
  unsigned major = static_cast<unsigned char>(bytes[6]);
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = static_cast<unsigned char>(bytes[8]) |
                (static_cast<unsigned char>(bytes[9]) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return fail("truncated header");
    headerLen = 0;
    for (int i = 0; i < 4; ++i)
      headerLen |= static_cast<size_t>(static_cast<unsigned char>(bytes[8 + i]))
                   << (8 * i);
    headerStart = 12;
  } else {
    return fail("unsupported format version " + std::to_string(major));
  }
  if (headerStart + headerLen > bytes.size())
    return fail("truncated header");
  std::string header = bytes.substr(headerStart, headerLen);

  std::string descr, order, shapeText;
  if (!findHeaderValue(header, "descr", descr) ||
      !findHeaderValue(header, "fortran_order", order) ||
      !findHeaderValue(header, "shape", shapeText))
    return fail("header lacks descr, fortran_order or shape");
  if (descr.size() < 4)
    return fail("bad descr " + descr);
  char byteOrder = descr[1];
  std::string dtype = descr.substr(2, descr.size() - 3);
  if (NpyArray::elementSize(dtype) == 0)
    return fail("unsupported dtype " + descr);
  if (byteOrder == '>' && NpyArray::elementSize(dtype) > 1)
    return fail("big-endian arrays are not supported");
  if (order.rfind("True", 0) == 0)
    return fail("Fortran-order arrays are not supported; save with "
                "numpy.ascontiguousarray");

  out.dtype = dtype;
  out.shape.clear();
  // shapeText looks like "(64, 3, 32, 32)" or "(10,)" or "()".
  std::string digits;
  for (char c : shapeText) {
    if (c >= '0' && c <= '9') {
      digits += c;
    } else if (!digits.empty()) {
      out.shape.push_back(std::stoll(digits));
      digits.clear();
    }
  }
  int64_t count = out.numElements();
  int64_t size = count * NpyArray::elementSize(dtype);
  size_t dataStart = headerStart + headerLen;
  if (bytes.size() - dataStart < static_cast<size_t>(size))
    return fail("truncated data: expected " + std::to_string(size) +
                " bytes for shape " + out.shapeString() + ", found " +
                std::to_string(bytes.size() - dataStart));
  out.data.assign(bytes.begin() + dataStart, bytes.begin() + dataStart + size);
  return true;
}

bool readNpy(const std::string &path, NpyArray &out, std::string &error) {
  std::string bytes;
  if (!readFile(path, bytes, error))
    return false;
  return parseNpy(bytes, path, out, error);
}

std::string serializeNpy(const NpyArray &array) {
  // Python tuple syntax: "()", "(10,)", "(64, 10)".
  std::string shape = "(";
  for (size_t i = 0; i < array.shape.size(); ++i) {
    shape += std::to_string(array.shape[i]);
    if (array.shape.size() == 1)
      shape += ",";
    else if (i + 1 < array.shape.size())
      shape += ", ";
  }
  shape += ")";
  std::string header = "{'descr': '";
  header += NpyArray::elementSize(array.dtype) == 1 ? "|" : "<";
  header += array.dtype + "', 'fortran_order': False, 'shape': " + shape +
            ", }";
  // Pad with spaces so that the data starts on a 64-byte boundary.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::string bytes = "\x93NUMPY";
  bytes += '\x01';
  bytes += '\x00';
  bytes += static_cast<char>(header.size() & 0xff);
  bytes += static_cast<char>((header.size() >> 8) & 0xff);
  bytes += header;
  bytes.append(array.data.begin(), array.data.end());
  return bytes;
}

bool writeNpy(const std::string &path, const NpyArray &array,
              std::string &error) {
  return writeFileAtomically(path, serializeNpy(array), error);
}

} // namespace adagp
