"""A small ONNX interpreter on PyTorch: the numerical reference for adagp.

``OnnxModule`` turns an ONNX file into a ``torch.nn.Module`` that executes the graph node by node
with ``torch.nn.functional``, so any model of the zoo (and others exported by PyTorch at opsets
9..17) can be run, differentiated and trained without rebuilding its PyTorch class. This is what the
compiler's forward pass, gradients and training are compared against.

Initializers
    Float initializers become ``nn.Parameter``s (trainable), except BatchNormalization running
    statistics (inputs 3 and 4 of a BatchNormalization node), which become buffers updated by the
    training-mode forward, and float initializers feeding attribute-like inputs (Dropout ratio, Clip
    bounds, Pad value), which become constant buffers like the integer ones. ``onnx_parameters()``
    and ``onnx_buffers()`` give them under their exact ONNX names (``conv1.weight``).

Modes
    ``module.train()`` executes training-form nodes as training: BatchNormalization nodes exported in
    training form (5 outputs at opset < 14, ``training_mode=1`` from opset 14) use batch statistics
    and update the running statistics; Dropout drops (unless ``module.dropout`` is False, the switch
    for numeric comparisons, since RNGs differ between implementations). ``module.eval()`` runs
    every BatchNormalization with its running statistics and no Dropout.

BatchNormalization running statistics
    ``running = momentum * running + (1 - momentum) * batch_statistic`` with ONNX's ``momentum``
    attribute (= 1 - PyTorch's momentum). ONNX does not say which variance estimator
    ``current_var`` is (its backend test data uses the biased one); the models come from PyTorch,
    which stores the *unbiased* batch variance (n / (n - 1) times the biased one, n = N*H*W), so that
    is used here. Normalisation itself always uses the biased batch variance, as both define.

Floating dtype
    The module computes in the dtype of its parameters (``module.double()`` for float64 references):
    float constants are buffers converted with the module, and Cast / ConstantOfShape to a floating
    type produce that dtype rather than the one written in the graph.
"""

import math

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper
from torch import nn

_FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16,
                onnx.TensorProto.BFLOAT16}
_TORCH_DTYPE = {
    onnx.TensorProto.INT64: torch.int64, onnx.TensorProto.INT32: torch.int32,
    onnx.TensorProto.INT16: torch.int16, onnx.TensorProto.INT8: torch.int8,
    onnx.TensorProto.UINT8: torch.uint8, onnx.TensorProto.BOOL: torch.bool,
}
# (op type, input index) of float inputs that act as attributes, not as data to train.
_ATTRIBUTE_INPUTS = {("Dropout", 1), ("Clip", 1), ("Clip", 2), ("Pad", 2)}


class Node:
    """A graph node with its attributes decoded to Python values."""

    def __init__(self, proto, index):
        self.index = index
        self.name = proto.name or f"#{index}"
        self.op_type = proto.op_type
        self.domain = proto.domain
        self.inputs = list(proto.input)
        self.outputs = list(proto.output)
        self.attrs = {a.name: onnx.helper.get_attribute_value(a) for a in proto.attribute}

    def attr(self, name, default=None):
        return self.attrs.get(name, default)

    def describe(self):
        return f"node {self.name!r} ({self.op_type})"


