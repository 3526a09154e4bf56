"""Runs small ONNX text models (one operator family each) with adagp-run
and with the PyTorch reference interpreter on the same seeded inputs, and
checks every output to `--tol` of its scale. Each model runs with the
runtime's kernels and without them (pure linalg), so both lowerings of
convolutions, matrix products and pooling are executed."""
import argparse
import os
import subprocess
import sys

import numpy as np
import onnx
import onnx.parser
import torch

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(root, "scripts", "reference"))
import onnx_torch  # noqa: E402

parser = argparse.ArgumentParser()
parser.add_argument("models", nargs="+")
parser.add_argument("--work", required=True)
parser.add_argument("--batch", type=int, default=2)
parser.add_argument("--tol", type=float, default=1e-5)
args = parser.parse_args()
os.makedirs(args.work, exist_ok=True)
torch.set_num_threads(1)

failures = []
for path in args.models:
    name = os.path.splitext(os.path.basename(path))[0]
    with open(path) as f:
        model = onnx.parser.parse_model(f.read())
    binary = os.path.join(args.work, name + ".onnx")
    onnx.save(model, binary)
    rng = np.random.RandomState(7)
    inputs, files = [], []
    for i, value in enumerate(model.graph.input):
        dims = [d.dim_value if d.HasField("dim_value") else args.batch
                for d in value.type.tensor_type.shape.dim]
        x = rng.randn(*dims).astype(np.float32)
        inputs.append(x)
        files.append(os.path.join(args.work, f"{name}.in{i}.npy"))
        np.save(files[-1], x)
    module = onnx_torch.OnnxModule(model, dropout=False)
    module.train()
    with torch.no_grad():
        expected = module(*[torch.from_numpy(x) for x in inputs])
    if not isinstance(expected, tuple):
        expected = (expected,)
    for variant in ([], ["--no-kernels"]):
        outs = [os.path.join(args.work, f"{name}.out{i}.npy")
                for i in range(len(expected))]
        cmd = ["adagp-run", binary, "--no-dropout", *variant]
        for f in files:
            cmd += ["--input", f]
        for o in outs:
            cmd += ["-o", o]
        result = subprocess.run(cmd, capture_output=True, text=True)
        label = f"{name}{' (no kernels)' if variant else ''}"
        if result.returncode != 0:
            print(f"FAIL {label}: adagp-run failed\n{result.stderr}")
            failures.append(label)
            continue
        worst = 0.0
        for out, want in zip(outs, expected):
            got, want = np.load(out), want.numpy()
            scale = max(float(np.abs(want).max()), 1e-30)
            if got.shape != want.shape:
                worst = float("inf")
                break
            worst = max(worst, float(np.abs(got - want).max()) / scale)
        status = "ok" if worst <= args.tol else "FAIL"
        print(f"{status} {label}: max error {worst:.2e} of output scale")
        if status != "ok":
            failures.append(label)
if failures:
    sys.exit(f"{len(failures)} case(s) differ from PyTorch: {', '.join(failures)}")
print(f"{2 * len(args.models)} runs match PyTorch")
