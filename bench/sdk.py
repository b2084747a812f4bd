#!/usr/bin/env python3
"""SDK logging benchmark, side by side in one run: 1,000,000 metric points (100 metrics x 10,000 steps) logged
from Python by

1. the Sortie SDK (sdk/python), inside a scheduled run: a throwaway project (git init, `sortie init`), the
   logging script run as `sortie run -- python bench_child.py ...`, so the SDK appends to $SORTIE_EVENTS_FILE
   and Sortie's run supervisor tails that into the ledger; `run.log_metrics({100 values}, step=s)` per step;
   checked by counting rows of metric_points in .sortie/ledger.db with sqlite3;
2. MLflow 3.x: `MlflowClient().log_batch(run_id, metrics=[100 Metric])` per step into a local SQLite tracking
   store (`mlflow.set_tracking_uri("sqlite:///...")`); checked by counting rows of its `metrics` table;
2b. MLflow with asynchronous logging: the same `log_batch(..., synchronous=False)` (the call queues the batch for
   MLflow's logging thread and returns, as Sortie's SDK appends to a buffer); durable after
   `mlflow.flush_async_logging()` and `mlflow.end_run()`. "Calls return" is compared with this row;
3. dvclive 3.x: `Live().log_metric(name, value)` for each metric, then `live.next_step()`, per step; checked by
   counting the rows of its plots/metrics/*.tsv files.

MLflow and dvclive run in a temp folder outside any git repository: dvclive runs `dvc init` in an enclosing git
repository and saves a DVC experiment into it on end(), which must not happen to this checkout (and would add
`dvc exp save` to its time).

Each row runs in a fresh process of one interpreter (the venv's python). Times, from the first logging call:
- calls return: until the last logging call returned (what the training loop waits for);
- durable: until the library's finish call returned: `run.finish()` (every event appended to the events
  file), `mlflow.end_run()` (MLflow commits each log_batch), `live.end()` (files written);
- queryable: until the points can be read back: Sortie's ledger holding all of them (polled cheaply while the
  run goes, then counted exactly); for MLflow and dvclive the same as durable.
Set-up that happens once (interpreter start, imports, MLflow's schema migrations, `sortie.start()`, the JVM)
is outside the clock.

The rows are timed in turn, round after round (Sortie, MLflow, MLflow async, dvclive, Sortie, ...: --rounds,
default 3), each round in fresh folders, so a change in the machine's load falls on every row alike. MLflow (minutes
a round for 1M points) runs in the first --mlflow-rounds only, dvclive in the first --dvclive-rounds (default 1
each); the table says how many rounds each row ran. Each figure is the median of its rounds, with the 1-minute
load average as each round started beside it; each ratio (X / Sortie) is the median of the ratios of the pairs
timed in the same round.

MLflow and dvclive come from PyPI (bench/requirements-sdk.txt) into bench/.venv-sdk, made on the first run.
MLflow may be slow: --mlflow-steps N logs N steps only and extrapolates linearly to --steps (labelled so).
dvclive's next_step() re-reads every .tsv it wrote (to build a Studio update, even with Studio off), so its time
grows with the square of the steps and 10,000 steps would take hours: it runs --dvclive-steps (default 500)
and is extrapolated linearly, which is a lower bound; a fit t = a*n + b*n^2 over its run is printed too.

Then the Java SDK's log() latency on the caller's thread: bench/SdkLatency.java, run from source by the JDK
against sortie-sdk-java/target/*.jar, --java-calls calls a round, median of 5 rounds.

`--server` measures only the SDK reporting to a `sortie server` (SORTIE_SERVER and SORTIE_TOKEN, loopback; no venv
needed): log() on the caller's thread against the same calls appending to an events file, in pairs round after
round, and the time from log() of one point to the server's API serving it.

Usage: python3 bench/sdk.py --server [--rounds 3] [--server-calls 200000] [--server-probes 20] [--json]
       python3 bench/sdk.py [--steps 10000] [--metrics 100] [--rounds 3] [--mlflow-rounds 1] [--dvclive-rounds 1]
                            [--mlflow-steps N] [--dvclive-steps N] [--java-calls N]
                            [--skip sortie|mlflow|mlflow-async|dvclive|java] [--json] [--keep]
Build Sortie first (mvn -q -DskipTests package). Work happens in bench/work/sdk-* (git-ignored), removed at
the end unless --keep or something failed. Progress goes to stderr; the table (or --json) to stdout.
"""
import argparse
import json
import os
import platform
import shlex
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

from benchlib import Commands, interleaved, median, paired_ratios

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SORTIE = os.path.join(ROOT, "sortie")
SORTIE_LIB = os.path.join(ROOT, "sortie-cli", "target", "dist", "lib")
SDK = os.path.join(ROOT, "sdk", "python")
WORK = os.path.join(ROOT, "bench", "work")
VENV = os.path.join(ROOT, "bench", ".venv-sdk")
VENV_PY = os.path.join(VENV, "bin", "python")
REQUIREMENTS = os.path.join(ROOT, "bench", "requirements-sdk.txt")

