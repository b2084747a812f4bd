#!/usr/bin/env python3
"""DVC pipeline benchmark, side by side in one run: a grid of 6 experiments over a four-stage pipeline in the DVC
tutorial's shape (prepare, featurize, train, evaluate; nested params.yaml; eval/metrics.json; a ROC plot; data
tracked by DVC), 2 at a time, by

1. Sortie: `sortie run --queue -S train.n_est=50,60,70 -S featurize.max_features=50,100` (sortie.yaml: `run: dvc
   repro`), then `sortie queue start -j 2` (returns when the queue is empty);
2. DVC 3 (from PyPI): `dvc exp run --queue` with the same two `-S` lists, then `dvc queue start -j 2`, waited on until
   every task has ended (DVC's task result files, confirmed by `dvc queue status`, as bench/queue.py does);

each with the run-cache cold (a fresh copy of the project: its DVC cache holds the data only) and warm (the same
grid again in that project: every stage's result is in the run-cache). Both run the same stages with the same
Python; the metrics of every grid point are compared between the two (and with the cold run's), and a row whose
metrics differ or whose experiments did not all succeed is reported as such.

The rows are timed in turn, round after round (Sortie cold, DVC cold, Sortie warm, DVC warm, ...: --rounds, default
3), each figure is the median of its rounds with every round's time and the load average as it started beside it,
and DVC/Sortie is the median of the ratios of the pairs timed in the same round.

Usage: python3 bench/dvc.py [--rounds R] [--venv DIR] [--timeout S] [--json] [--keep]
Build Sortie first (mvn -q -DskipTests package). DVC is installed into bench/.venv-dvc the first time (or give a
venv that has dvc 3 with --venv). Work happens in bench/work/dvc-* (git-ignored), removed at the end unless --keep or
something failed. Progress goes to stderr; the table (or --json) to stdout.
"""
import argparse
import json
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time

from benchlib import Commands, first_line, interleaved, median, paired_ratios
from dvcbench import (BASE_ENV, clean_up, dvc_env, ended, ensure_dvc, fmt, footer, init_dvc, queue_counts, sortie_version,
                      stop_queue, wait_dvc)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SORTIE = os.path.join(ROOT, "sortie")
SORTIE_LIB = os.path.join(ROOT, "sortie-cli", "target", "dist", "lib")
WORK = os.path.join(ROOT, "bench", "work")
REQUIREMENTS = os.path.join(ROOT, "bench", "requirements-queue.txt")
JOBS = 2
GRID = [("train.n_est", ["50", "60", "70"]), ("featurize.max_features", ["50", "100"])]
METRICS = ["roc_auc.test", "avg_prec.test"]

_commands = Commands(BASE_ENV, "dvc-bench")
log, run, capture = _commands.log, _commands.run, _commands.capture

# The tutorial's shape with small pure-Python stages, the project DvcProjectTest runs (testkit/dvc-tutorial/): what
# is timed is what each tool does around the stages, not scikit-learn.
TUTORIAL = os.path.join(ROOT, "testkit", "dvc-tutorial")
TUTORIAL_FILES = ["data/data.xml", "params.yaml", "dvc.yaml", "src/prepare.py", "src/featurization.py", "src/train.py",
                  "src/evaluate.py"]

SORTIE_YAML = """\
name: tut
run: dvc repro
metrics: [eval/metrics.json]
"""


def grid_args():
    out = []
    for key, vals in GRID:
        out += ["-S", f"{key}={','.join(vals)}"]
    return out


def grid_size():
    n = 1
    for _, vals in GRID:
        n *= len(vals)
    return n


def template(work, env):
    """The project both tools start from: committed, its data added to DVC, DVC's cache holding only the data."""
    d = os.path.join(work, "template")
    os.makedirs(d)
    files = {"sortie.yaml": SORTIE_YAML}
    for name in TUTORIAL_FILES:
        with open(os.path.join(TUTORIAL, name)) as f:
            files[name] = f.read()
    for name, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(d, name)), exist_ok=True)
        with open(os.path.join(d, name), "w") as f:
            f.write(text)
    logfile = os.path.join(work, "template.log")
    run(["git", "init", "-q"], d, env, logfile)
    init_dvc(_commands, d, env, logfile)
    run(["dvc", "add", "-q", "data/data.xml"], d, env, logfile)
    run(["git", "add", "-A"], d, env, logfile)
    run(["git", "commit", "-qm", "tutorial"], d, env, logfile)
    return d


def copy_of(tpl, d):
    shutil.copytree(tpl, d, symlinks=True)
    return d


def key_of(params):
    return tuple(str(params.get(k)) for k, _ in GRID)


def row(name, total, done, metrics, note="", **extra):
    r = {"name": name, "total_s": total, "completed": done, "expected": grid_size(), "metrics": metrics, "note": note}
    r.update(extra)
    return r


# --------------------------------------------------------------------------------------------------- sortie

