"""What the benchmark scripts share: running a command quietly with its output kept in a log file, the first line
of what went wrong, and progress lines on stderr; for the benchmarks in the simulated cloud (aws.py, spot.py) the
cloud, a project on it and the frame of a run. Imported by bench/*.py (run as `python3 bench/NAME.py`)."""
import json
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time


def first_line(stderr):
    """The first line of a command's stderr that says something (SORTIE_TRACE's lines skipped)."""
    lines = [l.strip() for l in stderr.decode(errors="replace").splitlines() if l.strip() and not l.startswith("[trace")]
    return lines[0] if lines else "no message"


class Commands:
    """Runs commands for one benchmark: with its environment unless told otherwise, never from a terminal."""

    def __init__(self, base_env, tag):
        self.base_env = base_env
        self.tag = tag

    def log(self, msg):
        print(f"[{self.tag}] {msg}", file=sys.stderr, flush=True)

    def run(self, args, cwd, env=None, logfile=None, check=True):
        """Runs a command noninteractively, its output appended to logfile (kept for diagnosis), not shown; the
        completed process gets its stderr as .stderr.

        stderr goes to a file, never a pipe: what a command leaves behind (a detached agent, `dvc queue start`'s
        workers) inherits it, and reading a pipe would wait for them."""
        with open(logfile or os.devnull, "ab") as out, tempfile.TemporaryFile() as err:
            if logfile:
                out.write(f"$ {shlex.join(args)}\n".encode())
                out.flush()
            p = subprocess.run(args, cwd=cwd, env=env or self.base_env, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
            err.seek(0)
            p.stderr = err.read()
            out.write(p.stderr)
        if check and p.returncode != 0:
            raise RuntimeError(f"{shlex.join(args)} exited {p.returncode}: {first_line(p.stderr)}")
        return p

    def timed(self, args, cwd, env=None, logfile=None):
        """(wall seconds, completed process) of run()."""
        t = time.perf_counter()
        p = self.run(args, cwd, env, logfile)
        return time.perf_counter() - t, p

    def capture(self, args, cwd, env=None):
        """A command's stdout (it must succeed)."""
        return subprocess.run(args, cwd=cwd, env=env or self.base_env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, check=True).stdout


def load_average():
    """The 1-minute load average, rounded: printed beside each figure (a loaded machine explains a slow one)."""
    return round(os.getloadavg()[0], 2)


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def interleaved(rows, rounds, log=None):
    """Measures rows in turn, round after round (A, B, C, A, B, C, ...), so a change in the machine's load falls
    on every row alike instead of on whichever ran while it lasted; one pass per row times one run only.

    rows: [(name, measure)] where measure(round_index) returns a dict of figures (or None to skip that round).
    Returns {name: [dict, ...]}, one dict per round it ran, each with "round" and "load" (the load average as
    the measurement started) added."""
    out = {name: [] for name, _ in rows}
    for i in range(rounds):
        for name, measure in rows:
            load = load_average()
            if log:
                log(f"round {i + 1}/{rounds}: {name} (load {load})")
            r = measure(i)
            if r is not None:
                out[name].append(dict(r, round=i, load=load))
    return out


def paired_ratios(a, b, key):
    """a[key] / b[key] for each round both ran (lists of interleaved()'s dicts): ratios of runs made side by side."""
    by_round = {r["round"]: r for r in b}
    return [r[key] / by_round[r["round"]][key] for r in a
            if r["round"] in by_round and r.get(key) and by_round[r["round"]].get(key)]


def work_dir(root, bench):
    """This bench's own folder under bench/work (bench/work/BENCH): benches running at once do not meet."""
    d = os.path.join(root, "bench", "work", bench)
    os.makedirs(d, exist_ok=True)
    return d


# --------------------------------------------------------------------------------------------- the simulated cloud
# What bench/aws.py and bench/spot.py share: testkit/simcloud started as the tests start it, a git project whose
# sortie runs against it, a copy of the built launcher, and the frame of a benchmark run (work folder, partial
# results on failure, the cloud closed, the summary's header).

def in_simcloud_venv(root, script):
    """Re-runs script (this process's own file) with testkit/simcloud's venv's Python unless it already runs there
    (boto3 and moto are there; setup.sh installs what is missing, idempotent). Call before importing boto3."""
    here = os.path.dirname(os.path.abspath(script))
    # bench/queue.py would shadow the standard library's queue (which urllib3 imports): this folder goes last
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here] + [here]
    out = subprocess.run([os.path.join(root, "testkit", "simcloud", "setup.sh")], capture_output=True, text=True, check=True).stdout
    venv = dict(l.split("=", 1) for l in out.splitlines() if "=" in l)["VENV"]
    if os.path.realpath(sys.prefix) != os.path.realpath(venv):
        python = os.path.join(venv, "bin", "python")
        os.execv(python, [python, os.path.abspath(script), *sys.argv[1:]])


