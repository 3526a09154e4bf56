#!/usr/bin/python3
"""BP against ADA-GP on every model of models/: accuracy, CPU wall-clock
speedup, accelerator speedup and energy saving, GP fraction.

    scripts/experiments.py --quick            # short runs (2 h on 2 shared cores)
    scripts/experiments.py                    # the full table
    scripts/experiments.py --models lenet5,resnet20 --results ''

Per model, in one run on this machine:
  1. CPU: `adagp-train --mode bp` and `--mode adagp` with the same seed, data
     and epochs (the first epoch is ADA-GP's BP warm-up). Training time is the
     sum of the epochs' `seconds` (compilation and evaluation excluded).
  2. Accelerator: `benchmarks/accel_steps.py`'s measurement: a plain BP step,
     ADA-GP's BP step (which also trains the predictor) and its GP step are
     compiled (`adagp-compile --target=accel`) and simulated (timing only);
     the accelerator's speedup and energy saving are those of the CPU run's
     exact BP/GP sequence, costed with these per-step figures. With
     --predictor-every N > 1 (adagp-train --predictor-every N), the BP steps
     that did not train the predictor are costed as ADA-GP's plain BP step
     (@bp_plain_step), measured as well.
Per-model results are kept in OUT/<model>/result.json; --resume reuses the
ones whose settings match. Then docs/results.md (or --results) is written with
the table, the averages next to the paper's and the plots (svg, next to it).
Every number in it comes from this run's files; nothing is asserted.
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
sys.path.insert(0, os.path.join(ROOT, "models"))
import accel_steps  # noqa: E402

PAPER = {"speedup": 1.47, "energy_saving": 0.34}

# Cost classes by a BP step's time on 2 cores at batch 64 (measured with
# adagp-train): small < 50 ms, medium < 1 s, large above. The data budget
# per class keeps `--quick` near an hour and the full run near a night.
CLASS = {
    "mlp": "small", "lenet5": "small",
    "resnet20": "medium", "resnet56": "medium", "mobilenetv2": "medium",
    "squeezenet1_1": "medium", "shufflenet_v2_x0_5": "medium",
    "vit_tiny": "medium", "efficientnet_b0": "large",
    "regnet_y_400mf": "large", "googlenet": "large", "densenet121": "large",
    "resnet18": "large", "resnet34": "large", "resnet50": "large",
    "vgg11_bn": "large", "vgg13_bn": "large", "vgg16_bn": "large",
    "vgg19_bn": "large",
}
# (training images, epochs, test images); 0 images = all 60,000.
BUDGET = {
    "quick": {"small": (0, 2, 10000), "medium": (1280, 3, 1000),
              "large": (320, 2, 256)},
    "full": {"small": (0, 5, 10000), "medium": (12800, 5, 10000),
             "large": (6400, 3, 2000)},
}
# Below this BP test accuracy (ten classes) a run says nothing about
# ADA-GP's accuracy: the large models' --quick budgets are that short.
CHANCE_LEVEL = 0.25
ORDER = ["lenet5", "mlp", "resnet20", "resnet56", "resnet18", "resnet34",
         "resnet50", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
         "mobilenetv2", "densenet121", "googlenet", "squeezenet1_1",
         "shufflenet_v2_x0_5", "efficientnet_b0", "regnet_y_400mf",
         "vit_tiny"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def write_atomic(path, text):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def run_logged(cmd, logpath, timeout):
    """Runs cmd with its output in logpath; returns (ok, wall s, message)."""
    start = time.time()
    with open(logpath, "w") as f:
        f.write("$ " + " ".join(cmd) + "\n")
        f.flush()
        try:
            p = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, time.time() - start, f"timed out after {timeout} s"
    wall = time.time() - start
    if p.returncode != 0:
        with open(logpath) as f:
            lines = [l.strip() for l in f if l.strip()]
        errs = [l for l in lines if "error" in l.lower()]
        return False, wall, (errs or lines or ["exit %d" % p.returncode])[-1]
    return True, wall, ""


def epochs_of(path):
    with open(path) as f:
        return [r for r in map(json.loads, filter(str.strip, f))
                if "test_accuracy" in r]


def compile_seconds(logpath):
    with open(logpath) as f:
        m = re.search(r"compiled in ([0-9.]+) s", f.read())
    return float(m.group(1)) if m else None


def cpu_run(args, name, model, mode, settings, out):
    images, epochs, test = settings
    cmd = [os.path.join(args.bin, "adagp-train"), model, "--dataset",
           "fashion-mnist", "--mode", mode, "--epochs", str(epochs),
           "--batch-size", "64", "--lr", "0.01", "--momentum", "0.9",
           "--seed", str(args.seed), "--test-images", str(test),
           "--metrics", os.path.join(out, f"{mode}.jsonl")]
    if images:
        cmd += ["--train-images", str(images)]
    if args.save_models:
        cmd += ["--save", os.path.join(out, f"{name}-{mode}.onnx")]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    cmd += ["--lr-schedule", args.lr_schedule]
    if mode == "adagp":
        cmd += ["--policy", args.policy, "--bp-run", str(args.bp_run),
                "--gp-run", str(args.gp_run), "--predictor-every",
                str(args.predictor_every)]
    logpath = os.path.join(out, f"{mode}.log")
    log(f"   CPU {mode}: {' '.join(cmd[1:])}")
    load_before = os.getloadavg()[0]
    ok, wall, msg = run_logged(cmd, logpath, args.timeout)
    if not ok:
        return {"error": msg}
    # The 1-minute load average around the run: the run's own threads
    # account for about --threads (all cores by default) of it; more means
    # other jobs shared the cores and the CPU seconds are pessimistic.
    load = max(load_before, os.getloadavg()[0])
    es = epochs_of(os.path.join(out, f"{mode}.jsonl"))
    bp = sum(e.get("bp_steps", 0) for e in es)
    gp = sum(e.get("gp_steps", 0) for e in es)
    if bp + gp == 0:
        bp = sum(e.get("steps", 0) for e in es)
    return {"test_accuracy": es[-1]["test_accuracy"],
            "accuracy_per_epoch": [e["test_accuracy"] for e in es],
            "train_seconds": sum(e["seconds"] for e in es),
            "bp_steps": bp, "gp_steps": gp, "wall_seconds": wall,
            "compile_seconds": compile_seconds(logpath), "load": load}


def accel_run(args, name, model, out):
    sched = os.path.join(out, "adagp.jsonl")
    try:
        c = accel_steps.read_schedule(sched)
    except ValueError as e:
        return {"error": str(e)}
    # The BP steps that did not train the predictor (no "quality"):
    # --predictor-every N > 1 only.
    n_plain = c["bp_plain"] if args.predictor_every > 1 else 0
    n_bp = c["bp"] + c["bp_plain"] - n_plain
    log("   accelerator: compile and simulate BP, ADA-GP BP" +
        (", plain BP" if args.predictor_every > 1 else "") + " and GP steps")
    try:
        return accel_steps.measure_model(args.bin, model, 64, args.config,
                                         n_bp, c["gp"],
                                         n_bp_plain=n_plain,
                                         predictor_every=args.predictor_every)
    except RuntimeError as e:
        return {"error": str(e)}


def model_path(name):
    if name.endswith(".onnx"):
        return os.path.abspath(name)
    return os.path.join(ROOT, "models", name + ".onnx")


def model_name(name):
    return os.path.basename(name)[:-5] if name.endswith(".onnx") else name


def measure(args, spec, settings):
    model, name = model_path(spec), model_name(spec)
    out = os.path.join(args.out, name)
    os.makedirs(out, exist_ok=True)
    result_path = os.path.join(out, "result.json")
    key = {"settings": list(settings), "seed": args.seed,
           "config": args.config, "threads": args.threads}
    if args.predictor_every > 1:
        key["predictor_every"] = args.predictor_every
    # The ADA-GP schedule and the learning-rate schedule (results measured
    # before these were recorded ran adagp-train's adaptive default with a
    # constant rate, and do not match).
    key["schedule"] = (f"{args.policy} bp-run {args.bp_run} gp-run "
                       f"{args.gp_run}, lr {args.lr_schedule}")
    if args.report_only:
        if not os.path.exists(result_path):
            log(f"== {name}: not measured (no {result_path})")
            return {"model": name, "key": key, "missing": True}
        with open(result_path) as f:
            return json.load(f)
    if args.resume and os.path.exists(result_path):
        with open(result_path) as f:
            old = json.load(f)
        if old.get("key") == key:
            log(f"== {name}: reusing {result_path}")
            return old
    log(f"== {name}: {describe(settings)}")
    t0 = time.time()
    r = {"model": name, "key": key, "class": CLASS.get(name, "large"),
         "revision": git_revision(),
         "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M")}
    r["bp"] = cpu_run(args, name, model, "bp", settings, out)
    r["adagp"] = cpu_run(args, name, model, "adagp", settings, out)
    if "error" not in r["adagp"] and not args.no_accel:
        r["accel"] = accel_run(args, name, model, out)
    r["seconds"] = time.time() - t0
    write_atomic(result_path, json.dumps(r, indent=1))
    return r


def describe(settings):
    images, epochs, test = settings
    n = f"{images:,}" if images else "60,000"
    return f"{n} images x {epochs} epochs, {test:,} test images"


def fmt_pct(x):
    return f"{100 * x:.2f}%"


def mean(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return sum(xs) / len(xs) if xs else None


def geomean(xs):
    xs = [x for x in xs if x is not None and x > 0]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else None


def derived(r):
    """The figures of one row (None where a part failed)."""
    bp, ag, acc = r.get("bp", {}), r.get("adagp", {}), r.get("accel", {})
    d = {}
    ok = "error" not in bp and "error" not in ag
    if ok:
        d["bp_acc"] = bp["test_accuracy"]
        d["ag_acc"] = ag["test_accuracy"]
        d["cpu_speedup"] = bp["train_seconds"] / ag["train_seconds"]
        d["gp_fraction"] = ag["gp_steps"] / max(1, ag["bp_steps"] +
                                                ag["gp_steps"])
    if acc and "error" not in acc:
        d["accel_speedup"] = acc["schedule_speedup"]
        d["energy_saving"] = acc["schedule_energy_saving"]
        d["gp_over_bp"] = acc["gp_over_bp"]
        d["predictor_overhead"] = (acc["adagp_bp_step_cycles"] /
                                   acc["bp_step_cycles"] - 1)
        n = (acc["schedule_bp_steps"] + acc.get("schedule_bp_plain_steps", 0)
             + acc["schedule_gp_steps"])
        # What the same schedule would give with a free predictor in BP
        # steps: the part of the loss that is the predictor's training.
        if n:
            g = acc["schedule_gp_steps"] / n
            d["accel_speedup_free_predictor"] = 1 / (
                (1 - g) + g * acc["gp_over_bp"])
    return d


def why(r, d):
    """The reason a row loses speed or accuracy, from its own figures."""
    notes = []
    for part in ("bp", "adagp", "accel"):
        if "error" in r.get(part, {}):
            notes.append(f"{part}: {r[part]['error']}")
    if "gp_fraction" in d:
        if d["gp_fraction"] < 0.2:
            notes.append(f"only {d['gp_fraction']:.0%} GP steps")
        if d["bp_acc"] < CHANCE_LEVEL:
            notes.append("BP near chance: too short a run to compare "
                         "accuracy")
        elif d["ag_acc"] < d["bp_acc"] - 0.01:
            notes.append(f"accuracy {100 * (d['ag_acc'] - d['bp_acc']):+.1f} "
                         "points")
    if "predictor_overhead" in d and d["predictor_overhead"] > 0.1:
        notes.append(f"predictor training +{d['predictor_overhead']:.0%} per "
                     "BP step")
    if "gp_over_bp" in d and d["gp_over_bp"] > 0.5:
        notes.append(f"GP step {d['gp_over_bp']:.2f} of a BP step")
    loads = [r[part]["load"] for part in ("bp", "adagp")
             if "load" in r.get(part, {})]
    if loads and max(loads) > (os.cpu_count() or 1) + 1:
        notes.append(f"CPU times under load {max(loads):.1f} (other jobs "
                     "shared the cores)")
    return "; ".join(notes)


def comparison_table(r):
    """BP against ADA-GP for one model, as plain text."""
    lines = [f"{r['model']}: {describe(r['key']['settings'])}, batch 64, "
             f"seed {r['key']['seed']}"]
    acc = r.get("accel", {})
    head = (f"{'':8s} {'test acc':>9s} {'CPU s':>8s} {'BP steps':>9s} "
            f"{'GP steps':>9s} {'accel Mcycles':>14s} {'accel J':>9s}")
    lines += [head, "-" * len(head)]
    totals = {}
    for mode in ("bp", "adagp"):
        run = r.get(mode, {})
        if "error" in run:
            lines.append(f"{mode:8s} failed: {run['error']}")
            continue
        n_bp, n_gp = run["bp_steps"], run["gp_steps"]
        cyc = en = None
        if acc and "error" not in acc:
            if mode == "bp":
                cyc = n_bp * acc["bp_step_cycles"]
                en = n_bp * acc["bp_step_energy_joules"]
            else:
                # BP steps that did not train the predictor (predictor-every
                # N > 1) cost a plain BP step of ADA-GP's program.
                n_plain = acc.get("schedule_bp_plain_steps", 0)
                cyc = ((n_bp - n_plain) * acc["adagp_bp_step_cycles"] +
                       n_gp * acc["gp_step_cycles"])
                en = ((n_bp - n_plain) *
                      acc["adagp_bp_step_energy_joules"] +
                      n_gp * acc["gp_step_energy_joules"])
                if n_plain:
                    cyc += n_plain * acc["adagp_bp_plain_step_cycles"]
                    en += n_plain * acc["adagp_bp_plain_step_energy_joules"]
        totals[mode] = (run["test_accuracy"], run["train_seconds"], cyc, en)
        label = "BP" if mode == "bp" else "ADA-GP"
        lines.append(
            f"{label:8s} {100 * run['test_accuracy']:8.2f}% "
            f"{run['train_seconds']:8.1f} {n_bp:9d} {n_gp:9d} " +
            (f"{cyc / 1e6:14.1f} {en:9.3f}" if cyc is not None
             else f"{'—':>14s} {'—':>9s}"))
    if len(totals) == 2:
        (a0, t0, c0, e0), (a1, t1, c1, e1) = totals["bp"], totals["adagp"]
        line = (f"ADA-GP vs BP: accuracy {100 * (a1 - a0):+.2f} points, CPU "
                f"speedup {t0 / t1:.2f}x")
        if c0 and c1:
            line += (f", accelerator speedup {c0 / c1:.2f}x, energy saving "
                     f"{1 - e1 / e0:.1%}")
        lines.append(line)
    if "error" in acc:
        lines.append(f"accelerator: {acc['error']}")
    return "\n".join(lines) + "\n"


def plot(rows, path_prefix):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = [r["model"] for r in rows]
    ds = [derived(r) for r in rows]
    x = range(len(rows))
    fig, axes = plt.subplots(4, 1, figsize=(11, 13), sharex=True)
    w = 0.4
    ax = axes[0]
    ax.bar([i - w / 2 for i in x], [100 * d.get("bp_acc", 0) for d in ds],
           w, label="BP")
    ax.bar([i + w / 2 for i in x], [100 * d.get("ag_acc", 0) for d in ds],
           w, label="ADA-GP")
    ax.set_ylabel("test accuracy (%)")
    ax.legend()
    ax = axes[1]
    ax.bar([i - w / 2 for i in x], [d.get("cpu_speedup", 0) for d in ds], w,
           label="CPU wall clock")
    ax.bar([i + w / 2 for i in x], [d.get("accel_speedup", 0) for d in ds],
           w, label="accelerator cycles")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.axhline(PAPER["speedup"], color="red", ls="--", lw=0.8,
               label=f"paper average {PAPER['speedup']}x")
    ax.set_ylabel("ADA-GP speedup over BP")
    ax.legend()
    ax = axes[2]
    ax.bar(list(x), [100 * d.get("energy_saving", 0) for d in ds], 0.6)
    ax.axhline(0, color="black", lw=0.8)
    ax.axhline(100 * PAPER["energy_saving"], color="red", ls="--", lw=0.8,
               label="paper average 34%")
    ax.set_ylabel("accelerator energy saving (%)")
    ax.legend()
    ax = axes[3]
    ax.bar(list(x), [100 * d.get("gp_fraction", 0) for d in ds], 0.6)
    ax.set_ylabel("GP steps (%)")
    ax.set_xticks(list(x))
    ax.set_xticklabels(names, rotation=45, ha="right")
    fig.tight_layout()
    d = os.path.dirname(os.path.abspath(path_prefix))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".svg")
    os.close(fd)
    fig.savefig(tmp, metadata={"Date": None})
    os.replace(tmp, path_prefix + "summary.svg")
    plt.close(fig)


def report(args, rows, command, started, elapsed):
    missing = [r["model"] for r in rows if r.get("missing")]
    rows = [r for r in rows if not r.get("missing")]
    lines = []
    add = lines.append
    add("# ADA-GP against back-propagation: results")
    add("")
    add(f"*Generated by `{command}` on {started:%Y-%m-%d %H:%M} UTC "
        f"(git {git_revision()}) on this machine: {machine()}; the "
        f"measurements took {elapsed / 60:.0f} minutes. Do not edit: rerun "
        "the script.*")
    add("")
    add("Per model, BP and ADA-GP train on Fashion-MNIST with the same seed, "
        f"data, batch (64), SGD (lr 0.01, {args.lr_schedule} schedule, "
        "momentum 0.9) and epochs; the first "
        f"epoch is ADA-GP's BP warm-up, then the {args.policy} policy chooses "
        f"BP and GP runs (`--bp-run {args.bp_run} --gp-run {args.gp_run} "
        f"--predictor-every {args.predictor_every}`, "
        "`docs/adagp.md`). The data column says how much of the data each "
        "row used. CPU time is training only (the epochs' `seconds`; "
        "compilation and evaluation excluded), on this machine's cores. "
        "The accelerator columns cost the CPU run's own sequence of BP and "
        "GP steps with a plain BP step, ADA-GP's BP step (which also trains "
        "the predictor) and its GP step, each compiled with "
        "`adagp-compile --target=accel` and simulated by `adagp-sim` "
        f"(timing only, {args.config or 'default configuration'}).")
    revisions = sorted({r.get("revision", "unknown") for r in rows})
    if len(revisions) > 1:
        add("")
        add("Rows were measured at different revisions (`--resume` reused "
            "earlier ones): " + "; ".join(
                f"`{r['model']}` {r.get('revision', 'unknown')} "
                f"({r.get('date', '?')})" for r in rows) + ".")
    unloaded = [r["model"] for r in rows
                 if not any("load" in r.get(p, {}) for p in ("bp", "adagp"))]
    if unloaded:
        add("")
        add("No load average was recorded for " + ", ".join(
            f"`{m}`" for m in unloaded) + " (measured before the script "
            "recorded it): their CPU times may include other jobs sharing "
            "the cores, so their CPU speedups are rough. Accuracies and the "
            "simulated accelerator figures do not depend on the load.")
    add("")
    add("| model | family | data | BP acc | ADA-GP acc | diff | CPU BP s | "
        "CPU ADA-GP s | CPU speedup | GP steps | GP/BP cycles | predictor "
        "cost | accel speedup | energy saving | notes |")
    add("|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:"
        "|---|")
    try:
        import generate
        family = {s.name: s.family for s in generate.SPECS}
    except Exception:  # the family column is cosmetic
        family = {}
    for r in rows:
        d = derived(r)
        bp, ag = r.get("bp", {}), r.get("adagp", {})
        cell = lambda k, f: f(d[k]) if k in d else "—"
        add("| " + " | ".join([
            f"`{r['model']}`", family.get(r["model"], ""),
            describe(r["key"]["settings"]),
            cell("bp_acc", fmt_pct), cell("ag_acc", fmt_pct),
            f"{100 * (d['ag_acc'] - d['bp_acc']):+.2f}" if "ag_acc" in d
            else "—",
            f"{bp['train_seconds']:.1f}" if "train_seconds" in bp else "—",
            f"{ag['train_seconds']:.1f}" if "train_seconds" in ag else "—",
            cell("cpu_speedup", lambda v: f"{v:.2f}x"),
            cell("gp_fraction", lambda v: f"{v:.0%}"),
            cell("gp_over_bp", lambda v: f"{v:.2f}"),
            cell("predictor_overhead", lambda v: f"+{v:.0%}"),
            cell("accel_speedup", lambda v: f"{v:.2f}x"),
            cell("energy_saving", lambda v: f"{v:.1%}"),
            why(r, d)]) + " |")
    if missing:
        add("")
        add("Not measured in this run (no result): " +
            ", ".join(f"`{m}`" for m in missing) + ".")
    ds = [derived(r) for r in rows]
    acc_rows = [d for d in ds if "ag_acc" in d]
    add("")
    add("## Averages")
    add("")
    add("| | this run | paper (ADA-GP, MICRO 2023) |")
    add("|---|---:|---:|")

    def avg(key, f, g=mean):
        v = g([d.get(key) for d in ds])
        n = sum(1 for d in ds if key in d)
        return f"{f(v)} (n = {n})" if v is not None else "—"
    diffs = [d["ag_acc"] - d["bp_acc"] for d in acc_rows
             if d["bp_acc"] >= CHANCE_LEVEL]
    add(f"| accuracy change, points (mean over runs where BP reached "
        f"{CHANCE_LEVEL:.0%}) | " +
        (f"{100 * mean(diffs):+.2f} (n = {len(diffs)})" if diffs else "—") +
        " | similar accuracy |")
    add(f"| CPU wall-clock speedup (geometric mean) | "
        f"{avg('cpu_speedup', lambda v: f'{v:.2f}x', geomean)} | "
        "— (the paper models an accelerator) |")
    add(f"| accelerator speedup (geometric mean) | "
        f"{avg('accel_speedup', lambda v: f'{v:.2f}x', geomean)} | "
        f"{PAPER['speedup']}x |")
    add(f"| accelerator energy saving (mean) | "
        f"{avg('energy_saving', lambda v: f'{v:.1%}')} | "
        f"{PAPER['energy_saving']:.0%} |")
    add(f"| GP steps (mean) | {avg('gp_fraction', lambda v: f'{v:.0%}')} | "
        "— |")
    add(f"| GP step / BP step, accelerator cycles (mean) | "
        f"{avg('gp_over_bp', lambda v: f'{v:.2f}')} | — |")
    add(f"| accelerator speedup of the same schedules with free predictor "
        f"training (geometric mean) | "
        f"{avg('accel_speedup_free_predictor', lambda v: f'{v:.2f}x', geomean)}"
        " | — |")
    add("")
    add("![BP and ADA-GP per model: accuracy, speedups, energy saving, GP "
        f"fraction]({os.path.basename(args.results)[:-3]}-summary.svg)")
    add("")
    add("## What the figures say")
    add("")
    add(analysis(args, rows, ds))
    add("")
    add("## Columns")
    add("")
    add("- *GP steps*: the fraction of ADA-GP's steps that were GP steps "
        "(warm-up included in the total).")
    add("- *GP/BP cycles*: a GP step's cycles over a plain BP step's, on the "
        "accelerator.")
    add("- *predictor cost*: how much longer ADA-GP's BP step is than a plain "
        "BP step on the accelerator (training the predictor on the true "
        "gradients).")
    add("- *accel speedup* = (steps x plain BP step) / (BP steps x ADA-GP BP "
        "step + GP steps x GP step), from the CPU run's sequence; *energy "
        "saving* likewise with energies. Steps start and end with the queues "
        "drained, so a schedule's cost is the sum of its steps' "
        "(`benchmarks/accel_steps.py --check-schedule` checks this).")
    if getattr(args, "predictor_every", 1) > 1:
        add(f"- `--predictor-every {args.predictor_every}`: one BP step in "
            f"{args.predictor_every} trained the predictor; the others count "
            "as ADA-GP's plain BP step (`@bp_plain_step`) in the "
            "accelerator columns.")
    raw = os.path.abspath(args.out)
    if raw.startswith(ROOT + os.sep):
        raw = os.path.relpath(raw, ROOT)
    add(f"- Raw per-model files: `{raw}/<model>/` (metrics, logs, "
        "result.json; not in git).")
    add("")
    return "\n".join(lines)


def gap_split(got, free):
    """Splits the factor between the measured speedup and the paper's into
    the predictor's training cost (got -> free) and the rest (free ->
    paper: the GP fraction and the GP step's own cost)."""
    paper = PAPER["speedup"]
    if got >= paper:
        return f"That reaches the paper's {paper}x."
    if free >= paper:
        return (f"The whole gap to the paper's {paper}x is the predictor's "
                "training cost.")
    predictor = math.log(free / got) if free > got else 0.0
    rest = math.log(paper / free)
    share = predictor / (predictor + rest)
    return (f"Of the gap to the paper's {paper}x (a factor "
            f"{paper / got:.2f}), the predictor's training accounts for "
            f"{free / got:.2f}x ({share:.0%} of it in log terms) and the GP "
            f"fraction and the GP step's own cost for {paper / free:.2f}x.")


