#!/usr/bin/env python3
"""Queue benchmark, side by side in one run: the same N trivial experiments (a Python one-liner that prints
`metric=2*lr` for its param), two at a time, by

1. the floor: `xargs -P 2` running the N commands directly;
2. Sortie: one grid call `sortie run --queue -S lr=v1,...,vN`, then `sortie queue start -j 2` (returns when the
   queue is empty); checked with `sortie show --json` (N experiments, all succeeded, metric = 2*lr);
3. DVC 3.x (installed from PyPI into bench/.venv-dvc): `dvc exp run --queue -S lr=v1,...,vN`, then
   `dvc queue start -j 2`, waited on until every task has ended (from DVC's task result files, confirmed by
   `dvc queue status`; see wait_dvc); checked with `dvc exp show --json`.

The rows are timed in turn, round after round (Sortie, floor, DVC, Sortie, floor, DVC, ...: --rounds, default 5;
DVC, which takes minutes a round, in the first --dvc-rounds only, default 1), and each figure is the median of its
rounds, with the load average as each round started beside it; Sortie/floor is the median of the ratios of the
pairs timed side by side. (Timed once each, one after the other, one run's Sortie/floor moved from 0.77x to 3.04x.)

Usage: python3 bench/queue.py [--count N] [--rounds R] [--dvc-rounds D] [--dvc-count M] [--dvc-timeout S]
                              [--skip floor|sortie|dvc] [--json] [--keep]
Build Sortie first (mvn -q -DskipTests package). Work happens in bench/work/queue-* (git-ignored), removed at
the end unless --keep or something failed. Progress goes to stderr; the table (or --json) to stdout.
"""
import argparse
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import tempfile
import time

from benchlib import Commands, first_line, interleaved, median, paired_ratios
from dvcbench import (BASE_ENV, clean_up, dvc_env, ensure_dvc, fmt, footer, init_dvc, queue_counts, sortie_version, stop_queue,
                      wait_dvc)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SORTIE = os.path.join(ROOT, "sortie")
SORTIE_LIB = os.path.join(ROOT, "sortie-cli", "target", "dist", "lib")
WORK = os.path.join(ROOT, "bench", "work")
VENV = os.path.join(ROOT, "bench", ".venv-dvc")
REQUIREMENTS = os.path.join(ROOT, "bench", "requirements-queue.txt")

# One interpreter for all three rows, so none pays a different start-up (a pyenv shim, a venv's site-packages).
PY = sys.executable
# The experiment. DVC records metrics only from files, so its stage also writes metrics.json (one more tiny
# write); the printed line is the same everywhere. Double quotes inside, so it reads plainly on a shell line.
CODE = 'import sys; print("metric=" + str(float(sys.argv[1]) * 2))'
CODE_DVC = ('import sys, json; m = float(sys.argv[1]) * 2; print("metric=" + str(m)); '
            'json.dump({"metric": m}, open("metrics.json", "w"))')
JOBS = 2

_commands = Commands(BASE_ENV, "queue-bench")
log, run, capture = _commands.log, _commands.run, _commands.capture










def git_repo(path, files):
    os.makedirs(path)
    for name, text in files.items():
        with open(os.path.join(path, name), "w") as f:
            f.write(text)
    run(["git", "init", "-q"], path)


def git_commit(path, env=None):
    run(["git", "add", "-A"], path, env)
    run(["git", "commit", "-qm", "bench"], path, env)


def values(n):
    # Distinct, short, exact in decimal: 0.001, 0.002, ...; 2*lr is compared with isclose anyway.
    return [repr(round((i + 1) / 1000, 3)) for i in range(n)]


def metric_ok(lr, metric):
    return isinstance(metric, (int, float)) and math.isclose(float(metric), 2 * float(lr), rel_tol=1e-9)


def row(name, total, done, expected, **extra):
    r = {"name": name, "available": True, "total_s": total, "completed": done, "expected": expected,
         "per_exp_s": (total / done) if total is not None and done else None, "note": ""}
    r.update(extra)
    return r


def unavailable(name, why, expected):
    return {"name": name, "available": False, "total_s": None, "completed": 0, "expected": expected,
            "per_exp_s": None, "note": f"not available ({why})"}


# ---------------------------------------------------------------------------------------------------- floor

