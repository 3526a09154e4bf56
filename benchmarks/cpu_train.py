#!/usr/bin/python3
"""Training on the CPU: adagp-train against PyTorch, same machine, same run,
same thread count.

1. Accuracy: LeNet-5 on Fashion-MNIST, trained by `adagp-train` and by the
   PyTorch reference trainer (`scripts/reference/ref.py train`) with the same
   hyper-parameters (SGD, --lr 0.01 --momentum 0.9 --seed 1 --batch-size 64),
   the same normalisation and data order (scripts/reference/fashion_mnist.py)
   and the same initial weights (the ONNX model's initializers). Prints both
   final test accuracies and their difference.

2. Speed: milliseconds per training step (forward, backward, SGD update with
   momentum) at batch 64. adagp: the median step time of
   `adagp-train --inputs --steps N` (one batch, each step timed by the tool;
   compilation excluded). PyTorch: the median of the same step on the
   torchvision module that models/generate.py exports (oneDNN on, training
   mode, Dropout on as in adagp-train), timed before and after the adagp run;
   the better of the two medians counts, so a burst of load on a shared
   machine does not decide the ratio against PyTorch. Ratio = adagp / PyTorch
   (below 1 is faster).

    benchmarks/cpu_train.py                        # everything (about 25 min on 2 cores)
    benchmarks/cpu_train.py --quick                # 1 epoch of 12800 images, 5 timed steps
    benchmarks/cpu_train.py --no-accuracy --models lenet5 resnet20 --steps 10
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REF = os.path.join(ROOT, "scripts", "reference", "ref.py")
sys.path.insert(0, os.path.join(ROOT, "models"))
import generate  # noqa: E402

BATCH = 64
LR, MOMENTUM, SEED = 0.01, 0.9, 1


def run(cmd):
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)}\n{result.stdout}{result.stderr}")
    return result.stdout


def model_path(name):
    path = os.path.join(ROOT, "models", name + ".onnx")
    if not os.path.exists(path):
        subprocess.run([sys.executable, os.path.join(ROOT, "models", "generate.py"), name],
                       check=True)
    return path


def last_epoch(metrics):
    with open(metrics) as f:
        records = [json.loads(line) for line in f if line.strip()]
    return [r for r in records if "test_accuracy" in r][-1]


def accuracy(args, work):
    """Final test accuracy of adagp-train and of PyTorch on LeNet-5."""
    lenet = model_path("lenet5")
    common = ["--epochs", str(args.epochs), "--batch-size", str(BATCH), "--lr", str(LR),
              "--momentum", str(MOMENTUM), "--seed", str(SEED), "--threads", str(args.threads)]
    if args.train_images:
        common += ["--train-images", str(args.train_images)]
    ours, theirs = os.path.join(work, "adagp.jsonl"), os.path.join(work, "torch.jsonl")
    start = time.perf_counter()
    run([os.path.join(args.bin, "adagp-train"), lenet, "--dataset", "fashion-mnist", "--quiet",
         "--no-step-metrics", "--metrics", ours] + common)
    adagp_seconds = time.perf_counter() - start
    start = time.perf_counter()
    run([sys.executable, REF, "train", lenet, "--dataset", "fashion-mnist", "--metrics",
         theirs] + common)
    torch_seconds = time.perf_counter() - start
    a, t = last_epoch(ours), last_epoch(theirs)
    images = args.train_images or 60000
    print(f"LeNet-5, Fashion-MNIST, {args.epochs} epoch(s) of {images} images, batch {BATCH}, "
          f"lr {LR}, momentum {MOMENTUM}, seed {SEED}, {args.threads} thread(s)")
    print(f"  adagp-train  test accuracy {100 * a['test_accuracy']:6.2f}%  test loss "
          f"{a['test_loss']:.4f}  ({adagp_seconds:.0f} s in all)")
    print(f"  PyTorch      test accuracy {100 * t['test_accuracy']:6.2f}%  test loss "
          f"{t['test_loss']:.4f}  ({torch_seconds:.0f} s in all)")
    difference = 100 * (a["test_accuracy"] - t["test_accuracy"])
    print(f"  difference   {difference:+.2f} points (adagp - PyTorch)", flush=True)
    return dict(epochs=args.epochs, train_images=images,
                adagp_accuracy=a["test_accuracy"], torch_accuracy=t["test_accuracy"],
                adagp_test_loss=a["test_loss"], torch_test_loss=t["test_loss"],
                difference_points=difference)


def torch_step_ms(name, x, y, steps):
    """Median ms of one PyTorch training step (2 warm-up steps first)."""
    module = generate.build(name).train()
    optimizer = torch.optim.SGD(module.parameters(), lr=LR, momentum=MOMENTUM)
    samples = []
    for i in range(steps + 2):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = F.cross_entropy(module(x), y)
        loss.backward()
        optimizer.step()
        loss.item()
        if i >= 2:
            samples.append(time.perf_counter() - start)
    return 1e3 * float(np.median(samples))


def adagp_step_ms(args, path, x_path, y_path, work, name):
    """(median ms of one adagp-train step, compile seconds)."""
    metrics = os.path.join(work, name + ".jsonl")
    out = run([os.path.join(args.bin, "adagp-train"), path, "--inputs", x_path, "--labels",
               y_path, "--steps", str(args.steps + 1), "--lr", str(LR), "--momentum",
               str(MOMENTUM), "--threads", str(args.threads), "--no-step-metrics",
               "--metrics", metrics])
    with open(metrics) as f:
        seconds = [json.loads(line)["seconds"] for line in f if line.strip()]
    # With --inputs every step is an epoch of one batch: one record per
    # step; the first one warms up.
    compiled = re.search(r"compiled in ([0-9.]+) s", out)
    return 1e3 * float(np.median(seconds[1:])), float(compiled.group(1)) if compiled else None


def speed(args, work):
    print(f"training step, batch {BATCH}, SGD with momentum, {args.threads} thread(s), median of "
          f"{args.steps} steps")
    print(f"{'model':14s} {'PyTorch ms':>11s} {'adagp ms':>9s} {'ratio':>6s} {'compile s':>10s}",
          flush=True)
    rows = []
    for name in args.models:
        path = model_path(name)
        shape = (BATCH, 1, 28, 28) if name in ("lenet5", "mlp") else (BATCH, 3, 32, 32)
        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape, dtype=np.float32)
        y = rng.integers(0, 10, size=BATCH, dtype=np.int64)
        x_path, y_path = os.path.join(work, name + ".x.npy"), os.path.join(work, name + ".y.npy")
        np.save(x_path, x)
        np.save(y_path, y)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        t_torch = torch_step_ms(name, tx, ty, args.steps)
        t_adagp, compile_seconds = adagp_step_ms(args, path, x_path, y_path, work, name)
        t_torch = min(t_torch, torch_step_ms(name, tx, ty, args.steps))
        row = dict(model=name, torch_ms=t_torch, adagp_ms=t_adagp, ratio=t_adagp / t_torch,
                   compile_seconds=compile_seconds)
        rows.append(row)
        compiled = f"{compile_seconds:10.1f}" if compile_seconds is not None else f"{'?':>10s}"
        print(f"{name:14s} {t_torch:11.1f} {t_adagp:9.1f} {row['ratio']:6.2f} {compiled}",
              flush=True)
    slower = [r["model"] for r in rows if r["ratio"] > 1.0]
    print("adagp at least as fast as PyTorch on every model" if not slower
          else f"slower than PyTorch: {', '.join(slower)}")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count(),
                        help="threads of both (default: all cores)")
    parser.add_argument("--models", nargs="+",
                        default=["lenet5", "resnet20", "resnet18", "mobilenetv2"],
                        help="models of the speed comparison")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per model")
    parser.add_argument("--epochs", type=int, default=5, help="LeNet-5 epochs")
    parser.add_argument("--train-images", type=int,
                        help="train LeNet-5 on the first N images only")
    parser.add_argument("--no-accuracy", dest="accuracy", action="store_false",
                        help="skip the LeNet-5 accuracy comparison")
    parser.add_argument("--no-speed", dest="speed", action="store_false",
                        help="skip the step-time comparison")
    parser.add_argument("--quick", action="store_true",
                        help="1 epoch of 12800 images and 5 timed steps (unless given)")
    parser.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    if args.quick:
        given = set(sys.argv)
        if "--epochs" not in given:
            args.epochs = 1
        if "--train-images" not in given:
            args.train_images = 12800
        if "--steps" not in given:
            args.steps = 5
    torch.set_num_threads(args.threads)
    results = dict(threads=args.threads, batch=BATCH, torch=torch.__version__)
    with tempfile.TemporaryDirectory(prefix="adagp-train-bench-") as work:
        if args.accuracy:
            results["accuracy"] = accuracy(args, work)
        if args.speed:
            results["speed"] = speed(args, work)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
