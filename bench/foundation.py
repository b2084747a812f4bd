#!/usr/bin/env python3
"""Foundation benchmarks (issue 2), side by side in one run:

1. `sortie show` over a ledger of 10,000 experiments with 20 params and 20 metrics each
   (median of several runs; the ledger is made by this script), and `sortie show --json`.
2. The overhead of `sortie run -- true` against running `true` directly (median of several runs).

Usage: python3 bench/foundation.py [--runs N] [--experiments N]   (build first: mvn -q -DskipTests package)
Prints a Markdown table; BENCHMARKS.md records the latest figures.
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SORTIE = os.path.join(ROOT, "sortie")
WORK = os.path.join(ROOT, "bench", "work")


def sh(args, cwd, quiet=True):
    return subprocess.run(args, cwd=cwd, check=True,
                          stdout=subprocess.DEVNULL if quiet else None, stderr=subprocess.DEVNULL if quiet else None)


def timed(args, cwd, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        sh(args, cwd)
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


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
    con.commit()
    con.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
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
    show_med, _ = timed([SORTIE, "show"], show_dir, a.runs)
    json_med, _ = timed([SORTIE, "show", "--json"], show_dir, a.runs)
    version_med, _ = timed([SORTIE, "--version"], show_dir, a.runs)

    run_dir = os.path.join(work, "overhead")
    os.makedirs(run_dir)
    sh(["git", "init", "-q"], run_dir)
    sh([SORTIE, "init"], run_dir)
    sh(["git", "add", "-A"], run_dir)
    sh(["git", "-c", "user.name=b", "-c", "user.email=b@localhost", "commit", "-qm", "init"], run_dir)
    sh([SORTIE, "run", "-q", "--", "true"], run_dir)
    run_med, _ = timed([SORTIE, "run", "-q", "--", "true"], run_dir, a.runs)
    true_med, _ = timed(["true"], run_dir, a.runs)

    rows = [
        ("`sortie show`, %d experiments x 20 params x 20 metrics" % a.experiments, show_med, None),
        ("`sortie show --json`, same ledger", json_med, None),
        ("`sortie --version` (JVM start floor)", version_med, None),
        ("`true` run directly (floor)", true_med, None),
        ("`sortie run -- true` (end to end: snapshot, ledger, run, collect)", run_med, run_med / true_med),
    ]
    print(f"| measurement (median of {a.runs}) | seconds | ratio to floor |")
    print("| --- | ---: | ---: |")
    for name, s, ratio in rows:
        print(f"| {name} | {s:.3f} | {'' if ratio is None else f'{ratio:.0f}x'} |")
    print(f"\n`sortie run -- true` overhead over `true`: {run_med - true_med:.3f} s; "
          f"`sortie show` beyond JVM start: {show_med - version_med:.3f} s")


if __name__ == "__main__":
    main()
