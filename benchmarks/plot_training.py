#!/usr/bin/env python3
"""Plots adagp-train metrics files: BP and ADA-GP on one figure.

  python3 benchmarks/plot_training.py bp.jsonl adagp.jsonl -o curves.svg

Three panels:
  1. training loss per step (a moving average), with the GP steps of every
     ADA-GP run shaded in that run's colour;
  2. test accuracy after each epoch against wall-clock training time, so a
     faster run reaches the same accuracy further left;
  3. the predictor's quality (cosine similarity of predicted and true
     gradients, measured in BP steps) over the steps.
Runs are labelled by file name unless --labels is given. The output format
follows the extension (.svg, .png, .pdf); it is written atomically.
"""
import argparse
import json
import os
import sys
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    steps, epochs = [], []
    try:
        with open(path) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"plot_training: {path}:{n}: not JSON: {e}")
                if "test_accuracy" in r:
                    epochs.append(r)
                elif "step" in r and "loss" in r:
                    steps.append(r)
    except OSError as e:
        sys.exit(f"plot_training: {path}: {e.strerror}")
    if not epochs:
        sys.exit(f"plot_training: {path}: no epoch records (was it written "
                 "by adagp-train --metrics?)")
    return steps, epochs


def moving_average(values, window):
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= window:
            acc -= values[i - window]
        out.append(acc / min(i + 1, window))
    return out


def gp_spans(steps):
    """Maximal runs of consecutive GP steps as (first, last) step numbers."""
    spans, start, prev = [], None, None
    for r in steps:
        if r.get("mode") == "gp":
            if start is None:
                start = r["step"]
            prev = r["step"]
        elif start is not None:
            spans.append((start, prev))
            start = None
    if start is not None:
        spans.append((start, prev))
    return spans


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("metrics", nargs="+", help="adagp-train --metrics files")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--labels", help="comma-separated run labels")
    ap.add_argument("--window", type=int, default=50,
                    help="steps in the loss moving average (default 50)")
    args = ap.parse_args()
    labels = (args.labels.split(",") if args.labels else
              [os.path.splitext(os.path.basename(p))[0] for p in args.metrics])
    if len(labels) != len(args.metrics):
        sys.exit("plot_training: --labels needs one label per file")

    fig, (ax_loss, ax_acc, ax_q) = plt.subplots(3, 1, figsize=(9, 11))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    any_quality = False
    for i, (path, label) in enumerate(zip(args.metrics, labels)):
        steps, epochs = load(path)
        c = colours[i % len(colours)]
        if steps:
            xs = [r["step"] for r in steps]
            ax_loss.plot(xs, moving_average([r["loss"] for r in steps],
                                            args.window),
                         color=c, label=label, linewidth=1.2)
            spans = gp_spans(steps)
            for k, (a, b) in enumerate(spans):
                ax_loss.axvspan(a - 0.5, b + 0.5, color=c, alpha=0.12,
                                linewidth=0,
                                label=f"{label}: GP steps" if k == 0 else None)
            q = [(r["step"], r["quality"]) for r in steps if "quality" in r]
            if q:
                any_quality = True
                ax_q.plot([s for s, _ in q],
                          moving_average([v for _, v in q], args.window),
                          color=c, label=label, linewidth=1.2)
        t, acc = 0.0, []
        for e in epochs:
            t += e.get("seconds", 0.0)
            acc.append((t, 100.0 * e["test_accuracy"]))
        gp = sum(e.get("gp_steps", 0) for e in epochs)
        total = sum(e.get("gp_steps", 0) + e.get("bp_steps", 0) for e in epochs)
        extra = f" ({100.0 * gp / total:.0f}% GP)" if total and gp else ""
        ax_acc.plot([a for a, _ in acc], [b for _, b in acc], "o-", color=c,
                    label=f"{label}{extra}: {acc[-1][1]:.2f}% in {t:.0f} s")

    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel(f"training loss ({args.window}-step mean)")
    ax_loss.legend(loc="upper right", fontsize=8)
    ax_acc.set_xlabel("training time (s)")
    ax_acc.set_ylabel("test accuracy (%)")
    ax_acc.legend(loc="lower right", fontsize=8)
    ax_q.set_xlabel("step")
    ax_q.set_ylabel("predictor quality (cosine)")
    if any_quality:
        ax_q.legend(loc="upper right", fontsize=8)
    else:
        ax_q.text(0.5, 0.5, "no BP step with a predictor", ha="center",
                  va="center", transform=ax_q.transAxes)
    for ax in (ax_loss, ax_acc, ax_q):
        ax.grid(alpha=0.3)
    fig.tight_layout()

    out = os.path.abspath(args.output)
    fmt = os.path.splitext(out)[1].lstrip(".") or "svg"
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(out), suffix="." + fmt)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        fig.savefig(tmp, format=fmt)
        os.replace(tmp, out)
    except Exception:
        os.unlink(tmp)
        raise
    print(f"plot_training: wrote {args.output}")


if __name__ == "__main__":
    main()