def analysis(args, rows, ds):
    out = []
    have = [(r, d) for r, d in zip(rows, ds) if "ag_acc" in d]
    if not have:
        return "No model completed both CPU runs."
    trained = [(r, d) for r, d in have if d["bp_acc"] >= CHANCE_LEVEL]
    untrained = [r["model"] for r, d in have if d["bp_acc"] < CHANCE_LEVEL]
    lost = [(r["model"], d) for r, d in trained
            if d["ag_acc"] < d["bp_acc"] - 0.01]
    out.append(f"- **Accuracy.** {len(have)} models trained both ways. "
               + (f"On {len(untrained)} ("
                  + ", ".join(f"`{m}`" for m in untrained)
                  + f") BP itself stayed below {CHANCE_LEVEL:.0%}, near "
                  "chance for ten classes: those runs are too short to say "
                  "anything about accuracy. " if untrained else "")
               + f"Of the {len(trained)} others, ADA-GP is within one point "
               f"of BP on {len(trained) - len(lost)}" +
               (": it loses more on " + ", ".join(
                   f"`{m}` ({100 * (d['ag_acc'] - d['bp_acc']):+.1f})"
                   for m, d in lost) if lost else "") + ".")
    gp = mean([d["gp_fraction"] for _, d in have])
    out.append(f"- **GP fraction.** On average {gp:.0%} of the steps were GP "
               "steps. " + (
                   "The adaptive policy starts and lengthens GP runs only "
                   "while the predictor's quality (cosine with the batch's "
                   "true gradient) is high and ends them when the loss rises; "
                   if args.policy == "adaptive" else
                   f"The fixed policy runs {args.gp_run} GP steps per "
                   f"{args.bp_run} BP after the warm-up; ") +
               "short runs also spend a large share in the BP warm-up.")
    acc = [d for d in ds if "accel_speedup" in d]
    if acc:
        ovh = mean([d["predictor_overhead"] for d in acc])
        ratio = mean([d["gp_over_bp"] for d in acc])
        free = geomean([d["accel_speedup_free_predictor"] for d in acc])
        got = geomean([d["accel_speedup"] for d in acc])
        out.append(f"- **Accelerator.** A GP step costs {ratio:.2f} of a BP "
                   f"step on average (it skips the backward pass), while "
                   f"training the predictor makes ADA-GP's BP steps "
                   f"{ovh:+.0%} longer than plain BP steps. With the measured "
                   f"GP fractions the schedules give {got:.2f}x (geometric "
                   f"mean); with free predictor training they would give "
                   f"{free:.2f}x. " + gap_split(got, free))
    cpu = [d for d in ds if "cpu_speedup" in d]
    if cpu:
        out.append(f"- **CPU.** Geometric-mean wall-clock speedup "
                   f"{geomean([d['cpu_speedup'] for d in cpu]):.2f}x: on the "
                   "CPU the predictor's training costs relatively more than "
                   "on the accelerator, and the same GP fractions apply.")
    failed = [(r["model"], why(r, d)) for r, d in zip(rows, ds)
              if any("error" in r.get(p, {}) for p in ("bp", "adagp",
                                                        "accel"))]
    if failed:
        out.append("- **Not measured.** " + "; ".join(
            f"`{m}`: {w}" for m, w in failed) + ".")
    return "\n".join(out)


