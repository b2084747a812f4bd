#!/usr/bin/env python3
"""Spot recovery benchmark in the simulated cloud (testkit/simcloud, as bench/aws.py starts it): a small real training
(linear regression by SGD, one step every --pause s, a JSON checkpoint every 10 steps and on SIGTERM, resumed when
SORTIE_RESUMED=1) run by `sortie run -e spot` on a spot executor, its instance interrupted under it:

1. recovery overhead: from the spot interruption notice (the moment the simcloud is asked to serve it) to the
   training's next step on the replacement (the first step line after the resume, as `sortie run` prints it, stamped
   by this script as it arrives), minus the replacement VM's own boot (its `requested` to `node prepared` progress
   lines: RunInstances to the VM's sshd and user data done). Goal under 10 s;
2. work lost per preemption: the steps the interrupted attempt logged past the checkpoint the replacement resumed
   from; with a notice (the checkpoint taken on SIGTERM: goal 0) and without (the instance killed: lost after
   --lost-after, resumed from the last periodic checkpoint: at most checkpoint_interval's worth);
3. the same training with 0, 1 and 3 notices, interleaved round after round (--rounds): total wall time of `sortie
   run` and cost (each instance's price from its `requested` line times the time from that line to the end of the
   attempt it ran; after on_demand_after (2) interruptions the replacement is on-demand). Prices: AWS's Price List
   fixture (t3.micro on-demand $0.0104/h) and a spot price of $0.0031/h served by the simcloud in every zone.
The 1-minute load average as each run started is printed beside each figure.

Usage: python3 bench/spot.py [--rounds 2] [--steps 150] [--pause 0.1] [--json] [--keep]
Build first (mvn -B -ntp -o -q package -DskipTests). Work happens in bench/work/spot-* (git-ignored), removed unless
--keep or something failed.
"""
import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# bench/queue.py would shadow the standard library's queue (which urllib3 imports): this folder goes last on the path.
sys.path = [p for p in sys.path if os.path.abspath(p or ".") != HERE]
_setup = subprocess.run([os.path.join(ROOT, "testkit", "simcloud", "setup.sh")], capture_output=True, text=True, check=True).stdout
_venv = dict(l.split("=", 1) for l in _setup.splitlines() if "=" in l)["VENV"]
if os.path.realpath(sys.prefix) != os.path.realpath(_venv):
    os.execv(os.path.join(_venv, "bin", "python"), [os.path.join(_venv, "bin", "python"), os.path.abspath(__file__), *sys.argv[1:]])
sys.path.append(HERE)
from aws import Cloud, Project, copy_sortie, log  # noqa: E402  (the simulated cloud and a project on it)
from benchlib import load_average, median  # noqa: E402

TRAIN = """
import json, os, random, signal, sys, time
steps, pause, every = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
ckdir = os.environ.get("SORTIE_CHECKPOINT_DIR", "checkpoints")
os.makedirs(ckdir, exist_ok=True)
ck = os.path.join(ckdir, "state.json")
rng = random.Random(7)
data = [(x, 3 * x - 2 + rng.gauss(0, 0.1)) for x in [rng.uniform(-1, 1) for _ in range(64)]]
w, b, step = 0.0, 0.0, 0
if os.environ.get("SORTIE_RESUMED") == "1" and os.path.exists(ck):
    with open(ck) as f:
        s = json.load(f)
    w, b, step = s["w"], s["b"], s["step"]
    print(f"resumed from the checkpoint of step {step}", flush=True)
def save():
    with open(ck + ".tmp", "w") as f:
        json.dump({"w": w, "b": b, "step": step}, f)
    os.replace(ck + ".tmp", ck)
term = [False]
signal.signal(signal.SIGTERM, lambda *a: term.__setitem__(0, True))
while step < steps:
    x, y = data[step % len(data)]
    e = w * x + b - y
    w -= 0.1 * e * x
    b -= 0.1 * e
    step += 1
    print(f"step={step} loss={sum((w * x + b - y) ** 2 for x, y in data) / len(data):.12f}", flush=True)
    if step % every == 0:
        save()
    if term[0]:
        save()
        print(f"checkpoint saved on SIGTERM at step {step}", flush=True)
        sys.exit(143)
    time.sleep(pause)
save()
print(f"final w={w:.12f} b={b:.12f}", flush=True)
"""
SPOT_PRICE = 0.0031  # USD an hour, a t3.micro spot price of the kind AWS quotes (on-demand: the fixture's $0.0104)
STEP = re.compile(r"^step=(\d+) ")
RESUMED = re.compile(r"^resumed from the checkpoint of step (\d+)")
PROGRESS = re.compile(r"^\[sortie\] aws (i-[0-9a-f]+): (requested|node prepared|idle, running there)\b")
PRICE = re.compile(r"\$([\d.e-]+)/h")
SINCE_LAUNCH = re.compile(r"\(([\d.]+)s\)$")


