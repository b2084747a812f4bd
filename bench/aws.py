#!/usr/bin/env python3
"""AWS executor benchmark in the simulated cloud (testkit/simcloud: moto's EC2 API on loopback, a real host with
its own sshd per instance, booting in ~0.2 s), started through testkit/simcloud/setup.sh's venv:

1. orchestration: `sortie run -e cold -- date +%s.%N` on an executor with no instance (a fresh one is launched each
   round, and `sortie down` after; one untimed round first: prices cached, the launcher's class-data archive made), from the moment the process is spawned to the command starting (the date it
   prints: the VM shares this machine's clock), split by SORTIE_TRACE=1 and the progress lines into: JVM and the
   run's preparation (to the launch), API calls to RunInstances (plan, key pair, security group, RunInstances),
   waiting for SSH (the VM's boot and user data, and Sortie's 0.5 s poll), the node check and ready tag, agent
   install, code sync, agent launch. `--rounds` rounds, medians;
2. dispatch on a hot instance (`sortie up hot`, one untimed run first): `sortie run -e hot -- true` against the
   floor `ssh root@INSTANCE true` with the key and host key Sortie made, interleaved, `--runs` rounds; the figure
   is the median of the ratios of the pairs timed side by side;
3. queue: `--queue-size` experiments (`sleep 2` each) queued, drained by `sortie queue start -e q -j 4` over
   `--max-instances 4` (idle stop `--idle-stop` s): the drain's wall time, instances launched, and per instance its
   seconds alive (launch to terminated, terminated by its own watchdog) and idle after the drain; instance-seconds
   stand in for cost (no price code in this branch);
4. faults: a `sortie run` SIGKILLed at each step of provisioning (the test-only SORTIE_TEST_PAUSE_AT points), all at
   once, then `sortie status` and `sortie down --orphans`; plus a run whose instance is killed by the simcloud
   (`POST /vms/ID/kill`): instances still pending or running once every idle stop has passed (goal 0).
The 1-minute load average as each measurement started is printed beside each figure.

With --baseline DIR (another build: a folder with the `sortie` launcher and its sortie-cli/target/dist, e.g. a git
worktree of an older commit, built), rows 1 and 2 run that build too, interleaved with this one round by round (the
order of the two alternated, each build with its own project and instances), and give the median of the per-round
ratios this/baseline: under a shared machine's changing load, the comparison to trust.

The simulated cloud serves the Price List fixture of sortie-executors-aws's tests, so prices are fetched once (the
first launch) and then come from each project's price cache, as a user's do after the first launch of the day.

Usage: python3 bench/aws.py [--rounds 5] [--runs 10] [--queue-size 20] [--idle-stop 10] [--skip NAME] [--baseline DIR]
       [--json] [--keep]
Build first (mvn -B -ntp -o -q package -DskipTests): the script runs a copy of the launcher and sortie-cli/target/dist.
Work happens in bench/work/aws-* (git-ignored), removed unless --keep or something failed. It re-runs itself with
the simcloud venv's Python (boto3 is there).
"""
import argparse
import collections
import json
import os
import re
import shlex
import signal
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import in_simcloud_venv  # noqa: E402

in_simcloud_venv(ROOT, __file__)
import boto3  # noqa: E402  (the simcloud venv's)
from benchlib import CloudProject, Commands, bench_env, cloud_bench, copy_sortie, interleaved, load_average, median, paired_ratios  # noqa: E402,F401

TRACE = re.compile(r"^\[trace\s+([\d.]+) ms ([^\]]*)\] (.*)$")
PROGRESS = re.compile(r"^\[sortie\] aws (i-[0-9a-f]+): (.*) \(([\d.]+)s\)$")
STEPS = ["key-pair", "security-group", "run-instances", "launched", "ssh-wait", "ready-tag", "agent-install", "sync",
         "agent-launch", "record"]
_c = Commands(bench_env(), "aws-bench")
log = _c.log


