#!/usr/bin/env python3
"""Spot recovery benchmark in the simulated cloud (testkit/simcloud, started as bench/aws.py starts it: benchlib): a
small real training (testkit/sgd/train.py, SpotRecoveryTest's: linear regression by SGD, one step every --pause s, a
JSON checkpoint every 10 steps and on SIGTERM, resumed when SORTIE_RESUMED=1) run by `sortie run -e spot` on a spot executor, its instance interrupted under it:

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
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import in_simcloud_venv  # noqa: E402

in_simcloud_venv(ROOT, __file__)
from benchlib import CloudProject, Commands, bench_env, cloud_bench, load_average, median  # noqa: E402

_c = Commands(bench_env(), "spot-bench")
log = _c.log
# the training SpotRecoveryTest runs too
with open(os.path.join(ROOT, "testkit", "sgd", "train.py")) as _f:
    TRAIN = _f.read()
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

    def body(cloud, work, sortie, results):
        results["trainings"] = {"0": [], "1": [], "3": []}
        # a spot price in every zone of the region (the on-demand ones: the Price List fixture, t3.micro $0.0104/h)
        cloud.control("/spot-prices", {"region": "us-east-1", "prices": [
            {"InstanceType": "t3.micro", "AvailabilityZone": "us-east-1" + z, "SpotPrice": str(SPOT_PRICE)} for z in "abcdef"]})
        p = CloudProject(_c, work, cloud, sortie, "spot", files={
            "train.py": TRAIN,
            "sortie.yaml": f"name: train\nrun: python3 train.py {a.steps} {a.pause} 10\ncheckpoints: checkpoints/\ncheckpoint_interval: 1s\n"})
        p.add("spot", "--spot", "--idle-stop", "60s", "--lost-after", "6s")
        for r in range(a.rounds):
            for n in (0, 1, 3):
                log(f"round {r + 1}/{a.rounds}: {n} notice(s) (load {load_average()})")
                p.run(["down", "spot"])  # each training launches its own first instance
                results["trainings"][str(n)].append(one_training(p, a.steps, a.pause, n))
        log(f"one kill without notice (load {load_average()})")
        p.run(["down", "spot"])
        results["kill"] = one_training(p, a.steps, a.pause, 1, kill=True)
        p.run(["down", "spot"])

    def summary(results):
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

    cloud_bench(ROOT, "spot", "Spot recovery in the simulated cloud", cmdline, log, body, summary, a.json, a.keep)

if __name__ == "__main__":
    main()
