#!/usr/bin/python3
"""Self-test of the PyTorch reference (run as ``/usr/bin/python3 scripts/reference/test_reference.py``).

* Zoo: for every model of ``models/generate.py`` whose ONNX file is on disk, the ``OnnxModule`` and
  the original PyTorch module (train mode, Dropout off, float64, batch 4) agree on the logits, on
  every parameter gradient of the cross-entropy, on the BatchNorm running statistics after the
  step and on the inference-mode logits; and the file's initializers are the module's state under
  the module's names. Missing (not generated) models are skipped.
* Operators: opset-dependent forms the zoo does not exercise, against NumPy.
* Generator: committed files are byte-identical to a fresh export; generated ones are git-ignored.
* Data and CLI: IDX reading, preprocessing, the shuffle, and ``ref.py`` end to end on small inputs.

Extra arguments go to unittest (e.g. ``ZooTest.test_resnet20``). The last line reads
``test_reference: N passed, N failed, N skipped``.
"""

import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODELS = os.path.join(ROOT, "models")
sys.path.insert(0, HERE)
sys.path.insert(0, MODELS)
import fashion_mnist  # noqa: E402
import generate  # noqa: E402
import onnx_torch  # noqa: E402

TOLERANCE = 1e-5
FLOOR = 1e-6  # denominators are at least FLOOR x the largest norm of the set being compared


def relative_errors(actual, expected):
    """Per-name relative L2 errors, denominators floored at FLOOR x the largest expected norm
    (values that are zero in exact arithmetic, like the gradient of a bias feeding a BatchNorm,
    are rounding noise on both sides)."""
    largest = max(float(v.norm()) for v in expected.values())
    return {k: float((actual[k] - v).norm()) / max(float(v.norm()), FLOOR * largest, 1e-300)
            for k, v in expected.items()}


class ZooTest(unittest.TestCase):
    """OnnxModule versus the generator's PyTorch module, one test per zoo model."""

    def check_model(self, spec):
        path = os.path.join(MODELS, spec.name + ".onnx")
        if not os.path.exists(path):
            self.skipTest(f"{path} not generated")
        proto = onnx.load(path)
        reference = generate.build(spec.name).double()
        state = reference.state_dict()
        for init in proto.graph.initializer:
            self.assertIn(init.name, state, "initializer is not a PyTorch name")
            np.testing.assert_array_equal(numpy_helper.to_array(init),
                                          state[init.name].float().numpy(), init.name)
        for module in reference.modules():
            if isinstance(module, torch.nn.Dropout):
                module.eval()
        ours = onnx_torch.OnnxModule(proto, dropout=False).double().train()
        # All-zero parameters (the ViT head) would make the logits identically 0 and the forward
        # check vacuous: give them the same random values on both sides.
        params = dict(reference.named_parameters())
        generator = torch.Generator().manual_seed(1)
        with torch.no_grad():
            for name, param in ours.onnx_parameters().items():
                if not param.any():
                    param.copy_(0.1 * torch.randn(param.shape, generator=generator))
                    params[name].copy_(param)

        # Batch 4, not 2: with two samples a BatchNorm over 1x1 maps outputs +-1 whatever its
        # input, its input gradient is ~0 and upstream gradients become pure rounding noise.
        x = torch.randn(4, *spec.input_shape, dtype=torch.float64, generator=generator)
        y = torch.tensor([3, 7, 0, 9])
        logits_ref, logits = reference(x), ours(x)
        errors = relative_errors({"logits": logits}, {"logits": logits_ref})
        torch.nn.functional.cross_entropy(logits_ref, y).backward()
        torch.nn.functional.cross_entropy(logits, y).backward()
        errors.update(relative_errors({k: p.grad for k, p in ours.onnx_parameters().items()},
                                      {k: params[k].grad for k in ours.onnx_parameters()}))
        buffers = ours.onnx_buffers()
        if buffers:
            reference_buffers = dict(reference.named_buffers())
            errors.update(relative_errors(buffers, {k: reference_buffers[k] for k in buffers}))
        reference.eval()
        ours.eval()
        with torch.no_grad():
            errors.update(relative_errors({"eval logits": ours(x)},
                                          {"eval logits": reference(x)}))
        worst = max(errors, key=errors.get)
        print(f"  {spec.name}: worst relative error {errors[worst]:.1e} ({worst})",
              file=sys.stderr)
        self.assertLessEqual(errors[worst], TOLERANCE, f"worst: {worst}")