BASE_ENV = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost",
                GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@localhost", GIT_TERMINAL_PROMPT="0",
                DVC_NO_ANALYTICS="1", DVC_STUDIO_OFFLINE="1", MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING="false",
                PYTHONDONTWRITEBYTECODE="1")
for _k in list(BASE_ENV):
    if _k.startswith("SORTIE_") or _k.startswith("MLFLOW_TRACKING") or _k.startswith("DVC_STUDIO_TOKEN"):
        if _k != "SORTIE_JAVA_OPTS":
            BASE_ENV.pop(_k)
_commands = Commands(BASE_ENV, "sdk-bench")
log, run, capture = _commands.log, _commands.run, _commands.capture

# The logging script, the same file for every row. It writes its timings to a file, never to stdout: Sortie
# reads JSON lines on stdout as metrics.
CHILD = r'''
import json, os, sys, time
lib, n_metrics, n_steps, timings, data = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
names = ["metric_%03d" % j for j in range(n_metrics)]
# Steps after which the clock is read (every tenth of the run), for a fit of how time grows with steps.
marks = {n_steps * i // 10 - 1 for i in range(1, 11)}
laps = []


def report(**d):
    d["laps"] = laps
    with open(timings, "w") as f:
        json.dump(d, f)


if lib == "sortie":
    if not os.environ.get("SORTIE_EVENTS_FILE"):
        report(error="SORTIE_EVENTS_FILE is not set in the run: this Sortie build does not hand runs an events file yet")
        sys.exit(0)
    import sortie
    run = sortie.start()
    assert run.inside_scheduled_run
    log = run.log_metrics
    t0 = time.time()
    for s in range(n_steps):
        x = 1.0 / (s + 1)
        log({k: x + j for j, k in enumerate(names)}, step=s)
        if s in marks:
            laps.append([s + 1, time.time() - t0])
    t1 = time.time()
    run.finish()
    t2 = time.time()
    report(start=t0, calls=t1, durable=t2, experiment_id=run.id, version=sortie.__version__,
           sdk=os.path.dirname(sortie.__file__))
elif lib in ("mlflow", "mlflow-async"):
    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient
    mlflow.set_tracking_uri("sqlite:///" + os.path.join(data, "mlflow.db"))
    mlflow.set_experiment("bench-sdk")  # creates the store and runs its migrations, before the clock
    client = MlflowClient()
    rid = mlflow.start_run().info.run_id
    t0 = time.time()
    for s in range(n_steps):
        x = 1.0 / (s + 1)
        ts = int(time.time() * 1000)
        if lib == "mlflow":
            client.log_batch(rid, metrics=[Metric(k, x + j, ts, s) for j, k in enumerate(names)])
        else:  # queued for MLflow's logging thread: the call returns before the write, as Sortie's does
            client.log_batch(rid, metrics=[Metric(k, x + j, ts, s) for j, k in enumerate(names)], synchronous=False)
        if s in marks:
            laps.append([s + 1, time.time() - t0])
    t1 = time.time()
    if lib == "mlflow-async":
        mlflow.flush_async_logging()  # durable: every queued batch written
    mlflow.end_run()
    t2 = time.time()
    report(start=t0, calls=t1, durable=t2, run_id=rid, db=os.path.join(data, "mlflow.db"),
           version=mlflow.__version__)
elif lib == "dvclive":
    from importlib.metadata import version
    from dvclive import Live
    live = Live(dir=os.path.join(data, "dvclive"))
    t0 = time.time()
    for s in range(n_steps):
        x = 1.0 / (s + 1)
        for j, k in enumerate(names):
            live.log_metric(k, x + j)
        live.next_step()
        if s in marks:
            laps.append([s + 1, time.time() - t0])
    t1 = time.time()
    live.end()
    t2 = time.time()
    report(start=t0, calls=t1, durable=t2, dir=os.path.join(data, "dvclive"), version=version("dvclive"))
'''








def last_line(stderr):
    """A Python traceback says what went wrong on its last line."""
    lines = [l.strip() for l in stderr.decode(errors="replace").splitlines() if l.strip()]
    return lines[-1] if lines else "no message"