def Project(work, cloud, sortie, name):
    """A project of this benchmark on the simulated cloud (benchlib.CloudProject)."""
    return CloudProject(_c, work, cloud, sortie, name)


def await_gone(cloud, ids, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = cloud.states()
        if all(st.get(i) not in ("pending", "running", "shutting-down", "stopping") for i in ids):
            return True
        time.sleep(0.2)
    return False


# --------------------------------------------------------------------------------------------- orchestration

def use_s3_store(cloud, p, bucket):
    """The project's store in moto's S3: each new instance gets the agent with the S3 client (a second bundle)."""
    s3 = boto3.client("s3", endpoint_url=cloud.env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket=bucket)
    os.makedirs(os.path.join(p.dir, ".sortie"), exist_ok=True)
    with open(os.path.join(p.dir, ".sortie", "config.yaml"), "w") as f:
        f.write("store: {url: s3://%s/p, path_style: true}\n" % bucket)


def orchestration_round(cloud, p):
    """One `sortie run -e cold` on a new instance, split into its phases; the instance goes down after."""
    t0 = time.time()
    text = p.output(["run", "-e", "cold", "--", "date", "+%s.%N"], env={"SORTIE_TRACE": "1"})
    wall = time.time() - t0
    marks, progress, started, iid = {}, {}, None, None
    for line in text.splitlines():
        m = TRACE.match(line)
        if m:
            for key in ("launch ", "agent ready on", "code synced", "agent started", "main"):
                if m.group(3).startswith(key) and key not in marks:
                    marks[key] = float(m.group(1)) / 1000
            continue
        m = PROGRESS.match(line)
        if m:
            what = m.group(2).split(" (")[0]
            progress.setdefault(what, float(m.group(3)))
            iid = m.group(1)
            continue
        if re.fullmatch(r"\d{10}\.\d+", line.strip()):
            started = float(line.strip())
    if started is None or "agent started" not in marks:
        raise RuntimeError("orchestration: no command start or trace in the output:\n" + text)
    total = started - t0
    launch = marks["launch "]
    phases = {
        # the JVM's start, the config, the code snapshot, the experiment recorded: all but what follows the launch
        "jvm_and_prepare": total - (marks["agent started"] - launch),
        "api_to_run_instances": progress["requested"],
        "wait_ssh_incl_boot": progress["node prepared, checking it"] - progress["requested"],
        "node_check_and_tag": progress["agent ready"] - progress["node prepared, checking it"],
        # what is left of the agent's install after the node check (it starts at the first login since the change)
        "agent_install": marks["agent ready on"] - launch - progress["agent ready"],
        "sync": marks["code synced"] - marks["agent ready on"],
        "agent_launch": marks["agent started"] - marks["code synced"],
    }
    p.run(["down", "cold"])
    await_gone(cloud, [iid], 60)
    return {"total_to_command_s": total, "wall_s": wall, **phases, "excluding_wait_ssh_s": total - phases["wait_ssh_incl_boot"]}


def bench_orchestration(cloud, work, builds, rounds, store=None):
    """builds: [(name, sortie)], the first this build; with two, the rounds alternate which goes first."""
    projects = []
    for name, sortie in builds:
        p = Project(work, cloud, sortie, "orch-" + name + ("" if store is None else "-" + store))
        if store == "s3":
            use_s3_store(cloud, p, "bench-orch-" + name)
        p.add("cold", "--idle-stop", "120s")
        projects.append((name, p))
    rows = {name: [] for name, _ in builds}
    for name, p in projects:
        # one untimed round first: the prices fetched into the project's cache (a day's), the launcher's class-data
        # archive made (its third start), as for a user after the first launch of the day
        log(f"orchestration: untimed first round: {name} (load {load_average()})")
        orchestration_round(cloud, p)
    for i in range(rounds):
        for name, p in (projects if i % 2 == 0 else projects[::-1]):
            load = load_average()
            log(f"orchestration round {i + 1}/{rounds}: {name} (load {load})")
            rows[name].append(dict(orchestration_round(cloud, p), load=load, round=i))
    out = {}
    for name, rs in rows.items():
        keys = [k for k in rs[0] if k not in ("load", "round")]
        out[name] = {"rounds": rs, "median": {k: median([r[k] for r in rs]) for k in keys}, "load": [r["load"] for r in rs]}
    res = dict(out[builds[0][0]])
    if len(builds) > 1:
        base = builds[1][0]
        res["baseline"] = out[base]
        res["vs_baseline"] = {k: median(paired_ratios(rows[builds[0][0]], rows[base], k))
                              for k in ("total_to_command_s", "excluding_wait_ssh_s")}
    return res


# --------------------------------------------------------------------------------------------- hot dispatch

def hot_project(cloud, work, sortie, name):
    """A project whose executor 'hot' has one instance up and used twice; (project, instance id, ssh floor command)."""
    p = Project(work, cloud, sortie, name)
    p.add("hot", "--idle-stop", "600s")
    before = set(cloud.states())
    p.run(["up", "hot"])
    inst = [i for i in cloud.instances() if i["State"]["Name"] == "running" and i["InstanceId"] not in before
            and {"Key": "sortie:executor", "Value": "hot"} in i.get("Tags", [])][0]
    iid, ip = inst["InstanceId"], inst["PrivateIpAddress"]
    cfg = p.env["XDG_CONFIG_HOME"]
    key = [os.path.join(cfg, "sortie/aws/keys", k) for k in os.listdir(os.path.join(cfg, "sortie/aws/keys")) if not k.endswith(".pub")][0]
    known = [os.path.join(cfg, "sortie/aws/known_hosts", k) for k in os.listdir(os.path.join(cfg, "sortie/aws/known_hosts")) if iid in k][0]
    ssh = ["ssh", "-i", key, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
           "-o", "UserKnownHostsFile=" + known, "root@" + ip, "true"]
    for _ in range(2):  # the agent installed, the code synced, the class-data archives made
        p.run(["run", "-e", "hot", "--", "true"])
    return p, iid, ssh


def bench_dispatch(cloud, work, builds, runs):
    """The ssh floor and each build's hot dispatch, round after round (the builds' order alternated)."""
    hot = [(name, sortie, *hot_project(cloud, work, sortie, "hot-" + name)) for name, sortie in builds]
    _, _, p0, _, ssh = hot[0]
    rows = {"floor": []}
    rows.update({name: [] for name, *_ in hot})
    for i in range(runs):
        load = load_average()
        log(f"dispatch round {i + 1}/{runs} (load {load})")
        rows["floor"].append({"s": _c.timed(ssh, p0.dir, p0.env, p0.logfile)[0], "round": i, "load": load})
        for name, sortie, p, _, _ in (hot if i % 2 == 0 else hot[::-1]):
            load = load_average()
            rows[name].append({"s": _c.timed([sortie, "run", "-e", "hot", "--", "true"], p.dir, p.env, p.logfile)[0], "round": i, "load": load})
    this = builds[0][0]
    t = p0.output(["run", "-e", "hot", "--", "true"], env={"SORTIE_TRACE": "1"})
    trace = [l for l in t.splitlines() if l.startswith("[trace")]
    for _, _, p, iid, _ in hot:
        p.run(["down", "hot"])
        await_gone(cloud, [iid], 60)
    out = {"sortie_s": median([r["s"] for r in rows[this]]), "floor_s": median([r["s"] for r in rows["floor"]]),
           "ratio": median(paired_ratios(rows[this], rows["floor"], "s")), "load": [r["load"] for r in rows[this]], "trace": trace}
    if len(builds) > 1:
        base = builds[1][0]
        out["baseline"] = {"sortie_s": median([r["s"] for r in rows[base]]), "ratio": median(paired_ratios(rows[base], rows["floor"], "s"))}
        out["vs_baseline"] = median(paired_ratios(rows[this], rows[base], "s"))
    return out


# --------------------------------------------------------------------------------------------- queue

def bench_queue(cloud, work, sortie, n, idle):
    p = Project(work, cloud, sortie, "queue")
    p.add("q", "--max-instances", "4", "--idle-stop", f"{idle}s")
    before = set(cloud.states())
    p.run(["run", "--queue", "-e", "q", "-S", "+i=" + ",".join(str(i) for i in range(n)), "--", "sleep", "2"])
    load = load_average()
    alive_since, gone_at, launched_at = {}, {}, {}
    t0 = time.time()
    with open(os.path.join(work, "queue-start.txt"), "wb") as out:
        proc = p.popen(["queue", "start", "-e", "q", "-j", "4"], out)
        drained = None
        while True:
            now = time.time()
            for iid, s in cloud.states().items():
                if iid in before:
                    continue
                if s in ("pending", "running"):
                    launched_at.setdefault(iid, now)
                elif iid in launched_at:
                    gone_at.setdefault(iid, now)
            if drained is None and proc.poll() is not None:
                drained = now
            if drained is not None and launched_at and all(i in gone_at for i in launched_at):
                break
            if now - t0 > 600:
                break
            time.sleep(0.2)
    rc = proc.returncode
    shown = json.loads(_c.capture([sortie, "show", "--json"], p.dir, p.env))
    rows = shown if isinstance(shown, list) else shown.get("experiments", [])
    ok = sum(1 for e in rows if e.get("status") == "succeeded")
    inst_s = sum(gone_at.get(i, time.time()) - t for i, t in launched_at.items())
    idle_after = [gone_at.get(i, time.time()) - drained for i in launched_at]
    return {"experiments": n, "succeeded": ok, "exit": rc, "drain_s": drained - t0, "instances_launched": len(launched_at),
            "instance_seconds": inst_s, "idle_after_drain_s_max": max(idle_after) if idle_after else None,
            "idle_after_drain_s_sum": sum(max(0.0, x) for x in idle_after), "idle_stop_s": idle, "load": load,
            "left_running": len(cloud.alive())}


# --------------------------------------------------------------------------------------------- faults

def bench_faults(cloud, work, sortie, idle):
    p = Project(work, cloud, sortie, "faults")
    p.add("f", "--idle-stop", f"{idle}s", "--max-instances", str(len(STEPS) + 1))
    before = set(cloud.states())
    load = load_average()
    procs = []
    for step in STEPS:
        marker = os.path.join(work, "paused-" + step)
        out = open(os.path.join(work, "fault-" + step + ".txt"), "wb")
        procs.append((step, marker, p.popen(["run", "-e", "f", "--", "sleep", "1"], out,
                                            {"SORTIE_TEST_PAUSE_AT": step, "SORTIE_TEST_PAUSE_MARKER": marker})))
    deadline = time.time() + 300
    for step, marker, proc in procs:
        while not os.path.exists(marker) and proc.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # an instance lost in the middle of a run
    out = open(os.path.join(work, "fault-kill.txt"), "wb")
    run = p.popen(["run", "-e", "f", "--", "sleep", "30"], out)
    killed_vm = None
    while killed_vm is None and run.poll() is None and time.time() < deadline:
        with open(os.path.join(work, "fault-kill.txt"), "rb") as f:
            m = re.search(rb"running on root@([0-9.]+):", f.read())
        if m:
            ip = m.group(1).decode()
            on = [i["InstanceId"] for i in cloud.instances() if i.get("PrivateIpAddress") == ip and i["State"]["Name"] == "running"]
            if on:
                cloud.control(f"/vms/{on[0]}/kill")  # the host dies at once, the instance is terminated
                killed_vm = on[0]
        time.sleep(0.2)
    run.wait(timeout=300)
    p.run(["status"], check=False)
    p.run(["down", "--orphans"], check=False)
    launched = [i for i in cloud.states() if i not in before]
    t = time.time()
    await_gone(cloud, launched, idle + 60)
    waited = time.time() - t
    shown = json.loads(_c.capture([sortie, "show", "--json"], p.dir, p.env))
    rows = shown if isinstance(shown, list) else shown.get("experiments", [])
    return {"kills": len(STEPS), "instances_launched": len(launched), "instance_killed": killed_vm is not None,
            "left_running": len(cloud.alive()), "waited_s": waited, "idle_stop_s": idle, "load": load,
            "experiments": dict(collections.Counter(e.get("status") for e in rows)),
            "still_running_in_ledger": sum(1 for e in rows if e.get("status") in ("running", "launching"))}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="orchestration rounds (default 5)")
    ap.add_argument("--runs", type=int, default=10, help="hot dispatch rounds (default 10)")
    ap.add_argument("--queue-size", type=int, default=20)
    ap.add_argument("--idle-stop", type=int, default=10, help="the queue's and the faults' idle stop, seconds (default 10)")
    ap.add_argument("--skip", action="append", choices=["orchestration", "dispatch", "queue", "faults"], default=[])
    ap.add_argument("--store", choices=["local", "s3"], default="local",
                    help="the orchestration project's store (s3: moto's, the agent installed with the S3 client)")
    ap.add_argument("--baseline", metavar="DIR", help="another build (its `sortie` and sortie-cli/target/dist) to compare with, "
                    "interleaved (orchestration and dispatch)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    cmdline = shlex.join(["python3", "bench/aws.py", *sys.argv[1:]])
    if a.baseline and not os.path.isdir(os.path.join(a.baseline, "sortie-cli", "target", "dist", "lib")):
        sys.exit(f"--baseline {a.baseline}: no sortie-cli/target/dist there (build it first)")

    def body(cloud, work, sortie, results):
        builds = [("this", sortie)]
        if a.baseline:
            builds.append(("baseline", copy_sortie(work, os.path.abspath(a.baseline), "baseline-copy")))
        if "orchestration" not in a.skip:
            results["orchestration"] = bench_orchestration(cloud, work, builds, a.rounds,
                                                           None if a.store == "local" else a.store)
        if "dispatch" not in a.skip:
            results["dispatch"] = bench_dispatch(cloud, work, builds, a.runs)
        if "queue" not in a.skip:
            results["queue"] = bench_queue(cloud, work, sortie, a.queue_size, a.idle_stop)
        if "faults" not in a.skip:
            results["faults"] = bench_faults(cloud, work, sortie, a.idle_stop)

    def summary(results):
        o = results.get("orchestration")
        if o:
            m = o["median"]
            print(f"orchestration, new instance (median of {len(o['rounds'])}; load {min(o['load'])}-{max(o['load'])}):")
            b = o.get("baseline", {}).get("median", {})
            for k, v in m.items():
                print(f"  {k:24s} {v:7.3f} s" + (f"   baseline {b[k]:7.3f} s" if k in b else ""))
            if "vs_baseline" in o:
                print("  this/baseline, median of the rounds' ratios: " + ", ".join(f"{k} {v:.2f}" for k, v in o["vs_baseline"].items()))
        d = results.get("dispatch")
        if d:
            print(f"\nhot dispatch: sortie run {d['sortie_s']:.3f} s, ssh true {d['floor_s']:.3f} s, ratio {d['ratio']:.2f}x "
                  f"(load {min(d['load'])}-{max(d['load'])})")
            if "baseline" in d:
                print(f"  baseline: sortie run {d['baseline']['sortie_s']:.3f} s, ratio {d['baseline']['ratio']:.2f}x; "
                      f"this/baseline, median of the rounds' ratios: {d['vs_baseline']:.2f}")
        q = results.get("queue")
        if q:
            print(f"\nqueue: {q}")
        f = results.get("faults")
        if f:
            print(f"\nfaults: {f}")

    cloud_bench(ROOT, "aws", "AWS executor in the simulated cloud", cmdline, log, body, summary, a.json, a.keep)

if __name__ == "__main__":
    main()