def bench_env():
    """The environment a benchmark's commands get: the user's, without AWS_ and SORTIE_ settings or an ssh agent,
    with a git identity of its own and never a git prompt."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SORTIE_")) and k not in ("SSH_AUTH_SOCK",)}
    env.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost", GIT_COMMITTER_NAME="bench",
               GIT_COMMITTER_EMAIL="bench@localhost", GIT_TERMINAL_PROMPT="0")
    return env


class SimCloud:
    """simcloud on loopback (testkit/simcloud/simcloud.py with the running venv's Python, gone with this process:
    --watch-stdin), serving the aws executor tests' Price List fixture; a VPC and subnet in 127/8 and boto3's EC2
    client on it."""

    def __init__(self, root, work):
        import boto3  # the simcloud venv's (in_simcloud_venv)
        self.dir = os.path.join(work, "simcloud")
        os.makedirs(self.dir)
        venv = os.path.dirname(os.path.dirname(sys.executable))
        self.proc = subprocess.Popen([os.path.join(venv, "bin", "python"), os.path.join(root, "testkit", "simcloud", "simcloud.py"),
                                      "--state-dir", self.dir, "--watch-stdin"], stdin=subprocess.PIPE,
                                     stdout=open(os.path.join(self.dir, "simcloud.log"), "ab"), stderr=subprocess.STDOUT)
        ready = os.path.join(self.dir, "ready.json")
        deadline = time.time() + 300
        while not os.path.exists(ready):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("simcloud did not start: see " + os.path.join(self.dir, "simcloud.log"))
            time.sleep(0.1)
        time.sleep(0.1)
        with open(ready) as f:
            self.ready = json.load(f)
        self.env = dict(self.ready["aws_env"], AWS_EC2_METADATA_DISABLED="true")
        self.ec2 = boto3.client("ec2", endpoint_url=self.env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                                aws_access_key_id="testing", aws_secret_access_key="testing")
        # the Price List fixture of the aws executor's tests (simcloud serves no prices without one)
        fixture = os.path.join(root, "sortie-executors-aws", "src", "test", "resources", "aws-pricing", "us-east-1-get-products.json")
        with open(fixture) as f:
            self.control("/pricing", {"products": json.load(f)["PriceList"]})
        # a VPC of its own in 127/8 (the tests draw theirs from 127.20-99): two clouds must not share addresses
        octet = random.randint(200, 250)
        vpc = self.ec2.create_vpc(CidrBlock="127.%d.0.0/16" % octet)["Vpc"]["VpcId"]
        self.subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock="127.%d.1.0/24" % octet)["Subnet"]["SubnetId"]

    def instances(self):
        out = []
        for page in self.ec2.get_paginator("describe_instances").paginate():
            for r in page["Reservations"]:
                out.extend(r["Instances"])
        return out

    def states(self):
        return {i["InstanceId"]: i["State"]["Name"] for i in self.instances()}

    def alive(self):
        return [i for i, s in self.states().items() if s in ("pending", "running")]

    def control(self, path, body=None):
        import urllib.request
        req = urllib.request.Request(self.ready["control_url"] + path, data=json.dumps(body or {}).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"{}")

    def close(self):
        try:
            self.control("/shutdown")
        except Exception:  # noqa: BLE001  (it may be gone)
            pass
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class CloudProject:
    """A git project whose sortie runs against the simulated cloud, with its own config (aws keys) and cache (prices)
    folders; its commands' output goes to work/NAME.log."""

    def __init__(self, commands, work, cloud, sortie, name, files=None):
        """files: {path: text} to commit instead of a sortie.yaml running `true`."""
        self.commands = commands
        self.dir = os.path.join(work, name)
        self.sortie = sortie
        self.cloud = cloud
        self.logfile = os.path.join(work, name + ".log")
        self.env = dict(commands.base_env, XDG_CONFIG_HOME=os.path.join(work, name + "-config"),
                        XDG_CACHE_HOME=os.path.join(work, name + "-cache"), **cloud.env)
        os.makedirs(self.dir)
        for path, text in (files or {"sortie.yaml": "name: b\nrun: \"true\"\n"}).items():
            with open(os.path.join(self.dir, path), "w") as f:
                f.write(text)
        for args in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", "bench"]):
            commands.run(args, self.dir, self.env, self.logfile)

    def add(self, name, *more):
        """An aws executor of t3.micro instances in the cloud's subnet, reached as root at their private addresses."""
        self.run(["executor", "add", name, "--type", "aws", "--region", "us-east-1", "--instance-type", "t3.micro",
                  "--subnet", self.cloud.subnet, "--private-ip", "--ssh-user", "root", "--boot-timeout", "90s", *more])

    def run(self, args, env=None, check=True):
        return self.commands.run([self.sortie, *args], self.dir, dict(self.env, **(env or {})), self.logfile, check)

    def output(self, args, env=None):
        """stdout and stderr together, as they came (the command must succeed)."""
        with tempfile.TemporaryFile() as out:
            p = subprocess.run([self.sortie, *args], cwd=self.dir, env=dict(self.env, **(env or {})), stdin=subprocess.DEVNULL,
                               stdout=out, stderr=subprocess.STDOUT)
            out.seek(0)
            text = out.read().decode(errors="replace")
        with open(self.logfile, "a") as f:
            f.write(f"$ sortie {shlex.join(args)}\n{text}")
        if p.returncode != 0:
            raise RuntimeError(f"sortie {shlex.join(args)} exited {p.returncode}: {text[-2000:]}")
        return text

    def popen(self, args, out, env=None):
        return subprocess.Popen([self.sortie, *args], cwd=self.dir, env=dict(self.env, **(env or {})), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT)


