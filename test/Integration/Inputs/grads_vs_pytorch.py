"""Checks adagp-train's parameter gradients against PyTorch's.

For every model: a seeded batch of inputs and labels, one training step with
`adagp-train --steps 1 --dump-gradients` (gradients of the mean softmax
cross-entropy in training mode, before the update, dropout off) and the float64
PyTorch reference (`scripts/reference/ref.py grads`), then the relative L2
error per parameter (as `ref.py compare-dir`), tolerance `--tol`. With
`--float32-reference` a parameter's tolerance is twice PyTorch's own float32
error on it where that exceeds `--tol` (ill-conditioned gradients, such as
those of a convolution followed by BatchNorm in MobileNetV2 or GoogLeNet).
With `--kink-margin M`, ReLU/ReLU6 inputs within M (relative) of a kink,
where float32 rounding decides the branch, have their gradient masks flipped
(and max-pool inputs get noise of that size, so that near-ties may change
their winner) in two more float64 references, and a parameter's tolerance
is at least twice the change that makes. `--report FILE` writes the per-model figures as JSON;
`--reuse` compares the gradients already in `--work` again.

Initializers that are entirely zero (a ViT's head and class token) are seeded
first, as in forward_vs_pytorch.py, so every gradient carries information."""
import argparse
import glob
import json
import os
import subprocess
import sys
import time

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
                         "error where that exceeds --tol, per parameter")
parser.add_argument("--floor", type=float, default=1e-3,
                    help="denominator floor, as a fraction of the largest "
                         "reference gradient norm of the model (as ref.py "
                         "compare-dir)")
parser.add_argument("--kink-margin", type=float, default=0.0,
                    help="where a Relu or Clip input lies within this "
                         "fraction of its tensor's largest magnitude of a "
                         "kink, float32 rounding can put it on either side: "
                         "recompute the float64 reference with all those "
                         "elements' gradient masks flipped (and MaxPool "
                         "inputs moved by noise of that size, two draws) and "
                         "make each parameter's tolerance at least twice the "
                         "change (0: off)")
parser.add_argument("--kink-float32-factor", type=float, default=0.0,
                    help="with --kink-margin: a Relu/Clip's margin is at "
                         "least this many times the float32 rounding error "
                         "PyTorch's float32 forward pass shows at its input "
                         "(relative to the input's largest magnitude), so "
                         "deep layers, which float32 has moved further, get "
                         "wider margins (0: the fixed margin only)")
parser.add_argument("--report", help="write the per-model figures as JSON")
parser.add_argument("--reuse", action="store_true",
                    help="keep the gradients already in --work (compare "
                         "again, e.g. with other tolerances)")
args = parser.parse_args()

root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
ref = os.path.join(root, "scripts", "reference", "ref.py")
os.makedirs(args.work, exist_ok=True)

models = []
for m in args.models:
    models += sorted(glob.glob(os.path.join(m, "*.onnx"))) if os.path.isdir(m) else [m]


class CommandFailed(Exception):
    pass


