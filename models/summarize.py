#!/usr/bin/python3
"""Parameter count, multiply-accumulates and operator inventory of ONNX models.

MACs are those of Conv, Gemm and MatMul for one image (batch 1) forward:
  Conv    output elements x (input channels / group) x kernel size
  Gemm    M x N x K
  MatMul  output elements x K (batched matmuls included)
Element-wise ops, pooling and normalisation are not counted (conventional "FLOPs" tables count
MACs of the linear layers only).

Tensor shapes come from executing the graph at batch 1 with the reference interpreter
(``scripts/reference/onnx_torch.py``, inference mode) rather than from ``onnx.shape_inference``:
ONNX 1.12's shape inference cannot see through the Shape -> Gather -> Concat -> Reshape subgraphs
of ShuffleNet and the ViT, and leaves everything after them unknown.
"""

import argparse
import collections
import json
import os
import sys

import onnx
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts",
                                "reference"))
import onnx_torch  # noqa: E402

SHAPE_OPS = {"Shape", "Gather", "ConstantOfShape", "Expand", "Where", "Equal"}


def human(count):
    """1234567 -> '1.23 M'."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if count >= scale:
            return f"{count / scale:.3g} {unit}"
    return str(count)


def _macs(node, env):
    if node.op_type == "Conv":
        weight = env[node.inputs[1]]
        return env[node.outputs[0]].numel() * weight[0].numel()
    if node.op_type == "Gemm":
        a = env[node.inputs[0]]
        k = a.shape[0] if node.attr("transA", 0) else a.shape[1]
        return env[node.outputs[0]].numel() * k
    if node.op_type == "MatMul":
        return env[node.outputs[0]].numel() * env[node.inputs[0]].shape[-1]
    return 0


def _batchnorm_form(module):
    """How BatchNormalization appears, e.g. '53x training, 5 outputs (opset 13)'."""
    nodes = [n for n in module.nodes if n.op_type == "BatchNormalization"]
    if not nodes:
        return ""
    forms = collections.Counter()
    for n in nodes:
        outputs = len([o for o in n.outputs if o])
        if module.opset >= 14:
            mode = "training_mode=1" if n.attr("training_mode", 0) else "inference"
        else:
            mode = "training" if outputs > 1 else "inference"
        forms[f"{mode}, {outputs} outputs"] += 1
    return "; ".join(f"{count}x {form} (opset {module.opset})" for form, count in forms.items())


def summarize(model):
    """Summary dict of an ONNX model (path or ModelProto); see the module docstring."""
    module = onnx_torch.OnnxModule(model).eval()
    shape = [1 if d is None else d for d in module.input_shapes[0]]
    with torch.no_grad():
        env = module.run(torch.zeros(shape))
    ops = collections.Counter(node.op_type for node in module.nodes)
    return {
        "opset": module.opset,
        "input_shape": module.input_shapes[0][1:],
        "params": sum(p.numel() for p in module.params),
        "macs": sum(_macs(node, env) for node in module.nodes),
        "ops": dict(sorted(ops.items())),
        "batchnorm": _batchnorm_form(module),
        "shape_subgraph": sorted(SHAPE_OPS & set(ops)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", metavar="MODEL.onnx")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for path in args.files:
        summary = summarize(onnx.load(path))
        name = os.path.splitext(os.path.basename(path))[0]
        if args.json:
            print(json.dumps({"name": name, **summary}))
            continue
        ops = ", ".join(f"{op} {count}" for op, count in summary["ops"].items())
        print(f"{name}: opset {summary['opset']}, input {summary['input_shape']}, "
              f"{summary['params']:,} params, {human(summary['macs'])} MACs\n  ops: {ops}")
        if summary["batchnorm"]:
            print(f"  BatchNormalization: {summary['batchnorm']}")
        if summary["shape_subgraph"]:
            print(f"  shape subgraph ops: {', '.join(summary['shape_subgraph'])}")


if __name__ == "__main__":
    main()