def bench_floor(work, vals):
    d = os.path.join(work, "floor")
    os.makedirs(d)
    out_path = os.path.join(d, "out.txt")
    # O_APPEND: the two commands share this file, and appends never overwrite each other.
    with open(out_path, "ab") as out:
        t = time.perf_counter()
        subprocess.run(["xargs", "-P", str(JOBS), "-n", "1", PY, "-c", CODE], cwd=d, env=BASE_ENV,
                       input="\n".join(vals).encode(), stdout=out, check=True)
        total = time.perf_counter() - t
    # The output does not say which lr made which line, so compare the sorted multisets.
    # Read the values wherever they are (not line by line), in case writes were interleaved after all.
    got = sorted(float(m) for m in re.findall(r"metric=(-?[0-9]+(?:\.[0-9]+)?(?:e-?[0-9]+)?)", open(out_path).read()))
    want = sorted(2 * float(v) for v in vals)
    done = sum(1 for g, w in zip(got, want) if math.isclose(g, w, rel_tol=1e-9)) if len(got) == len(want) else 0
    return row("floor (`xargs -P 2`)", total, done, len(vals))


# --------------------------------------------------------------------------------------------------- sortie

def bench_sortie(work, vals):
    name = "Sortie (`run --queue` + `queue start -j 2`)"
    if not os.path.isdir(SORTIE_LIB):
        return unavailable(name, "not built: run `mvn -q -DskipTests package` in " + ROOT, len(vals))
    d = os.path.join(work, "sortie")
    logfile = os.path.join(work, "sortie.log")
    # json.dumps gives a YAML-safe double-quoted scalar for the one-liner (it contains quotes).
    git_repo(d, {"sortie.yaml": f"name: q\nrun: {json.dumps(f'{PY} -c {shlex.quote(CODE)} ${{lr}}')}\n"
                                f"params: {{lr: 0.1}}\n"})
    run([SORTIE, "init"], d, logfile=logfile)
    git_commit(d)

    t0 = time.perf_counter()
    p = run([SORTIE, "run", "--queue", "-S", "lr=" + ",".join(vals)], d, logfile=logfile, check=False)
    t1 = time.perf_counter()
    # A failed queueing call (exit 2, bad usage, while the queue is not in the build) leaves nothing to time.
    if p.returncode != 0:
        return unavailable(name, first_line(p.stderr).removeprefix("sortie: "), len(vals))
    p = run([SORTIE, "queue", "start", "-j", str(JOBS)], d, logfile=logfile, check=False)
    t2 = time.perf_counter()
    if p.returncode == 2:  # bad usage: no `queue start` in this build
        return unavailable(name, first_line(p.stderr).removeprefix("sortie: "), len(vals))
    note = f"`queue start` exited {p.returncode}: {first_line(p.stderr)}; " if p.returncode else ""

    exps = json.loads(capture([SORTIE, "show", "--json"], d))
    good = [e for e in exps if e.get("status") == "succeeded" and metric_ok(e.get("lr"), e.get("metric"))]
    if len(exps) != len(vals) or len(good) != len(vals):
        note += f"{len(exps)} experiments in the ledger, {len(good)} succeeded with metric = 2*lr"
    return row(name, t2 - t0, len(good), len(vals), queue_s=t1 - t0, drain_s=t2 - t1, note=note.rstrip("; "))


# ------------------------------------------------------------------------------------------------------ DVC

def dvc_results(d, env):
    """Experiments that succeeded with metric = 2*lr, read from `dvc exp show --json`."""
    ok = 0
    for baseline in json.loads(capture(["dvc", "exp", "show", "--json"], d, env)):
        for exp in baseline.get("experiments") or []:
            if (exp.get("executor") or {}).get("state") not in (None, "success"):
                continue
            for rev in exp.get("revs") or []:
                data = rev.get("data") or {}
                lr = ((data.get("params") or {}).get("params.yaml") or {}).get("data", {}).get("lr")
                metric = ((data.get("metrics") or {}).get("metrics.json") or {}).get("data", {}).get("metric")
                ok += lr is not None and metric_ok(lr, metric)
    return ok


