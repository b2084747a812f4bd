#!/usr/bin/env python3
"""The web UI's experiments table over 100,000 experiments with 50 columns (issue 12, "Measure"), on SQLite and on
PostgreSQL: first paint of the table page, the 50 columns applied, a sort by a metric (both directions) and a filter,
each timed in a real headless Chromium (bench/UiScale.java through Selenium) until the table is drawn. Goal: < 1 s each.

The ledger is seeded in bulk (--experiments rows x --params params x --metrics metrics, straight into the tables the
migrations made: one executemany on SQLite, COPY on PostgreSQL), not by running 100,000 experiments. Then
`sortie server --workers 0` serves it on loopback and UiScale runs --runs rounds; each round's figures come with the
1-minute load average as it started; the medians are printed last as JSON.

With --compare: the compare page of 100 experiments x 10 metrics x 10,000 steps (10 million points, SQLite), timed
until every chart is drawn and then until the page answers a pointer moved over a chart. Goal: < 2 s.

Usage: python3 bench/ui_scale.py [--db sqlite|postgresql|both] [--runs N] [--experiments N]
       python3 bench/ui_scale.py --compare [--runs N] [--compare-experiments N] [--steps N]
       (build first: mvn -q -DskipTests package; PostgreSQL from Debian's postgresql package, as the tests use)
"""
import argparse
import csv
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

from benchlib import load_average, median
from foundation import ROOT, SORTIE, WORK

STATUSES = ["succeeded"] * 6 + ["failed", "running", "queued"]


def rows(n, n_params, n_metrics):
    """(experiment row, [metric rows]) for n experiments, the same every time (seeded). After the load the database
    is vacuumed and analyzed, as autovacuum would do on its own a little later."""
    rng = random.Random(0)
    now = int(time.time() * 1000)
    for i in range(n):
        eid = uuid.UUID(int=rng.getrandbits(128)).hex[:12]
        params = {f"p{j:02d}": round(rng.random(), 6) for j in range(n_params)}
        status = STATUSES[i % len(STATUSES)]
        created = now - (n - i) * 1_000
        started = None if status == "queued" else created + 500
        ended = created + 42_000 if status in ("succeeded", "failed") else None
        latest = {} if status == "queued" else {f"m{k:02d}": rng.random() for k in range(n_metrics)}
        exp = (eid, i + 1, f"exp-{i}", status, "local" if i % 3 else "gpu", json.dumps({"argv": ["python3", "train.py"]}),
               json.dumps(params), created, started, ended, 0 if ended else None, 1, json.dumps(latest) if latest else None)
        yield exp, [(eid, k, 99, v, created + 42_000) for k, v in latest.items()]


EXP_COLUMNS = "id, seq, name, status, executor, command, params, created_at, started_at, ended_at, exit_code, attempt, latest_metrics"
METRIC_COLUMNS = "experiment_id, metric_key, step, value, logged_at"


def seed_sqlite(db, a):
    import sqlite3
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    exps, metrics = [], []
    for e, m in rows(a.experiments, a.params, a.metrics):
        exps.append(e)
        metrics.extend(m)
    con.executemany(f"INSERT INTO experiments ({EXP_COLUMNS}) VALUES ({','.join('?' * 13)})", exps)
    con.executemany(f"INSERT INTO metrics ({METRIC_COLUMNS}) VALUES (?,?,?,?,?)", metrics)
    con.commit()
    con.execute("ANALYZE")
    con.close()


def seed_postgres(psql, env, work, a):
    exp_csv = os.path.join(work, "experiments.csv")
    met_csv = os.path.join(work, "metrics.csv")
    with open(exp_csv, "w", newline="") as fe, open(met_csv, "w", newline="") as fm:
        we, wm = csv.writer(fe), csv.writer(fm)
        for e, m in rows(a.experiments, a.params, a.metrics):
            we.writerow(["" if v is None else v for v in e])
            wm.writerows(m)
    os.chmod(work, 0o755)
    for f in (exp_csv, met_csv):
        os.chmod(f, 0o644)
    subprocess.run(psql + ["-v", "ON_ERROR_STOP=1", "-c", f"\\copy experiments ({EXP_COLUMNS}) FROM '{exp_csv}' CSV",
                           "-c", f"\\copy metrics ({METRIC_COLUMNS}) FROM '{met_csv}' CSV", "-c", "VACUUM ANALYZE"],
                   env=env, check=True, stdout=subprocess.DEVNULL)