class OnnxModule(nn.Module):
    """An ONNX graph as a trainable PyTorch module (see the module docstring).

    ``model`` is a path or an ``onnx.ModelProto``; ``dropout=False`` turns Dropout nodes into the
    identity even in training mode.
    """

    def __init__(self, model, dropout=True):
        super().__init__()
        if not isinstance(model, onnx.ModelProto):
            model = onnx.load(model)
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")),
                          None)
        if self.opset is None:
            raise ValueError("model imports no ai.onnx opset")
        self.dropout = dropout
        graph = model.graph
        self.nodes = [Node(proto, i) for i, proto in enumerate(graph.node)]
        for node in self.nodes:
            if node.domain not in ("", "ai.onnx") or node.op_type not in _OPS:
                raise NotImplementedError(
                    f"{node.describe()}: unsupported op {node.domain or 'ai.onnx'}."
                    f"{node.op_type} (opset {self.opset})")

        stats, attribute_like = set(), set()
        for node in self.nodes:
            if node.op_type == "BatchNormalization":
                stats.update(node.inputs[3:5])
            for i, name in enumerate(node.inputs):
                if (node.op_type, i) in _ATTRIBUTE_INPUTS:
                    attribute_like.add(name)
        self.params = nn.ParameterList()
        self._param_names, self._buffer_names, self._constant_names = [], [], []
        for init in graph.initializer:
            tensor = torch.from_numpy(numpy_helper.to_array(init).copy())
            if init.name in stats:
                self.register_buffer(f"stat{len(self._buffer_names)}", tensor)
                self._buffer_names.append(init.name)
            elif init.data_type in _FLOAT_TYPES and init.name not in attribute_like:
                self.params.append(nn.Parameter(tensor))
                self._param_names.append(init.name)
            else:
                self.register_buffer(f"const{len(self._constant_names)}", tensor,
                                     persistent=False)
                self._constant_names.append(init.name)
        for node in self.nodes:
            if node.op_type == "Constant":
                self.register_buffer(f"node{node.index}", _constant_value(node), persistent=False)

        initializers = {init.name for init in graph.initializer}
        self.input_names = [v.name for v in graph.input if v.name not in initializers]
        self.output_names = [v.name for v in graph.output]
        self.input_shapes = [_shape_of(v) for v in graph.input if v.name not in initializers]
        self.output_shapes = [_shape_of(v) for v in graph.output]
        self._consumed = {name for node in self.nodes for name in node.inputs}
        self._consumed.update(self.output_names)

    def onnx_parameters(self):
        """Trainable parameters keyed by their ONNX initializer names, in file order."""
        return dict(zip(self._param_names, self.params))

    def onnx_buffers(self):
        """BatchNorm running statistics keyed by their ONNX initializer names."""
        return {name: getattr(self, f"stat{i}") for i, name in enumerate(self._buffer_names)}

    def float_dtype(self):
        """The floating dtype the module computes in (that of its parameters)."""
        floats = list(self.params) + [b for b in self.buffers() if b.is_floating_point()]
        return floats[0].dtype if floats else torch.float32

    def consumed(self, name):
        """Whether a value is read by a node or is a graph output (optional outputs are skipped
        when they are not)."""
        return bool(name) and name in self._consumed

    def run(self, *inputs):
        """Execute the graph and return every value by name (inputs, initializers, node outputs)."""
        if len(inputs) != len(self.input_names):
            raise ValueError(f"expected {len(self.input_names)} inputs {self.input_names}, "
                             f"got {len(inputs)}")
        env = dict(zip(self.input_names, inputs))
        env.update(self.onnx_parameters())
        env.update(self.onnx_buffers())
        env.update((name, getattr(self, f"const{i}"))
                   for i, name in enumerate(self._constant_names))
        self._dtype = self.float_dtype()
        for node in self.nodes:
            args = [env[name] if name else None for name in node.inputs]
            try:
                results = _OPS[node.op_type](self, node, *args)
            except NotImplementedError:
                raise
            except Exception as error:
                raise RuntimeError(f"{node.describe()}: {error}") from error
            if not isinstance(results, (tuple, list)):
                results = (results,)
            for name, value in zip(node.outputs, results):
                if name:
                    env[name] = value
        return env

    def forward(self, *inputs):
        env = self.run(*inputs)
        outputs = tuple(env[name] for name in self.output_names)
        return outputs[0] if len(outputs) == 1 else outputs


def _shape_of(value_info):
    """Static dims as ints, symbolic or unknown dims as None."""
    dims = value_info.type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else None for d in dims]