def _zoo_test(spec):
    def test(self):
        self.check_model(spec)
    test.__doc__ = f"{spec.name}: forward, gradients and running stats match PyTorch"
    return test


for _spec in generate.SPECS:
    setattr(ZooTest, f"test_{_spec.name}", _zoo_test(_spec))


def run_node(op_type, inputs, opset, attrs=None, outputs=1, train=True, dropout=True):
    """Execute a one-node graph; ``inputs`` maps names to NumPy arrays (None = absent input)."""
    names = list(inputs)
    node = helper.make_node(op_type, [n if inputs[n] is not None else "" for n in names],
                            [f"y{i}" for i in range(outputs)], name="under_test", **(attrs or {}))
    graph_inputs = [helper.make_tensor_value_info(
        n, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[v.dtype], v.shape)
        for n, v in inputs.items() if v is not None]
    graph_outputs = [helper.make_tensor_value_info(f"y{i}", onnx.TensorProto.UNDEFINED, None)
                     for i in range(outputs)]
    graph = helper.make_graph([node], "test", graph_inputs, graph_outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    module = onnx_torch.OnnxModule(model, dropout=dropout).train(train)
    result = module(*[torch.from_numpy(v) for v in inputs.values() if v is not None])
    if isinstance(result, tuple):
        return [r.detach().numpy() for r in result]
    return result.detach().numpy()


def naive_conv(x, w, pads, strides, dilations, group):
    """Direct convolution in NumPy: ``pads`` = (top, left, bottom, right)."""
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    n, c, h, wd = x.shape
    m, cg, kh, kw = w.shape
    oh = (h - (kh - 1) * dilations[0] - 1) // strides[0] + 1
    ow = (wd - (kw - 1) * dilations[1] - 1) // strides[1] + 1
    y = np.zeros((n, m, oh, ow))
    for o in range(m):
        g = o // (m // group)
        for i in range(oh):
            for j in range(ow):
                patch = x[:, g * cg:(g + 1) * cg,
                          i * strides[0]:i * strides[0] + (kh - 1) * dilations[0] + 1:dilations[0],
                          j * strides[1]:j * strides[1] + (kw - 1) * dilations[1] + 1:dilations[1]]
                y[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
    return y


def naive_pool(x, kernel, strides, pads, reduce, pad_value):
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])),
               constant_values=pad_value)
    oh = (x.shape[2] - kernel[0]) // strides[0] + 1
    ow = (x.shape[3] - kernel[1]) // strides[1] + 1
    y = np.zeros(x.shape[:2] + (oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = x[:, :, i * strides[0]:i * strides[0] + kernel[0],
                       j * strides[1]:j * strides[1] + kernel[1]]
            y[:, :, i, j] = reduce(window)
    return y


class OperatorTest(unittest.TestCase):
    """Operator forms and opset differences, checked against NumPy."""

    def setUp(self):
        self.rng = np.random.default_rng(0)

    def randn(self, *shape):
        return self.rng.standard_normal(shape)

    def test_conv_asymmetric_pads_strides_dilations(self):
        x, w = self.randn(2, 4, 9, 8), self.randn(6, 2, 3, 2)
        b = self.randn(6)
        y = run_node("Conv", {"x": x, "w": w, "b": b}, 13,
                     {"pads": [0, 1, 2, 0], "strides": [2, 1], "dilations": [1, 2], "group": 2})
        expected = naive_conv(x, w, (0, 1, 2, 0), (2, 1), (1, 2), 2) + b[None, :, None, None]
        np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-10)

    def test_conv_auto_pad_same_upper(self):
        x, w = self.randn(1, 2, 7, 7), self.randn(3, 2, 4, 4)
        y = run_node("Conv", {"x": x, "w": w}, 11, {"auto_pad": "SAME_UPPER", "strides": [2, 2]})
        # out = ceil(7/2) = 4; total pad = 3*2 + 4 - 7 = 3: 1 before, 2 after.
        np.testing.assert_allclose(y, naive_conv(x, w, (1, 1, 2, 2), (2, 2), (1, 1), 1),
                                   rtol=1e-10, atol=1e-10)

    def test_gemm_transposes_alpha_beta(self):
        a, b, c = self.randn(5, 3), self.randn(5, 4), self.randn(1, 4)
        y = run_node("Gemm", {"a": a, "b": b, "c": c}, 13,
                     {"transA": 1, "alpha": 0.5, "beta": 2.0})
        np.testing.assert_allclose(y, 0.5 * a.T @ b + 2.0 * c, rtol=1e-12)

    def test_clip_attribute_and_input_forms(self):
        x = self.randn(3, 4)
        y = run_node("Clip", {"x": x}, 9, {"min": -0.5, "max": 0.5})
        np.testing.assert_array_equal(y, np.clip(x, -0.5, 0.5))
        y = run_node("Clip", {"x": x, "lo": np.array(0.0), "hi": None}, 13)
        np.testing.assert_array_equal(y, np.maximum(x, 0.0))

    def test_softmax_axis_semantics_change_at_opset_13(self):
        x = self.randn(2, 3, 4)
        flat = np.exp(x.reshape(2, 12))
        np.testing.assert_allclose(run_node("Softmax", {"x": x}, 11, {"axis": 1}),
                                   (flat / flat.sum(1, keepdims=True)).reshape(2, 3, 4))
        e = np.exp(x)
        np.testing.assert_allclose(run_node("Softmax", {"x": x}, 13, {"axis": 1}),
                                   e / e.sum(1, keepdims=True))
        np.testing.assert_allclose(run_node("LogSoftmax", {"x": x}, 13),
                                   np.log(e / e.sum(2, keepdims=True)))

    def test_average_pool_count_include_pad(self):
        x = self.randn(1, 2, 5, 5)
        pads = (1, 1, 1, 1)
        sums = naive_pool(x, (3, 3), (2, 2), pads, lambda w: w.sum(axis=(2, 3)), 0.0)
        counts = naive_pool(np.ones_like(x), (3, 3), (2, 2), pads,
                            lambda w: w.sum(axis=(2, 3)), 0.0)
        attrs = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": list(pads)}
        np.testing.assert_allclose(run_node("AveragePool", {"x": x}, 13, attrs), sums / counts)
        np.testing.assert_allclose(
            run_node("AveragePool", {"x": x}, 13, {**attrs, "count_include_pad": 1}), sums / 9)
        asymmetric = {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [0, 0, 1, 1]}
        sums = naive_pool(x, (2, 2), (2, 2), (0, 0, 1, 1), lambda w: w.sum(axis=(2, 3)), 0.0)
        counts = naive_pool(np.ones_like(x), (2, 2), (2, 2), (0, 0, 1, 1),
                            lambda w: w.sum(axis=(2, 3)), 0.0)
        np.testing.assert_allclose(run_node("AveragePool", {"x": x}, 13, asymmetric),
                                   sums / counts)

    def test_max_pool_asymmetric_pads(self):
        x = self.randn(2, 3, 6, 6)
        y = run_node("MaxPool", {"x": x}, 13,
                     {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 0, 1, 1]})
        expected = naive_pool(x, (3, 3), (2, 2), (0, 0, 1, 1),
                              lambda w: w.max(axis=(2, 3)), -np.inf)
        np.testing.assert_array_equal(y, expected)

    def test_batch_norm_training_forms(self):
        x = self.randn(4, 3, 2, 2)
        scale, bias, mean, var = self.randn(3), self.randn(3), self.randn(3), self.rng.random(3) + 1
        batch_mean = x.mean(axis=(0, 2, 3))
        batch_var = x.var(axis=(0, 2, 3))
        expected_y = ((x - batch_mean[None, :, None, None])
                      / np.sqrt(batch_var[None, :, None, None] + 1e-5)
                      * scale[None, :, None, None] + bias[None, :, None, None])
        unbiased = batch_var * 16 / 15
        for opset, attrs, outputs in ((9, {}, 5), (15, {"training_mode": 1}, 3)):
            inputs = {"x": x, "s": scale, "b": bias, "m": mean.copy(), "v": var.copy()}
            y, new_mean, new_var = run_node("BatchNormalization", inputs, opset,
                                            {"momentum": 0.8, **attrs}, outputs=outputs)[:3]
            np.testing.assert_allclose(y, expected_y, rtol=1e-10, atol=1e-12)
            # momentum is a float32 attribute: 0.800000011920929
            np.testing.assert_allclose(new_mean, 0.8 * mean + 0.2 * batch_mean, rtol=1e-7)
            np.testing.assert_allclose(new_var, 0.8 * var + 0.2 * unbiased, rtol=1e-7)
        inference = run_node("BatchNormalization",
                             {"x": x, "s": scale, "b": bias, "m": mean, "v": var}, 15)
        np.testing.assert_allclose(
            inference, (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
            * scale[None, :, None, None] + bias[None, :, None, None], rtol=1e-10)

    def test_dropout_switch(self):
        x = np.ones((200, 100))
        inputs = {"x": x, "r": np.array(0.25), "t": np.array(True)}
        y, mask = run_node("Dropout", inputs, 13, outputs=2)
        self.assertAlmostEqual((y == 0).mean(), 0.25, delta=0.02)
        np.testing.assert_allclose(y[mask], 1 / 0.75)
        np.testing.assert_array_equal(run_node("Dropout", inputs, 13, dropout=False), x)
        np.testing.assert_array_equal(run_node("Dropout", inputs, 13, train=False), x)
        off = {"x": x, "r": np.array(0.25), "t": np.array(False)}
        np.testing.assert_array_equal(run_node("Dropout", off, 13), x)

    def test_slice_forms(self):
        x = self.randn(4, 6)
        np.testing.assert_array_equal(
            run_node("Slice", {"x": x}, 9, {"starts": [1, -4], "ends": [1000, -1], "axes": [0, 1]}),
            x[1:, -4:-1])
        inputs = {"x": x, "s": np.array([-1]), "e": np.array([-(2 ** 63)]),
                  "a": np.array([1]), "p": np.array([-2])}
        np.testing.assert_array_equal(run_node("Slice", inputs, 13), x[:, ::-2])

    def test_pad_forms(self):
        x = self.randn(1, 2, 3, 3)
        np.testing.assert_array_equal(
            run_node("Pad", {"x": x}, 9, {"pads": [0, 0, 1, 2, 0, 0, 2, 1], "mode": "reflect"}),
            np.pad(x, ((0, 0), (0, 0), (1, 2), (2, 1)), mode="reflect"))
        inputs = {"x": x, "p": np.array([0, 1, 0, -1, 0, 0, 1, 0]), "v": np.array(1.5)}
        np.testing.assert_array_equal(
            run_node("Pad", inputs, 13),
            np.pad(x, ((0, 0), (1, 0), (0, 1), (0, 0)), constant_values=1.5)[:, :, :, 1:])

    def test_reduce_axes_forms(self):
        x = self.randn(2, 3, 4)
        np.testing.assert_allclose(run_node("ReduceMean", {"x": x}, 13, {"axes": [1, 2]}),
                                   x.mean(axis=(1, 2), keepdims=True))
        np.testing.assert_allclose(
            run_node("ReduceSum", {"x": x, "a": np.array([-1])}, 13, {"keepdims": 0}),
            x.sum(axis=-1))
        np.testing.assert_allclose(run_node("ReduceSum", {"x": x}, 11, {"axes": [0]}),
                                   x.sum(axis=0, keepdims=True))

    def test_unsqueeze_squeeze_split_forms(self):
        x = self.randn(2, 3)
        self.assertEqual(run_node("Unsqueeze", {"x": x}, 11, {"axes": [0, -1]}).shape,
                         (1, 2, 3, 1))
        self.assertEqual(run_node("Unsqueeze", {"x": x, "a": np.array([1])}, 13).shape, (2, 1, 3))
        ones = self.randn(1, 3, 1)
        self.assertEqual(run_node("Squeeze", {"x": ones}, 11, {"axes": [0]}).shape, (3, 1))
        self.assertEqual(run_node("Squeeze", {"x": ones}, 13).shape, (3,))
        parts = run_node("Split", {"x": x}, 11, {"axis": 1, "split": [1, 2]}, outputs=2)
        np.testing.assert_array_equal(parts[1], x[:, 1:])
        parts = run_node("Split", {"x": x, "s": np.array([2, 1])}, 13, {"axis": 1}, outputs=2)
        np.testing.assert_array_equal(parts[0], x[:, :2])

    def test_shape_arithmetic(self):
        x = self.randn(2, 3, 4)
        np.testing.assert_array_equal(
            run_node("Reshape", {"x": x, "s": np.array([0, -1])}, 13).shape, (2, 12))
        self.assertEqual(run_node("Flatten", {"x": x}, 13, {"axis": -1}).shape, (6, 4))
        np.testing.assert_array_equal(run_node("Gather", {"x": x, "i": np.array(-1)}, 13,
                                               {"axis": 1}), x[:, -1])
        np.testing.assert_array_equal(
            run_node("Div", {"a": np.array([-7, 7]), "b": np.array([2, 2])}, 13), [-3, 3])
        np.testing.assert_array_equal(run_node("Shape", {"x": x}, 15, {"start": 1}), [3, 4])
        np.testing.assert_array_equal(
            run_node("Expand", {"x": self.randn(3, 1), "s": np.array([2, 1, 4])}, 13).shape,
            (2, 3, 4))
        value = helper.make_tensor("v", onnx.TensorProto.INT64, [1], [-1])
        np.testing.assert_array_equal(
            run_node("ConstantOfShape", {"s": np.array([2])}, 13, {"value": value}), [-1, -1])

    def test_activations(self):
        x = self.randn(3, 5)
        np.testing.assert_allclose(run_node("LeakyRelu", {"x": x}, 13, {"alpha": 0.1}),
                                   np.where(x > 0, x, 0.1 * x))
        np.testing.assert_allclose(run_node("HardSigmoid", {"x": x}, 13),
                                   np.clip(0.2 * x + 0.5, 0, 1))
        np.testing.assert_allclose(run_node("HardSwish", {"x": 3 * x}, 14),
                                   3 * x * np.clip(3 * x / 6 + 0.5, 0, 1))
        np.testing.assert_allclose(run_node("Erf", {"x": x}, 13), np.vectorize(math.erf)(x))
        scale, bias = self.randn(5), self.randn(5)
        normalised = (x - x.mean(1, keepdims=True)) / np.sqrt(x.var(1, keepdims=True) + 1e-5)
        np.testing.assert_allclose(
            run_node("LayerNormalization", {"x": x, "s": scale, "b": bias}, 17),
            normalised * scale + bias, rtol=1e-10)

    def test_unknown_op_names_the_node(self):
        with self.assertRaisesRegex(NotImplementedError, "under_test.*Celu"):
            run_node("Celu", {"x": self.randn(2)}, 13)


class GeneratorTest(unittest.TestCase):
    """The committed files are what the generator produces, and the large ones stay out of git."""

    def test_committed_files_are_fresh_exports(self):
        for spec in generate.SPECS:
            path = os.path.join(MODELS, spec.name + ".onnx")
            if spec.committed and os.path.exists(path):
                with self.subTest(spec.name), open(path, "rb") as f:
                    self.assertEqual(f.read(), generate.export(spec).SerializeToString(),
                                     "run models/generate.py " + spec.name)

    def test_generated_files_are_ignored_by_git(self):
        paths = [f"models/{spec.name}.onnx" for spec in generate.SPECS]
        result = subprocess.run(["git", "-C", ROOT, "check-ignore", *paths],
                                capture_output=True, text=True)
        if result.returncode not in (0, 1):
            self.skipTest("not in a git work tree")
        ignored = set(result.stdout.split())
        for spec, path in zip(generate.SPECS, paths):
            self.assertEqual(path in ignored, not spec.committed, path)


class DataTest(unittest.TestCase):
    def test_idx_reader(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "images.gz")
            data = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
            with gzip.open(path, "wb") as f:
                f.write(b"\x00\x00\x08\x03" + b"".join(d.to_bytes(4, "big") for d in data.shape)
                        + data.tobytes())
            np.testing.assert_array_equal(fashion_mnist.read_idx(path), data)

    def test_preprocess_pads_before_normalising(self):
        images = np.full((2, 28, 28), 255, dtype=np.uint8)
        x = fashion_mnist.preprocess(images, (3, 32, 32))
        self.assertEqual((x.shape, x.dtype), ((2, 3, 32, 32), np.float32))
        border, inside = -fashion_mnist.MEAN / fashion_mnist.STD, \
            (1 - fashion_mnist.MEAN) / fashion_mnist.STD
        self.assertAlmostEqual(float(x[0, 0, 0, 0]), border, places=5)
        self.assertAlmostEqual(float(x[0, 0, 2, 2]), inside, places=5)
        self.assertAlmostEqual(float(x[0, 0, 29, 30]), border, places=5)
        np.testing.assert_array_equal(x[:, 0], x[:, 2])
        self.assertEqual(fashion_mnist.preprocess(images, (1, 28, 28)).shape, (2, 1, 28, 28))

    def test_epoch_permutation_is_pinned(self):
        # Pinned values: the C++ trainer's shuffle must reproduce them.
        np.testing.assert_array_equal(fashion_mnist.epoch_permutation(10, 0, 0),
                                      [6, 3, 2, 9, 8, 1, 4, 7, 0, 5])
        perm = fashion_mnist.epoch_permutation(1000, 3, 1)
        np.testing.assert_array_equal(np.sort(perm), np.arange(1000))
        self.assertFalse((perm == fashion_mnist.epoch_permutation(1000, 3, 2)).all())

    @unittest.skipUnless(os.path.isdir(fashion_mnist.DATA_DIR), "Fashion-MNIST not installed")
    def test_dataset_files(self):
        images, labels = fashion_mnist.load_raw("test")
        self.assertEqual(images.shape, (10000, 28, 28))
        np.testing.assert_array_equal(np.bincount(labels), [1000] * 10)


class CliTest(unittest.TestCase):
    """ref.py end to end on lenet5 and mlp."""

    def ref(self, *args):
        result = subprocess.run([sys.executable, os.path.join(HERE, "ref.py"), *args],
                                capture_output=True, text=True)
        return result.returncode, result.stdout + result.stderr

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_forward_grads_compare(self):
        model = os.path.join(MODELS, "lenet5.onnx")
        code, out = self.ref("gen-input", model, "--batch", "3", "--seed", "5",
                             "-o", self.path("x.npy"), "--labels", self.path("y.npy"))
        self.assertEqual(code, 0, out)
        x, y = np.load(self.path("x.npy")), np.load(self.path("y.npy"))
        self.assertEqual((x.shape, x.dtype, y.dtype), ((3, 1, 28, 28), np.float32, np.int64))
        self.assertTrue(((0 <= y) & (y < 10)).all())
        code, out = self.ref("forward", model, "--input", self.path("x.npy"),
                             "-o", self.path("logits.npy"))
        self.assertEqual(code, 0, out)
        reference = generate.build("lenet5")
        with torch.no_grad():
            expected = reference(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(np.load(self.path("logits.npy")), expected, rtol=1e-5,
                                   atol=1e-6)
        for dtype in ("float64", "float32"):
            code, out = self.ref("grads", model, "--inputs", self.path("x.npy"), "--labels",
                                 self.path("y.npy"), "-o", self.path(dtype), "--dtype", dtype)
            self.assertEqual(code, 0, out)
        self.assertEqual(sorted(os.listdir(self.path("float64"))),
                         sorted(n + ".npy" for n, _ in reference.named_parameters()))
        code, out = self.ref("compare-dir", self.path("float32"), self.path("float64"))
        self.assertEqual(code, 0, out)
        np.save(self.path("float32/fc3.bias.npy"), np.zeros(10, dtype=np.float32))
        code, out = self.ref("compare-dir", self.path("float32"), self.path("float64"))
        self.assertEqual(code, 1, out)
        self.assertIn("FAIL", out)
        code, out = self.ref("compare", self.path("logits.npy"), self.path("logits.npy"))
        self.assertEqual(code, 0, out)

    @unittest.skipUnless(os.path.isdir(fashion_mnist.DATA_DIR), "Fashion-MNIST not installed")
    def test_train_writes_metrics(self):
        code, out = self.ref("train", os.path.join(MODELS, "mlp.onnx"), "--epochs", "2",
                             "--batch-size", "32", "--lr", "0.05", "--train-images", "2048",
                             "--test-images", "500", "--metrics", self.path("m.jsonl"))
        self.assertEqual(code, 0, out)
        with open(self.path("m.jsonl")) as f:
            records = [json.loads(line) for line in f]
        self.assertEqual([r["epoch"] for r in records], [1, 2])
        self.assertEqual(set(records[0]), {"epoch", "train_loss", "test_loss", "test_accuracy",
                                           "seconds", "images_per_second"})
        self.assertLess(records[1]["train_loss"], records[0]["train_loss"])
        self.assertGreater(records[1]["test_accuracy"], 0.5)


def main():
    torch.set_num_threads(1)
    program = unittest.main(exit=False, verbosity=2)
    result = program.result
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    print(f"test_reference: {result.testsRun - failed - skipped} passed, {failed} failed, "
          f"{skipped} skipped")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