def ensure_venv():
    """The interpreter for every row and the versions of MLflow and dvclive, installing them into
    bench/.venv-sdk the first time (the only network use). Returns (python, {name: version or why not})."""
    probe = ("from importlib.metadata import version as v; import json; "
             "print(json.dumps({'mlflow': v('mlflow'), 'dvclive': v('dvclive')}))")

    def versions():
        try:
            d = json.loads(capture([VENV_PY, "-c", probe], ROOT))
            if d["mlflow"].startswith("3.") and d["dvclive"].startswith("3."):
                return d
        except (OSError, subprocess.CalledProcessError, ValueError, KeyError):
            pass
        return None

    found = versions()
    if found:
        return VENV_PY, found
    log(f"installing MLflow and dvclive into {VENV} (pip, once)")
    try:
        if not os.path.exists(VENV_PY):
            subprocess.run([sys.executable, "-m", "venv", VENV], check=True)
            # The venv is not covered by the repository's .gitignore; this keeps git from seeing it.
            with open(os.path.join(VENV, ".gitignore"), "w") as f:
                f.write("*\n")
        subprocess.run([os.path.join(VENV, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
                        "--no-input", "-r", REQUIREMENTS], check=True, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError) as e:
        log(f"could not install MLflow and dvclive: {e}")
    found = versions()
    if found:
        return VENV_PY, found
    why = "not installed: pip install -r bench/requirements-sdk.txt failed"
    py = VENV_PY if os.path.exists(VENV_PY) else sys.executable
    return py, {"mlflow": why, "dvclive": why}


def child_script(d):
    path = os.path.join(d, "bench_child.py")
    with open(path, "w") as f:
        f.write(CHILD)
    return path


def read_timings(path):
    with open(path) as f:
        return json.load(f)


def row(name, points, t, queryable_at=None, scale=1.0, **extra):
    """Seconds from the first call. With scale (a shortened run), the calls' time is scaled linearly and the
    finish call's own time added as it was."""
    start = t["start"]
    calls = (t["calls"] - start) * scale
    finish = t["durable"] - t["calls"]
    r = {"name": name, "available": True, "points": points, "verified": 0, "calls_s": calls,
         "durable_s": calls + finish,
         "queryable_s": calls + finish if queryable_at is None else queryable_at - start,
         "note": ""}
    r.update(extra)
    return r


def fit(laps, n):
    """Least squares t = a*k + b*k^2 (b >= 0) over the laps (k steps done after t seconds), evaluated at n."""
    if len(laps) < 2:
        return None
    s11 = sum(float(k) ** 2 for k, _ in laps)
    s12 = sum(float(k) ** 3 for k, _ in laps)
    s22 = sum(float(k) ** 4 for k, _ in laps)
    r1 = sum(k * t for k, t in laps)
    r2 = sum(float(k) ** 2 * t for k, t in laps)
    det = s11 * s22 - s12 * s12
    a, b = ((r1 * s22 - r2 * s12) / det, (s11 * r2 - s12 * r1) / det) if det else (r1 / s11, 0.0)
    if b < 0:
        a, b = r1 / s11, 0.0
    return a * n + b * n * n


def growth(laps):
    """How much slower the last tenth of the steps went than the first tenth."""
    if len(laps) < 3:
        return None
    first = laps[0][1] / laps[0][0]
    last = (laps[-1][1] - laps[-2][1]) / (laps[-1][0] - laps[-2][0])
    return last / first if first > 0 else None


def unavailable(name, why, points):
    return {"name": name, "available": False, "points": points, "verified": 0, "calls_s": None,
            "durable_s": None, "queryable_s": None, "note": f"not available ({why})"}


# --------------------------------------------------------------------------------------------------- sortie

def sortie_version():
    if not os.path.isdir(SORTIE_LIB):
        return "not built"
    try:
        return "; ".join(l.strip() for l in capture([SORTIE, "--version"], ROOT).splitlines() if l.strip())
    except (subprocess.CalledProcessError, OSError) as e:
        return f"unknown ({e})"


def ledger_points(db, exact, experiment_id=None):
    """Rows in metric_points: max(rowid) while polling (O(log n); rows are only added in a fresh project),
    count(*) to check."""
    try:
        c = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            if not exact:
                return c.execute("SELECT coalesce(max(rowid), 0) FROM metric_points").fetchone()[0]
            # Only the script's metrics: Sortie may record others of its own for the run (system metrics).
            if experiment_id:
                return c.execute("SELECT count(*) FROM metric_points WHERE experiment_id = ? AND metric_key GLOB "
                                 "'metric_[0-9]*'", (experiment_id,)).fetchone()[0]
            return c.execute("SELECT count(*) FROM metric_points WHERE metric_key GLOB 'metric_[0-9]*'").fetchone()[0]
        finally:
            c.close()
    except sqlite3.Error:
        return 0


def bench_sortie(work, py, metrics, steps, wait_s):
    name = "Sortie SDK (`run.log_metrics`, inside `sortie run`)"
    points = metrics * steps
    if not os.path.isdir(SORTIE_LIB):
        return unavailable(name, "Sortie is not built: run `mvn -q -DskipTests package` in " + ROOT, points)
    d = os.path.join(work, "sortie")
    os.makedirs(d)
    logfile = os.path.join(work, "sortie.log")
    script = child_script(d)
    run(["git", "init", "-q"], d)
    run([SORTIE, "init"], d, logfile=logfile)
    run(["git", "add", "-A"], d)
    run(["git", "commit", "-qm", "bench"], d)
    timings = os.path.join(work, "sortie-timings.json")
    db = os.path.join(d, ".sortie", "ledger.db")
    env = dict(BASE_ENV, PYTHONPATH=SDK)  # the SDK from this checkout, standard library only
    cmd = [SORTIE, "run", "--", py, os.path.basename(script), "sortie", str(metrics), str(steps), timings, work]
    with open(logfile, "ab") as out:
        out.write(f"$ {shlex.join(cmd)}\n".encode())
        out.flush()
        p = subprocess.Popen(cmd, cwd=d, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        # Poll the ledger while the run goes, to see when the last point becomes queryable.
        queryable_at = None
        exited_at = None
        while True:
            rc = p.poll()
            now = time.time()
            if rc is not None and exited_at is None:
                exited_at = now
            if queryable_at is None and ledger_points(db, exact=False) >= points:
                if ledger_points(db, exact=True) >= points:
                    queryable_at = now
            if queryable_at is not None and rc is not None:
                break
            if exited_at is not None and now - exited_at > wait_s:
                break
            time.sleep(0.1)
    if not os.path.exists(timings):
        return unavailable(name, f"`sortie run` exited {p.returncode} and the script reported nothing; see {logfile}",
                           points)
    t = read_timings(timings)
    if "error" in t:
        return unavailable(name, t["error"], points)
    verified = ledger_points(db, exact=True, experiment_id=t.get("experiment_id"))
    notes = [] if p.returncode == 0 else [f"`sortie run` exited {p.returncode}"]
    if queryable_at is None:
        notes.append(f"only {verified} of {points} points in the ledger {wait_s:.0f} s after `sortie run` exited")
    r = row(name, points, t, queryable_at if queryable_at is not None else None, verified=verified,
            run_exit_s=exited_at - t["start"], sdk_version=t["version"])
    if queryable_at is None:
        r["queryable_s"] = None
    notes.append(f"`sortie run` returned {exited_at - t['start']:.2f} s after the first call")
    r["note"] = "; ".join(notes)
    return r


# ------------------------------------------------------------------------------------------ mlflow, dvclive

def outside_git(work):
    """A folder outside any git repository, for the MLflow and dvclive rows: dvclive runs `dvc init` in the
    enclosing git repository and saves a DVC experiment into it (refs/exps, a stash) when it finds one, and
    this checkout must not be touched. Returns (folder, None) or (None, why not)."""
    d = tempfile.mkdtemp(prefix="sortie-sdk-bench-")
    p = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=d, env=BASE_ENV, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True)
    if p.returncode == 0:
        shutil.rmtree(d, ignore_errors=True)
        return None, f"the temp folder {d} is inside the git repository {p.stdout.strip()}; set TMPDIR elsewhere"
    return d, None


def bench_python(lib, name, work, outside, py, metrics, steps, run_steps):
    points = metrics * steps
    d = os.path.join(outside, lib)
    os.makedirs(d)
    script = child_script(d)
    timings = os.path.join(work, f"{lib}-timings.json")
    # GIT_CEILING_DIRECTORIES as well, for any git lookup that walks up from the folder.
    env = dict(BASE_ENV, GIT_CEILING_DIRECTORIES=os.path.dirname(d))
    p = run([py, script, lib, str(metrics), str(run_steps), timings, d], d, env=env,
            logfile=os.path.join(work, f"{lib}.log"), check=False)
    if p.returncode != 0 or not os.path.exists(timings):
        return unavailable(name, f"exited {p.returncode}: {last_line(p.stderr)}", points)
    t = read_timings(timings)
    scale = steps / run_steps
    r = row(name, points, t, scale=scale, version=t["version"])
    if lib.startswith("mlflow"):
        c = sqlite3.connect(t["db"])
        try:
            r["verified"] = c.execute("SELECT count(*) FROM metrics WHERE run_uuid = ?", (t["run_id"],)).fetchone()[0]
        finally:
            c.close()
    else:
        total = 0
        for base, _, files in os.walk(os.path.join(t["dir"], "plots", "metrics")):
            for f in files:
                if f.endswith(".tsv"):
                    with open(os.path.join(base, f)) as fh:
                        total += max(0, sum(1 for _ in fh) - 1)  # minus the header
        r["verified"] = total
    g = growth(t["laps"])
    notes = []
    if g is not None and g > 1.5:
        notes.append(f"time per step grows: the last tenth of the steps ran {g:.1f}x slower than the first")
    if run_steps != steps:
        r["ran_points"] = metrics * run_steps
        r["extrapolated"] = True
        est = fit(t["laps"], steps)
        r["fit_calls_s"] = est
        grows = g is not None and g > 1.5
        notes.insert(0, f"EXTRAPOLATED: ran {run_steps:,} steps ({metrics * run_steps:,} points), calls took "
                        f"{t['calls'] - t['start']:.1f} s; scaled linearly x{scale:g}"
                        + (" (a lower bound, since time per step grows)" if grows else "")
                        + (f"; a fit t = a*n + b*n^2 over the run predicts {est:,.0f} s for the calls"
                           if est is not None and grows else ""))
    r["note"] = "; ".join(notes)
    return r


def bench_java_latency(work, calls, rounds=5):
    """The Java SDK's log() latency on the caller's thread, by bench/SdkLatency.java (the JDK runs the source)."""
    target = os.path.join(ROOT, "sortie-sdk-java", "target")
    jars = sorted(f for f in os.listdir(target) if f.startswith("sortie-sdk-java-") and f.endswith(".jar")
                  and "sources" not in f) if os.path.isdir(target) else []
    if not jars:
        return {"error": "sortie-sdk-java not built: mvn -q -DskipTests package"}
    d = os.path.join(work, "java-latency")
    os.makedirs(d)
    load = round(os.getloadavg()[0], 2)
    out = capture(["java", "-cp", os.path.join(target, jars[-1]), os.path.join(ROOT, "bench", "SdkLatency.java"),
                   str(calls), str(rounds)], d, env=dict(BASE_ENV, SORTIE_EVENTS_FILE=os.path.join(d, "events.jsonl")))
    return dict(json.loads(out.strip().splitlines()[-1]), load=load)


# ------------------------------------------------------------------------------------ the SDK reporting to a server

SERVER_CHILD = r'''
import json, os, sys, time, urllib.request
sys.path.insert(0, sys.argv[1])
import sortie
calls, probes, out = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
run = sortie.start(name=os.environ.get("BENCH_NAME"))
t0 = time.perf_counter_ns()
for i in range(calls):
    run.log(loss=i * 1e-3, step=i)
per_call_ns = (time.perf_counter_ns() - t0) / calls
# everything logged so far delivered (the events file written, or the server's answers in) before the probes, so
# they time one point, not the queue ahead of it
tb = time.perf_counter()
while not (run._writer.flush(force=True) if hasattr(run._writer, "outbox") else run._writer.flush() or True):
    time.sleep(0.01)
backlog_s = time.perf_counter() - tb
lat = []
api, token = os.environ.get("BENCH_API"), os.environ.get("BENCH_TOKEN")
for k in range(probes if api else 0):
    # one point, then the API asked every 5 ms until it serves it: log() -> readable by anyone through the server
    t = time.perf_counter()
    run.log(probe=k, step=k)
    while True:
        r = urllib.request.Request(api + "/experiments/" + run.id + "/metrics/probe?points=4",
                                   headers={"Authorization": "Bearer " + token})
        with urllib.request.urlopen(r, timeout=10) as resp:
            if json.load(resp).get("total_points", 0) == k + 1:
                break
        time.sleep(0.005)
    lat.append(time.perf_counter() - t)
    time.sleep(0.05)
t1 = time.perf_counter()
run.finish()
with open(out, "w") as f:
    json.dump({"per_call_ns": per_call_ns, "backlog_s": backlog_s, "probe_s": lat, "finish_s": time.perf_counter() - t1}, f)
'''


def bench_server(work, calls, probes, rounds):
    """The Python SDK's log() on the caller's thread reporting to a `sortie server` (loopback), against the same
    calls appending to an events file (a scheduled run's path), timed in pairs round after round; and, with the
    server, how long a point takes from log() to being served by the API (probes a round)."""
    d = os.path.join(work, "server")
    os.makedirs(d)
    made = subprocess.run([SORTIE, "server", "token", "create", "--name", "bench", "--dir", d], env=BASE_ENV,
                          check=True, capture_output=True, text=True)
    token = made.stdout.strip().splitlines()[-1]
    out = open(os.path.join(work, "server.out"), "w")
    server = subprocess.Popen([SORTIE, "server", "--dir", d, "--port", "0", "--workers", "0"], env=BASE_ENV,
                              stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        url = None
        deadline = time.time() + 90
        while url is None:
            m = re.search(r"listening on (\S+)", open(os.path.join(work, "server.out")).read())
            if m:
                url = m.group(1)
            elif server.poll() is not None or time.time() > deadline:
                raise RuntimeError("the server did not start: " + open(os.path.join(work, "server.out")).read())
            else:
                time.sleep(0.1)
        api = url + "/api/v1"
        child = os.path.join(work, "server_child.py")
        with open(child, "w") as f:
            f.write(SERVER_CHILD)
        n = [0]

        def measure(mode):
            def one(i):
                n[0] += 1
                res = os.path.join(work, f"{mode}-{n[0]}.json")
                env = dict(BASE_ENV, BENCH_NAME=f"bench-{mode}-{n[0]}")
                if mode == "server":
                    env.update(SORTIE_SERVER=url, SORTIE_TOKEN=token, BENCH_API=api, BENCH_TOKEN=token)
                else:
                    env.update(SORTIE_EVENTS_FILE=os.path.join(work, f"events-{n[0]}.jsonl"))
                subprocess.run(["python3", child, SDK, str(calls), str(probes), res], env=env, check=True,
                               stdin=subprocess.DEVNULL)
                with open(res) as f:
                    return json.load(f)
            return one
        runs = interleaved([("events", measure("events")), ("server", measure("server"))], rounds, log)
        probes_all = sorted(x for r in runs["server"] for x in r["probe_s"])
        return {"calls": calls, "rounds": rounds, "probes": len(probes_all),
                "events_ns": median([r["per_call_ns"] for r in runs["events"]]),
                "server_ns": median([r["per_call_ns"] for r in runs["server"]]),
                "server_over_events": median(paired_ratios(runs["server"], runs["events"], "per_call_ns")),
                "probe_p50_s": median(probes_all),
                "probe_p90_s": probes_all[int(0.9 * (len(probes_all) - 1))] if probes_all else None,
                "probe_max_s": probes_all[-1] if probes_all else None,
                "finish_s": median([r["finish_s"] for r in runs["server"]]),
                "events_backlog_s": median([r["backlog_s"] for r in runs["events"]]),
                "server_backlog_s": median([r["backlog_s"] for r in runs["server"]]),
                "loads": [r["load"] for rs in runs.values() for r in rs]}
    finally:
        server.terminate()
        server.wait(60)
        out.close()


# ---------------------------------------------------------------------------------------------------- report

def fmt(x, spec=".2f"):
    return "n/a" if x is None else format(x, spec)


def ratio(runs, other, key):
    """other / Sortie for one figure: the median of the ratios of the rounds both ran (pairs timed side by side)."""
    a = [r for r in runs.get(other, []) if r["available"]]
    b = [r for r in runs.get("sortie", []) if r["available"]]
    return median(paired_ratios(a, b, key))


def summarise(rs):
    """One row from its rounds: each figure the median of its rounds; verified the least of them (every round must
    check out); each round's figures and load kept under "rounds"; the notes of the rounds that had any."""
    ok = [r for r in rs if r["available"]]
    if not ok:
        return dict(rs[0], rounds=[{"load": r["load"]} for r in rs])
    out = dict(ok[0])
    for key in ("calls_s", "durable_s", "queryable_s", "fit_calls_s", "run_exit_s"):
        if key in out:
            out[key] = median([r.get(key) for r in ok])
    out["verified"] = min(r["verified"] for r in ok)
    notes = []
    for r in rs:
        if r["note"] and r["note"] not in notes:
            notes.append(r["note"] if len(rs) == 1 else f"round {r['round'] + 1}: {r['note']}")
    out["note"] = "; ".join(notes)
    out["rounds"] = [{k: r.get(k) for k in ("calls_s", "durable_s", "queryable_s", "verified", "load")} for r in rs]
    return out


def complete(r):
    return r is not None and r["available"] and r["verified"] == r.get("ran_points", r["points"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=10_000, help="steps (default 10000)")
    ap.add_argument("--metrics", type=int, default=100, help="metrics per step (default 100)")
    ap.add_argument("--mlflow-steps", type=int, help="run MLflow for this many steps only and extrapolate "
                                                     "(default: --steps)")
    ap.add_argument("--dvclive-steps", type=int, default=500,
                    help="run dvclive for this many steps only and extrapolate (default 500: dvclive re-reads "
                         "every .tsv on each next_step, so its time grows with the square of the steps)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the rows, interleaved (default 3)")
    ap.add_argument("--mlflow-rounds", type=int, default=1,
                    help="rounds MLflow (both rows) runs in, the first ones (default 1: minutes a round)")
    ap.add_argument("--dvclive-rounds", type=int, default=1, help="rounds dvclive runs in, the first ones (default 1)")
    ap.add_argument("--sortie-wait", type=float, default=60,
                    help="seconds to wait for the ledger after `sortie run` exits (default 60)")
    ap.add_argument("--skip", action="append", choices=["sortie", "mlflow", "mlflow-async", "dvclive", "java"], default=[])
    ap.add_argument("--java-calls", type=int, default=1_000_000, help="log() calls a round for the Java SDK's latency")
    ap.add_argument("--server", action="store_true",
                    help="only the Python SDK reporting to a `sortie server` (SORTIE_SERVER): log() latency paired "
                         "with an events file's, and log() -> served by the API; needs no venv")
    ap.add_argument("--server-calls", type=int, default=200_000, help="log() calls a round for --server")
    ap.add_argument("--server-probes", type=int, default=20, help="points a round timed to the API for --server")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON instead of the table")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (bench/work/sdk-*)")
    a = ap.parse_args()
    mlflow_steps = min(a.mlflow_steps or a.steps, a.steps)
    dvclive_steps = min(a.dvclive_steps or a.steps, a.steps)
    points = a.metrics * a.steps
    cmdline = shlex.join(["python3", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT), *sys.argv[1:]])

    if a.server:
        os.makedirs(WORK, exist_ok=True)
        work = tempfile.mkdtemp(prefix="sdk-server-", dir=WORK)
        r = bench_server(work, a.server_calls, a.server_probes, a.rounds)
        if a.json:
            print(json.dumps(dict(r, command=cmdline), indent=2))
        else:
            print(f"Python SDK reporting to `sortie server` on loopback ({r['calls']:,} log(loss=x, step=i) calls a round, "
                  f"{r['rounds']} rounds, events file and server interleaved)\n")
            print("| | log() on the caller's thread | all calls' points delivered after the last call | "
                  "one point: log() -> served by the API (p50 / p90 / max) | finish() |")
            print("| --- | ---: | ---: | ---: | ---: |")
            print(f"| events file (a scheduled run) | {r['events_ns']:.0f} ns | {r['events_backlog_s']:.2f} s (written) | | |")
            print(f"| server (SORTIE_SERVER) | {r['server_ns']:.0f} ns | {r['server_backlog_s']:.2f} s (acknowledged) | "
                  f"{r['probe_p50_s'] * 1000:.0f} / {r['probe_p90_s'] * 1000:.0f} / {r['probe_max_s'] * 1000:.0f} ms "
                  f"({r['probes']} points) | {r['finish_s'] * 1000:.0f} ms |")
            print(f"\nserver / events file, log(): {r['server_over_events']:.2f}x (median of the rounds' pairs); "
                  f"loads {r['loads']}\nCommand: `{cmdline}`")
        shutil.rmtree(work, ignore_errors=True)
        return
    py, lib_versions = ensure_venv()  # before any timing: pip must not compete for the CPU
    os.makedirs(WORK, exist_ok=True)
    work = tempfile.mkdtemp(prefix="sdk-", dir=WORK)
    versions = {"python": f"{capture([py, '-c', 'import platform; print(platform.python_version())'], ROOT).strip()}"
                          f" ({py})",
                "sortie": sortie_version(), "sortie sdk": "not run", "mlflow": lib_versions["mlflow"],
                "dvclive": lib_versions["dvclive"], "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
                "load average at start": round(os.getloadavg()[0], 2)}
    java_latency = None
    outside, outside_why = (None, None)
    if "mlflow" not in a.skip or "mlflow-async" not in a.skip or "dvclive" not in a.skip:
        outside, outside_why = outside_git(work)

    def in_round(i, base):
        d = os.path.join(base, f"round-{i + 1}")
        os.makedirs(d, exist_ok=True)
        return d

    def python_row(lib, name, version, run_steps, rounds):
        def measure(i):
            if i >= rounds:
                return None
            if not version[:1].isdigit():
                return unavailable(name, version, points)
            if outside is None:
                return unavailable(name, outside_why, points)
            return bench_python(lib, name, in_round(i, work), in_round(i, outside), py, a.metrics, a.steps, run_steps)
        return lib, measure

    measures = []
    if "sortie" not in a.skip:
        measures.append(("sortie", lambda i: bench_sortie(in_round(i, work), py, a.metrics, a.steps, a.sortie_wait)))
    if "mlflow" not in a.skip:
        measures.append(python_row("mlflow", "MLflow (`log_batch`, SQLite store)", lib_versions["mlflow"],
                                   mlflow_steps, a.mlflow_rounds))
    if "mlflow-async" not in a.skip:
        measures.append(python_row("mlflow-async", "MLflow (`log_batch(..., synchronous=False)`, SQLite store)",
                                   lib_versions["mlflow"], mlflow_steps, a.mlflow_rounds))
    if "dvclive" not in a.skip:
        measures.append(python_row("dvclive", "dvclive (`log_metric` + `next_step`)", lib_versions["dvclive"],
                                   dvclive_steps, a.dvclive_rounds))
    try:
        log(f"{points:,} points a row ({a.metrics * mlflow_steps:,} for MLflow, {a.metrics * dvclive_steps:,} for "
            f"dvclive), {a.rounds} rounds of: " + ", ".join(n for n, _ in measures)
            + f" (MLflow in {min(a.mlflow_rounds, a.rounds)}, dvclive in {min(a.dvclive_rounds, a.rounds)})")
        runs = interleaved(measures, a.rounds, log)
        if "java" not in a.skip:
            log(f"Java SDK: log() latency, {a.java_calls:,} calls a round")
            java_latency = bench_java_latency(work, a.java_calls)
    except Exception:
        log(f"failed; work dir kept: {work}")
        raise
    rows = {name: summarise(rs) for name, rs in runs.items() if rs}
    if "sortie" in rows:
        versions["sortie sdk"] = rows["sortie"].get("sdk_version", "not run")

    s, m, ma, dv = rows.get("sortie"), rows.get("mlflow"), rows.get("mlflow-async"), rows.get("dvclive")
    ratios = {f"{other.replace('-', '_')}_over_sortie": {k: ratio(runs, other, k) for k in ("calls_s", "durable_s", "queryable_s")}
              for other in ("mlflow", "mlflow-async", "dvclive")}
    goals = []
    # "calls return" against MLflow's asynchronous logging (its calls, too, return before the write); "queryable"
    # against its committed writes, which are queryable when the call returns.
    for key, label, other, r in (("calls_s", "calls return, asynchronous", "mlflow_async", ma),
                                 ("queryable_s", "queryable", "mlflow", m)):
        x = ratios[f"{other}_over_sortie"][key]
        goals.append({"goal": f"at least 10x faster than MLflow ({label})", "ratio": x,
                      "met": bool(x is not None and x >= 10 and complete(s) and complete(r))})
    for key, label in (("calls_s", "calls return"), ("queryable_s", "queryable")):
        x = ratios["dvclive_over_sortie"][key]
        goals.append({"goal": f"no slower than dvclive ({label})", "ratio": x,
                      "met": bool(x is not None and x >= 1 and complete(s) and complete(dv))})
    all_ok = all(not r["available"] or complete(r) for r in rows.values())

    if a.json:
        print(json.dumps({"command": cmdline, "points": points, "metrics": a.metrics, "steps": a.steps,
                          "rounds": {"all": a.rounds, "mlflow": min(a.mlflow_rounds, a.rounds),
                                     "dvclive": min(a.dvclive_rounds, a.rounds)},
                          "versions": versions, "rows": rows, "ratios": ratios, "goals": goals,
                          "java_sdk_latency": java_latency}, indent=2))
    else:
        print(f"SDK logging benchmark: {points:,} points ({a.metrics} metrics x {a.steps:,} steps), "
              f"seconds from the first logging call; rows interleaved, each figure the median of its rounds\n")
        print("| library | rounds | calls return (s) | durable (s) | queryable (s) | points verified | "
              "each round: calls / durable / queryable s (load) | notes |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
        for r in rows.values():
            verified = f"{r['verified']:,} of {r.get('ran_points', r['points']):,}" if r["available"] else "-"
            each = ", ".join(f"{fmt(x.get('calls_s'))} / {fmt(x.get('durable_s'))} / {fmt(x.get('queryable_s'))} "
                             f"({x['load']})" for x in r["rounds"])
            print(f"| {r['name']} | {len(r['rounds'])} | {fmt(r['calls_s'])} | {fmt(r['durable_s'])} | "
                  f"{fmt(r['queryable_s'])} | {verified} | {each} | {r['note']} |")
        for other, label in (("mlflow", "MLflow / Sortie"), ("mlflow-async", "MLflow async / Sortie"),
                             ("dvclive", "dvclive / Sortie")):
            x = ratios[f"{other.replace('-', '_')}_over_sortie"]
            if other in rows:
                print(f"| {label} | {len(rows[other]['rounds'])} | {fmt(x['calls_s'], '.1f')}x | "
                      f"{fmt(x['durable_s'], '.1f')}x | {fmt(x['queryable_s'], '.1f')}x | | | "
                      "median of the ratios of the pairs timed in the same round |")
        print()
        for g in goals:
            if g["ratio"] is None:
                print(f"- {g['goal']}: not measured (a row was skipped or not available)")
            else:
                print(f"- {g['goal']}: {'met' if g['met'] else 'not met'} ({g['ratio']:.1f}x)")
        if java_latency:
            j = java_latency
            if "error" in j:
                print(f"\nJava SDK log() latency: not measured ({j['error']})")
            else:
                print(f"\nJava SDK log() on the caller's thread ({j['calls']:,} calls a round, median of {j['rounds']} rounds, "
                      f"flusher running): log(name, value, step) {j['log_step_ns']:.0f} ns/call, log(name, value) "
                      f"{j['log_ns']:.0f} ns/call (load {j['load']})")
        print(f"\nCommand: `{cmdline}`")
        print("Versions: " + "; ".join(f"{k}: {v}" for k, v in versions.items()))

    if a.keep or not all_ok:
        log(f"work dir kept: {work}" + (f" (MLflow and dvclive data in {outside})" if outside else ""))
    else:
        shutil.rmtree(work, ignore_errors=True)
        if outside:
            shutil.rmtree(outside, ignore_errors=True)


if __name__ == "__main__":
    main()
