"""Writes a binary ONNX model whose initializer is float16 (ONNX 1.12's
text syntax cannot spell float16 data)."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

x = helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["N", 2])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT16, ["N", 2])
w = numpy_helper.from_array(np.array([1, 2], dtype=np.float16), "w")
graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"], name="add")],
                          "half", [x], [y], [w])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
onnx.save(model, sys.argv[1])