def bench_dvc(work, vals, count, timeout):
    name = "DVC (`exp run --queue` + `queue start -j 2`)"
    env = dvc_env(VENV, work)
    d = os.path.join(work, "dvc")
    logfile = os.path.join(work, "dvc.log")
    # `${lr}` is DVC's templating, filled from params.yaml (which `-S` rewrites per experiment); `params: [lr]`
    # makes lr a tracked param so `exp show` reports it.
    dvc_yaml = ("stages:\n  train:\n"
                f"    cmd: {json.dumps(f'{PY} -c {shlex.quote(CODE_DVC)} ${{lr}}')}\n"
                "    params: [lr]\n"
                "    metrics:\n      - metrics.json:\n          cache: false\n")
    git_repo(d, {"params.yaml": "lr: 0.1\n", "dvc.yaml": dvc_yaml})
    init_dvc(_commands, d, env, logfile)
    git_commit(d, env)

    # Wall-clock time here (not perf_counter), to compare with the mtimes of DVC's result files below.
    t0 = time.time()
    run(["dvc", "exp", "run", "--queue", "-S", "lr=" + ",".join(vals)], d, env, logfile)
    queue_s = time.time() - t0
    grid = "one grid call"
    queued = queue_counts(_commands, d, env).get("Queued", 0)  # not timed: a check of this script, not a user's step
    if queued != len(vals):
        # A DVC that does not expand comma lists queues one experiment with lr="v1,v2,..."; queue one by one.
        log(f"DVC queued {queued} experiments for {len(vals)} values; queueing them one at a time instead")
        run(["dvc", "queue", "remove", "--queued"], d, env, logfile)
        t0 = time.time()
        for v in vals:
            run(["dvc", "exp", "run", "--queue", "-S", f"lr={v}"], d, env, logfile)
        queue_s = time.time() - t0
        grid = "one call per value"
    t1 = time.time()
    run(["dvc", "queue", "start", "-j", str(JOBS)], d, env, logfile)
    end, counts, timed_out = wait_dvc(_commands, d, env, len(vals), t1 + timeout, logfile)
    if timed_out:
        log(f"DVC passed --dvc-timeout {timeout:.0f}s; stopping its queue")
        stop_queue(_commands, d, env, logfile)

    done = dvc_results(d, env)
    failed = sum(v for k, v in counts.items() if k not in ("Queued", "Running", "Success"))
    r = row(name, queue_s + end - t1, done, count, queue_s=queue_s, drain_s=end - t1, ran=len(vals), grid=grid)
    notes = []
    if failed:
        notes.append(f"{failed} did not succeed ({counts})")
    if timed_out:
        # The tasks killed at the deadline count in the time but not as done: a little against DVC.
        notes.append(f"stopped at --dvc-timeout {timeout:.0f}s with {done} of {len(vals)} done")
    if r["per_exp_s"] is not None and done < count:
        # Fewer than N ran (by --dvc-count or the timeout): scale the per-experiment time to N.
        r["extrapolated_total_s"] = r["per_exp_s"] * count
        notes.append(f"total for {count} extrapolated from {done}")
    r["note"] = "; ".join(notes)
    # Let the idle workers go (they would exit after 10 s anyway) before the work dir is removed.
    run(["dvc", "queue", "stop"], d, env, logfile, check=False)
    return r


# ---------------------------------------------------------------------------------------------------- report

def ratio(a, b):
    return a["per_exp_s"] / b["per_exp_s"] if a and b and a["per_exp_s"] and b["per_exp_s"] else None


