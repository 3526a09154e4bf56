#!/usr/bin/env python3
"""Checks an adagp-train metrics file (JSON Lines) against the schedule that
produced it.

  check_adagp_metrics.py METRICS --mode adagp --warmup-epochs 1 --bp-run 2 --gp-run 3
  check_adagp_metrics.py METRICS --mode adagp ... --predictor-every 4
  check_adagp_metrics.py METRICS --mode gp
  check_adagp_metrics.py METRICS --same-as OTHER    # identical except times

Exits non-zero with a message naming the first record that is wrong.
"""
import argparse
import json
import math
import sys


def load(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def fail(msg):
    print("check_adagp_metrics: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("metrics")
    ap.add_argument("--mode", choices=["bp", "gp", "adagp"])
    ap.add_argument("--warmup-epochs", type=int, default=1)
    ap.add_argument("--bp-run", type=int, default=0)
    ap.add_argument("--gp-run", type=int, default=0)
    ap.add_argument("--predictor-every", type=int, default=1,
                    help="every N-th BP step (from the first) trains the "
                    "predictor and reports its figures")
    ap.add_argument("--same-as")
    args = ap.parse_args()
    records = load(args.metrics)
    steps = [r for r in records if "step" in r and "test_accuracy" not in r]
    epochs = [r for r in records if "test_accuracy" in r]
    if not steps or not epochs:
        fail("no step or epoch records")

    if args.same_as:
        other = load(args.same_as)
        timeless = lambda rs: [
            {k: v for k, v in r.items() if k not in ("seconds", "images_per_second")}
            for r in rs]
        if timeless(records) != timeless(other):
            fail("runs with the same seed differ")
        print("same: %d records" % len(records))
        return

    bp_seen = 0
    trained = 0
    for r in steps:
        if r["mode"] not in ("bp", "gp"):
            fail("step %d: mode %r" % (r["step"], r["mode"]))
        if not math.isfinite(r["loss"]):
            fail("step %d: loss %r" % (r["step"], r["loss"]))
        has_predictor = "predictor_loss" in r and "quality" in r
        trains = r["mode"] == "bp" and bp_seen % args.predictor_every == 0
        bp_seen += r["mode"] == "bp"
        trained += has_predictor
        if args.mode != "bp" and trains != has_predictor:
            fail("step %d: predictor figures only in BP steps that train "
                 "the predictor (every %d-th): %r" %
                 (r["step"], args.predictor_every, r))
        if has_predictor and not (-1.0001 <= r["quality"] <= 1.0001):
            fail("step %d: quality %r outside [-1, 1]" % (r["step"], r["quality"]))

    # The expected sequence of modes.
    by_epoch = {}
    for r in steps:
        by_epoch.setdefault(r["epoch"], []).append(r["mode"])
    for e in epochs:
        modes = by_epoch.get(e["epoch"], [])
        if e.get("bp_steps", 0) != modes.count("bp") or \
           e.get("gp_steps", 0) != modes.count("gp"):
            fail("epoch %d: bp_steps/gp_steps %r/%r but the steps say %d/%d" %
                 (e["epoch"], e.get("bp_steps"), e.get("gp_steps"),
                  modes.count("bp"), modes.count("gp")))
    if args.mode == "bp" and any(r["mode"] != "bp" for r in steps):
        fail("--mode bp ran a GP step")
    if args.mode == "gp" and any(r["mode"] != "gp" for r in steps):
        fail("--mode gp ran a BP step")
    if args.mode == "adagp":
        after = 0
        for r in steps:
            want = "bp"
            if r["epoch"] > args.warmup_epochs:
                period = args.bp_run + args.gp_run
                # GP first: the warm-up (or the last BP run) just trained
                # the predictor.
                want = "gp" if after % period < args.gp_run else "bp"
                after += 1
            if r["mode"] != want:
                fail("step %d (epoch %d): %s, expected %s" %
                     (r["step"], r["epoch"], r["mode"], want))
    counts = {m: sum(1 for r in steps if r["mode"] == m) for m in ("bp", "gp")}
    print("ok: %d BP and %d GP steps over %d epochs" %
          (counts["bp"], counts["gp"], len(epochs)) +
          ("" if args.predictor_every == 1 else
           ", %d BP steps trained the predictor" % trained))


if __name__ == "__main__":
    main()