def selenium_classpath():
    cp_file = os.path.join(WORK, "ui-scale-classpath.txt")
    if not os.path.exists(cp_file):
        subprocess.run(["mvn", "-B", "-ntp", "-o", "-q", "test-compile", "dependency:build-classpath", "-pl", "sortie-cli", "-am",
                        f"-Dmdep.outputFile={cp_file}", "-Dmdep.includeScope=test"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return open(cp_file).read().strip()


def serve(work, env, extra, wait_s=60):
    out_path = os.path.join(work, "server.out")
    out = open(out_path, "w")
    p = subprocess.Popen([SORTIE, "server", "--dir", os.path.join(work, "server"), "--port", "0", "--workers", "0"] + extra,
                         env=env, stdout=out, stderr=subprocess.STDOUT)
    for _ in range(int(wait_s * 20)):
        m = re.search(r"listening on (\S+)", open(out_path).read())
        if m:
            return p, m.group(1)
        if p.poll() is not None:
            break
        time.sleep(0.05)
    p.kill()
    sys.exit("the server did not start:\n" + open(out_path).read())


def measure(db, a, work, cp):
    env = {k: v for k, v in os.environ.items() if k not in ("SORTIE_SERVER", "SORTIE_TOKEN")}
    env["SORTIE_CREDENTIALS"] = os.path.join(work, "no-login")
    extra, pg = [], None
    try:
        t = time.perf_counter()
        if db == "postgresql":
            pg = os.path.join(work, "pg")
            os.makedirs(pg)
            os.chmod(work, 0o755)
            port, password = str(a.pg_port), "bench-pw"
            subprocess.run([os.path.join(ROOT, "testkit", "postgres", "pg.sh"), "start", pg, port, password], check=True,
                           stdout=subprocess.DEVNULL)
            url = f"postgresql://sortie@127.0.0.1:{port}/postgres"
            env["PGPASSWORD"] = password
            extra = ["--db", url]
        token = subprocess.run([SORTIE, "server", "token", "create", "--name", "bench", "--dir", os.path.join(work, "server")] + extra,
                               env=env, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        if db == "postgresql":
            psql = [sorted(p for p in (f"/usr/lib/postgresql/{v}/bin/psql" for v in os.listdir("/usr/lib/postgresql"))
                           if os.path.exists(p))[-1], "-q", "-h", "127.0.0.1", "-p", port, "-U", "sortie", "-d", "postgres"]
            seed_postgres(psql, env, work, a)
        else:
            seed_sqlite(os.path.join(work, "server", ".sortie", "ledger.db"), a)
        print(f"{db}: seeded {a.experiments} experiments x {a.params} params x {a.metrics} metrics in "
              f"{time.perf_counter() - t:.1f}s", file=sys.stderr)
        server, url = serve(work, env, extra)
        try:
            columns = ", ".join([f"params.p{j:02d}" for j in range(a.params)] + [f"metrics.m{k:02d}" for k in range(a.metrics)])
            load = load_average()
            r = subprocess.run(["java", f"-Dscreenshot={os.path.join(WORK, 'ui-scale-' + db + '.png')}", "-cp", cp,
                                os.path.join(ROOT, "bench", "UiScale.java"), url, token, str(a.runs), columns, "metrics.m07",
                                "metrics.m03<0.1"], capture_output=True, text=True)
            if r.returncode != 0:
                sys.exit(f"UiScale failed:\n{r.stdout}\n{r.stderr}")
            rounds = [dict(json.loads(line), load=load) for line in r.stdout.splitlines() if line.startswith("{")]
            for x in rounds:
                print(f"{db}: {json.dumps(x)}", file=sys.stderr)
            # the first round pays the JIT's warm-up of a server just started: reported, not in the medians
            warm = rounds[1:] or rounds
            keys = ["first_paint_ms", "columns_ms", "sort_ms", "sort_desc_ms", "filter_ms"]
            return {"db": db, "experiments": a.experiments, "columns": a.params + a.metrics, "rounds": len(warm),
                    "load": load, "cold": {k: rounds[0][k] for k in keys},
                    **{k: round(median([x[k] for x in warm]), 1) for k in keys},
                    "total_after_filter": rounds[-1]["total"], "rows": rounds[-1]["rows"]}
        finally:
            server.terminate()
            server.wait(timeout=30)
    finally:
        if pg:
            subprocess.run([os.path.join(ROOT, "testkit", "postgres", "pg.sh"), "stop", pg], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def seed_compare(db, n, n_metrics, steps):
    """n experiments, each with n_metrics metrics of `steps` points (metric_points), their latest values (metrics and
    latest_metrics) as recording them would leave; a noisy decay with one spike per series, which the charts must keep."""
    import math
    import sqlite3
    rng = random.Random(1)
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode=WAL")
    now = int(time.time() * 1000)
    ids = []
    for i in range(n):
        eid = uuid.UUID(int=rng.getrandbits(128)).hex[:12]
        ids.append(eid)
        latest = {}
        points = []
        for k in range(n_metrics):
            spike = rng.randrange(steps)
            for s in range(steps):
                v = math.exp(-s / 3000) + rng.random() * 0.05 + (5.0 if s == spike else 0.0)
                points.append((eid, f"m{k:02d}", s, v, now))
            latest[f"m{k:02d}"] = v
        con.execute(f"INSERT INTO experiments ({EXP_COLUMNS}) VALUES ({','.join('?' * 13)})",
                    (eid, i + 1, f"cmp-{i}", "succeeded", "local", json.dumps({"argv": ["python3", "train.py"]}),
                     json.dumps({"lr": 0.01 * i}), now + i, now + i, now + i + 1000, 0, 1, json.dumps(latest)))
        con.executemany("INSERT INTO metric_points (experiment_id, metric_key, step, value, logged_at) VALUES (?,?,?,?,?)", points)
        con.executemany(f"INSERT INTO metrics ({METRIC_COLUMNS}) VALUES (?,?,?,?,?)",
                        [(eid, k, steps - 1, v, now) for k, v in latest.items()])
    # the rollups of these series are filled as a ledger of the previous schema gets them: the table and its V8 row
    # dropped, the server's open runs V8 (MetricRollups.fillAll), the path every existing ledger takes
    con.execute("DROP TABLE IF EXISTS metric_rollups")
    con.execute("DELETE FROM flyway_schema_history WHERE version = '8'")
    con.commit()
    con.close()
    return ids


def measure_compare(a, work, cp):
    env = {k: v for k, v in os.environ.items() if k not in ("SORTIE_SERVER", "SORTIE_TOKEN")}
    env["SORTIE_CREDENTIALS"] = os.path.join(work, "no-login")
    d = os.path.join(work, "server")
    token = subprocess.run([SORTIE, "server", "token", "create", "--name", "bench", "--dir", d], env=env, check=True,
                           capture_output=True, text=True).stdout.strip().splitlines()[-1]
    t = time.perf_counter()
    ids = seed_compare(os.path.join(d, ".sortie", "ledger.db"), a.compare_experiments, 10, a.steps)
    print(f"compare: seeded {len(ids)} experiments x 10 metrics x {a.steps} steps in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    t = time.perf_counter()
    server, url = serve(work, env, [], wait_s=1800)
    fill_s = round(time.perf_counter() - t, 1)
    print(f"compare: the server started, the rollups of {len(ids) * 10} series filled by V8, in {fill_s}s", file=sys.stderr)
    try:
        load = load_average()
        r = subprocess.run(["java", f"-Dscreenshot={os.path.join(WORK, 'ui-scale-compare.png')}", "-cp", cp,
                            os.path.join(ROOT, "bench", "UiScale.java"), "compare", url, token, str(a.runs), ",".join(ids)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"UiScale compare failed:\n{r.stdout}\n{r.stderr}")
        rounds = [dict(json.loads(line), load=load) for line in r.stdout.splitlines() if line.startswith("{")]
        for x in rounds:
            print(f"compare: {json.dumps(x)}", file=sys.stderr)
        warm = rounds[1:] or rounds
        return {"compare": len(ids), "metrics": 10, "steps": a.steps, "rounds": len(warm), "load": load, "start_with_fill_s": fill_s,
                "cold": {k: rounds[0][k] for k in ("charts_ms", "interactive_ms")},
                "charts_ms": round(median([x["charts_ms"] for x in warm]), 1),
                "interactive_ms": round(median([x["interactive_ms"] for x in warm]), 1),
                "charts": rounds[-1]["charts"], "points": rounds[-1]["points"]}
    finally:
        server.terminate()
        server.wait(timeout=30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument("--runs", type=int, default=6, help="rounds in the browser (the first, cold, is left out of the medians)")
    ap.add_argument("--experiments", type=int, default=100_000)
    ap.add_argument("--params", type=int, default=25)
    ap.add_argument("--metrics", type=int, default=25)
    ap.add_argument("--pg-port", type=int, default=55439)
    ap.add_argument("--compare", action="store_true",
                    help="instead: the compare page of --compare-experiments experiments x 10 metrics x --steps steps (SQLite)")
    ap.add_argument("--compare-experiments", type=int, default=100)
    ap.add_argument("--steps", type=int, default=10_000)
    a = ap.parse_args()
    if not os.path.isdir(os.path.join(ROOT, "sortie-cli", "target", "dist", "lib")):
        sys.exit("build Sortie first: mvn -q -DskipTests package")
    os.makedirs(WORK, exist_ok=True)
    cp = selenium_classpath()
    if a.compare:
        work = tempfile.mkdtemp(prefix="ui-scale-compare-", dir=WORK)
        try:
            print(json.dumps(measure_compare(a, work, cp)))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        return
    results = []
    for db in (["sqlite", "postgresql"] if a.db == "both" else [a.db]):
        work = tempfile.mkdtemp(prefix=f"ui-scale-{db}-", dir=WORK)
        try:
            results.append(measure(db, a, work, cp))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    for r in results:
        print(json.dumps(r))


if __name__ == "__main__":
    main()
