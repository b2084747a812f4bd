#!/usr/bin/env python3
"""Foundation benchmarks (issue 2), side by side in one run:

1. `sortie show` over a ledger of 10,000 experiments with 20 params and 20 metrics each (the ledger is made by
   this script), and `sortie show --json`, beside `sortie --version` (the JVM's start, the floor of any command);
2. the overhead of `sortie run -- true` against running `true` directly (the floor).

The rows are timed in turn, round after round (show, show --json, --version, true, run -- true, show, ...: --runs
rounds), so a change in the machine's load falls on every row alike; each figure is the median of its rounds,
with the 1-minute load average as each round started beside it. The comparisons (run / true, show - --version)
are the medians of the pairs timed side by side in one round.

Usage: python3 bench/foundation.py [--runs N] [--experiments N]   (build first: mvn -q -DskipTests package)
Prints a Markdown table; BENCHMARKS.md says how its figures are made.
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

from benchlib import interleaved, load_average, median, paired_ratios

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SORTIE = os.path.join(ROOT, "sortie")
WORK = os.path.join(ROOT, "bench", "work")


def sh(args, cwd, quiet=True):
    return subprocess.run(args, cwd=cwd, check=True,
                          stdout=subprocess.DEVNULL if quiet else None, stderr=subprocess.DEVNULL if quiet else None)


def timed(args, cwd):
    """One run of a command, for interleaved(): its wall seconds."""
    t = time.perf_counter()
    sh(args, cwd)
    return {"s": time.perf_counter() - t}


def seed_ledger(db, n, n_params, n_metrics):
    """Fills the ledger with the schema `sortie init` made (see sortie-ledger's V1 migration)."""
    rng = random.Random(0)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    now = int(time.time() * 1000)
    exps, metrics = [], []
    for i in range(n):
        eid = uuid.UUID(int=rng.getrandbits(128)).hex[:10]
        params = {f"p{j:02d}": round(rng.random(), 6) for j in range(n_params)}
        latest = {f"m{k:02d}": rng.random() for k in range(n_metrics)}
        created = now - (n - i) * 60_000
        exps.append((eid, i, f"exp-{i}", "succeeded", "local", json.dumps({"argv": ["python3", "train.py"]}),
                     json.dumps(params), created, created, created + 42_000, 0, 1, json.dumps(latest)))
        for k, v in latest.items():
            metrics.append((eid, k, 99, v, created + 42_000))
    con.executemany("INSERT INTO experiments (id, seq, name, status, executor, command, params, created_at, started_at,"
                    " ended_at, exit_code, attempt, latest_metrics) VALUES (" + ",".join("?" * 13) + ")", exps)
    con.executemany("INSERT INTO metrics (experiment_id, metric_key, step, value, logged_at) VALUES (?,?,?,?,?)", metrics)
    if con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'column_names'").fetchone():
        # the param names the ledger keeps with its rows (V9): each key where it first appears, and how many rows use it
        names = {}
        for e in exps:
            for pos, key in enumerate(json.loads(e[6])):
                first = names.setdefault(key, [key, e[7], e[1], pos, 0])
                first[4] += 1
        con.executemany("INSERT INTO column_names (kind, name, first_created_at, first_seq, position, uses) VALUES ('param', ?, ?, ?, ?, ?)",
                        list(names.values()))
    con.commit()
    con.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7, help="rounds of the rows, interleaved (default 7)")
    ap.add_argument("--experiments", type=int, default=10_000)
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(ROOT, "sortie-cli", "target", "dist", "lib")):
        sys.exit("build Sortie first: mvn -q -DskipTests package")
    # Its own folder (bench/work/foundation-*), removed at the end: other benches may be using bench/work.
    os.makedirs(WORK, exist_ok=True)
    work = tempfile.mkdtemp(prefix="foundation-", dir=WORK)
    try:
        measure(a, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(a, work):
    show_dir = os.path.join(work, "show")
    os.makedirs(show_dir)
    sh([SORTIE, "init"], show_dir)
    t = time.perf_counter()
    seed_ledger(os.path.join(show_dir, ".sortie", "ledger.db"), a.experiments, 20, 20)
    print(f"seeded {a.experiments} experiments in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    sh([SORTIE, "show"], show_dir)  # warm the page cache

    run_dir = os.path.join(work, "overhead")
    os.makedirs(run_dir)
    sh(["git", "init", "-q"], run_dir)
    sh([SORTIE, "init"], run_dir)
    sh(["git", "add", "-A"], run_dir)
    sh(["git", "-c", "user.name=b", "-c", "user.email=b@localhost", "commit", "-qm", "init"], run_dir)
    sh([SORTIE, "run", "-q", "--", "true"], run_dir)

    rows = [
        ("show", "`sortie show`, %d experiments x 20 params x 20 metrics" % a.experiments,
         lambda i: timed([SORTIE, "show"], show_dir)),
        ("json", "`sortie show --json`, same ledger", lambda i: timed([SORTIE, "show", "--json"], show_dir)),
        ("version", "`sortie --version` (JVM start floor)", lambda i: timed([SORTIE, "--version"], show_dir)),
        ("true", "`true` run directly (floor)", lambda i: timed(["true"], run_dir)),
        ("run", "`sortie run -- true` (end to end: snapshot, ledger, run, collect)",
         lambda i: timed([SORTIE, "run", "-q", "--", "true"], run_dir)),
    ]
    log = lambda m: print(f"[foundation-bench] {m}", file=sys.stderr, flush=True)
    runs = interleaved([(key, measure) for key, _, measure in rows], a.runs, log)

    # run / true and show - --version, each the median over the rounds of the two timed side by side.
    run_ratio = median(paired_ratios(runs["run"], runs["true"], "s"))
    by_round = {r["round"]: r["s"] for r in runs["true"]}
    run_over = median([r["s"] - by_round[r["round"]] for r in runs["run"] if r["round"] in by_round])
    by_round = {r["round"]: r["s"] for r in runs["version"]}
    show_over = median([r["s"] - by_round[r["round"]] for r in runs["show"] if r["round"] in by_round])

    print(f"| measurement (median of {a.runs} rounds, rows interleaved) | seconds | ratio to floor "
          "(median of pairs) | load average (median of rounds) | each round: s (load) |")
    print("| --- | ---: | ---: | ---: | --- |")
    for key, name, _ in rows:
        rs = runs[key]
        ratio = f"{run_ratio:.0f}x" if key == "run" and run_ratio is not None else ""
        each = ", ".join(f"{r['s']:.3f} ({r['load']})" for r in rs)
        print(f"| {name} | {median([r['s'] for r in rs]):.3f} | {ratio} | {median([r['load'] for r in rs]):.2f} | {each} |")
    print(f"\n`sortie run -- true` overhead over `true`: {run_over:.3f} s; "
          f"`sortie show` beyond JVM start: {show_over:.3f} s (medians of the rounds' pairs); "
          f"load average at the end: {load_average()}")


if __name__ == "__main__":
    main()
