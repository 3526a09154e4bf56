#!/usr/bin/env python3
"""BP and GP steps of ADA-GP on the simulated accelerator, per model.

For each model, two programs are compiled (adagp-compile --target=accel):
  bp:    plain back-propagation (the baseline),
  adagp: ADA-GP's BP step (back-propagation plus the predictor's training)
         and its GP step (forward pass, predicted gradients, updates),
and simulated in timing-only mode for a few steps (cycles, energy and DRAM
traffic do not depend on the data). The table gives, per step:
  cycles and energy of a plain BP step, of ADA-GP's BP step and of a GP
  step; GP/BP (GP step over plain BP step); DRAM bytes by tensor class;
  the array's utilization over the run;
and for a whole schedule (the sequence of BP and GP steps):
  speedup = cost of N plain BP steps / cost of ADA-GP's n_BP BP steps and
  n_GP GP steps, and the energy saving likewise.
The schedule comes from a CPU training run's metrics (--schedule-from
RUN.jsonl, written by adagp-train --metrics; its step records say "bp" or
"gp") or from a fixed policy (--gp-fraction F: a fraction F of GP steps).
Schedule totals are sums of the measured per-step costs (steps start and
end with the queues drained, so a step's cost does not depend on its
neighbours); --check-schedule N also simulates N steps of the schedule
end to end and prints the simulator's total for comparison.

  benchmarks/accel_steps.py --models models/lenet5.onnx models/resnet20.onnx \\
      --batch 64 --schedule-from run.jsonl

Nothing is asserted: the figures are what the compiler and the simulator
produced. When a GP step costs more than 45% of a BP step, the last column
names the phase that dominates the GP step.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CLASSES = ["weight", "activation", "gradient", "optimizer_state", "predictor"]


def run(cmd):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip().splitlines()[-1]
                           if proc.stderr.strip() else " ".join(cmd))
    return proc.stdout


def simulate(binary, program, work, name, steps, extra, config):
    report = os.path.join(work, name + ".json")
    cmd = [f"{binary}/adagp-sim", program, "--timing-only", "--steps",
           str(steps), "--train-images", str(10 ** 6), "--report", report,
           "--quiet"] + extra
    if config:
        cmd += ["--config", config]
    start = time.time()
    run(cmd)
    with open(report) as f:
        r = json.load(f)
    r["_wall"] = time.time() - start
    return r


def schedule_counts(args):
    if args.schedule_from:
        bp = gp = 0
        with open(args.schedule_from) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                rec = json.loads(line)
                if "mode" in rec and "step" in rec:
                    bp += rec["mode"] == "bp"
                    gp += rec["mode"] == "gp"
        if bp + gp == 0:
            sys.exit(f"{args.schedule_from}: no step records with a mode")
        return bp, gp, os.path.basename(args.schedule_from)
    total = 1000
    gp = int(round(args.gp_fraction * total))
    return total - gp, gp, f"fixed {args.gp_fraction:.0%} GP"


def dominant_phase(report):
    phases = report.get("phases", {})
    best, best_cycles = "", -1
    for name, p in phases.items() if isinstance(phases, dict) else []:
        if name in ("control", "io", "eval"):
            continue
        busy = max(p.get("busy_cycles", {}).values() or [0])
        if busy > best_cycles:
            best, best_cycles = name, busy
    return best


def measure_model(binary, model, batch, config, n_bp, n_gp, check_schedule=0,
                  schedule_from=None):
    """Compiles `model` for the accelerator in BP and ADA-GP mode, simulates a
    plain BP step, ADA-GP's BP and GP steps (timing only) and returns their
    costs and the totals of a schedule of n_bp BP and n_gp GP steps. Raises
    RuntimeError with the tool's last error line when a step fails."""
    with tempfile.TemporaryDirectory() as work:
        progs = {}
        compile_seconds = {}
        for mode in ("bp", "adagp"):
            progs[mode] = os.path.join(work, mode + ".agp")
            cmd = [f"{binary}/adagp-compile", model, "--target=accel",
                   f"--mode={mode}", f"--batch-size={batch}",
                   # Dropout has no accelerator lowering.
                   "--train=dropout=false", "-o", progs[mode]]
            if config:
                cmd.append(f"--accel-config={config}")
            start = time.time()
            run(cmd)
            compile_seconds[mode] = time.time() - start
        bp = simulate(binary, progs["bp"], work, "bp", 1, [], config)
        ada = simulate(binary, progs["adagp"], work, "adagp", 2,
                       ["--warmup-steps", "0", "--bp-run", "1",
                        "--gp-run", "1"], config)
        gp_only = simulate(binary, progs["adagp"], work, "gp", 1,
                           ["--warmup-steps", "0", "--bp-run", "0",
                            "--gp-run", "1"], config)
        check = None
        if check_schedule:
            extra = (["--schedule-from", schedule_from] if schedule_from else
                     ["--warmup-steps", "0", "--bp-run", str(n_bp),
                      "--gp-run", str(n_gp)])
            check = simulate(binary, progs["adagp"], work, "check",
                             check_schedule, extra, config)
    bp_c, bp_e = bp["bp_step_cycles"], bp["bp_step_energy_joules"]
    abp_c, abp_e = ada["bp_step_cycles"], ada["bp_step_energy_joules"]
    gp_c, gp_e = ada["gp_step_cycles"], ada["gp_step_energy_joules"]
    total = n_bp + n_gp
    row = {"bp_step_cycles": bp_c, "bp_step_energy_joules": bp_e,
           "adagp_bp_step_cycles": abp_c,
           "adagp_bp_step_energy_joules": abp_e,
           "gp_step_cycles": gp_c, "gp_step_energy_joules": gp_e,
           "gp_over_bp": gp_c / bp_c, "utilization_bp": bp.get("utilization"),
           "schedule_bp_steps": n_bp, "schedule_gp_steps": n_gp,
           "schedule_speedup": total * bp_c / (n_bp * abp_c + n_gp * gp_c),
           "schedule_energy_saving":
               1 - (n_bp * abp_e + n_gp * gp_e) / (total * bp_e),
           "gp_dominant_phase": dominant_phase(gp_only),
           "bp_step_dram_bytes": bp.get("bp_step_dram_bytes", {}),
           "adagp_bp_step_dram_bytes": ada.get("bp_step_dram_bytes", {}),
           "gp_step_dram_bytes": ada.get("gp_step_dram_bytes", {}),
           "compile_seconds": compile_seconds,
           "sim_seconds": bp["_wall"] + ada["_wall"]}
    if check:
        row["check_cycles"] = check["cycles"]
        row["check_steps"] = check_schedule
    return row


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--bin", default="build/bin")
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--config", default="")
    p.add_argument("--schedule-from", help="adagp-train --metrics file")
    p.add_argument("--gp-fraction", type=float, default=0.5,
                   help="fixed policy when there is no --schedule-from")
    p.add_argument("--check-schedule", type=int, default=0, metavar="N",
                   help="also simulate N steps of the schedule end to end")
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()

    n_bp, n_gp, source = schedule_counts(args)
    print(f"batch {args.batch}, config {args.config or 'default'}, "
          f"schedule {source}: {n_bp} BP + {n_gp} GP steps "
          f"({n_gp / (n_bp + n_gp):.0%} GP)\n")
    head = (f"{'model':18s} {'BP cyc':>10s} {'BP mJ':>8s} {'aBP cyc':>10s} "
            f"{'GP cyc':>10s} {'GP mJ':>8s} {'GP/BP':>6s} {'util':>6s} "
            f"{'speedup':>7s} {'E save':>7s}  note")
    print(head)
    print("-" * len(head))
    results = {}
    dram_lines = []
    for model in args.models:
        name = os.path.basename(model)[:-5]
        try:
            row = measure_model(args.bin, model, args.batch, args.config,
                                n_bp, n_gp, args.check_schedule,
                                args.schedule_from)
        except RuntimeError as e:
            print(f"{name:18s} not compiled or simulated: {e}")
            continue
        note = ""
        if row["gp_over_bp"] > 0.45:
            note = f"GP step dominated by {row['gp_dominant_phase']}"
        print(f"{name:18s} {row['bp_step_cycles']:10.0f} "
              f"{row['bp_step_energy_joules'] * 1e3:8.3f} "
              f"{row['adagp_bp_step_cycles']:10.0f} "
              f"{row['gp_step_cycles']:10.0f} "
              f"{row['gp_step_energy_joules'] * 1e3:8.3f} "
              f"{row['gp_over_bp']:6.2f} {row['utilization_bp'] or 0:6.1%} "
              f"{row['schedule_speedup']:6.2f}x "
              f"{row['schedule_energy_saving']:7.1%}  {note}", flush=True)
        results[name] = row
        for label, d in (("BP", row["bp_step_dram_bytes"]),
                         ("aBP", row["adagp_bp_step_dram_bytes"]),
                         ("GP", row["gp_step_dram_bytes"])):
            dram_lines.append(f"{name:18s} {label:4s} " + " ".join(
                f"{d.get(c, 0) / 1e6:10.2f}" for c in CLASSES))
    if dram_lines:
        print("\nDRAM MB per step by tensor class (BP: plain BP step; aBP: "
              "ADA-GP's BP step; GP: GP step)")
        print(f"{'model':18s} {'step':4s} " +
              " ".join(f"{c[:10]:>10s}" for c in CLASSES))
        for line in dram_lines:
            print(line)
    if results:
        n = len(results)
        mean_speedup = sum(r["schedule_speedup"] for r in results.values()) / n
        mean_saving = sum(r["schedule_energy_saving"]
                          for r in results.values()) / n
        print(f"\naverage over {n} models: speedup {mean_speedup:.2f}x, "
              f"energy saving {mean_saving:.1%} "
              f"(paper: 1.47x and 34%)")
        for name, r in results.items():
            if "check_cycles" in r:
                print(f"{name}: {r['check_steps']} scheduled steps simulated "
                      f"end to end: {r['check_cycles']:.0f} cycles")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"batch": args.batch, "schedule": source,
                       "bp_steps": n_bp, "gp_steps": n_gp,
                       "models": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