def copy_sortie(work, root, name="sortie-copy"):
    """A copy of a build's launcher and sortie-cli/target/dist (without its class-data archives) in work: a rebuild
    while the benchmark runs does not change what it measures. Returns the copy's launcher."""
    copy = os.path.join(work, name)
    shutil.copytree(os.path.join(root, "sortie-cli", "target", "dist"), os.path.join(copy, "sortie-cli", "target", "dist"),
                    ignore=shutil.ignore_patterns("cds"))
    shutil.copy2(os.path.join(root, "sortie"), os.path.join(copy, "sortie"))
    return os.path.join(copy, "sortie")


def cloud_bench(root, bench, title, cmdline, log, body, summary, as_json=False, keep=False):
    """The frame of a benchmark in the simulated cloud: checks the build, makes bench/work/BENCH-* (git-ignored) with
    a copy of the launcher, starts the cloud, runs body(cloud, work, sortie, results) (filling the dict results),
    logs what it had on failure and keeps the work folder then, closes the cloud, and prints the results: as JSON
    with the command and the environment, or a header (title, date, command, load averages) then summary(results).
    The work folder goes unless keep or something failed."""
    if not os.path.isdir(os.path.join(root, "sortie-cli", "target", "dist", "lib")):
        sys.exit("build Sortie first: mvn -B -ntp -o -q package -DskipTests")
    os.makedirs(os.path.join(root, "bench", "work"), exist_ok=True)
    work = tempfile.mkdtemp(prefix=bench + "-", dir=os.path.join(root, "bench", "work"))
    sortie = copy_sortie(work, root)
    env = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "load average at start": load_average()}
    cloud = SimCloud(root, work)
    results, ok = {}, False
    try:
        body(cloud, work, sortie, results)
        ok = True
    except Exception:
        log("partial results: " + json.dumps(results))
        raise
    finally:
        cloud.close()
        if not ok:
            log(f"failed; work dir kept: {work}")
    env["load average at end"] = load_average()
    if as_json:
        print(json.dumps({"command": cmdline, "environment": env, "results": results}, indent=2))
    else:
        print(f"{title}, {env['date']}; command: {cmdline}")
        print(f"load average: {env['load average at start']} at start, {env['load average at end']} at end\n")
        summary(results)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return results
