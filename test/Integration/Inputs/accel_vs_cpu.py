#!/usr/bin/env python3
"""One training step on the simulated accelerator against the CPU backend.

For each model: random inputs and labels of the model's shape (seeded), then
  adagp-compile MODEL --target=accel --mode=M --batch-size N  -> m.agp
  adagp-sim m.agp --inputs x.npy --labels y.npy --steps 1 --dump-parameters sim/
  adagp-train MODEL --inputs x.npy --labels y.npy --steps 1 --mode=M --dump-parameters cpu/
(--mode gp: both start from the CPU's checkpoint after one step, with a
nonzero predictor scale and baseline, so that predicted layers move;
--mode adagp: the first, BP step, which also trains the predictor, whose
state is compared as well; --mode adagp --predictor-every N, N > 1: two
steps, the first training the predictor, the second a plain BP step,
@bp_plain_step on both sides.)
and every parameter and running statistic is compared: relative L2 error
||sim - cpu|| / ||cpu||, and the same error relative to the size of the
step's update ||cpu - initial|| (a stricter figure: it shows whether the
step itself agrees, not just the weights it barely moved).

  accel_vs_cpu.py --bin build/bin --models models/lenet5.onnx models/mlp.onnx
Prints one line per model; exits 1 if any model's worst relative error is
above --tolerance (or a tool fails).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import numpy_helper


def model_io(path):
    graph = onnx.load(path).graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    inp = [i for i in graph.input if i.name not in inits][0]
    shape = [d.dim_value for d in inp.type.tensor_type.shape.dim][1:]
    classes = graph.output[0].type.tensor_type.shape.dim[-1].dim_value
    return inits, shape, classes


def run(cmd, log):
    start = time.time()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    log.append((" ".join(cmd), proc.stdout, time.time() - start))
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}")
    return time.time() - start


def check(model, args, work):
    inits, shape, classes = model_io(model)
    rng = np.random.default_rng(args.seed)
    np.save(os.path.join(work, "x.npy"),
            rng.standard_normal([args.batch] + shape).astype(np.float32))
    np.save(os.path.join(work, "y.npy"),
            rng.integers(0, classes, args.batch).astype(np.int64))
    b = args.bin
    log = []
    x, y = os.path.join(work, "x.npy"), os.path.join(work, "y.npy")
    agp = os.path.join(work, "m.agp")
    train = f"momentum={args.momentum} dropout=false"
    if args.optimizer != "sgd":
        train += f" optimizer={args.optimizer}"
    times = {}
    compile_cmd = [f"{b}/adagp-compile", model, "--target=accel",
                   f"--mode={args.mode}", f"--batch-size={args.batch}",
                   f"--train={train}", "-o", agp]
    if args.config:
        compile_cmd.append(f"--accel-config={args.config}")
    if args.mode != "bp":
        # adagp-train seeds the predictor with its --seed (default 1).
        compile_cmd.append("--predictor-options=seed=1")
    plain = args.mode == "adagp" and args.predictor_every > 1
    if plain:
        compile_cmd.append(
            f"--schedule-options=predictor-every={args.predictor_every}")
    times["compile"] = run(compile_cmd, log)
    sim_cmd = [f"{b}/adagp-sim", agp, "--inputs", x, "--labels", y,
               "--steps", "1", "--dump-parameters", os.path.join(work, "sim"),
               "--report", os.path.join(work, "report.json"), "--quiet"]
    if args.config:
        sim_cmd += ["--config", args.config]
    cpu_cmd = [f"{b}/adagp-train", model, "--inputs", x, "--labels", y,
               f"--mode={args.mode}", f"--momentum={args.momentum}",
               f"--optimizer={args.optimizer}", "--no-dropout", "--quiet", f"--threads={args.threads}"]
    if args.mode == "gp":
        # A fresh predictor has a zero gradient scale, so a first GP step
        # would leave every predicted layer alone. Both sides start from the
        # state after one CPU step with a scale and a baseline set: the CPU
        # resumes its checkpoint, the simulator loads its globals.
        ck = os.path.join(work, "ck")
        run(cpu_cmd + ["--steps", "1", "--checkpoint", ck], log)
        g = os.path.join(ck, "globals")
        scale = np.load(os.path.join(g, "adagp.scale.npy"))
        np.save(os.path.join(g, "adagp.scale.npy"),
                (0.01 + 0.01 * np.arange(scale.size)).astype(np.float32))
        # The running means: one global per group of layers with the same
        # filter size (adagp.predictor.baseline.fs<size>), and one for the
        # predicted biases (.bias) if any.
        bases = sorted(f for f in os.listdir(g)
                       if f.startswith("adagp.predictor.baseline."))
        if not bases:
            raise RuntimeError("the checkpoint has no predictor baseline")
        for f in bases:
            base = np.load(os.path.join(g, f))
            np.save(os.path.join(g, f),
                    (0.1 * rng.standard_normal(base.shape)).astype(np.float32))
        sim_cmd += ["--load-parameters", g]
        times["sim"] = run(sim_cmd, log)
        times["cpu"] = run(cpu_cmd + ["--steps", "2", "--checkpoint", ck,
                                      "--resume", "--dump-parameters",
                                      os.path.join(work, "cpu")], log)
    elif plain:
        # Two BP steps: number 0 trains the predictor, number 1 (of N > 1)
        # is a plain one. The simulator's fixed policy takes N from the
        # program; the CPU's metrics say which step was which.
        metrics = os.path.join(work, "cpu.jsonl")
        times["sim"] = run(sim_cmd[:sim_cmd.index("--steps")] +
                           ["--steps", "2", "--warmup-steps", "2"] +
                           sim_cmd[sim_cmd.index("--steps") + 2:], log)
        ck = os.path.join(work, "ck")
        times["cpu"] = run(cpu_cmd + [
            "--steps", "2", f"--predictor-every={args.predictor_every}",
            # Both steps in the warm-up (each --inputs step is an epoch).
            "--warmup-epochs", "2",
            "--metrics", metrics, "--checkpoint", ck, "--dump-parameters",
            os.path.join(work, "cpu")], log)
        with open(metrics) as f:
            steps = [r for r in map(json.loads, filter(str.strip, f))
                     if "step" in r and "mode" in r]
        kinds = [(r["mode"], "quality" in r) for r in steps]
        if kinds != [("bp", True), ("bp", False)]:
            raise RuntimeError(f"the CPU's two steps were {kinds}, not a BP "
                               "step with the predictor and a plain one")
        with open(os.path.join(work, "report.json")) as f:
            report = json.load(f)
        if (report.get("bp_steps"), report.get("bp_plain_steps")) != (1, 1):
            raise RuntimeError("the simulator did not run one BP step of "
                               "each kind")
        g = os.path.join(ck, "globals")
        for f in os.listdir(os.path.join(work, "sim")):
            if f.startswith("adagp.") and os.path.exists(os.path.join(g, f)):
                shutil.copy(os.path.join(g, f), os.path.join(work, "cpu", f))
    elif args.mode == "adagp":
        # The first step of ADA-GP is a BP step that also trains the
        # predictor: compare the predictor's state too (the CPU's checkpoint
        # globals) with what the simulator dumps.
        ck = os.path.join(work, "ck")
        times["sim"] = run(sim_cmd, log)
        times["cpu"] = run(cpu_cmd + ["--steps", "1", "--checkpoint", ck,
                                      "--dump-parameters",
                                      os.path.join(work, "cpu")], log)
        g = os.path.join(ck, "globals")
        for f in os.listdir(os.path.join(work, "sim")):
            if f.startswith("adagp.") and os.path.exists(os.path.join(g, f)):
                shutil.copy(os.path.join(g, f), os.path.join(work, "cpu", f))
    else:
        times["sim"] = run(sim_cmd, log)
        times["cpu"] = run(cpu_cmd + ["--steps", "1", "--dump-parameters",
                                      os.path.join(work, "cpu")], log)
    worst, worst_update, worst_name = 0.0, 0.0, ""
    names = sorted(os.listdir(os.path.join(work, "cpu")))
    missing = sorted(set(names) - set(os.listdir(os.path.join(work, "sim"))))
    if missing:
        raise RuntimeError(f"the simulator dumped no {', '.join(missing)}")
    for f in names:
        ref = np.load(os.path.join(work, "cpu", f)).astype(np.float64)
        got = np.load(os.path.join(work, "sim", f)).astype(np.float64)
        if ref.shape != got.shape:
            raise RuntimeError(f"{f}: shape {got.shape} vs {ref.shape}")
        err = np.linalg.norm(got - ref)
        # Tensors that are zero up to rounding (the bias of a convolution
        # followed by BatchNorm starts at zero and its exact gradient is
        # zero) are compared against an RMS floor of 1e-6.
        rel = err / max(np.linalg.norm(ref), 1e-6 * np.sqrt(ref.size))
        name = f[:-4]
        if name in inits:
            upd = np.linalg.norm(ref - inits[name].astype(np.float64))
            if upd > 0:
                worst_update = max(worst_update, err / upd)
        if rel >= worst:
            worst, worst_name = rel, name
    if args.reference and args.mode == "bp":
        # PyTorch's float64 gradients: after one SGD step from zero velocity
        # every trained parameter is p - lr * g, whatever the momentum.
        ref_dir = os.path.join(work, "pytorch")
        run([sys.executable, args.reference, "grads", model, "--inputs", x,
             "--labels", y, "-o", ref_dir], log)
        times["ref_sim"] = times["ref_cpu"] = 0.0
        for f in sorted(os.listdir(ref_dir)):
            name = f[:-4]
            g = np.load(os.path.join(ref_dir, f)).astype(np.float64)
            update = args.lr * g
            expected = inits[name].astype(np.float64) - update
            scale = max(np.linalg.norm(update), 1e-30)
            for side in ("sim", "cpu"):
                got = np.load(os.path.join(work, side, f)).astype(np.float64)
                times["ref_" + side] = max(
                    times["ref_" + side],
                    np.linalg.norm(got - expected) / scale)
    return worst, worst_name, worst_update, len(names), times


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--bin", required=True, help="directory of the tools")
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--mode", default="bp", choices=["bp", "gp", "adagp"])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--optimizer", default="sgd",
                   choices=["sgd", "adam", "adamw"],
                   help="the model's optimizer on both sides")
    p.add_argument("--config", default="")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--tolerance", type=float, default=1e-4)
    p.add_argument("--keep", help="keep the work files in this directory")
    p.add_argument("--reference", metavar="REF_PY",
                   help="scripts/reference/ref.py: with --mode bp, also "
                        "compare both sides' updates with PyTorch's float64 "
                        "gradients (worst error relative to the update)")
    p.add_argument("--predictor-every", type=int, default=1, metavar="N",
                   help="with --mode adagp and N > 1: compare two steps, "
                        "the second a plain BP step")
    p.add_argument("--lr", type=float, default=0.01,
                   help="the learning rate both tools use (their default)")
    args = p.parse_args()
    if args.predictor_every < 1:
        p.error("--predictor-every must be at least 1")
    if args.predictor_every > 1 and args.mode != "adagp":
        p.error("--predictor-every needs --mode adagp")
    failed = False
    print(f"{'model':24s} {'params':>6s} {'worst rel L2':>12s} "
          f"{'(of update)':>11s}  worst tensor  [compile/sim/cpu s]")
    for model in args.models:
        name = os.path.basename(model)[:-5]
        with tempfile.TemporaryDirectory() as tmp:
            work = os.path.join(args.keep, name) if args.keep else tmp
            os.makedirs(work, exist_ok=True)
            try:
                worst, tensor, upd, n, t = check(model, args, work)
            except RuntimeError as e:
                print(f"{name:24s} FAILED: {e}")
                failed = True
                continue
        ok = worst <= args.tolerance
        failed |= not ok
        ref = ""
        if "ref_sim" in t:
            ref = (f"  vs PyTorch (of update): sim {t['ref_sim']:.2e}, "
                   f"cpu {t['ref_cpu']:.2e}")
        print(f"{name:24s} {n:6d} {worst:12.2e} {upd:11.2e}  {tensor}  "
              f"[{t['compile']:.1f}/{t['sim']:.1f}/{t['cpu']:.1f}]"
              f"{'' if ok else '  ABOVE TOLERANCE'}{ref}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