def git_revision():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short",
                              "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True,
                               text=True).stdout.strip()
        return rev + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true",
                    help="short runs (a subset of the data for big models)")
    ap.add_argument("--models", default=",".join(ORDER),
                    help="comma-separated names of models/<name>.onnx")
    ap.add_argument("--images", type=int, help="override: training images")
    ap.add_argument("--epochs", type=int, help="override: epochs")
    ap.add_argument("--test-images", type=int, help="override: test images")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=0,
                    help="adagp-train --threads (default: all cores)")
    ap.add_argument("--config", default="",
                    help="accelerator configuration (default preset)")
    ap.add_argument("--predictor-every", type=int, default=2, metavar="N",
                    help="adagp-train --predictor-every: only every N-th BP "
                    "step trains the predictor (default 2)")
    ap.add_argument("--policy", default="fixed",
                    help="adagp-train --policy of the ADA-GP runs")
    ap.add_argument("--bp-run", type=int, default=2)
    ap.add_argument("--gp-run", type=int, default=3)
    ap.add_argument("--lr-schedule", default="cosine",
                    help="adagp-train --lr-schedule of both runs")
    ap.add_argument("--no-accel", action="store_true")
    ap.add_argument("--timeout", type=int, default=3600,
                    help="seconds per adagp-train run")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--out", default=os.path.join(ROOT, "out",
                                                  "experiments"))
    ap.add_argument("--results", default=os.path.join(ROOT, "docs",
                                                      "results.md"),
                    help="the report to write ('' for none)")
    ap.add_argument("--save-models", action="store_true",
                    help="also export both trained models to OUT/<model>/")
    ap.add_argument("--print-table", action="store_true",
                    help="print a BP / ADA-GP comparison table per model")
    ap.add_argument("--report-only", action="store_true",
                    help="measure nothing: write the report from the "
                    "per-model results in --out (models without one are "
                    "listed as not measured)")
    ap.add_argument("--resume", action="store_true",
                    help="reuse per-model results with the same settings")
    args = ap.parse_args()
    if args.predictor_every < 1:
        sys.exit("experiments: --predictor-every must be at least 1")
    budget = BUDGET["quick" if args.quick else "full"]
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    for n in names:
        if not os.path.exists(model_path(n)):
            sys.exit(f"experiments: {model_path(n)} does not exist "
                     "(scripts/models.sh generates the models not in git)")
    started = datetime.datetime.utcnow()
    t0 = time.time()
    rows = []
    for n in names:
        images, epochs, test = budget[CLASS.get(model_name(n), "large")]
        settings = (args.images if args.images is not None else images,
                    args.epochs or epochs,
                    args.test_images or test)
        rows.append(measure(args, n, settings))
        if rows[-1].get("missing"):
            continue
        d = derived(rows[-1])
        log(f"   {n}: " + ", ".join(f"{k} {v:.3f}" for k, v in d.items()))
    if args.print_table:
        for r in rows:
            print(comparison_table(r))
    if args.results:
        command = "scripts/experiments.sh" + (" --quick" if args.quick
                                              else "")
        extra, skip = [], False
        for a in sys.argv[1:]:
            if skip or a == "--quick" or a.startswith("--bin="):
                skip = False
                continue
            if a == "--bin":
                skip = True
                continue
            extra.append(a)
        if extra:
            command += " " + " ".join(extra)
        prefix = args.results[:-3] + "-"
        plot([r for r in rows if not r.get("missing")], prefix)
        write_atomic(args.results,
                     report(args, rows, command, started,
                            sum(r.get("seconds", 0) for r in rows)))
        log(f"wrote {args.results} and {prefix}summary.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