def bench_sortie(d, env, logfile, name):
    known = {e["name"] for e in json.loads(capture([SORTIE, "show", "--json"], d, env) or "[]")} \
        if os.path.isdir(os.path.join(d, ".sortie")) else set()
    t0 = time.perf_counter()
    run([SORTIE, "run", "--queue", *grid_args()], d, env, logfile)
    t1 = time.perf_counter()
    p = run([SORTIE, "queue", "start", "-j", str(JOBS)], d, env, logfile, check=False)
    t2 = time.perf_counter()
    note = f"`queue start` exited {p.returncode}: {first_line(p.stderr)}" if p.returncode else ""
    metrics = {}
    done = 0
    for e in json.loads(capture([SORTIE, "show", "--json"], d, env)):
        if e["name"] in known:
            continue
        if e.get("status") == "succeeded":
            done += 1
        # metric names as the ledger has them ('roc_auc/test' or 'roc_auc.test'): compared with DVC's dotted ones
        m = {k.replace("/", "."): v for k, v in e.items() if k.replace("/", ".") in METRICS}
        metrics[key_of({k: norm(e.get(k)) for k, _ in GRID})] = m
    return row(name, t2 - t0, done, metrics, note, queue_s=t1 - t0, drain_s=t2 - t1)


def norm(v):
    return int(v) if isinstance(v, float) and v.is_integer() else v


# ------------------------------------------------------------------------------------------------------ DVC

def dvc_exps(d, env):
    """{commit: (params key, metrics)} of the experiments `dvc exp show --json` lists."""
    out = {}
    for baseline in json.loads(capture(["dvc", "exp", "show", "--json"], d, env)):
        for exp in baseline.get("experiments") or []:
            for rev in exp.get("revs") or []:
                data = rev.get("data") or {}
                params = ((data.get("params") or {}).get("params.yaml") or {}).get("data", {})
                flat = {}
                for k, _ in GRID:
                    section, leaf = k.split(".")
                    flat[k] = (params.get(section) or {}).get(leaf)
                m = ((data.get("metrics") or {}).get("eval/metrics.json") or {}).get("data", {})
                out[rev["rev"]] = (key_of(flat), {f"{a}.{b}": m.get(a, {}).get(b) for a, b in (x.split(".") for x in METRICS)})
    return out


def wait_workers_gone(d, deadline):
    """Waits (untimed) until the queue workers of project d have exited, so each row starts its own."""
    celery = os.path.join(d, ".dvc", "tmp", "exps", "celery")
    while time.time() < deadline:
        alive = False
        for f in os.listdir(celery) if os.path.isdir(celery) else []:
            if f.endswith(".pid"):
                try:
                    os.kill(int(open(os.path.join(celery, f)).read().strip()), 0)
                    alive = True
                except (ValueError, OSError):
                    pass
        if not alive:
            return
        time.sleep(0.5)


def bench_dvc(d, env, logfile, name, timeout):
    before = dvc_exps(d, env) if os.path.isdir(os.path.join(d, ".dvc", "tmp", "exps")) else {}
    ended_before = ended(queue_counts(_commands, d, env)) if before else 0
    t0 = time.time()
    run(["dvc", "exp", "run", "--queue", *grid_args()], d, env, logfile)
    t1 = time.time()
    run(["dvc", "queue", "start", "-j", str(JOBS)], d, env, logfile)
    end, counts, timed_out = wait_dvc(_commands, d, env, ended_before + grid_size(), t1 + timeout, logfile)
    notes = []
    if timed_out:
        notes.append(f"stopped at --timeout {timeout:.0f}s")
        stop_queue(_commands, d, env, logfile)
    failed = counts.get("Failed", 0)
    if failed:
        notes.append(f"{failed} failed ({counts})")
    metrics = {}
    done = 0
    for rev, (k, m) in dvc_exps(d, env).items():
        if rev not in before:
            done += 1
            metrics[k] = m
    # Not `dvc queue stop`: its shutdown stays in the broker and stops the workers the next row in this project starts,
    # after one task each. The idle workers exit by themselves; the next row waits for that, untimed.
    wait_workers_gone(d, time.time() + 120)
    return row(name, end - t0, done, metrics, "; ".join(notes), queue_s=t1 - t0, drain_s=end - t1)


# ---------------------------------------------------------------------------------------------------- report