def price(line):
    m = PRICE.search(line)
    return float(m.group(1)) if m else 0.0


def since_launch(line):
    m = SINCE_LAUNCH.search(line)
    return float(m.group(1)) if m else None


class Training:
    """One `sortie run -e spot` of the training, its output read line by line and stamped as it arrives."""

    def __init__(self, project, env=None):
        self.lines = []  # (time.time(), line)
        self.t0 = time.time()
        self.proc = project.popen(["run", "-e", "spot"], subprocess.PIPE, env)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            self.lines.append((time.time(), raw.decode(errors="replace").rstrip("\n")))

    def wait_for(self, pred, start=0, timeout=300):
        """The first line from index start on that pred accepts, and its index: (index, (time, line))."""
        deadline = time.time() + timeout
        seen = start
        while time.time() < deadline:
            while seen < len(self.lines):
                if pred(self.lines[seen][1]):
                    return seen, self.lines[seen]
                seen += 1
            if self.proc.poll() is not None and seen >= len(self.lines):
                self.reader.join(5)
                if seen >= len(self.lines):
                    raise RuntimeError("sortie ended before: " + "\n".join(l for _, l in self.lines[-30:]))
            time.sleep(0.01)
        raise RuntimeError("timed out; last lines:\n" + "\n".join(l for _, l in self.lines[-30:]))

    def steps_seen_after(self, index):
        return sum(1 for _, l in self.lines[index:] if STEP.match(l))

    def current_instance(self):
        ids = [m.group(1) for _, l in self.lines for m in [PROGRESS.match(l)] if m and m.group(2) in ("requested", "idle, running there")]
        return ids[-1]

    def finish(self):
        code = self.proc.wait(600)
        self.reader.join(10)
        wall = time.time() - self.t0
        if code != 0:
            raise RuntimeError(f"sortie run exited {code}: " + "\n".join(l for _, l in self.lines[-30:]))
        return wall


def analyse(t, notices):
    """Per recovery: overhead (notice to the next step on the replacement, less its boot) and steps lost; and the cost."""
    lines = t.lines
    recoveries = []
    for notice_at in notices:
        i = next(k for k, (at, _) in enumerate(lines) if at >= notice_at)
        r = next(k for k in range(i, len(lines)) if RESUMED.match(lines[k][1]))
        resumed_step = int(RESUMED.match(lines[r][1]).group(1))
        last_before = max(int(STEP.match(l).group(1)) for _, l in lines[:r] if STEP.match(l))
        nxt = next(k for k in range(r, len(lines)) if STEP.match(lines[k][1]))
        launch = [(m.group(2), since_launch(l)) for _, l in lines[i:r] for m in [PROGRESS.match(l)] if m]
        req = next((x for what, x in launch if what == "requested" and x is not None), None)
        ready = next((x for what, x in launch if what == "node prepared" and x is not None), None)
        boot = ready - req if req is not None and ready is not None else 0.0
        recoveries.append({"notice_to_next_step_s": lines[nxt][0] - notice_at, "replacement_boot_s": boot,
                           "overhead_s": lines[nxt][0] - notice_at - boot, "steps_lost": last_before - resumed_step})
    # cost: each instance's price times the time from its 'requested' (or 'idle, running there') line to the end of its attempt
    spans, current = [], None
    for at, l in lines:
        m = PROGRESS.match(l)
        if m and m.group(2) in ("requested", "idle, running there"):
            if current:
                spans.append((current[0], current[1], at))
            current = (price(l), at)
    if current:
        spans.append((current[0], current[1], lines[-1][0]))
    cost = sum(price * (end - start) / 3600 for price, start, end in spans)
    return recoveries, cost