def complete(r):
    return r is not None and r["available"] and r["completed"] > 0 and (
        r["completed"] == r["expected"] or "extrapolated_total_s" in r)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200, help="experiments per row (default 200)")
    ap.add_argument("--dvc-count", type=int, help="run DVC on this many only and extrapolate (default: --count)")
    ap.add_argument("--dvc-timeout", type=float, default=1800, help="stop DVC after this many seconds (default 1800)")
    ap.add_argument("--rounds", type=int, default=5, help="rounds of the rows, interleaved (default 5)")
    ap.add_argument("--dvc-rounds", type=int, default=1, help="rounds DVC runs in, the first ones (default 1)")
    ap.add_argument("--skip", action="append", choices=["floor", "sortie", "dvc"], default=[])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON instead of the table")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (bench/work/queue-*)")
    a = ap.parse_args()
    dvc_count = min(a.dvc_count or a.count, a.count)
    cmdline = shlex.join(["python3", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT), *sys.argv[1:]])

    os.makedirs(WORK, exist_ok=True)
    work = tempfile.mkdtemp(prefix="queue-", dir=WORK)
    vals = values(a.count)
    versions = {"python": f"{platform.python_version()} ({PY})", "sortie": sortie_version(_commands, SORTIE),
                "dvc": "skipped", "git": capture(["git", "--version"], ROOT).strip(),
                "cpus": os.cpu_count(), "load average at start": round(os.getloadavg()[0], 2)}

    def in_round(i, name):
        d = os.path.join(work, f"round-{i + 1}")
        os.makedirs(d, exist_ok=True)
        return d

    measures = []
    if "sortie" not in a.skip:
        measures.append(("sortie", lambda i: bench_sortie(in_round(i, "sortie"), vals)))
    if "floor" not in a.skip:
        measures.append(("floor", lambda i: bench_floor(in_round(i, "floor"), vals)))
    if "dvc" not in a.skip:
        measures.append(("dvc", lambda i: bench_dvc(in_round(i, "dvc"), vals[:dvc_count], a.count, a.dvc_timeout)
                         if i < a.dvc_rounds else None))
    try:
        if "dvc" not in a.skip:
            versions["dvc"] = ensure_dvc(_commands, VENV, REQUIREMENTS)  # before any timing: pip must not compete for the CPU
        log(f"{a.count} experiments, {JOBS} at a time, {a.rounds} rounds of: " + ", ".join(n for n, _ in measures))
        runs = interleaved(measures, a.rounds, log)
    except Exception:
        log(f"failed; work dir kept: {work}")
        raise

    # Each row: its median round's figures (by total), every round's total and load beside them.
    rows = {}
    for name, rs in runs.items():
        if not rs:
            continue
        totals = [r["total_s"] for r in rs if r["available"] and r["total_s"] is not None]
        mid = median(totals)
        r = dict(min(rs, key=lambda x: abs((x["total_s"] or 0) - (mid or 0))))
        r.update(total_s=mid, per_exp_s=(mid / r["completed"]) if mid is not None and r["completed"] else None,
                 rounds=[{"total_s": x["total_s"], "load": x["load"], "completed": x["completed"]} for x in rs],
                 completed=min(x["completed"] for x in rs))
        for key in ("queue_s", "drain_s"):  # Sortie's two steps: their own medians
            if key in r:
                r[key] = median([x.get(key) for x in rs])
        rows[name] = r

    floor, sortie, dvc = rows.get("floor"), rows.get("sortie"), rows.get("dvc")
    sf = median(paired_ratios(runs.get("sortie", []), runs.get("floor", []), "per_exp_s"))
    ds = median(paired_ratios(runs.get("dvc", []), runs.get("sortie", []), "per_exp_s"))
    goals = [
        {"goal": "Sortie within 1.5x of the floor", "ratio": sf,
         "met": bool(sf is not None and sf <= 1.5 and complete(sortie) and complete(floor))},
        {"goal": "DVC at least 10x slower than Sortie", "ratio": ds,
         "met": bool(ds is not None and ds >= 10 and complete(sortie) and complete(dvc))},
    ]
    # A row that is not available (Sortie before its queue) is no failure of this run; nothing to look at.
    all_ok = all(not x["available"] or x["completed"] == x["expected"] or "extrapolated_total_s" in x
                 for rs in runs.values() for x in rs)

    if a.json:
        print(json.dumps({"command": cmdline, "count": a.count, "jobs": JOBS, "rounds": a.rounds, "versions": versions,
                          "rows": rows, "ratios": {"sortie_over_floor": sf, "dvc_over_sortie": ds},
                          "goals": goals}, indent=2))
    else:
        print(f"Queue benchmark: {a.count} experiments, {JOBS} at a time; rows interleaved, {a.rounds} rounds; "
              "each figure the median of its rounds\n")
        print("| run | total wall s | experiments completed | wall s per experiment | each round: total s (load) | notes |")
        print("| --- | ---: | ---: | ---: | --- | --- |")
        for r in rows.values():
            total = fmt(r["total_s"])
            if "queue_s" in r and r["available"]:
                total += f" (queue {r['queue_s']:.2f} + drain {r['drain_s']:.2f})"
            if "extrapolated_total_s" in r:
                total += f"; extrapolated to {a.count}: {r['extrapolated_total_s']:.0f}"
            note = "; ".join(x for x in [r.get("grid", ""), r["note"]] if x)
            each = ", ".join(f"{fmt(x['total_s'])} ({x['load']})" for x in r["rounds"])
            print(f"| {r['name']} | {total} | {r['completed']} of {r.get('ran', r['expected'])} | "
                  f"{fmt(r['per_exp_s'], '.3f')} | {each} | {note} |")
        print(f"\nSortie/floor (per experiment, median of the rounds' pairs): {fmt(sf)}{'x' if sf else ''}; "
              f"DVC/Sortie (per experiment): {fmt(ds, '.1f')}{'x' if ds else ''}\n")
        for g in goals:
            print(f"- {g['goal']}: {'met' if g['met'] else 'not met'}"
                  f"{' (no figure to compare)' if g['ratio'] is None else ''}")
        footer(cmdline, versions)
    clean_up(_commands, work, a.keep or not all_ok)


if __name__ == "__main__":
    main()
