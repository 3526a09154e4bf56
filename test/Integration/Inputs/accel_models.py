#!/usr/bin/env python3
"""Small ONNX models for the accelerator's grouped-convolution and
batched-matmul lowerings (accel-vs-cpu.test): written with onnx.helper and
seeded random weights, so no binary is kept in the repository.

  accel_models.py OUTDIR   -> OUTDIR/grouped_cnn.onnx, OUTDIR/attention.onnx
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def grouped_cnn(rng, size=12, width=16):
    """Dense, depthwise and grouped convolutions with biases, covering both
    lowerings of grouped convolutions and both gradients of each: depthwise
    3x3 and 5x5 stride 2 on the vector unit; block-diagonal GEMMs for 4
    groups of 4 -> 6 channels with stride 2 (two groups per block), 3 groups
    of 8 (1x1; a last block of one group) and a depthwise convolution with
    two outputs per channel (8 groups per block)."""
    inits, nodes = [], []

    def param(name, shape, scale):
        inits.append(numpy_helper.from_array(
            (scale * rng.standard_normal(shape)).astype(np.float32), name))
        return name

    def conv(x, name, cin, cout, k, stride, groups, relu=True):
        w = param(name + ".weight", [cout, cin // groups, k, k],
                  (2.0 / (cin // groups * k * k)) ** 0.5)
        b = param(name + ".bias", [cout], 0.1)
        y = name + "_y"
        nodes.append(helper.make_node(
            "Conv", [x, w, b], [y], kernel_shape=[k, k],
            strides=[stride, stride], pads=[k // 2] * 4, group=groups))
        if not relu:
            return y
        nodes.append(helper.make_node("Relu", [y], [name + "_r"]))
        return name + "_r"

    w = width
    x = conv("input", "conv1", 3, w, 3, 1, 1)
    x = conv(x, "dw1", w, w, 3, 1, w)
    x = conv(x, "grouped1", w, w * 3 // 2, 3, 2, 4)
    w = w * 3 // 2
    x = conv(x, "dw2", w, w, 5, 2, w)
    x = conv(x, "grouped2", w, w, 1, 1, 3)
    x = conv(x, "dwmult", w, 2 * w, 3, 1, w, relu=False)
    w = 2 * w
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"]))
    w = param("fc.weight", [10, w], 0.2)
    b = param("fc.bias", [10], 0.1)
    nodes.append(helper.make_node("Gemm", ["flat", w, b], ["logits"],
                                  transB=1))
    graph = helper.make_graph(
        nodes, "grouped_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                       ["N", 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       ["N", 10])],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def attention(rng):
    """Two-head self-attention over 6 tokens of 16 features (a 1 x 6 x 16
    image, since the simulator's host feeds images), as torch's
    multi-head attention exports it (rank-3 reshapes and transposes around
    batched MatMuls), with LayerNormalization and a token mean: batched and
    broadcast matrix products, transpositions, softmax and layer norm."""
    inits, nodes = [], []

    def param(name, shape, scale):
        inits.append(numpy_helper.from_array(
            (scale * rng.standard_normal(shape)).astype(np.float32), name))
        return name

    def shape(name, dims):
        if name not in [t.name for t in inits]:
            inits.append(numpy_helper.from_array(np.array(dims, np.int64),
                                                 name))
        return name

    def node(op, inputs, out, **attrs):
        nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    ln_scale = param("ln.weight", [16], 1.0)
    ln_bias = param("ln.bias", [16], 0.1)
    tokens = node("Reshape", ["input", shape("token_shape", [0, 6, 16])],
                  "tokens")
    x = node("LayerNormalization", [tokens, ln_scale, ln_bias], "ln",
             axis=-1, epsilon=1e-5)
    heads = {}
    for p in "qkv":
        y = node("MatMul", [x, param(p + ".weight", [16, 16], 0.25)], p)
        y = node("Transpose", [y], p + "_t", perm=[1, 0, 2])    # [6, N, 16]
        y = node("Reshape", [y, shape("split", [0, -1, 8])], p + "_r")
        heads[p] = node("Transpose", [y], p + "_h", perm=[1, 0, 2])
    kt = node("Transpose", [heads["k"]], "kt", perm=[0, 2, 1])
    s = node("MatMul", [heads["q"], kt], "scores")
    inits.append(numpy_helper.from_array(np.array(8 ** -0.5, np.float32),
                                         "scale"))
    s = node("Mul", [s, "scale"], "scaled")
    a = node("Softmax", [s], "attn", axis=-1)
    o = node("MatMul", [a, heads["v"]], "o")                  # [2N, 6, 8]
    o = node("Transpose", [o], "o_t", perm=[1, 0, 2])
    o = node("Reshape", [o, shape("merge", [0, -1, 16])], "o_r")
    o = node("Transpose", [o], "o_b", perm=[1, 0, 2])         # [N, 6, 16]
    o = node("MatMul", [o, param("out.weight", [16, 16], 0.25)], "proj")
    o = node("Add", [o, tokens], "res")
    m = node("ReduceMean", [o], "pool", axes=[1], keepdims=0)
    node("Gemm", [m, param("fc.weight", [10, 16], 0.3),
                  param("fc.bias", [10], 0.1)], "logits", transB=1)
    graph = helper.make_graph(
        nodes, "attention",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                       ["N", 1, 6, 16])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                       ["N", 10])],
        inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(0)
    onnx.save(grouped_cnn(rng), os.path.join(out, "grouped_cnn.onnx"))
    onnx.save(attention(rng), os.path.join(out, "attention.onnx"))


if __name__ == "__main__":
    main()