def run(*cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise CommandFailed(f"{' '.join(cmd)}\n{result.stdout}{result.stderr}")
    return result.stdout


def float32_forward_errors(model, x):
    """Per Relu/Clip node (by index): the largest difference between its
    input in a float32 and a float64 training-mode forward pass, relative
    to the input's largest magnitude. This is how far float32 rounding has
    moved that tensor by the time it reaches the kink, which grows with
    depth (about 1e-7 after a few layers, 1e-5 and more after thirty)."""
    sys.path.insert(0, os.path.dirname(ref))
    import torch
    import onnx_torch
    torch.backends.mkldnn.enabled = False
    original = {op: onnx_torch._OPS[op] for op in ("Relu", "Clip")}
    seen = {}

    def record(op):
        def run_op(module, node, value, *rest):
            seen.setdefault(node.index, []).append(value.detach().double())
            return original[op](module, node, value, *rest)
        return run_op

    try:
        onnx_torch._OPS.update(Relu=record("Relu"), Clip=record("Clip"))
        inputs = torch.from_numpy(np.load(x))
        with torch.no_grad():
            for dtype in (torch.float32, torch.float64):
                module = onnx_torch.OnnxModule(model, dropout=False).to(dtype).train()
                module(inputs.to(dtype))
    finally:
        onnx_torch._OPS.update(original)
    return {i: float((v[0] - v[1]).abs().max() / max(float(v[1].abs().max()), 1e-30))
            for i, v in seen.items() if len(v) == 2}


def flipped_kink_gradients(model, x, y, margin, draw, observed=None,
                           factor=0.0):
    """Float64 gradients with the mask of every Relu/Clip element within
    `margin` (relative to its tensor's largest magnitude) of a kink flipped,
    and every MaxPool input moved by uniform noise of that size (seeded by
    `draw`), so that near-ties in a window may change their winner; and how
    many Relu/Clip masks were flipped."""
    sys.path.insert(0, os.path.dirname(ref))
    import torch
    import torch.nn.functional as F
    import onnx_torch
    torch.backends.mkldnn.enabled = False  # as ref.py grads
    original = {op: onnx_torch._OPS[op] for op in ("Relu", "Clip", "MaxPool")}
    flipped = [0]
    generator = torch.Generator().manual_seed(draw)

    def max_pool(module, node, value):
        scale = float(value.detach().abs().max())
        noise = torch.rand(value.shape, generator=generator, dtype=value.dtype)
        return original["MaxPool"](module, node,
                                   value + (2 * noise - 1) * margin * scale)

    def wrap(op):
        def run_op(module, node, value, *rest):
            out = original[op](module, node, value, *rest)
            v = value.detach()
            if op == "Relu":
                low, high = 0.0, None
            elif module.opset < 11:
                low, high = node.attr("min"), node.attr("max")
            else:
                low = None if len(rest) < 1 or rest[0] is None else rest[0].item()
                high = None if len(rest) < 2 or rest[1] is None else rest[1].item()
            scale = float(v.abs().max())
            node_margin = max(margin, factor * (observed or {}).get(node.index, 0.0))
            near = torch.zeros_like(v, dtype=torch.bool)
            inside = torch.ones_like(v, dtype=torch.bool)
            for kink, side in ((low, v > low if low is not None else None),
                               (high, v < high if high is not None else None)):
                if kink is not None:
                    near |= (v - kink).abs() <= node_margin * scale
                    inside &= side
            flipped[0] += int(near.sum())
            passing = value - v + out.detach()  # same value, gradient 1
            return torch.where(near, torch.where(inside, out.detach(), passing), out)
        return run_op

    try:
        onnx_torch._OPS.update(Relu=wrap("Relu"), Clip=wrap("Clip"),
                               MaxPool=max_pool)
        module = onnx_torch.OnnxModule(model, dropout=False).to(torch.float64).train()
        inputs = torch.from_numpy(np.load(x)).to(torch.float64)
        labels = torch.from_numpy(np.load(y)).long()
        F.cross_entropy(module(inputs), labels).backward()
    finally:
        onnx_torch._OPS.update(original)
    return ({n: p.grad.numpy() for n, p in module.onnx_parameters().items()},
            flipped[0])


def load_dir(directory):
    return {f[:-4]: np.load(os.path.join(directory, f))
            for f in sorted(os.listdir(directory)) if f.endswith(".npy")}


def errors(ours, reference, floor):
    """Relative L2 error per array of `ours` against `reference` (as ref.py
    compare-dir: denominators floored at `floor` x the largest reference
    norm, since gradients that are zero in exact arithmetic come out as
    rounding noise)."""
    largest = max(float(np.linalg.norm(b.astype(np.float64)))
                  for b in reference.values())
    out = {}
    for name, b in reference.items():
        a = ours[name].astype(np.float64)
        b = b.astype(np.float64)
        denominator = max(float(np.linalg.norm(b)), floor * largest)
        out[name] = float(np.linalg.norm(a - b)) / denominator
    return out


failures, report = [], []


def check(model):
    name = os.path.splitext(os.path.basename(model))[0]
    start = time.perf_counter()
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
    reuse = args.reuse and os.path.isdir(ours) and os.path.isdir(theirs)
    if not reuse:
        run(sys.executable, ref, "gen-input", model, "--batch", str(args.batch),
            "--seed", "1", "-o", x, "--labels", y)
        run("adagp-train", model, "--inputs", x, "--labels", y, "--steps", "1",
            "--batch-size", str(args.batch), "--no-dropout", "--quiet",
            "--dump-gradients", ours, *args.extra)
        run(sys.executable, ref, "grads", model, "--inputs", x, "--labels", y,
            "-o", theirs)
    ours_arrays, reference = load_dir(ours), load_dir(theirs)
    problems = [f"missing from adagp: {n}" for n in reference
                if n not in ours_arrays]
    problems += [f"not a parameter of the reference: {n}" for n in ours_arrays
                 if n not in reference]
    problems += [f"{n}: shape {ours_arrays[n].shape} vs {reference[n].shape}"
                 for n in reference
                 if n in ours_arrays and ours_arrays[n].shape != reference[n].shape]
    if problems:
        print(f"FAIL {name}:\n  " + "\n  ".join(problems), flush=True)
        failures.append(name)
        report.append(dict(model=name, batch=args.batch, error="; ".join(problems)))
        return
    error = errors(ours_arrays, reference, args.floor)
    # How well float32 can do on this batch: PyTorch's own float32
    # gradients against the float64 ones. Where float32 is ill-conditioned
    # (a convolution followed by BatchNorm, whose weight gradient is a sum
    # that cancels almost entirely; max-pool windows whose maximum changes
    # with rounding), a parameter's tolerance is twice PyTorch's float32
    # error on it instead of --tol.
    tol = {n: args.tol for n in reference}
    torch32_error = {}
    if args.float32_reference:
        torch32 = os.path.join(args.work, name + ".torch32")
        if not (reuse and os.path.isdir(torch32)):
            run(sys.executable, ref, "grads", model, "--inputs", x, "--labels",
                y, "-o", torch32, "--dtype", "float32")
        torch32_error = errors(load_dir(torch32), reference, args.floor)
        tol = {n: max(args.tol, 2 * torch32_error[n]) for n in reference}
    # Where a ReLU's input is within rounding of its kink, float32 can take
    # either branch, and one element's branch moves every gradient before it
    # (MobileNetV2 at batch 8: 1e-2 for an input 6e-7 from 0).
    # Likewise a max-pool window whose two largest inputs are within rounding
    # (GoogLeNet): two draws of noise of the margin's size on the inputs.
    kink_error, kinks = {}, 0
    if args.kink_margin > 0:
        observed = (float32_forward_errors(model, x)
                    if args.kink_float32_factor > 0 else {})
        for draw in range(2):
            flipped, kinks = flipped_kink_gradients(
                model, x, y, args.kink_margin, draw, observed,
                args.kink_float32_factor)
            change = errors({n: flipped[n] for n in reference}, reference,
                            args.floor)
            kink_error = {n: max(change[n], kink_error.get(n, 0.0))
                          for n in reference}
        tol = {n: max(tol[n], 2 * kink_error[n]) for n in reference}
    bad = sorted((n for n in reference if error[n] > tol[n]),
                 key=lambda n: -error[n] / tol[n])
    worst = max(error, key=error.get)
    relaxed = [n for n in reference if tol[n] > args.tol]
    line = (f"{len(reference)} parameters, worst relative error "
            f"{error[worst]:.2e} ({worst})")
    if args.float32_reference:
        worst32 = max(torch32_error, key=torch32_error.get)
        line += (f"; PyTorch float32 worst {torch32_error[worst32]:.2e}"
                 f" ({worst32})")
    if args.kink_margin > 0:
        worst_kink = max(kink_error, key=kink_error.get)
        line += (f"; {kinks} ReLU input(s) near a kink, flipping them (and"
                 f" max-pool near-ties) moves up to {kink_error[worst_kink]:.2e}"
                 f" ({worst_kink})")
    if args.float32_reference or args.kink_margin > 0:
        line += f"; {len(relaxed)} tolerance(s) relaxed"
    seconds = time.perf_counter() - start
    print(f"{'FAIL' if bad else 'ok'} {name}: {line} [{seconds:.0f} s]",
          flush=True)
    for n in bad:
        print(f"  {n}: relative error {error[n]:.3e} > tolerance {tol[n]:.3e}")
    if bad:
        failures.append(name)
    report.append(dict(
        model=name, batch=args.batch, parameters=len(reference),
        worst_error=error[worst], worst_parameter=worst,
        errors_above_tol=sum(e > args.tol for e in error.values()),
        torch32_worst_error=max(torch32_error.values()) if torch32_error else None,
        kink_inputs=kinks,
        kink_worst_error=max(kink_error.values()) if kink_error else None,
        relaxed=len(relaxed), failed=[n for n in bad], seconds=seconds))


for model in models:
    try:
        check(model)
    except CommandFailed as e:
        name = os.path.splitext(os.path.basename(model))[0]
        print(f"FAIL {name}: command failed: {e}", flush=True)
        failures.append(name)
        report.append(dict(model=name, batch=args.batch, error=str(e)[:2000]))
    if args.report:
        with open(args.report, "w") as f:
            json.dump(report, f, indent=1)
if failures:
    sys.exit(f"{len(failures)} model(s) differ from PyTorch: {', '.join(failures)}")
print(f"{len(models)} models' gradients match PyTorch")