def _constant_value(node):
    for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
        if key in node.attrs:
            value = node.attrs[key]
            break
    else:
        raise NotImplementedError(f"{node.describe()}: unsupported Constant attributes "
                                  f"{sorted(node.attrs)}")
    if isinstance(value, onnx.TensorProto):
        return torch.from_numpy(numpy_helper.to_array(value).copy())
    if key.startswith("value_float"):
        return torch.tensor(value, dtype=torch.float32)
    return torch.tensor(value, dtype=torch.int64)


def _ints(tensor):
    """A 1-D integer tensor (shape, axes, pads...) as a list of Python ints."""
    return [int(v) for v in tensor.reshape(-1).tolist()]


def _dtype_for(module, onnx_type):
    if onnx_type in _FLOAT_TYPES:
        return module._dtype
    if onnx_type not in _TORCH_DTYPE:
        raise NotImplementedError(f"unsupported element type {onnx_type}")
    return _TORCH_DTYPE[onnx_type]


def _torch_pad(begins, ends):
    """ONNX [x1_begin, x2_begin, ..., x1_end, x2_end] as F.pad's last-dimension-first pairs."""
    pad = []
    for begin, end in zip(reversed(begins), reversed(ends)):
        pad += [begin, end]
    return pad


def _spatial_pads(node, spatial, kernel, strides, dilations):
    """(begins, ends) of a Conv/pool node, resolving auto_pad."""
    auto_pad = node.attr("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else auto_pad
    n = len(kernel)
    if auto_pad == "NOTSET":
        pads = node.attr("pads", [0] * 2 * n)
        return list(pads[:n]), list(pads[n:])
    if auto_pad == "VALID":
        return [0] * n, [0] * n
    begins, ends = [], []
    for size, k, s, d in zip(spatial, kernel, strides, dilations):
        out = -(-size // s)
        total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
        small, large = total // 2, total - total // 2
        begins.append(small if auto_pad == "SAME_UPPER" else large)
        ends.append(large if auto_pad == "SAME_UPPER" else small)
    return begins, ends


def _window(node, x, kernel):
    n = len(kernel)
    strides = node.attr("strides", [1] * n)
    dilations = node.attr("dilations", [1] * n)
    begins, ends = _spatial_pads(node, x.shape[2:], kernel, strides, dilations)
    return strides, dilations, begins, ends


# ---- operators --------------------------------------------------------------------------------
# Each takes (module, node, *inputs) with absent optional inputs as None and returns its outputs.

def _conv(module, node, x, w, b=None):
    kernel = list(w.shape[2:])
    strides, dilations, begins, ends = _window(node, x, kernel)
    if begins != ends:
        x = F.pad(x, _torch_pad(begins, ends))
        begins = [0] * len(kernel)
    conv = (F.conv1d, F.conv2d, F.conv3d)[len(kernel) - 1]
    return conv(x, w, b, strides, begins, dilations, node.attr("group", 1))


def _max_pool(module, node, x):
    if module.consumed(node.outputs[1] if len(node.outputs) > 1 else ""):
        raise NotImplementedError(f"{node.describe()}: the Indices output is not supported")
    kernel = node.attr("kernel_shape")
    strides, dilations, begins, ends = _window(node, x, kernel)
    if begins != ends or any(2 * p > k for p, k in zip(begins, kernel)):
        x = F.pad(x, _torch_pad(begins, ends), value=-math.inf)
        begins = [0] * len(kernel)
    pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[len(kernel) - 1]
    return pool(x, kernel, strides, begins, dilations, ceil_mode=bool(node.attr("ceil_mode", 0)))


def _average_pool(module, node, x):
    kernel = node.attr("kernel_shape")
    strides, _, begins, ends = _window(node, x, kernel)
    include_pad = bool(node.attr("count_include_pad", 0))
    ceil_mode = bool(node.attr("ceil_mode", 0))
    pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[len(kernel) - 1]
    if begins == ends and all(2 * p <= k for p, k in zip(begins, kernel)):
        return pool(x, kernel, strides, begins, ceil_mode, include_pad)
    # Asymmetric padding: pad explicitly; without count_include_pad divide by the real-pixel share.
    pad = _torch_pad(begins, ends)
    y = pool(F.pad(x, pad), kernel, strides, 0, ceil_mode, True)
    if include_pad:
        return y
    ones = F.pad(torch.ones_like(x[:1, :1]), pad)
    return y / pool(ones, kernel, strides, 0, ceil_mode, True)


def _global_average_pool(module, node, x):
    return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)


def _global_max_pool(module, node, x):
    return x.amax(dim=tuple(range(2, x.dim())), keepdim=True)


def _batch_norm(module, node, x, scale, bias, mean, var):
    if module.opset >= 14:
        training_form = node.attr("training_mode", 0) == 1
    else:
        training_form = len([o for o in node.outputs if o]) > 1
    training = training_form and module.training
    momentum = node.attr("momentum", 0.9)
    eps = node.attr("epsilon", 1e-5)
    y = F.batch_norm(x, mean, var, scale, bias, training, 1.0 - momentum, eps)
    outputs = [y]
    if any(module.consumed(name) for name in node.outputs[1:]):
        outputs += [mean.clone(), var.clone()]  # updated in place by F.batch_norm
    if any(module.consumed(name) for name in node.outputs[3:]):
        dims = [d for d in range(x.dim()) if d != 1]
        outputs += [x.mean(dim=dims), x.var(dim=dims, unbiased=False)]
    return outputs


def _dropout(module, node, x, ratio=None, training_mode=None):
    if module.opset >= 12:
        ratio = 0.5 if ratio is None else float(ratio)
        enabled = training_mode is not None and bool(training_mode)
    else:
        ratio = node.attr("ratio", 0.5)
        enabled = True
    if not (enabled and module.training and module.dropout) or ratio == 0.0:
        return x, torch.ones_like(x, dtype=torch.bool)
    mask = torch.rand_like(x) >= ratio
    scale = 0.0 if ratio == 1.0 else 1.0 / (1.0 - ratio)
    return x * mask * scale, mask


def _gemm(module, node, a, b, c=None):
    alpha, beta = node.attr("alpha", 1.0), node.attr("beta", 1.0)
    trans_a, trans_b = node.attr("transA", 0), node.attr("transB", 0)
    if trans_b and not trans_a and alpha == 1.0 and beta == 1.0 and (c is None or c.dim() == 1):
        return F.linear(a, b, c)  # the kernel nn.Linear uses
    y = (a.t() if trans_a else a) @ (b.t() if trans_b else b)
    if alpha != 1.0:
        y = alpha * y
    if c is not None:
        y = y + (c if beta == 1.0 else beta * c)
    return y


def _divide(module, node, a, b):
    if a.is_floating_point() or b.is_floating_point():
        return a / b
    return torch.div(a, b, rounding_mode="trunc")


def _clip(module, node, x, low=None, high=None):
    if module.opset < 11:
        low, high = node.attr("min"), node.attr("max")
    else:
        low = None if low is None else low.item()
        high = None if high is None else high.item()
    return torch.clamp(x, low, high)


def _hard_sigmoid(module, node, x):
    return torch.clamp(node.attr("alpha", 0.2) * x + node.attr("beta", 0.5), 0.0, 1.0)


def _softmax_like(function):
    def op(module, node, x):
        if module.opset >= 13:
            return function(x, dim=node.attr("axis", -1))
        # Before opset 13 the input is coerced to 2-D at `axis` and normalised over the tail.
        axis = node.attr("axis", 1) % x.dim()
        flat = x.reshape(int(np.prod(x.shape[:axis])), -1)
        return function(flat, dim=1).reshape(x.shape)
    return op


def _reduce(function):
    def op(module, node, x, axes=None):
        attr_axes = node.attr("axes")
        axes = attr_axes if attr_axes is not None else (None if axes is None else _ints(axes))
        keepdims = bool(node.attr("keepdims", 1))
        if not axes:
            if node.attr("noop_with_empty_axes", 0):
                return x
            axes = list(range(x.dim()))
        return function(x, dim=tuple(axes), keepdim=keepdims)
    return op


def _reshape(module, node, x, shape):
    shape = _ints(shape)
    if not node.attr("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape)


def _flatten(module, node, x):
    axis = node.attr("axis", 1)
    axis = axis + x.dim() if axis < 0 else axis
    return x.reshape(int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:])))


