#!/usr/bin/python3
"""Forward-pass speed of adagp's CPU backend against PyTorch, same machine,
same run, same thread count.

For each model: PyTorch's training-mode forward (batch statistics, no
gradients) of the torchvision module that models/generate.py exports, and
adagp-run's JIT-compiled forward of the exported ONNX model, both at batch
64. The ratio is adagp time / PyTorch time (below 1 is faster). GFLOP/s
count 2 flops per multiply-add of the convolutions and matrix products.

The machine's peak is measured in the same run as the best of a large
sgemm through PyTorch and through NumPy's BLAS. The largest convolution of
each model is also timed alone (one-layer ONNX models through adagp-run) to
report its fraction of that peak.

    benchmarks/cpu_forward.py [--threads N] [--models lenet5 resnet20 ...] [--linalg]

--linalg also times the route without library kernels (convolutions and
matrix products generated from linalg: tiled, vectorized, parallel loops).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "models"))
import generate  # noqa: E402
import summarize  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "scripts", "reference"))
import onnx_torch  # noqa: E402

BATCH = 64


def timed(fn, seconds=3.0, minimum=5):
    """Median seconds per call after warm-up."""
    for _ in range(2):
        fn()
    samples, start = [], time.perf_counter()
    while len(samples) < minimum or time.perf_counter() - start < seconds:
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return float(np.median(samples))


def peak_gflops():
    n = 2048
    a = torch.randn(n, n)
    b = torch.randn(n, n)
    t_torch = timed(lambda: torch.mm(a, b), seconds=2)
    an, bn = a.numpy(), b.numpy()
    t_numpy = timed(lambda: an @ bn, seconds=2)
    return 2 * n ** 3 / min(t_torch, t_numpy) / 1e9


def adagp_ms(model_path, input_path, threads, bin_dir, extra=()):
    out = subprocess.run(
        [os.path.join(bin_dir, "adagp-run"), model_path, "--input", input_path,
         "--no-dropout", "--threads", str(threads), "--repeat", "20"] + list(extra),
        check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])["run_ms"]


def largest_conv(model_path):
    """(MACs at batch 64, Conv node, input, weight and output shapes) of the model's
    largest convolution, from a batch-1 run of the reference interpreter."""
    module = onnx_torch.OnnxModule(model_path).eval()
    shape = [1 if d is None else d for d in module.input_shapes[0]]
    with torch.no_grad():
        env = module.run(torch.zeros(shape))
    proto = onnx.load(model_path)
    best = None
    for node in proto.graph.node:
        if node.op_type != "Conv":
            continue
        w = list(env[node.input[1]].shape)
        out = list(env[node.output[0]].shape)
        macs = BATCH * int(np.prod(out[1:])) * w[1] * w[2] * w[3]
        if best is None or macs > best[0]:
            best = (macs, node, [BATCH] + list(env[node.input[0]].shape[1:]), w, out)
    return best


def single_conv_model(node, in_shape, weight_shape, out_shape, path):
    """An ONNX model of just this convolution (random weights)."""
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["N"] + list(in_shape[1:]))
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT,
                                           ["N"] + list(out_shape[1:]))
    w = onnx.numpy_helper.from_array(
        (0.01 * np.random.RandomState(0).randn(*weight_shape)).astype(np.float32), "w")
    conv = onnx.helper.make_node("Conv", ["x", "w"], ["y"], **attrs)
    graph = onnx.helper.make_graph([conv], "conv", [x], [y], [w])
    onnx.save(onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", 13)]), path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--models", nargs="+",
                        default=["lenet5", "resnet20", "resnet18", "mobilenetv2"])
    parser.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--linalg", action="store_true",
                        help="also time the route without library kernels "
                        "(adagp-run --no-kernels: linalg tiled and vectorized)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    work = tempfile.mkdtemp(prefix="adagp-bench-")

    peak = peak_gflops()
    print(f"threads {args.threads}, batch {BATCH}, peak (best large sgemm) {peak:.1f} GFLOP/s")
    print(f"{'model':14s} {'GMAC':>7s} {'PyTorch ms':>11s} {'adagp ms':>9s} {'ratio':>6s} "
          f"{'GFLOP/s':>8s} {'%peak':>6s} | largest conv: {'GFLOP/s':>8s} {'%peak':>6s}")
    results = []
    for name in args.models:
        model_path = os.path.join(ROOT, "models", name + ".onnx")
        if not os.path.exists(model_path):
            subprocess.run([sys.executable, os.path.join(ROOT, "models", "generate.py"), name],
                           check=True)
        module = generate.build(name).train()
        spec_shape = (BATCH, 1, 28, 28) if name in ("lenet5", "mlp") else (BATCH, 3, 32, 32)
        x = torch.randn(*spec_shape)
        x_path = os.path.join(work, name + ".x.npy")
        np.save(x_path, x.numpy())
        # Two interleaved rounds; each side keeps its better median, so a
        # burst of load on a shared machine does not decide the ratio.
        t_torch = t_adagp = float("inf")
        for _ in range(2):
            with torch.no_grad():
                t_torch = min(t_torch, timed(lambda: module(x)) * 1e3)
            t_adagp = min(t_adagp, adagp_ms(model_path, x_path, args.threads, args.bin))
        t_linalg = None
        if args.linalg:
            t_linalg = adagp_ms(model_path, x_path, args.threads, args.bin,
                                ["--no-kernels"])
        macs = BATCH * summarize.summarize(model_path)["macs"]
        gflops = 2 * macs / (t_adagp / 1e3) / 1e9

        conv_macs, node, in_shape, w_shape, out_shape = largest_conv(model_path)
        conv_path = os.path.join(work, name + ".conv.onnx")
        single_conv_model(node, in_shape, w_shape, out_shape, conv_path)
        cx = os.path.join(work, name + ".conv.npy")
        np.save(cx, np.random.RandomState(1).randn(*in_shape).astype(np.float32))
        t_conv = adagp_ms(conv_path, cx, args.threads, args.bin)
        conv_gflops = 2 * conv_macs / (t_conv / 1e3) / 1e9
        row = dict(model=name, gmac=macs / 1e9, pytorch_ms=t_torch, adagp_ms=t_adagp,
                   ratio=t_adagp / t_torch, gflops=gflops, peak_fraction=gflops / peak,
                   largest_conv_gflops=conv_gflops, largest_conv_peak_fraction=conv_gflops / peak,
                   linalg_ms=t_linalg)
        results.append(row)
        print(f"{name:14s} {macs / 1e9:7.3f} {t_torch:11.2f} {t_adagp:9.2f} {row['ratio']:6.2f} "
              f"{gflops:8.1f} {100 * gflops / peak:5.1f}% | {'':14s}{conv_gflops:8.1f} "
              f"{100 * conv_gflops / peak:5.1f}%" +
              (f" | linalg route {t_linalg:.2f} ms ({t_linalg / t_torch:.2f}x PyTorch)"
               if t_linalg is not None else ""))
    slower = [r["model"] for r in results if r["ratio"] > 1.0]
    print("all models at least as fast as PyTorch" if not slower
          else f"slower than PyTorch: {', '.join(slower)}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(threads=args.threads, peak_gflops=peak, models=results), f, indent=1)


if __name__ == "__main__":
    main()
