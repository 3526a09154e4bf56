"""Checks adagp-train's parameter gradients against PyTorch's.

For every model: a seeded batch of inputs and labels, one training step with
`adagp-train --steps 1 --dump-gradients` (gradients of the mean softmax
cross-entropy in training mode, before the update, dropout off) and the float64
PyTorch reference (`scripts/reference/ref.py grads`), then the relative L2
error per parameter (`ref.py compare-dir`, tolerance `--tol`).

Initializers that are entirely zero (a ViT's head and class token) are seeded
first, as in forward_vs_pytorch.py, so every gradient carries information."""
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
parser.add_argument("--batch", type=int, default=16)
parser.add_argument("--tol", type=float, default=1e-3)
parser.add_argument("--extra", nargs="*", default=[], help="adagp-train flags")
parser.add_argument("--float32-reference", action="store_true",
                    help="relax the tolerance to twice PyTorch's own float32 "
                         "error where that exceeds --tol")
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


def worst_error(report):
    """The worst relative error of a compare-dir report."""
    last = report.strip().splitlines()[-1]
    return float(last.split("worst relative error ")[1].split()[0])


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
    y = os.path.join(args.work, name + ".y.npy")
    ours = os.path.join(args.work, name + ".adagp")
    theirs = os.path.join(args.work, name + ".torch")
    run(sys.executable, ref, "gen-input", model, "--batch", str(args.batch),
        "--seed", "1", "-o", x, "--labels", y)
    run("adagp-train", model, "--inputs", x, "--labels", y, "--steps", "1",
        "--batch-size", str(args.batch), "--no-dropout", "--quiet",
        "--dump-gradients", ours, *args.extra)
    run(sys.executable, ref, "grads", model, "--inputs", x, "--labels", y,
        "-o", theirs)
    # How well float32 can do on this batch: PyTorch's own float32
    # gradients against the float64 ones. Where float32 is ill-conditioned
    # (max-pool windows whose maximum changes with rounding), the tolerance
    # is twice PyTorch's float32 error instead of --tol.
    tol = args.tol
    if args.float32_reference:
        torch32 = os.path.join(args.work, name + ".torch32")
        run(sys.executable, ref, "grads", model, "--inputs", x, "--labels", y,
            "-o", torch32, "--dtype", "float32")
        worst = worst_error(run(sys.executable, ref, "compare-dir", torch32,
                                theirs, "--tol", "1e30"))
        tol = max(args.tol, 2 * worst)
    result = subprocess.run([sys.executable, ref, "compare-dir", ours, theirs,
                             "--tol", str(tol)], capture_output=True, text=True)
    last = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    print(f"{'ok' if result.returncode == 0 else 'FAIL'} {name}: {last}",
          flush=True)
    if result.returncode != 0:
        print(result.stdout + result.stderr)
        failures.append(name)
if failures:
    sys.exit(f"{len(failures)} model(s) differ from PyTorch: {', '.join(failures)}")
print(f"{len(models)} models' gradients match PyTorch")
