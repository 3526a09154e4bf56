#!/usr/bin/env python3
"""Where one training step's time goes on the simulated accelerator, per op.

The model is compiled as adagp-compile --target=accel would (train-build-step,
for ADA-GP also adagp-insert-predictors and adagp-lower-schedule, then
adagp-accel-pipeline), but through adagp-opt with the intermediate IR written
to a file first, so that every instruction of the program carries the
location of the op it was lowered from: a line of that file. One step is
simulated in timing-only mode with --trace; each instruction's busy cycles on
the load, execute and store queues are added to its op, and the table sums
them per phase and op kind (the busiest queue first), then lists the most
expensive single ops with their IR line.

  benchmarks/accel_profile.py models/squeezenet1_1.onnx --step gp

--step: bp (the BP program's step), abp (ADA-GP's BP step, which trains the
predictor), pbp (ADA-GP's plain BP step) or gp. A step's queues overlap, so a
phase costs about its busiest queue; the step's cycles are printed too.
Nothing is asserted: the figures are what the compiler and the simulator
produce.
"""

import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile


def run(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise RuntimeError(lines[-1] if lines else " ".join(cmd))
    return proc.stdout


def program_ops(accel_mlir):
    """The (op location) of every instruction of the main program, in
    program order (labels are not instructions), and the location aliases
    resolved to "file:line"."""
    text = open(accel_mlir).read().split("\n")
    aliases = {}
    for line in text:
        m = re.match(r"#(loc\d*) = loc\((.*)\)$", line)
        if m:
            aliases[m.group(1)] = m.group(2)

    def resolve(loc, depth=0):
        m = re.fullmatch(r"#(loc\d*)", loc)
        if m and depth < 16:
            return resolve(aliases.get(m.group(1), loc), depth + 1)
        m = re.search(r'"[^"]*":(\d+):\d+', loc)
        return int(m.group(1)) if m else None

    ops, inside = [], False
    for line in text:
        if line.startswith("  accel.program @main"):
            inside = True
            continue
        if inside and line.startswith("  }"):
            break
        s = line.strip()
        if not inside or not s.startswith("accel.") or \
                s.startswith("accel.label"):
            continue
        m = re.search(r"loc\((#?[^)]*)\)\s*$", s)
        ops.append(resolve(m.group(1)) if m else None)
    return ops


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("model", help="ONNX model (or .onnxtxt)")
    p.add_argument("--step", choices=["bp", "abp", "pbp", "gp"], default="gp")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--config", default="", help="accelerator configuration")
    p.add_argument("--predictor-options", default="",
                   help="options of --adagp-insert-predictors")
    p.add_argument("--top", type=int, default=15,
                   help="single ops to list (default 15)")
    p.add_argument("--keep", help="keep the work files in this directory")
    args = p.parse_args()
    b = args.bin
    work = args.keep or tempfile.mkdtemp(prefix="accel_profile.")
    os.makedirs(work, exist_ok=True)
    try:
        model = os.path.join(work, "model.mlir")
        run([f"{b}/adagp-translate", "--import-onnx", args.model,
             f"--batch-size={args.batch}", "-o", model])
        passes = ["train-build-step{dropout=false}"]
        mode = "bp"
        if args.step != "bp":
            mode = "adagp"
            passes.append("adagp-insert-predictors{%s}" %
                          args.predictor_options)
            passes.append("adagp-lower-schedule{predictor-every=2}")
        steps = os.path.join(work, "steps.mlir")
        run([f"{b}/adagp-opt", model, "--pass-pipeline=builtin.module(%s)" %
             ",".join(passes), "-o", steps])
        accel = os.path.join(work, "accel.mlir")
        pipeline = "adagp-accel-pipeline{mode=%s%s}" % (
            mode, f" config={args.config}" if args.config else "")
        run([f"{b}/adagp-opt", steps, "--pass-pipeline=builtin.module(%s)" %
             pipeline, "--mlir-print-debuginfo", "-o", accel])
        program = os.path.join(work, "step.agp")
        run([f"{b}/adagp-translate", "--emit-accel-program", accel,
             "-o", program])
        ops = program_ops(accel)
        source = open(steps).read().split("\n")

        def simulate(n):
            """Busy cycles per (phase, IR line) over the first n steps, and
            the report."""
            trace = os.path.join(work, "trace.json")
            report = os.path.join(work, "report.json")
            sim = [f"{b}/adagp-sim", program, "--timing-only", "--steps",
                   str(n), "--train-images", str(10 ** 6), "--trace", trace,
                   "--trace-limit", str(10 ** 8), "--report", report,
                   "--quiet"]
            if args.config:
                sim += ["--config", args.config]
            if args.step == "gp":
                sim += ["--warmup-steps", "0", "--bp-run", "0", "--gp-run",
                        "1"]
            elif args.step in ("abp", "pbp"):
                # BP step number 0 trains the predictor, number 1 is plain.
                sim += ["--warmup-steps", "0", "--bp-run", "2", "--gp-run",
                        "1", "--predictor-every", "2"]
            run(sim)
            with open(trace) as f:
                events = json.load(f)
            if isinstance(events, dict):
                events = events["traceEvents"]
            busy = collections.defaultdict(lambda: [0, 0, 0])
            for e in events:
                if e.get("ph") != "X" or e.get("tid") not in (1, 2, 3) or \
                        e.get("cat") == "stall" or \
                        e["name"].startswith("stall"):
                    continue
                pc = e["args"]["pc"]
                line = ops[pc] if pc < len(ops) else None
                busy[(e["cat"], line)][e["tid"] - 1] += e["args"]["cycles"]
            with open(report) as f:
                return busy, json.load(f)

        busy, r = simulate(2 if args.step == "pbp" else 1)
        if args.step == "pbp":
            # The plain step: two steps' costs minus the first's.
            first, _ = simulate(1)
            for key, q in first.items():
                busy[key] = [a - b for a, b in zip(busy[key], q)]

        def kind(line):
            if not line or line > len(source):
                return "?"
            m = re.search(r"= ([a-z_]+\.[a-z_0-9]+)", source[line - 1]) or \
                re.search(r"([a-z_]+\.[a-z_0-9]+)", source[line - 1])
            return m.group(1) if m else "?"

        per_kind = collections.defaultdict(lambda: [0, 0, 0, 0])
        for (phase, line), q in busy.items():
            if not any(q):
                continue
            k = per_kind[(phase, kind(line))]
            for i in range(3):
                k[i] += q[i]
            k[3] += 1
        key = {"bp": "bp_step_cycles", "abp": "bp_step_cycles",
               "pbp": "bp_plain_step_cycles", "gp": "gp_step_cycles"}
        print(f"{os.path.basename(args.model)}, {args.step} step, batch "
              f"{args.batch}: {r.get(key[args.step], r['cycles']):.0f} "
              f"cycles")
        print(f"\n{'phase':10s} {'op':34s} {'load':>10s} {'execute':>10s} "
              f"{'store':>10s}  ops")
        for (phase, op), v in sorted(per_kind.items(),
                                     key=lambda kv: -max(kv[1][:3])):
            if max(v[:3]) == 0:
                continue
            print(f"{phase:10s} {op:34s} {v[0]:10d} {v[1]:10d} {v[2]:10d}"
                  f"  {v[3]}")
        print(f"\nthe {args.top} most expensive ops (busiest queue), with "
              f"their line in {steps if args.keep else 'the step IR'}:")
        for (phase, line), v in sorted(busy.items(),
                                       key=lambda kv: -max(kv[1]))[:args.top]:
            text = source[line - 1].strip()[:110] if line else "?"
            print(f"{max(v):10d} {phase:10s} {line or '?':>6}  {text}")
    except RuntimeError as e:
        print(f"accel_profile: {e}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            for name in os.listdir(work):
                os.remove(os.path.join(work, name))
            os.rmdir(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