def _transpose(module, node, x):
    return x.permute(node.attr("perm", list(reversed(range(x.dim())))))


def _concat(module, node, *tensors):
    return torch.cat(tensors, dim=node.attr("axis"))


def _split(module, node, x, split=None):
    axis = node.attr("axis", 0)
    sizes = node.attr("split") if module.opset < 13 else (None if split is None else _ints(split))
    if sizes is None:
        parts = len(node.outputs)
        sizes = [x.shape[axis] // parts] * parts
    return torch.split(x, sizes, dim=axis)


def _slice(module, node, x, starts=None, ends=None, axes=None, steps=None):
    if module.opset < 10:
        starts, ends, axes = node.attr("starts"), node.attr("ends"), node.attr("axes")
    else:
        starts, ends = _ints(starts), _ints(ends)
        axes = None if axes is None else _ints(axes)
        steps = None if steps is None else _ints(steps)
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    for start, end, axis, step in zip(starts, ends, axes, steps):
        size = x.shape[axis]
        if step > 0:
            index = [slice(None)] * x.dim()
            index[axis] = slice(max(min(start, size), -size), max(min(end, size), -size - 1), step)
            x = x[tuple(index)]
        else:  # torch slicing has no negative steps: clamp as ONNX does and gather the indices
            start = max(0, min(start + size if start < 0 else start, size - 1))
            end = max(-1, min(end + size if end < 0 else end, size - 1))
            x = x.index_select(axis, torch.arange(start, end, step, device=x.device))
    return x


def _pad(module, node, x, pads=None, value=None, axes=None):
    if module.opset < 11:
        pads, value = node.attr("pads"), node.attr("value", 0.0)
    else:
        pads = _ints(pads)
        value = 0.0 if value is None else value.item()
    rank = x.dim()
    dims = list(range(rank)) if axes is None else [a % rank for a in _ints(axes)]
    begins, ends = [0] * rank, [0] * rank
    for i, d in enumerate(dims):
        begins[d], ends[d] = pads[i], pads[i + len(dims)]
    mode = node.attr("mode", b"constant")
    mode = {"constant": "constant", "reflect": "reflect", "edge": "replicate"}[
        mode.decode() if isinstance(mode, bytes) else mode]
    pad = _torch_pad(begins, ends)
    while pad and pad[-2:] == [0, 0]:  # F.pad's reflect/replicate only pad trailing dims
        pad = pad[:-2]
    if mode == "constant":
        return F.pad(x, pad, value=value)
    return F.pad(x, pad, mode=mode)


def _shape(module, node, x):
    return torch.tensor(x.shape[node.attr("start", 0):node.attr("end", None)], dtype=torch.int64)


def _gather(module, node, x, indices):
    axis = node.attr("axis", 0) % x.dim()
    flat = indices.reshape(-1).long()
    flat = torch.where(flat < 0, flat + x.shape[axis], flat)
    y = x.index_select(axis, flat)
    return y.reshape(tuple(x.shape[:axis]) + tuple(indices.shape) + tuple(x.shape[axis + 1:]))


def _unsqueeze(module, node, x, axes=None):
    axes = node.attr("axes") if module.opset < 13 else _ints(axes)
    rank = x.dim() + len(axes)
    for axis in sorted(a % rank for a in axes):
        x = x.unsqueeze(axis)
    return x


def _squeeze(module, node, x, axes=None):
    axes = node.attr("axes") if module.opset < 13 else (None if axes is None else _ints(axes))
    if axes is None:
        return x.reshape([d for d in x.shape if d != 1])
    axes = {a % x.dim() for a in axes}
    return x.reshape([d for i, d in enumerate(x.shape) if i not in axes])


def _cast(module, node, x):
    return x.to(_dtype_for(module, node.attr("to")))


def _constant(module, node):
    return getattr(module, f"node{node.index}")


def _constant_of_shape(module, node, shape):
    value = node.attr("value")
    if value is None:
        return torch.zeros(_ints(shape), dtype=module._dtype)
    array = numpy_helper.to_array(value)
    return torch.full(_ints(shape), array.reshape(-1)[0].item(),
                      dtype=_dtype_for(module, value.data_type))


def _layer_norm(module, node, x, scale, bias=None):
    if any(module.consumed(name) for name in node.outputs[1:]):
        raise NotImplementedError(f"{node.describe()}: Mean/InvStdDev outputs are not supported")
    axis = node.attr("axis", -1) % x.dim()
    return F.layer_norm(x, tuple(x.shape[axis:]), scale, bias, node.attr("epsilon", 1e-5))


def _expand(module, node, x, shape):
    return x.expand(torch.broadcast_shapes(tuple(x.shape), tuple(_ints(shape))))


def _unary(function):
    return lambda module, node, x: function(x)


def _binary(function):
    return lambda module, node, a, b: function(a, b)


_OPS = {
    "Conv": _conv,
    "Gemm": _gemm,
    "MatMul": _binary(torch.matmul),
    "Add": _binary(torch.add),
    "Sub": _binary(torch.sub),
    "Mul": _binary(torch.mul),
    "Div": _divide,
    "Pow": _binary(torch.pow),
    "Max": lambda module, node, *xs: _fold(torch.maximum, xs),
    "Min": lambda module, node, *xs: _fold(torch.minimum, xs),
    "Equal": _binary(torch.eq),
    "Less": _binary(torch.lt),
    "Greater": _binary(torch.gt),
    "Where": lambda module, node, c, a, b: torch.where(c, a, b),
    "Not": _unary(torch.logical_not),
    "Sqrt": _unary(torch.sqrt),
    "Erf": _unary(torch.erf),
    "Exp": _unary(torch.exp),
    "Log": _unary(torch.log),
    "Neg": _unary(torch.neg),
    "Abs": _unary(torch.abs),
    "Reciprocal": _unary(torch.reciprocal),
    "Relu": _unary(F.relu),
    "LeakyRelu": lambda module, node, x: F.leaky_relu(x, node.attr("alpha", 0.01)),
    "Clip": _clip,
    "Sigmoid": _unary(torch.sigmoid),
    "Tanh": _unary(torch.tanh),
    "HardSigmoid": _hard_sigmoid,
    "HardSwish": _unary(F.hardswish),
    "Softmax": _softmax_like(F.softmax),
    "LogSoftmax": _softmax_like(F.log_softmax),
    "MaxPool": _max_pool,
    "AveragePool": _average_pool,
    "GlobalAveragePool": _global_average_pool,
    "GlobalMaxPool": _global_max_pool,
    "BatchNormalization": _batch_norm,
    "LayerNormalization": _layer_norm,
    "Dropout": _dropout,
    "Reshape": _reshape,
    "Flatten": _flatten,
    "Transpose": _transpose,
    "Concat": _concat,
    "Split": _split,
    "Slice": _slice,
    "Pad": _pad,
    "ReduceMean": _reduce(torch.mean),
    "ReduceSum": _reduce(torch.sum),
    "ReduceMax": _reduce(torch.amax),
    "Shape": _shape,
    "Gather": _gather,
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Cast": _cast,
    "Constant": _constant,
    "ConstantOfShape": _constant_of_shape,
    "Identity": _unary(lambda x: x),
    "Expand": _expand,
}


def _fold(function, tensors):
    result = tensors[0]
    for tensor in tensors[1:]:
        result = function(result, tensor)
    return result


def supported_ops():
    """Names of the ONNX operators the interpreter executes."""
    return sorted(_OPS)
