#!/usr/bin/env python3
"""BP against ADA-GP on the CPU: accuracy, wall-clock training time, GP
fraction and step times, measured in the same run.

  python3 benchmarks/adagp_train.py                       # LeNet-5, 5 epochs
  python3 benchmarks/adagp_train.py --models lenet5,resnet20 --epochs 3 \
      --train-images 12800 --out-dir bench-out -- --policy adaptive

For each model it runs `adagp-train --mode bp` and `--mode adagp` with the
same seed, epochs and data (arguments after `--` go to the ADA-GP run only),
then a short `--mode gp` run to time a GP step alone. It prints one table
row per model:
  - final test accuracy of both runs and their difference (points),
  - training time (sum of the epochs' `seconds`; compilation excluded and
    printed separately) and the speedup BP time / ADA-GP time,
  - the fraction of GP steps in the ADA-GP run,
  - ms per step: a BP step (BP run), a GP step (GP run), and a BP step of the
    ADA-GP run (which also trains the predictor, or with --predictor-every N
    one in N does; derived from its time minus its GP steps at the GP run's
    rate).
Metrics files and logs stay in --out-dir, so benchmarks/plot_training.py can
draw them. Nothing here is a pass/fail test: the figures are what the machine
produced. Run it on an otherwise idle machine.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(cmd, log):
    t0 = time.time()
    with open(log, "w") as f:
        p = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT)
    wall = time.time() - t0
    if p.returncode != 0:
        with open(log) as f:
            tail = f.read()[-2000:]
        sys.exit(f"adagp_train: {' '.join(cmd)} failed ({p.returncode}):\n{tail}")
    with open(log) as f:
        text = f.read()
    m = re.search(r"compiled in ([0-9.]+) s", text)
    return wall, float(m.group(1)) if m else float("nan")


def epochs_of(path):
    with open(path) as f:
        return [r for r in map(json.loads, filter(str.strip, f))
                if "test_accuracy" in r]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="lenet5")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", default="0.01")
    ap.add_argument("--momentum", default="0.9")
    ap.add_argument("--lr-schedule", default="cosine",
                    help="constant, step or cosine (both runs; cosine makes "
                    "the last epoch's accuracy a settled figure rather than "
                    "one noisy snapshot)")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--threads", default=str(os.cpu_count() or 1))
    ap.add_argument("--train-images", type=int, default=0,
                    help="use only the first N training images (0: all)")
    ap.add_argument("--test-images", type=int, default=0)
    ap.add_argument("--gp-steps", type=int, default=50,
                    help="steps of the GP-only timing run")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--out-dir", default="adagp-bench")
    ap.add_argument("adagp_args", nargs="*",
                    help="after --: extra adagp-train flags for the ADA-GP run")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    train = os.path.join(args.bin, "adagp-train")

    rows = []
    for model in args.models.split(","):
        path = model if model.endswith(".onnx") else os.path.join(
            ROOT, "models", model + ".onnx")
        name = os.path.splitext(os.path.basename(path))[0]
        common = [train, path, "--dataset", "fashion-mnist", "--epochs",
                  str(args.epochs), "--batch-size", str(args.batch_size),
                  "--lr", args.lr, "--momentum", args.momentum,
                  "--lr-schedule", args.lr_schedule, "--seed",
                  args.seed, "--threads", args.threads]
        if args.train_images:
            common += ["--train-images", str(args.train_images)]
        if args.test_images:
            common += ["--test-images", str(args.test_images)]
        out = lambda s: os.path.join(args.out_dir, f"{name}-{s}")
        print(f"== {name}: BP", file=sys.stderr)
        _, bp_compile = run(common + ["--mode", "bp", "--metrics",
                                      out("bp.jsonl")], out("bp.log"))
        print(f"== {name}: ADA-GP {' '.join(args.adagp_args)}",
              file=sys.stderr)
        _, ag_compile = run(common + ["--mode", "adagp", "--metrics",
                                      out("adagp.jsonl")] + args.adagp_args,
                            out("adagp.log"))
        print(f"== {name}: GP steps alone", file=sys.stderr)
        # One whole epoch of exactly --gp-steps batches, so that its record
        # has the time.
        gp_cmd = [a for a in common]
        gp_cmd[gp_cmd.index("--epochs") + 1] = "1"
        if "--train-images" in gp_cmd:
            i = gp_cmd.index("--train-images")
            del gp_cmd[i:i + 2]
        gp_cmd += ["--train-images", str(args.gp_steps * args.batch_size)]
        run(gp_cmd + ["--mode", "gp", "--metrics", out("gp.jsonl")] +
            args.adagp_args, out("gp.log"))
        bp, ag, gp = (epochs_of(out(s + ".jsonl")) for s in ("bp", "adagp", "gp"))
        bp_time = sum(e["seconds"] for e in bp)
        ag_time = sum(e["seconds"] for e in ag)
        bp_steps = sum(e.get("bp_steps", 0) for e in bp) or bp[-1]["steps"]
        ag_bp = sum(e.get("bp_steps", 0) for e in ag)
        ag_gp = sum(e.get("gp_steps", 0) for e in ag)
        gp_ms = 1000 * sum(e["seconds"] for e in gp) / max(
            1, sum(e.get("gp_steps", 0) for e in gp))
        bp_ms = 1000 * bp_time / bp_steps
        ag_bp_ms = (1000 * ag_time - ag_gp * gp_ms) / max(1, ag_bp)
        rows.append(dict(
            model=name, epochs=len(bp),
            bp_acc=100 * bp[-1]["test_accuracy"],
            ag_acc=100 * ag[-1]["test_accuracy"],
            bp_time=bp_time, ag_time=ag_time, speedup=bp_time / ag_time,
            gp_fraction=ag_gp / max(1, ag_bp + ag_gp),
            bp_ms=bp_ms, gp_ms=gp_ms, ag_bp_ms=ag_bp_ms,
            bp_compile=bp_compile, ag_compile=ag_compile))

    head = ("model", "epochs", "BP acc", "ADA-GP acc", "diff", "BP s",
            "ADA-GP s", "speedup", "GP frac", "BP ms", "GP ms", "GP/BP",
            "AG-BP ms", "compile s (BP/AG)")
    print(" | ".join(head))
    for r in rows:
        print(" | ".join([
            r["model"], str(r["epochs"]), f"{r['bp_acc']:.2f}%",
            f"{r['ag_acc']:.2f}%", f"{r['ag_acc'] - r['bp_acc']:+.2f}",
            f"{r['bp_time']:.1f}", f"{r['ag_time']:.1f}",
            f"{r['speedup']:.2f}x", f"{100 * r['gp_fraction']:.0f}%",
            f"{r['bp_ms']:.1f}", f"{r['gp_ms']:.1f}",
            f"{r['gp_ms'] / r['bp_ms']:.2f}", f"{r['ag_bp_ms']:.1f}",
            f"{r['bp_compile']:.0f}/{r['ag_compile']:.0f}"]))
    with open(os.path.join(args.out_dir, "summary.json"), "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