def one_training(project, steps, pause, notices_wanted, kill=False, at_step=25):
    """Runs the training with notices_wanted interruptions (or one kill), each once the attempt is at_step steps along."""
    load = load_average()
    t = Training(project)
    notices = []
    start = 0
    for n in range(notices_wanted):
        if n > 0:
            start, _ = t.wait_for(lambda l: RESUMED.match(l) is not None, start)
        t.wait_for(lambda l, s=start: STEP.match(l) is not None and t.steps_seen_after(s) >= at_step, start)
        instance = t.current_instance()
        notices.append(time.time())
        start = len(t.lines)
        if kill:
            project.cloud.control(f"/vms/{instance}/kill")
        else:
            project.cloud.control(f"/vms/{instance}/interrupt", {"in_seconds": 25, "force": True})
    wall = t.finish()
    recoveries, cost = analyse(t, notices)
    return {"wall_s": wall, "cost_usd": cost, "recoveries": recoveries, "load": load}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=2, help="rounds of the 0/1/3-notice trainings, interleaved (default 2)")
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--pause", type=float, default=0.1)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    cmdline = shlex.join(["python3", "bench/spot.py", *sys.argv[1:]])
    if not os.path.isdir(os.path.join(ROOT, "sortie-cli", "target", "dist", "lib")):
        sys.exit("build Sortie first: mvn -B -ntp -o -q package -DskipTests")
    os.makedirs(os.path.join(ROOT, "bench", "work"), exist_ok=True)
    work = tempfile.mkdtemp(prefix="spot-", dir=os.path.join(ROOT, "bench", "work"))
    sortie = copy_sortie(work)
    env = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "load average at start": load_average()}
    cloud = Cloud(work)
    results, ok = {"trainings": {"0": [], "1": [], "3": []}}, False
    try:
        # prices: AWS's Price List fixture (t3.micro on-demand $0.0104/h) and a spot price in every zone of the region
        with open(os.path.join(ROOT, "sortie-executors-aws", "src", "test", "resources", "aws-pricing", "us-east-1-get-products.json")) as f:
            cloud.control("/pricing", {"products": json.load(f)["PriceList"]})
        cloud.control("/spot-prices", {"region": "us-east-1", "prices": [
            {"InstanceType": "t3.micro", "AvailabilityZone": "us-east-1" + z, "SpotPrice": str(SPOT_PRICE)} for z in "abcdef"]})
        p = Project(work, cloud, sortie, "spot")
        p.env["XDG_CACHE_HOME"] = os.path.join(work, "cache")  # the price cache: this run's, not the user's
        with open(os.path.join(p.dir, "train.py"), "w") as f:
            f.write(TRAIN)
        with open(os.path.join(p.dir, "sortie.yaml"), "w") as f:
            f.write(f"name: train\nrun: python3 train.py {a.steps} {a.pause} 10\ncheckpoints: checkpoints/\ncheckpoint_interval: 1s\n")
        p.run(["executor", "add", "spot", "--type", "aws", "--region", "us-east-1", "--instance-type", "t3.micro", "--spot",
               "--subnet", cloud.subnet, "--private-ip", "--ssh-user", "root", "--boot-timeout", "90s", "--idle-stop", "60s",
               "--lost-after", "6s"])
        for args in (["git", "add", "-A"], ["git", "commit", "-q", "-m", "train"]):
            subprocess.run(args, cwd=p.dir, env=p.env, check=True, capture_output=True)
        for r in range(a.rounds):
            for n in (0, 1, 3):
                log(f"round {r + 1}/{a.rounds}: {n} notice(s) (load {load_average()})")
                p.run(["down", "spot"])  # each training launches its own first instance
                results["trainings"][str(n)].append(one_training(p, a.steps, a.pause, n))
        log(f"one kill without notice (load {load_average()})")
        p.run(["down", "spot"])
        results["kill"] = one_training(p, a.steps, a.pause, 1, kill=True)
        p.run(["down", "spot"])
        ok = True
    except Exception:
        log("partial results: " + json.dumps(results))
        raise
    finally:
        cloud.close()
        if not ok:
            log(f"failed; work dir kept: {work}")
    env["load average at end"] = load_average()
    if a.json:
        print(json.dumps({"command": cmdline, "environment": env, "results": results}, indent=2))
    else:
        print(f"Spot recovery in the simulated cloud, {env['date']}; command: {cmdline}")
        print(f"load average: {env['load average at start']} at start, {env['load average at end']} at end\n")
        recs = [x for n in ("1", "3") for t in results["trainings"][n] for x in t["recoveries"]]
        print(f"recovery overhead (notice to next step, less the replacement's boot), {len(recs)} recoveries: median "
              f"{median([x['overhead_s'] for x in recs]):.2f} s, max {max(x['overhead_s'] for x in recs):.2f} s; "
              f"boot median {median([x['replacement_boot_s'] for x in recs]):.2f} s")
        print(f"steps lost with a notice: {[x['steps_lost'] for x in recs]}")
        k = results["kill"]
        print(f"steps lost without a notice (killed, lost_after 6 s): {[x['steps_lost'] for x in k['recoveries']]}; "
              f"overhead {[round(x['overhead_s'], 2) for x in k['recoveries']]} s (lost_after included) (load {k['load']})")
        for n in ("0", "1", "3"):
            for t in results["trainings"][n]:
                print(f"{n} notice(s): wall {t['wall_s']:.1f} s, cost ${t['cost_usd']:.3g} (load {t['load']})")
    if ok and not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
