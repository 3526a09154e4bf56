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
With predictor-every N > 1 (adagp-train --predictor-every N; here
--predictor-every N, or found in the --schedule-from file) only every N-th
BP step trains the predictor; the others are ADA-GP's plain BP steps
(@bp_plain_step, compiled with --schedule-options predictor-every=N and
measured as well), n_pBP of them in the schedule's cost: the BP records
without a "quality" of a run that has some with one, or, for the fixed
policy, all BP steps but numbers 0, N, 2N, ...
Schedule totals are sums of the measured per-step costs (steps start and
end with the queues drained, so a step's cost does not depend on its
neighbours); --check-schedule N also simulates N steps of the schedule
end to end and prints the simulator's total for comparison.

  benchmarks/accel_steps.py --models models/lenet5.onnx models/resnet20.onnx \\
      --batch 64 --schedule-from run.jsonl

Nothing is asserted: the figures are what the compiler and the simulator
produced. When a GP step costs more than 45% of a BP step, the last column
names the GP step's two largest phases and their shares of its cycles.
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


def read_schedule(path):
    """Counts the step kinds of an adagp-train --metrics file: a dict with
    bp (BP steps that trained the predictor), bp_plain (BP steps that did
    not: no "quality" in a run where other BP steps have one), gp, and
    predictor_every (N: the distance between the first two BP steps that
    trained the predictor, counted in BP steps; 1 without plain steps).
    A file without any "quality" (a --mode bp run) counts every BP step as
    one that trains the predictor, as before predictor-every existed."""
    trained = []  # whether each BP step trained the predictor
    gp = 0
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            rec = json.loads(line)
            if "mode" in rec and "step" in rec:
                if rec["mode"] == "bp":
                    trained.append("quality" in rec)
                gp += rec["mode"] == "gp"
    if not trained and not gp:
        raise ValueError(f"{path}: no step records with a mode")
    if not any(trained):
        return {"bp": len(trained), "bp_plain": 0, "gp": gp,
                "predictor_every": 1}
    first = [i for i, t in enumerate(trained) if t]
    every = 1
    if len(first) < len(trained):
        every = (first[1] - first[0] if len(first) > 1
                 else len(trained))
    return {"bp": len(first), "bp_plain": len(trained) - len(first),
            "gp": gp, "predictor_every": every}