def same_metrics(a, b):
    """Every grid point both have, with metrics, has the same metrics in both (a missing point is counted apart)."""
    common = [k for k in a if k in b and all(a[k].get(m) is not None and b[k].get(m) is not None for m in METRICS)]
    return bool(common) and all(float(a[k][m]) == float(b[k][m]) for k in common for m in METRICS)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the four rows, interleaved (default 3)")
    ap.add_argument("--venv", default=os.path.join(ROOT, "bench", ".venv-dvc"), help="a venv with dvc 3 (made if missing)")
    ap.add_argument("--timeout", type=float, default=900, help="stop DVC's queue after this many seconds (default 900)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON instead of the table")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (bench/work/dvc-*)")
    a = ap.parse_args()
    cmdline = shlex.join(["python3", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT), *sys.argv[1:]])
    if not os.path.isdir(SORTIE_LIB):
        sys.exit(f"Sortie is not built: run `mvn -q -DskipTests package` in {ROOT}")
    venv = os.path.abspath(a.venv)
    os.makedirs(WORK, exist_ok=True)
    work = tempfile.mkdtemp(prefix="dvc-", dir=WORK)
    env = dvc_env(venv, work)
    versions = {"python": platform.python_version(), "sortie": sortie_version(_commands, SORTIE), "dvc": ensure_dvc(_commands, venv, REQUIREMENTS),
                "git": capture(["git", "--version"], ROOT).strip(), "cpus": os.cpu_count()}
    tpl = template(work, env)
    dirs = {}

    def measure(tool, warm):
        def m(i):
            key = (tool, i)
            if not warm:
                dirs[key] = copy_of(tpl, os.path.join(work, f"round-{i + 1}-{tool}"))
            d = dirs[key]
            logfile = os.path.join(work, f"round-{i + 1}-{tool}.log")
            name = f"{'Sortie' if tool == 'sortie' else 'DVC'}, run-cache {'warm' if warm else 'cold'}"
            if tool == "sortie":
                return bench_sortie(d, env, logfile, name)
            return bench_dvc(d, env, logfile, name, a.timeout)
        return m

    rows_spec = [("sortie cold", measure("sortie", False)), ("dvc cold", measure("dvc", False)),
                 ("sortie warm", measure("sortie", True)), ("dvc warm", measure("dvc", True))]
    log(f"grid of {grid_size()}, {JOBS} at a time, {a.rounds} rounds of: " + ", ".join(n for n, _ in rows_spec))
    try:
        runs = interleaved(rows_spec, a.rounds, log)
    except Exception:
        log(f"failed; work dir kept: {work}")
        raise

    # every row's metrics the same as a complete row's, grid point by grid point, in every round
    complete = [r for rs in runs.values() for r in rs if r["completed"] == grid_size() and len(r["metrics"]) == grid_size()
                and all(v is not None for m in r["metrics"].values() for v in m.values())]
    reference = complete[0]["metrics"] if complete else {}
    sortie_ok = True
    for name, rs in runs.items():
        for r in rs:
            r["same_metrics"] = same_metrics(r["metrics"], reference)
            r["complete"] = r in complete
            if not r["complete"] and not r["note"]:
                r["note"] = "incomplete"
            if name.startswith("sortie"):
                sortie_ok = sortie_ok and r["same_metrics"] and r["complete"]
    # a DVC task that failed (its own run-cache race: two workers writing one entry) is said in its row; the goal
    # needs Sortie's rows complete and every metric both tools computed equal
    all_ok = sortie_ok and all(r["same_metrics"] for rs in runs.values() for r in rs)
    rows = {}
    for name, rs in runs.items():
        rows[name] = {"name": rs[0]["name"], "total_s": median([r["total_s"] for r in rs]),
                      "queue_s": median([r["queue_s"] for r in rs]), "drain_s": median([r["drain_s"] for r in rs]),
                      "rounds": [{"total_s": r["total_s"], "load": r["load"], "completed": r["completed"],
                                  "same_metrics": r["same_metrics"], "note": r["note"]} for r in rs]}
    ratios = {cache: median(paired_ratios(runs[f"dvc {cache}"], runs[f"sortie {cache}"], "total_s"))
              for cache in ("cold", "warm")}
    goals = [{"goal": f"Sortie at least 2x faster than DVC's queue, run-cache {c}", "ratio": ratios[c],
              "met": bool(ratios[c] is not None and ratios[c] >= 2 and all_ok)} for c in ("cold", "warm")]

    if a.json:
        print(json.dumps({"command": cmdline, "grid": GRID, "jobs": JOBS, "rounds": a.rounds, "versions": versions,
                          "rows": rows, "dvc_over_sortie": ratios, "metrics_identical": all_ok, "goals": goals}, indent=2))
    else:
        print(f"DVC pipeline benchmark: a grid of {grid_size()} over four stages, {JOBS} at a time; rows interleaved, "
              f"{a.rounds} rounds; each figure the median of its rounds\n")
        print("| run | total wall s (queue + drain) | each round: total s (load) | experiments, metrics = DVC's |")
        print("| --- | ---: | --- | --- |")
        for r in rows.values():
            each = ", ".join(f"{fmt(x['total_s'])} ({x['load']})" for x in r["rounds"])
            checks = ", ".join(f"{x['completed']}/{grid_size()} {'same' if x['same_metrics'] else 'DIFFERENT'}"
                               + (f" ({x['note']})" if x["note"] else "") for x in r["rounds"])
            print(f"| {r['name']} | {fmt(r['total_s'])} ({fmt(r['queue_s'])} + {fmt(r['drain_s'])}) | {each} | {checks} |")
        print(f"\nDVC/Sortie (median of the rounds' pairs): cold {fmt(ratios['cold'])}x, warm {fmt(ratios['warm'])}x\n")
        for g in goals:
            print(f"- {g['goal']}: {'met' if g['met'] else 'not met'}")
        footer(cmdline, versions)
    clean_up(_commands, work, a.keep or not all_ok)


if __name__ == "__main__":
    main()
