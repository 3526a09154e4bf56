//===- HostTensor.cpp - Constants the importer evaluates itself -----------===//

#include "HostTensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>

namespace adagp::onnx_import {

bool isSupportedFloatType(int t) {
  return t == onnx::TensorProto::FLOAT || t == onnx::TensorProto::DOUBLE;
}

bool isSupportedIntType(int t) {
  return t == onnx::TensorProto::INT64 || t == onnx::TensorProto::INT32 ||
         t == onnx::TensorProto::BOOL;
}

std::string elementTypeName(int t) {
  if (onnx::TensorProto_DataType_IsValid(t))
    return onnx::TensorProto_DataType_Name(
        static_cast<onnx::TensorProto_DataType>(t));
  return "type " + std::to_string(t);
}

bool HostTensor::isFloat() const { return isSupportedFloatType(elementType); }

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

double HostTensor::getDouble(int64_t i) const {
  return isFloat() ? floats[i] : static_cast<double>(ints[i]);
}

int64_t HostTensor::getInt(int64_t i) const {
  return isFloat() ? static_cast<int64_t>(floats[i]) : ints[i];
}

HostTensor HostTensor::fromInts(std::vector<int64_t> values,
                                std::vector<int64_t> shape) {
  HostTensor t;
  t.elementType = onnx::TensorProto::INT64;
  t.ints = std::move(values);
  t.shape = std::move(shape);
  return t;
}

HostTensor HostTensor::fromFloats(std::vector<double> values,
                                  std::vector<int64_t> shape,
                                  int elementType) {
  HostTensor t;
  t.elementType = elementType;
  t.floats = std::move(values);
  t.shape = std::move(shape);
  return t;
}

template <typename T>
static void readRaw(const std::string &raw, int64_t count,
                    std::vector<T> &out) {
  out.resize(count);
  std::memcpy(out.data(), raw.data(), count * sizeof(T));
}

bool decodeTensorProto(const onnx::TensorProto &proto, HostTensor &out,
                       std::string &error) {
  int t = proto.data_type();
  out = HostTensor();
  out.elementType = t;
  out.shape.assign(proto.dims().begin(), proto.dims().end());
  int64_t n = out.numElements();
  bool raw = proto.has_raw_data();
  auto sizeMismatch = [&](int64_t have) {
    error = "tensor '" + proto.name() + "' holds " + std::to_string(have) +
            " values but its shape needs " + std::to_string(n);
    return false;
  };
  switch (t) {
  case onnx::TensorProto::FLOAT: {
    std::vector<float> values;
    if (raw) {
      if (proto.raw_data().size() != static_cast<size_t>(n) * 4)
        return sizeMismatch(proto.raw_data().size() / 4);
      readRaw(proto.raw_data(), n, values);
    } else {
      if (proto.float_data_size() != n)
        return sizeMismatch(proto.float_data_size());
      values.assign(proto.float_data().begin(), proto.float_data().end());
    }
    out.floats.assign(values.begin(), values.end());
    return true;
  }
  case onnx::TensorProto::DOUBLE: {
    if (raw) {
      if (proto.raw_data().size() != static_cast<size_t>(n) * 8)
        return sizeMismatch(proto.raw_data().size() / 8);
      readRaw(proto.raw_data(), n, out.floats);
    } else {
      if (proto.double_data_size() != n)
        return sizeMismatch(proto.double_data_size());
      out.floats.assign(proto.double_data().begin(), proto.double_data().end());
    }
    return true;
  }
  case onnx::TensorProto::INT64: {
    if (raw) {
      if (proto.raw_data().size() != static_cast<size_t>(n) * 8)
        return sizeMismatch(proto.raw_data().size() / 8);
      readRaw(proto.raw_data(), n, out.ints);
    } else {
      if (proto.int64_data_size() != n)
        return sizeMismatch(proto.int64_data_size());
      out.ints.assign(proto.int64_data().begin(), proto.int64_data().end());
    }
    return true;
  }
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::BOOL: {
    if (raw) {
      size_t width = t == onnx::TensorProto::BOOL ? 1 : 4;
      if (proto.raw_data().size() != static_cast<size_t>(n) * width)
        return sizeMismatch(proto.raw_data().size() / width);
      out.ints.resize(n);
      for (int64_t i = 0; i < n; ++i) {
        if (width == 1) {
          out.ints[i] = proto.raw_data()[i] != 0;
        } else {
          int32_t v;
          std::memcpy(&v, proto.raw_data().data() + 4 * i, 4);
          out.ints[i] = v;
        }
      }
    } else {
      if (proto.int32_data_size() != n)
        return sizeMismatch(proto.int32_data_size());
      out.ints.assign(proto.int32_data().begin(), proto.int32_data().end());
    }
    return true;
  }
  default:
    error = "tensor '" + proto.name() + "' has data type " +
            elementTypeName(t) +
            ", which is not supported (only FLOAT and DOUBLE data, and "
            "INT64, INT32 and BOOL constants)";
    return false;
  }
}

//===----------------------------------------------------------------------===//
// Evaluation
//===----------------------------------------------------------------------===//

namespace {
/// Reads attributes of a node with defaults.
struct Attrs {
  const onnx::NodeProto &node;
  const onnx::AttributeProto *find(const std::string &name) const {
    for (const auto &a : node.attribute())
      if (a.name() == name)
        return &a;
    return nullptr;
  }
  int64_t getInt(const std::string &name, int64_t def) const {
    auto *a = find(name);
    return a ? a->i() : def;
  }
  std::vector<int64_t> getInts(const std::string &name) const {
    auto *a = find(name);
    if (!a)
      return {};
    return {a->ints().begin(), a->ints().end()};
  }
};
} // namespace

static std::vector<int64_t> stridesOf(const std::vector<int64_t> &shape) {
  std::vector<int64_t> strides(shape.size(), 1);
  for (int i = static_cast<int>(shape.size()) - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

/// Converts a flat index of `outShape` into the flat index of a tensor of
/// `inShape` broadcast to `outShape`.
static int64_t broadcastIndex(int64_t flat, const std::vector<int64_t> &outShape,
                              const std::vector<int64_t> &inShape) {
  int64_t index = 0, stride = 1;
  size_t offset = outShape.size() - inShape.size();
  for (int i = static_cast<int>(outShape.size()) - 1; i >= 0; --i) {
    int64_t coord = flat % outShape[i];
    flat /= outShape[i];
    if (i >= static_cast<int>(offset)) {
      int64_t dim = inShape[i - offset];
      if (dim != 1)
        index += coord * stride;
      stride *= dim;
    }
  }
  return index;
}

static bool broadcastShape(const std::vector<int64_t> &a,
                           const std::vector<int64_t> &b,
                           std::vector<int64_t> &out) {
  size_t rank = std::max(a.size(), b.size());
  out.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t x = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t y = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (x != y && x != 1 && y != 1)
      return false;
    out[i] = x == 1 ? y : x;
  }
  return true;
}

static HostTensor reshaped(const HostTensor &t, std::vector<int64_t> shape) {
  HostTensor r = t;
  r.shape = std::move(shape);
  return r;
}

/// Copies element `from` of `src` to element `to` of `dst`.
static void copyElement(const HostTensor &src, int64_t from, HostTensor &dst,
                        int64_t to) {
  if (src.isFloat())
    dst.floats[to] = src.floats[from];
  else
    dst.ints[to] = src.ints[from];
}

static HostTensor emptyLike(const HostTensor &t, std::vector<int64_t> shape) {
  HostTensor r;
  r.elementType = t.elementType;
  r.shape = std::move(shape);
  if (t.isFloat())
    r.floats.resize(r.numElements());
  else
    r.ints.resize(r.numElements());
  return r;
}

static int64_t normalizeAxis(int64_t axis, int64_t rank) {
  return axis < 0 ? axis + rank : axis;
}

std::optional<std::vector<HostTensor>>
evaluateOnHost(const onnx::NodeProto &node, int since,
               const std::vector<const HostTensor *> &inputs,
               std::string &error) {
  const std::string &op = node.op_type();
  Attrs attrs{node};
  auto in = [&](size_t i) -> const HostTensor * {
    return i < inputs.size() ? inputs[i] : nullptr;
  };
  auto fail = [&](const std::string &msg) {
    error = msg;
    return std::optional<std::vector<HostTensor>>();
  };
  auto one = [](HostTensor t) {
    return std::optional<std::vector<HostTensor>>(
        std::vector<HostTensor>{std::move(t)});
  };
  if (!in(0) && op != "Range")
    return fail("missing input");

  if (op == "Identity")
    return one(*in(0));

  if (op == "Cast") {
    int to = static_cast<int>(attrs.getInt("to", onnx::TensorProto::FLOAT));
    const HostTensor &x = *in(0);
    if (isSupportedFloatType(to)) {
      std::vector<double> v(x.numElements());
      for (int64_t i = 0; i < x.numElements(); ++i)
        v[i] = x.getDouble(i);
      return one(HostTensor::fromFloats(v, x.shape, to));
    }
    if (isSupportedIntType(to)) {
      std::vector<int64_t> v(x.numElements());
      for (int64_t i = 0; i < x.numElements(); ++i)
        v[i] = to == onnx::TensorProto::BOOL ? x.getDouble(i) != 0
                                             : x.getInt(i);
      HostTensor r = HostTensor::fromInts(v, x.shape);
      r.elementType = to;
      return one(r);
    }
    return fail("Cast to " + elementTypeName(to) + " is not supported");
  }

  if (op == "Neg" || op == "Sqrt" || op == "Floor" || op == "Ceil" ||
      op == "Abs") {
    HostTensor r = *in(0);
    for (int64_t i = 0; i < r.numElements(); ++i) {
      double v = r.getDouble(i);
      double res = op == "Neg"     ? -v
                   : op == "Sqrt"  ? std::sqrt(v)
                   : op == "Floor" ? std::floor(v)
                   : op == "Ceil"  ? std::ceil(v)
                                   : std::fabs(v);
      if (r.isFloat())
        r.floats[i] = res;
      else
        r.ints[i] = static_cast<int64_t>(res);
    }
    return one(r);
  }

  static const char *binaryOps[] = {"Add",  "Sub",     "Mul",   "Div",
                                    "Pow",  "Equal",   "Less",  "Greater",
                                    "Mod",  "Max",     "Min",   "And",
                                    "Or"};
  if (std::find(std::begin(binaryOps), std::end(binaryOps), op) !=
      std::end(binaryOps)) {
    if (!in(1))
      return fail("missing second input");
    const HostTensor &a = *in(0), &b = *in(1);
    std::vector<int64_t> shape;
    if (!broadcastShape(a.shape, b.shape, shape))
      return fail("operand shapes do not broadcast");
    bool compare = op == "Equal" || op == "Less" || op == "Greater" ||
                   op == "And" || op == "Or";
    HostTensor r = emptyLike(compare ? HostTensor() : a, shape);
    if (compare)
      r.elementType = onnx::TensorProto::BOOL;
    int64_t n = r.numElements();
    for (int64_t i = 0; i < n; ++i) {
      int64_t ia = broadcastIndex(i, shape, a.shape);
      int64_t ib = broadcastIndex(i, shape, b.shape);
      if (r.isFloat()) {
        double x = a.getDouble(ia), y = b.getDouble(ib);
        r.floats[i] = op == "Add"   ? x + y
                      : op == "Sub" ? x - y
                      : op == "Mul" ? x * y
                      : op == "Div" ? x / y
                      : op == "Pow" ? std::pow(x, y)
                      : op == "Max" ? std::max(x, y)
                      : op == "Min" ? std::min(x, y)
                                    : std::fmod(x, y);
      } else if (compare) {
        double x = a.getDouble(ia), y = b.getDouble(ib);
        r.ints[i] = op == "Equal"  ? x == y
                    : op == "Less" ? x < y
                    : op == "And"  ? (x != 0 && y != 0)
                    : op == "Or"   ? (x != 0 || y != 0)
                                   : x > y;
      } else {
        int64_t x = a.getInt(ia), y = b.getInt(ib);
        if ((op == "Div" || op == "Mod") && y == 0)
          return fail("integer division by zero");
        r.ints[i] = op == "Add"   ? x + y
                    : op == "Sub" ? x - y
                    : op == "Mul" ? x * y
                    : op == "Div" ? x / y
                    : op == "Max" ? std::max(x, y)
                    : op == "Min" ? std::min(x, y)
                    : op == "Pow" ? static_cast<int64_t>(std::pow(x, y))
                                  : x % y;
      }
    }
    return one(r);
  }

  if (op == "Where") {
    if (!in(1) || !in(2))
      return fail("missing inputs");
    const HostTensor &c = *in(0), &x = *in(1), &y = *in(2);
    std::vector<int64_t> s1, shape;
    if (!broadcastShape(c.shape, x.shape, s1) ||
        !broadcastShape(s1, y.shape, shape))
      return fail("operand shapes do not broadcast");
    HostTensor r = emptyLike(x, shape);
    for (int64_t i = 0; i < r.numElements(); ++i) {
      bool pick = c.getInt(broadcastIndex(i, shape, c.shape)) != 0;
      const HostTensor &src = pick ? x : y;
      copyElement(src, broadcastIndex(i, shape, src.shape), r, i);
    }
    return one(r);
  }

  if (op == "Unsqueeze" || op == "Squeeze") {
    std::vector<int64_t> axes;
    if (since >= 13) {
      if (in(1))
        for (int64_t i = 0; i < in(1)->numElements(); ++i)
          axes.push_back(in(1)->getInt(i));
    } else {
      axes = attrs.getInts("axes");
    }
    std::vector<int64_t> shape = in(0)->shape;
    if (op == "Unsqueeze") {
      int64_t rank = shape.size() + axes.size();
      for (int64_t &a : axes)
        a = normalizeAxis(a, rank);
      std::sort(axes.begin(), axes.end());
      for (int64_t a : axes) {
        if (a < 0 || a > static_cast<int64_t>(shape.size()))
          return fail("Unsqueeze axis out of range");
        shape.insert(shape.begin() + a, 1);
      }
    } else {
      int64_t rank = shape.size();
      std::vector<int64_t> out;
      for (int64_t &a : axes)
        a = normalizeAxis(a, rank);
      for (int64_t i = 0; i < rank; ++i) {
        bool squeeze = axes.empty()
                           ? shape[i] == 1
                           : std::find(axes.begin(), axes.end(), i) != axes.end();
        if (!squeeze)
          out.push_back(shape[i]);
      }
      shape = out;
    }
    return one(reshaped(*in(0), shape));
  }

  if (op == "Reshape") {
    if (!in(1))
      return fail("missing shape input");
    const HostTensor &x = *in(0);
    std::vector<int64_t> shape;
    int64_t inferred = -1, known = 1;
    bool allowZero = attrs.getInt("allowzero", 0) != 0;
    for (int64_t i = 0; i < in(1)->numElements(); ++i) {
      int64_t d = in(1)->getInt(i);
      if (d == 0 && !allowZero)
        d = i < static_cast<int64_t>(x.shape.size()) ? x.shape[i] : 0;
      if (d == -1) {
        inferred = i;
        d = 1;
      } else {
        known *= d;
      }
      shape.push_back(d);
    }
    if (inferred >= 0)
      shape[inferred] = known ? x.numElements() / known : 0;
    return one(reshaped(x, shape));
  }

  if (op == "Flatten") {
    const HostTensor &x = *in(0);
    int64_t axis = normalizeAxis(attrs.getInt("axis", 1), x.shape.size());
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i)
      outer *= x.shape[i];
    return one(reshaped(x, {outer, outer ? x.numElements() / outer : 0}));
  }

  if (op == "Concat") {
    int64_t rank = in(0)->shape.size();
    int64_t axis = normalizeAxis(attrs.getInt("axis", 0), rank);
    if (axis < 0 || axis >= rank)
      return fail("Concat axis out of range");
    std::vector<int64_t> shape = in(0)->shape;
    shape[axis] = 0;
    for (const HostTensor *t : inputs) {
      if (!t || static_cast<int64_t>(t->shape.size()) != rank)
        return fail("Concat inputs differ in rank");
      shape[axis] += t->shape[axis];
    }
    HostTensor r = emptyLike(*in(0), shape);
    int64_t outer = 1;
    for (int64_t i = 0; i < axis; ++i)
      outer *= shape[i];
    int64_t offset = 0, outRow = r.numElements() / std::max<int64_t>(outer, 1);
    for (const HostTensor *t : inputs) {
      int64_t row = t->numElements() / std::max<int64_t>(outer, 1);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t j = 0; j < row; ++j)
          copyElement(*t, o * row + j, r, o * outRow + offset + j);
      offset += row;
    }
    return one(r);
  }