def schedule_counts(args):
    """(BP steps that train the predictor, plain BP steps, GP steps,
    predictor-every N, description) of the schedule the arguments give."""
    if args.predictor_every is not None and args.predictor_every < 1:
        sys.exit("--predictor-every must be at least 1")
    if args.schedule_from:
        try:
            c = read_schedule(args.schedule_from)
        except ValueError as e:
            sys.exit(str(e))
        every = c["predictor_every"]
        if args.predictor_every is not None:
            if c["bp_plain"] and args.predictor_every == 1:
                sys.exit(f"--predictor-every 1, but {args.schedule_from} has "
                         f"{c['bp_plain']} BP steps that did not train the "
                         "predictor")
            every = args.predictor_every
        return (c["bp"], c["bp_plain"], c["gp"], every,
                os.path.basename(args.schedule_from))
    total = 1000
    gp = int(round(args.gp_fraction * total))
    every = args.predictor_every or 1
    # BP steps number 0, N, 2N, ... train the predictor.
    bp = -(-(total - gp) // every)
    source = f"fixed {args.gp_fraction:.0%} GP"
    if every > 1:
        source += f", predictor every {every} BP steps"
    return bp, total - gp - bp, gp, every, source


def phase_shares(report):
    """Each phase's share of a step's busiest-queue cycles (the queues
    overlap, so a phase costs about its busiest queue), largest first."""
    phases = report.get("phases", {})
    busy = {}
    for name, p in phases.items() if isinstance(phases, dict) else []:
        if name in ("control", "io", "eval"):
            continue
        busy[name] = max(p.get("busy_cycles", {}).values() or [0])
    total = sum(busy.values()) or 1
    return sorted(((n, c / total) for n, c in busy.items()),
                  key=lambda x: -x[1])


def measure_model(binary, model, batch, config, n_bp, n_gp, check_schedule=0,
                  schedule_from=None, n_bp_plain=0, predictor_every=1,
                  predictor_options=""):
    """Compiles `model` for the accelerator in BP and ADA-GP mode, simulates a
    plain BP step, ADA-GP's BP and GP steps (timing only) and returns their
    costs and the totals of a schedule of n_bp BP and n_gp GP steps. With
    predictor_every > 1, ADA-GP's program also has a plain BP step (the BP
    steps that do not train the predictor), measured too and counted
    n_bp_plain times in the schedule. Raises RuntimeError with the tool's
    last error line when a step fails."""
    if n_bp_plain and predictor_every <= 1:
        raise ValueError("plain BP steps need predictor_every > 1")
    plain = predictor_every > 1
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
            if mode == "adagp" and predictor_options:
                cmd.append(f"--predictor-options={predictor_options}")
            if mode == "adagp" and plain:
                cmd.append(
                    f"--schedule-options=predictor-every={predictor_every}")
            start = time.time()
            run(cmd)
            compile_seconds[mode] = time.time() - start
        bp = simulate(binary, progs["bp"], work, "bp", 1, [], config)
        if plain:
            # BP step number 0 trains the predictor, number 1 is plain
            # (--predictor-every 2 whatever the program's N), then GP.
            ada = simulate(binary, progs["adagp"], work, "adagp", 3,
                           ["--warmup-steps", "0", "--bp-run", "2",
                            "--gp-run", "1", "--predictor-every", "2"],
                           config)
        else:
            ada = simulate(binary, progs["adagp"], work, "adagp", 2,
                           ["--warmup-steps", "0", "--bp-run", "1",
                            "--gp-run", "1"], config)
        gp_only = simulate(binary, progs["adagp"], work, "gp", 1,
                           ["--warmup-steps", "0", "--bp-run", "0",
                            "--gp-run", "1"], config)
        check = None
        if check_schedule:
            # The fixed policy's plain BP steps follow the program's N.
            extra = (["--schedule-from", schedule_from] if schedule_from else
                     ["--warmup-steps", "0", "--bp-run",
                      str(n_bp + n_bp_plain), "--gp-run", str(n_gp)])
            check = simulate(binary, progs["adagp"], work, "check",
                             check_schedule, extra, config)
    gp_shares = phase_shares(gp_only)
    bp_c, bp_e = bp["bp_step_cycles"], bp["bp_step_energy_joules"]
    abp_c, abp_e = ada["bp_step_cycles"], ada["bp_step_energy_joules"]
    gp_c, gp_e = ada["gp_step_cycles"], ada["gp_step_energy_joules"]
    pbp_c = pbp_e = 0.0
    if plain:
        pbp_c = ada["bp_plain_step_cycles"]
        pbp_e = ada["bp_plain_step_energy_joules"]
    total = n_bp + n_bp_plain + n_gp
    row = {"bp_step_cycles": bp_c, "bp_step_energy_joules": bp_e,
           "adagp_bp_step_cycles": abp_c,
           "adagp_bp_step_energy_joules": abp_e,
           "gp_step_cycles": gp_c, "gp_step_energy_joules": gp_e,
           "gp_over_bp": gp_c / bp_c, "utilization_bp": bp.get("utilization"),
           "schedule_bp_steps": n_bp, "schedule_gp_steps": n_gp,
           "schedule_speedup": total * bp_c / (
               n_bp * abp_c + n_bp_plain * pbp_c + n_gp * gp_c),
           "schedule_energy_saving":
               1 - (n_bp * abp_e + n_bp_plain * pbp_e + n_gp * gp_e) /
               (total * bp_e),
           "gp_dominant_phase": gp_shares[0][0] if gp_shares else "",
           # Largest first (JSON objects keep this order).
           "gp_phase_shares": dict(gp_shares),
           "bp_step_dram_bytes": bp.get("bp_step_dram_bytes", {}),
           "adagp_bp_step_dram_bytes": ada.get("bp_step_dram_bytes", {}),
           "gp_step_dram_bytes": ada.get("gp_step_dram_bytes", {}),
           "compile_seconds": compile_seconds,
           "sim_seconds": bp["_wall"] + ada["_wall"]}
    if plain:
        row.update({"predictor_every": predictor_every,
                    "adagp_bp_plain_step_cycles": pbp_c,
                    "adagp_bp_plain_step_energy_joules": pbp_e,
                    "adagp_bp_plain_step_dram_bytes":
                        ada.get("bp_plain_step_dram_bytes", {}),
                    "schedule_bp_plain_steps": n_bp_plain})
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
    p.add_argument("--predictor-every", type=int, metavar="N",
                   help="only every N-th BP step trains the predictor "
                        "(default: as in --schedule-from, else 1)")
    p.add_argument("--predictor-options", default="",
                   help="options of --adagp-insert-predictors for the "
                        "ADA-GP program, e.g. 'predictor-hidden=16'")
    p.add_argument("--check-schedule", type=int, default=0, metavar="N",
                   help="also simulate N steps of the schedule end to end")
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()

    n_bp, n_plain, n_gp, every, source = schedule_counts(args)
    plain = every > 1
    steps = f"{n_bp} BP + {n_gp} GP steps"
    if plain:
        steps = (f"{n_bp} BP (training the predictor) + {n_plain} plain BP "
                 f"+ {n_gp} GP steps")
    print(f"batch {args.batch}, config {args.config or 'default'}, "
          f"schedule {source}: {steps} "
          f"({n_gp / (n_bp + n_plain + n_gp):.0%} GP)\n")
    head = (f"{'model':18s} {'BP cyc':>10s} {'BP mJ':>8s} {'aBP cyc':>10s} "
            + (f"{'pBP cyc':>10s} " if plain else "") +
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
                                args.schedule_from, n_plain, every,
                                args.predictor_options)
        except RuntimeError as e:
            print(f"{name:18s} not compiled or simulated: {e}")
            continue
        note = ""
        if row["gp_over_bp"] > 0.45:
            top = list(row["gp_phase_shares"].items())[:2]
            note = "GP step: " + ", ".join(f"{n} {v:.0%}" for n, v in top)
        print(f"{name:18s} {row['bp_step_cycles']:10.0f} "
              f"{row['bp_step_energy_joules'] * 1e3:8.3f} "
              f"{row['adagp_bp_step_cycles']:10.0f} " +
              (f"{row['adagp_bp_plain_step_cycles']:10.0f} " if plain
               else "") +
              f"{row['gp_step_cycles']:10.0f} "
              f"{row['gp_step_energy_joules'] * 1e3:8.3f} "
              f"{row['gp_over_bp']:6.2f} {row['utilization_bp'] or 0:6.1%} "
              f"{row['schedule_speedup']:6.2f}x "
              f"{row['schedule_energy_saving']:7.1%}  {note}", flush=True)
        results[name] = row
        dram = [("BP", row["bp_step_dram_bytes"]),
                ("aBP", row["adagp_bp_step_dram_bytes"])]
        if plain:
            dram.append(("pBP", row["adagp_bp_plain_step_dram_bytes"]))
        dram.append(("GP", row["gp_step_dram_bytes"]))
        for label, d in dram:
            dram_lines.append(f"{name:18s} {label:4s} " + " ".join(
                f"{d.get(c, 0) / 1e6:10.2f}" for c in CLASSES))
    if dram_lines:
        print("\nDRAM MB per step by tensor class (BP: plain BP step; aBP: "
              "ADA-GP's BP step" +
              ("; pBP: ADA-GP's plain BP step" if plain else "") +
              "; GP: GP step)")
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
        out = {"batch": args.batch, "schedule": source,
               "bp_steps": n_bp, "gp_steps": n_gp}
        if plain:
            out.update({"bp_plain_steps": n_plain, "predictor_every": every})
        out["models"] = results
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
