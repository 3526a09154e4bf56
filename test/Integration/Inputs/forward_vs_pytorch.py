"""Runs every model's forward pass with adagp-run and with the PyTorch
reference (scripts/reference) on the same input, and checks that the logits
agree within `--tol` of the output scale (max |a - b| / max |b|).

Initializers that are entirely zero (a ViT's classification head and class
token at initialisation) get seeded random values first, in a copy of the
model, so that every model's logits carry information."""
import argparse
import glob
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import numpy_helper

parser = argparse.ArgumentParser()
parser.add_argument("models", nargs="+", help="model files or directories")
parser.add_argument("--work", required=True)
parser.add_argument("--batch", type=int, default=4)
parser.add_argument("--tol", type=float, default=1e-4)
parser.add_argument("--extra", nargs="*", default=[], help="adagp-run flags")
args = parser.parse_args()

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
ref = os.path.join(root, "scripts", "reference", "ref.py")
os.makedirs(args.work, exist_ok=True)

models = []
for m in args.models:
    models += sorted(glob.glob(os.path.join(m, "*.onnx"))) if os.path.isdir(m) else [m]


def run(*cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{result.stdout}{result.stderr}")
    return result.stdout


failures = []
for model in models:
    name = os.path.splitext(os.path.basename(model))[0]
    proto = onnx.load(model)
    rng = np.random.RandomState(0)
    changed = False
    for init in proto.graph.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype == np.float32 and a.size > 1 and not a.any():
            init.CopyFrom(numpy_helper.from_array(
                (0.1 * rng.randn(*a.shape)).astype(np.float32), init.name))
            changed = True
    if changed:
        model = os.path.join(args.work, name + ".perturbed.onnx")
        onnx.save(proto, model)
    x = os.path.join(args.work, name + ".x.npy")
    ours = os.path.join(args.work, name + ".adagp.npy")
    theirs = os.path.join(args.work, name + ".torch.npy")
    run(sys.executable, ref, "gen-input", model, "--batch", str(args.batch),
        "--seed", "1", "-o", x)
    run("adagp-run", model, "--input", x, "-o", ours, "--no-dropout", *args.extra)
    run(sys.executable, ref, "forward", model, "--input", x, "-o", theirs)
    a, b = np.load(ours), np.load(theirs)
    scale = float(np.abs(b).max())
    err = float(np.abs(a - b).max()) / max(scale, 1e-30)
    status = "ok" if a.shape == b.shape and err <= args.tol and scale > 0 else "FAIL"
    print(f"{status} {name}: max error {err:.2e} of output scale {scale:.3g}")
    if status != "ok":
        failures.append(name)
if failures:
    sys.exit(f"{len(failures)} model(s) differ from PyTorch: {', '.join(failures)}")
print(f"{len(models)} models match PyTorch")