  if (op == "Gather") {
    if (!in(1))
      return fail("missing indices");
    const HostTensor &x = *in(0), &idx = *in(1);
    int64_t rank = x.shape.size();
    int64_t axis = normalizeAxis(attrs.getInt("axis", 0), rank);
    if (axis < 0 || axis >= rank)
      return fail("Gather axis out of range");
    std::vector<int64_t> shape(x.shape.begin(), x.shape.begin() + axis);
    shape.insert(shape.end(), idx.shape.begin(), idx.shape.end());
    shape.insert(shape.end(), x.shape.begin() + axis + 1, x.shape.end());
    HostTensor r = emptyLike(x, shape);
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < axis; ++i)
      outer *= x.shape[i];
    for (int64_t i = axis + 1; i < rank; ++i)
      inner *= x.shape[i];
    int64_t n = idx.numElements(), dim = x.shape[axis];
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t k = 0; k < n; ++k) {
        int64_t j = idx.getInt(k);
        if (j < 0)
          j += dim;
        if (j < 0 || j >= dim)
          return fail("Gather index out of range");
        for (int64_t i = 0; i < inner; ++i)
          copyElement(x, (o * dim + j) * inner + i, r, (o * n + k) * inner + i);
      }
    return one(r);
  }

  if (op == "Slice") {
    const HostTensor &x = *in(0);
    int64_t rank = x.shape.size();
    std::vector<int64_t> starts, ends, axes, steps;
    auto read = [&](size_t i, std::vector<int64_t> &v) {
      if (in(i))
        for (int64_t k = 0; k < in(i)->numElements(); ++k)
          v.push_back(in(i)->getInt(k));
    };
    if (since >= 10) {
      read(1, starts), read(2, ends), read(3, axes), read(4, steps);
    } else {
      starts = attrs.getInts("starts"), ends = attrs.getInts("ends"),
      axes = attrs.getInts("axes");
    }
    if (axes.empty())
      for (size_t i = 0; i < starts.size(); ++i)
        axes.push_back(i);
    if (steps.empty())
      steps.assign(starts.size(), 1);
    std::vector<int64_t> begin(rank, 0), step(rank, 1), size = x.shape;
    for (size_t k = 0; k < axes.size(); ++k) {
      int64_t a = normalizeAxis(axes[k], rank), dim = x.shape[a];
      if (steps[k] <= 0)
        return fail("Slice with a non-positive step on constants");
      int64_t s = starts[k] < 0 ? starts[k] + dim : starts[k];
      int64_t e = ends[k] < 0 ? ends[k] + dim : ends[k];
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      begin[a] = s, step[a] = steps[k];
      size[a] = e > s ? (e - s + steps[k] - 1) / steps[k] : 0;
    }
    HostTensor r = emptyLike(x, size);
    auto inStrides = stridesOf(x.shape);
    for (int64_t i = 0; i < r.numElements(); ++i) {
      int64_t rem = i, src = 0;
      for (int64_t d = rank - 1; d >= 0; --d) {
        int64_t c = rem % size[d];
        rem /= size[d];
        src += (begin[d] + c * step[d]) * inStrides[d];
      }
      copyElement(x, src, r, i);
    }
    return one(r);
  }

  if (op == "ConstantOfShape") {
    const HostTensor &s = *in(0);
    std::vector<int64_t> shape;
    for (int64_t i = 0; i < s.numElements(); ++i)
      shape.push_back(s.getInt(i));
    HostTensor value = HostTensor::fromFloats({0.0}, {1}, onnx::TensorProto::FLOAT);
    for (const auto &a : node.attribute())
      if (a.name() == "value" && !decodeTensorProto(a.t(), value, error))
        return std::nullopt;
    HostTensor r = emptyLike(value, shape);
    for (int64_t i = 0; i < r.numElements(); ++i)
      copyElement(value, 0, r, i);
    return one(r);
  }

  if (op == "Range") {
    if (!in(0) || !in(1) || !in(2))
      return fail("missing inputs");
    double start = in(0)->getDouble(0), limit = in(1)->getDouble(0),
           delta = in(2)->getDouble(0);
    if (delta == 0)
      return fail("Range with a zero delta");
    int64_t n = std::max<int64_t>(
        0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
    HostTensor r = emptyLike(*in(0), {n});
    for (int64_t i = 0; i < n; ++i) {
      if (r.isFloat())
        r.floats[i] = start + i * delta;
      else
        r.ints[i] = static_cast<int64_t>(start) + i * static_cast<int64_t>(delta);
    }
    return one(r);
  }

  if (op == "Expand") {
    if (!in(1))
      return fail("missing shape input");
    std::vector<int64_t> target, shape;
    for (int64_t i = 0; i < in(1)->numElements(); ++i)
      target.push_back(in(1)->getInt(i));
    if (!broadcastShape(in(0)->shape, target, shape))
      return fail("Expand shape does not broadcast");
    HostTensor r = emptyLike(*in(0), shape);
    for (int64_t i = 0; i < r.numElements(); ++i)
      copyElement(*in(0), broadcastIndex(i, shape, in(0)->shape), r, i);
    return one(r);
  }

  if (op == "Transpose") {
    const HostTensor &x = *in(0);
    int64_t rank = x.shape.size();
    std::vector<int64_t> perm = attrs.getInts("perm");
    if (perm.empty())
      for (int64_t i = rank - 1; i >= 0; --i)
        perm.push_back(i);
    std::vector<int64_t> shape(rank);
    for (int64_t i = 0; i < rank; ++i)
      shape[i] = x.shape[perm[i]];
    HostTensor r = emptyLike(x, shape);
    auto inStrides = stridesOf(x.shape);
    for (int64_t i = 0; i < r.numElements(); ++i) {
      int64_t rem = i, src = 0;
      for (int64_t d = rank - 1; d >= 0; --d) {
        src += (rem % shape[d]) * inStrides[perm[d]];
        rem /= shape[d];
      }
      copyElement(x, src, r, i);
    }
    return one(r);
  }

  if (op == "ReduceProd" || op == "ReduceSum") {
    // Whole-tensor reductions of shape vectors (e.g. element counts).
    const HostTensor &x = *in(0);
    bool reduceAll = attrs.getInts("axes").empty() && !in(1);
    if (!reduceAll || attrs.getInt("keepdims", 1) != 0)
      return std::nullopt;
    double acc = op == "ReduceProd" ? 1 : 0;
    for (int64_t i = 0; i < x.numElements(); ++i)
      acc = op == "ReduceProd" ? acc * x.getDouble(i) : acc + x.getDouble(i);
    if (x.isFloat())
      return one(HostTensor::fromFloats({acc}, {}, x.elementType));
    return one(HostTensor::fromInts({static_cast<int64_t>(acc)}, {}));
  }

  return std::nullopt;
}

} // namespace adagp::onnx_import
