#!/usr/bin/env python3
"""Remote benchmark, side by side in one run, against a real OpenSSH sshd on loopback that this script starts
(its own port, ed25519 host key and client key, in the work dir; the current user may log in):

1. dispatch: `sortie run -e bench -- true` end to end (a fresh `sortie` process each time, as a user types it)
   on a warm host (one run first installs the agent; one more, untimed, after which the bench waits until the
   launcher's and the agent's class-data archives are made, as after a user's first runs), N times, against the
   floor `ssh -F CFG benchhost true`, N times, interleaved (floor, Sortie, `sortie --version`, round after round);
   then one more run with SORTIE_TRACE=1 for where the time goes (connect, agent ready, code synced, agent
   started, ended, recorded);
2. sync: a workspace of --files files and --mb MB of random (incompressible) bytes, committed to the project's
   git repo: 1/50 of the files big, the rest 1-8 KB in a few dozen folders.
   (a) first sync: `sortie run -e bench -- true` into a fresh remote_dir against `rsync -a ws/ benchhost:dst/`
       into a fresh dst (the same files: .git and .sortie excluded from rsync);
   (b) on the now hot host (one untimed run, and the class-data archives made, first),
       one small file changed and NOT committed (a user's usual state; Sortie snapshots the workspace as it is),
       then the same with the change committed: `sortie run` again against `rsync -a` again into the synced dst.
   Each is done --sync-runs times (fresh remote_dir and dst for each (a)), rsync and Sortie side by side in each
   round; medians are reported. For Sortie both the wall time end to end and the sync phase alone (SORTIE_TRACE's
   "agent ready" to "code synced").
Each Sortie / floor figure is the median of the ratios of the pairs timed side by side (one round each), not the
ratio of two medians; the 1-minute load average as each round started is reported beside each figure (its median
and range over the rounds).
Checked, not just timed: every `sortie run` exits 0 and `sortie show --json` says succeeded; the host's code
cache (remote_dir/cache/code) holds exactly the workspace's distinct blobs after (a), and each (b) adds one;
rsync's dst holds as many files as the workspace.

Sortie finds the host through SORTIE_SSH_DIR (the script's ssh folder: config with `Host benchhost`,
known_hosts with the host's key); ssh and rsync use `ssh -F` on that same config. No ssh-agent is used.

Usage: python3 bench/ssh.py [--runs 10] [--files 5000] [--mb 500] [--sync-runs 3] [--skip dispatch|sync]
                            [--json] [--keep]
Build Sortie first (mvn -q -B install -DskipTests && mvn -q -B package -DskipTests -pl sortie-cli); the script
runs a copy of the launcher and sortie-cli/target/dist, so a rebuild during the run changes nothing. Work happens
in bench/work/ssh-* (git-ignored), removed at the end unless --keep or something failed; sshd and any agent
left running under the work dir are killed in any case. Progress goes to stderr; the table (or --json) to stdout.
"""
import argparse
import json
import os
import platform
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import Commands, interleaved, load_average, median, paired_ratios

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SORTIE = os.path.join(ROOT, "sortie")  # main() points this at a copy in the work dir
SORTIE_LIB = os.path.join(ROOT, "sortie-cli", "target", "dist", "lib")
WORK = os.path.join(ROOT, "bench", "work")
SSHD = "/usr/sbin/sshd"
HOST = "benchhost"
MB = 1_000_000

# Identity for the throwaway repos' commits, no git prompts, and no ssh-agent: every login is the bench's key.
BASE_ENV = {k: v for k, v in os.environ.items() if k not in ("SSH_AUTH_SOCK", "SSH_AGENT_PID", "SORTIE_TRACE")}
BASE_ENV.update(GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost", GIT_COMMITTER_NAME="bench",
                GIT_COMMITTER_EMAIL="bench@localhost", GIT_TERMINAL_PROMPT="0")

TRACE_LINE = re.compile(r"^\[trace\s+([\d.]+) ms ([^\]]*)\] (.*)$")
# The phases of a remote run, by the start of their trace mark (see SshHost, SshExecutor, ExperimentService).
PHASES = [("connected to", "connect"), ("agent ready on", "agent ready"), ("code synced", "code synced"),
          ("agent started", "agent started"), ("ended ", "ended"), ("recorded ", "recorded")]

_commands = Commands(BASE_ENV, "ssh-bench")
log, run, capture, timed = _commands.log, _commands.run, _commands.capture, _commands.timed












def version_of(args):
    try:
        p = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        return (p.stdout + p.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "unknown"


def count_files(path):
    return sum(len(files) for _, _, files in os.walk(path)) if os.path.isdir(path) else 0


# ----------------------------------------------------------------------------------------------------- host

class Host:
    """A real sshd on 127.0.0.1 and an ssh folder (config, known_hosts, key) for ssh, rsync and sortie."""

    def __init__(self, work):
        self.work = work
        self.dir = os.path.join(work, "sshd")
        self.ssh_dir = os.path.join(work, "ssh")
        self.config = os.path.join(self.ssh_dir, "config")
        self.user = capture(["id", "-un"], work).strip()
        self.proc = None
        self.remote_dirs = []  # agents started under these are killed at the end

    def start(self):
        os.makedirs(self.dir)
        os.makedirs(self.ssh_dir)
        host_key = os.path.join(self.dir, "host_ed25519")
        client_key = os.path.join(self.ssh_dir, "id_ed25519")
        for key in (host_key, client_key):
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sortie-bench", "-f", key], self.work)
        shutil.copy(client_key + ".pub", os.path.join(self.dir, "authorized_keys"))
        if os.geteuid() == 0:
            os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation folder, as Debian's service makes it
        self.port = free_port()
        sshd_config = os.path.join(self.dir, "sshd_config")
        with open(sshd_config, "w") as f:
            f.write("\n".join([
                f"Port {self.port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}",
                f"AuthorizedKeysFile {os.path.join(self.dir, 'authorized_keys')}",
                f"PidFile {os.path.join(self.dir, 'sshd.pid')}", "StrictModes no", "UsePAM no",
                "PubkeyAuthentication yes", "PasswordAuthentication no", "KbdInteractiveAuthentication no",
                "PermitRootLogin prohibit-password", f"AllowUsers {self.user}", "UseDNS no", "LogLevel ERROR", ""]))
        with open(host_key + ".pub") as f:
            key_type, key_b64 = f.read().split()[:2]
        with open(os.path.join(self.ssh_dir, "known_hosts"), "w") as f:
            f.write(f"[127.0.0.1]:{self.port} {key_type} {key_b64}\n")
        with open(self.config, "w") as f:
            f.write("\n".join([
                f"Host {HOST}", "  HostName 127.0.0.1", f"  Port {self.port}", f"  User {self.user}",
                f"  IdentityFile {client_key}", "  IdentitiesOnly yes",
                f"  UserKnownHostsFile {os.path.join(self.ssh_dir, 'known_hosts')}",
                "  StrictHostKeyChecking yes", "  BatchMode yes", ""]))
        self.log = open(os.path.join(self.dir, "sshd.log"), "ab")
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", sshd_config], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited {self.proc.returncode}; see {self.dir}/sshd.log")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                break
            except OSError:
                if time.time() > deadline:
                    raise RuntimeError(f"sshd did not listen on {self.port}; see {self.dir}/sshd.log")
                time.sleep(0.05)
        run(self.ssh(["true"]), self.work)  # logs in, or says why not
        log(f"sshd on 127.0.0.1:{self.port} (pid {self.proc.pid}), ssh folder {self.ssh_dir}")

    def ssh(self, cmd):
        return ["ssh", "-F", self.config, HOST, *cmd]

    def rsync(self, src, dst):
        return ["rsync", "-a", "--exclude", "/.git", "--exclude", "/.sortie", "-e", shlex.join(["ssh", "-F", self.config]),
                src.rstrip("/") + "/", f"{HOST}:{dst.rstrip('/')}/"]

    def env(self, trace=False):
        env = dict(BASE_ENV, SORTIE_SSH_DIR=self.ssh_dir)
        if trace:
            env["SORTIE_TRACE"] = "1"
        return env

    def kill_agents(self):
        """SIGKILL to agents (detached on purpose) whose command line names one of this bench's remote dirs."""
        killed = 0
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if "AgentMain" in cmd and any(d in cmd for d in self.remote_dirs):
                try:
                    os.kill(int(pid), signal.SIGKILL)
                    killed += 1
                except OSError:
                    pass
        return killed

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.log.close()
        n = self.kill_agents()
        if n:
            log(f"killed {n} leftover agent process(es)")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -------------------------------------------------------------------------------------------------- project

def make_project(host, path, remote_dir, logfile):
    """A git repo with sortie.yaml and .sortie/config.yaml (executor `bench` on benchhost), committed."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "sortie.yaml"), "w") as f:
        f.write('name: bench\nrun: "true"\n')
    run(["git", "init", "-q"], path, logfile=logfile)
    run([SORTIE, "init"], path, logfile=logfile)
    with open(os.path.join(path, ".sortie", "config.yaml"), "w") as f:
        f.write(f"executors:\n  bench:\n    type: ssh\n    host: {HOST}\n    remote_dir: {json.dumps(remote_dir)}\n")
    host.remote_dirs.append(remote_dir)
    git_commit(path, logfile)


def git_commit(path, logfile):
    run(["git", "add", "-A"], path, logfile=logfile)
    run(["git", "commit", "-qm", "bench"], path, logfile=logfile)


def sortie_run(host, proj, logfile, trace=False):
    """`sortie run -e bench -- true` in proj, as a user types it; returns (wall s, trace marks)."""
    wall, p = timed([SORTIE, "run", "-e", "bench", "--", "true"], proj, host.env(trace), logfile)
    marks = []
    for line in p.stderr.decode(errors="replace").splitlines():
        m = TRACE_LINE.match(line.strip())
        if m:
            marks.append((float(m.group(1)) / 1000, m.group(3)))
    return wall, marks


def phase_times(marks):
    """{phase: seconds since the JVM's first trace} for the phases of PHASES that were marked."""
    out = {}
    for prefix, name in PHASES:
        for t, what in marks:
            if what.startswith(prefix):
                out[name] = t
                break
    return out


def sync_phase(marks):
    p = phase_times(marks)
    return p["code synced"] - p["agent ready"] if "code synced" in p and "agent ready" in p else None


def check_ledger(host, proj, expected):
    """Every experiment in the ledger succeeded, and there are `expected` of them; returns a note or ''."""
    exps = json.loads(capture([SORTIE, "show", "--json"], proj, host.env()))
    bad = [e.get("status") for e in exps if e.get("status") != "succeeded"]
    if len(exps) != expected or bad:
        return f"ledger: {len(exps)} experiments (expected {expected}), not succeeded: {bad}"
    return ""


def distinct_blobs(proj):
    """Distinct blob ids of the workspace as committed (.sortie is never part of a snapshot)."""
    ids = set()
    for line in capture(["git", "ls-tree", "-r", "HEAD"], proj).splitlines():
        meta, path = line.split("\t", 1)
        if meta.split()[1] == "blob" and not path.startswith(".sortie/"):
            ids.add(meta.split()[2])
    return len(ids)


def summary(xs, loads=None):
    xs = [x for x in xs if x is not None]
    r = {"median_s": statistics.median(xs) if xs else None, "min_s": min(xs) if xs else None, "all_s": xs}
    if loads is not None:
        r["loads"] = loads
    return r


def pair_median(a, b):
    """The median of a[i] / b[i] over the rounds where both were measured: ratios of runs made side by side."""
    return median([x / y for x, y in zip(a, b) if x is not None and y])


def load_text(loads):
    """The load averages of a figure's rounds, as printed beside it: median (min-max)."""
    loads = [x for x in loads if x is not None]
    return f"{median(loads):.2f} ({min(loads):.2f}-{max(loads):.2f})" if loads else "n/a"


# ------------------------------------------------------------------------------------------------- dispatch

def warm_archives(host, proj, remote, logfile):
    """Makes both class-data archives a user's machine and a hot host have after the first few runs: the
    launcher's (made in the background on its third start) and the agent's on the host (made in the background at
    the second launch there). One untimed run, then a wait for both files, so no timed run shares the two cores with
    an archive being made (a one-time cost per build, JDK and host)."""
    sortie_run(host, proj, logfile)
    dirs = [os.path.join(os.path.dirname(SORTIE), "sortie-cli", "target", "dist", "cds"), os.path.join(remote, "agent", "cds")]
    deadline = time.time() + 60
    while time.time() < deadline:
        if all(os.path.isdir(d) and any(f.endswith(".jsa") for f in os.listdir(d)) for d in dirs):
            return None
        time.sleep(0.2)
    return "the class-data archives were not made within 60 s: " + ", ".join(dirs)


def bench_dispatch(host, work, runs):
    proj = os.path.join(work, "dispatch")
    remote = os.path.join(work, "remote-dispatch")
    logfile = os.path.join(work, "dispatch.log")
    make_project(host, proj, remote, logfile)
    log("dispatch: first run (installs the agent on the host)")
    first, first_marks = sortie_run(host, proj, logfile, trace=True)
    archives_note = warm_archives(host, proj, remote, logfile)
    # Interleaved (floor, Sortie, JVM start, round after round), so that a burst of load on the shared cores falls
    # on all rows alike; the load average as each started is kept with it.
    rounds = interleaved([("floor", lambda i: {"s": timed(host.ssh(["true"]), work, logfile=logfile)[0]}),
                          ("sortie", lambda i: {"s": sortie_run(host, proj, logfile)[0]}),
                          ("jvm", lambda i: {"s": timed([SORTIE, "--version"], proj, host.env(), logfile)[0]})],
                         runs, log)
    s, f, jvm = ({"s": [r["s"] for r in rounds[k]], "load": [r["load"] for r in rounds[k]]} for k in ("sortie", "floor", "jvm"))
    trace_wall, marks = sortie_run(host, proj, logfile, trace=True)
    note = check_ledger(host, proj, runs + 3)
    if archives_note:
        note = (note + "; " if note else "") + archives_note
    ratio = median(paired_ratios(rounds["sortie"], rounds["floor"], "s"))
    s, f = summary(s["s"], s["load"]), summary(f["s"], f["load"])
    return {"sortie": s, "floor": f, "jvm_start": summary(jvm["s"], jvm["load"]), "ratio_median": ratio,
            "ratio_min": s["min_s"] / f["min_s"], "first_run_s": first, "first_run_trace": first_marks,
            "trace_wall_s": trace_wall, "trace": marks, "note": note}


# ----------------------------------------------------------------------------------------------------- sync

def make_workspace(proj, n_files, total_mb, seed=0):
    """n_files files, total_mb MB of random bytes: 1/50 of them big, the rest 1-8 KB in a few dozen folders."""
    rng = random.Random(seed)
    n_big = max(1, n_files // 50)
    n_small = max(0, n_files - n_big)
    small_sizes = [rng.randint(1024, 8192) for _ in range(n_small)]
    big_size = max(1, (total_mb * MB - sum(small_sizes)) // n_big)
    folders = max(1, min(40, n_small // 100))
    small_paths = []
    for i in range(n_big):
        d = os.path.join(proj, "data", "big")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"shard-{i:04d}.bin"), "wb") as f:
            f.write(rng.randbytes(big_size))
    for i, size in enumerate(small_sizes):
        d = os.path.join(proj, "src", f"pkg{i % folders:02d}")
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, f"file{i:05d}.dat")
        with open(p, "wb") as f:
            f.write(rng.randbytes(size))
        small_paths.append(p)
    return {"files": n_big + n_small, "bytes": n_big * big_size + sum(small_sizes), "big_files": n_big,
            "big_file_bytes": big_size, "small_files": n_small, "folders": folders + 1}, small_paths


def edit(path, rng):
    # A different size, so no stat-based check (git's index, rsync's quick check) can miss it.
    with open(path, "ab") as f:
        f.write(rng.randbytes(100))


def bench_sync(host, work, n_files, total_mb, reps):
    proj = os.path.join(work, "sync")
    logfile = os.path.join(work, "sync.log")
    remote = os.path.join(work, "remote-sync")
    dst = os.path.join(work, "rsync-dst")
    os.makedirs(proj)
    log(f"sync: writing a workspace of {n_files} files, {total_mb} MB")
    ws, small = make_workspace(proj, n_files, total_mb)
    make_project(host, proj, remote, logfile)
    ws["files_in_snapshot"] = distinct_blobs(proj)
    blobs = ws["files_in_snapshot"]
    log(f"sync: committed ({ws['files']} files, {ws['bytes'] / MB:.0f} MB, {blobs} distinct blobs with sortie.yaml)")
    ws_files = count_files(proj) - count_files(os.path.join(proj, ".git")) - count_files(os.path.join(proj, ".sortie"))
    run(["sync"], work)

    rows = {k: {"sortie_s": [], "sortie_sync_s": [], "rsync_s": [], "loads": []} for k in ("first", "changed", "committed")}
    notes, experiments = [], 0
    cache = os.path.join(remote, "cache", "code")
    rng = random.Random(1)

    def record(kind, wall, marks, rsync_s, blobs_before, want_new, load):
        r = rows[kind]
        r["loads"].append(load)
        r["sortie_s"].append(wall)
        r["sortie_sync_s"].append(sync_phase(marks))
        r["rsync_s"].append(rsync_s)
        got = count_files(cache) - blobs_before
        r.setdefault("new_blobs", []).append(got)
        if got != want_new:
            notes.append(f"{kind}: {got} new blobs in the host's cache, expected {want_new}")
        log(f"sync {kind}: rsync {rsync_s:.2f} s; sortie {wall:.2f} s end to end, "
            f"sync phase {fmt(r['sortie_sync_s'][-1])} s; {got} new blob(s)")

    for i in range(reps):
        # (a) a fresh host dir and a fresh dst; the agent's leftovers of the previous round gone first.
        host.kill_agents()
        shutil.rmtree(remote, ignore_errors=True)
        shutil.rmtree(dst, ignore_errors=True)
        # and this machine's memory of what it sent there (agent installed, trees synced): a new host, not a wiped one
        shutil.rmtree(os.path.join(proj, ".sortie", "ssh-agents"), ignore_errors=True)
        load = load_average()
        rsync_s = timed(host.rsync(proj, dst), work, logfile=logfile)[0]
        if count_files(dst) != ws_files:
            notes.append(f"rsync dst holds {count_files(dst)} files, the workspace {ws_files}")
        wall, marks = sortie_run(host, proj, logfile, trace=True)
        experiments += 1
        record("first", wall, marks, rsync_s, 0, blobs, load)
        if i == 0:
            rows["first"]["trace"] = marks

    # A hot host, as after a user's first runs there: the class-data archives made before the timed changes.
    archives_note = warm_archives(host, proj, remote, logfile)
    experiments += 1
    if archives_note:
        notes.append(archives_note)
    for i in range(reps):
        # (b) one small file changed, not committed; then one more changed and committed.
        for kind in ("changed", "committed"):
            edit(small[rng.randrange(len(small))], rng)
            if kind == "committed":
                git_commit(proj, logfile)
            before = count_files(cache)
            load = load_average()
            rsync_s = timed(host.rsync(proj, dst), work, logfile=logfile)[0]
            wall, marks = sortie_run(host, proj, logfile, trace=True)
            experiments += 1
            record(kind, wall, marks, rsync_s, before, 1, load)
            if i == 0:
                rows[kind]["trace"] = marks
    note = check_ledger(host, proj, experiments)
    if note:
        notes.append(note)
    for r in rows.values():
        # rsync and Sortie ran side by side in each round: each ratio is the median of the rounds' pairs.
        r["ratio_e2e"] = pair_median(r["sortie_s"], r["rsync_s"])
        r["ratio_sync_phase"] = pair_median(r["sortie_sync_s"], r["rsync_s"])
        for k in ("sortie_s", "sortie_sync_s", "rsync_s"):
            r[k] = summary(r[k])
    return {"workspace": ws, "rows": rows, "notes": notes}


# ---------------------------------------------------------------------------------------------------- report

def fmt(x, spec=".3f"):
    return "n/a" if x is None else format(x, spec)


def trace_table(marks, wall):
    """The trace's marks as phases: each with its end since the JVM's first trace and its own length."""
    lines = ["| phase (trace mark) | at ms | took ms |", "| --- | ---: | ---: |"]
    prev = 0.0
    for t, what in marks:
        lines.append(f"| {what} | {t * 1000:.0f} | {(t - prev) * 1000:.0f} |")
        prev = t
    if marks:
        lines.append(f"| (not marked: JVM start, config, ledger and git snapshot before the first mark, exit after the "
                     f"last; wall {wall * 1000:.0f} ms) | | "
                     f"{(wall - marks[-1][0]) * 1000:.0f} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="dispatch runs of each row (default 10)")
    ap.add_argument("--files", type=int, default=5000, help="files in the sync workspace (default 5000)")
    ap.add_argument("--mb", type=int, default=500, help="MB (10^6 bytes) in the sync workspace (default 500)")
    ap.add_argument("--sync-runs", type=int, default=3, help="rounds of each sync measurement (default 3)")
    ap.add_argument("--skip", action="append", choices=["dispatch", "sync"], default=[])
    ap.add_argument("--json", action="store_true", help="print the figures as JSON instead of the table")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (bench/work/ssh-*)")
    a = ap.parse_args()
    cmdline = shlex.join(["python3", os.path.relpath(os.path.abspath(sys.argv[0]), ROOT), *sys.argv[1:]])
    if not os.path.isdir(SORTIE_LIB):
        sys.exit("build Sortie first: mvn -q -B install -DskipTests && mvn -q -B package -DskipTests -pl sortie-cli")
    if not os.access(SSHD, os.X_OK):
        sys.exit(f"{SSHD} is missing: apt-get install -y openssh-server")
    if shutil.which("rsync") is None and "sync" not in a.skip:
        sys.exit("rsync (the sync floor) is missing: apt-get install -y rsync, or --skip sync")

    os.makedirs(WORK, exist_ok=True)
    work = tempfile.mkdtemp(prefix="ssh-", dir=WORK)
    global SORTIE
    SORTIE = copy_sortie(work)
    env = {"date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(), "cpu": cpu_model(),
           "kernel": platform.release(), "java": version_of(["java", "-version"]),
           "sortie": "; ".join(l.strip() for l in capture([SORTIE, "--version"], ROOT).splitlines() if l.strip()),
           "openssh": version_of(["ssh", "-V"]), "rsync": version_of(["rsync", "--version"]),
           "git": version_of(["git", "--version"]), "load average at start": round(os.getloadavg()[0], 2)}
    host = Host(work)
    results, ok = {}, False
    try:
        host.start()
        if "dispatch" not in a.skip:
            results["dispatch"] = bench_dispatch(host, work, a.runs)
        if "sync" not in a.skip:
            results["sync"] = bench_sync(host, work, a.files, a.mb, a.sync_runs)
        ok = not (results.get("dispatch", {}).get("note") or results.get("sync", {}).get("notes"))
    except Exception:
        log(f"failed; work dir kept: {work}")
        raise
    finally:
        host.stop()
    env["load average at end"] = round(os.getloadavg()[0], 2)

    d, s = results.get("dispatch"), results.get("sync")
    goals = []
    if d:
        goals.append({"goal": "dispatch on a warm host within 2x of `ssh host true`", "ratio": d["ratio_median"],
                      "met": d["ratio_median"] is not None and d["ratio_median"] <= 2 and not d["note"]})
    if s:
        for kind, what in (("first", "first sync"), ("changed", "one small uncommitted change"),
                           ("committed", "one small committed change")):
            r = s["rows"][kind]
            goals.append({"goal": f"{what}: Sortie end to end at least as fast as rsync", "ratio": r["ratio_e2e"],
                          "met": r["ratio_e2e"] is not None and r["ratio_e2e"] <= 1})
            goals.append({"goal": f"{what}: Sortie's sync phase at least as fast as rsync", "ratio": r["ratio_sync_phase"],
                          "met": r["ratio_sync_phase"] is not None and r["ratio_sync_phase"] <= 1})

    if a.json:
        print(json.dumps({"command": cmdline, "environment": env, "results": results, "goals": goals}, indent=2))
    else:
        print(f"Remote benchmark over SSH (loopback sshd), {env['date']}\n")
        print("| measurement | Sortie median s (min) | floor median s (min) | Sortie / floor (median of pairs) "
              "| load average: median (range) |")
        print("| --- | ---: | ---: | ---: | ---: |")
        if d:
            print(f"| dispatch, warm host, {a.runs} runs: `sortie run -e bench -- true` vs `ssh benchhost true` | "
                  f"{fmt(d['sortie']['median_s'])} ({fmt(d['sortie']['min_s'])}) | "
                  f"{fmt(d['floor']['median_s'])} ({fmt(d['floor']['min_s'])}) | {fmt(d['ratio_median'], '.1f')}x | "
                  f"{load_text(d['sortie']['loads'] + d['floor']['loads'])} |")
            print(f"| (for scale: `sortie --version`, the JVM's start) | {fmt(d['jvm_start']['median_s'])} "
                  f"({fmt(d['jvm_start']['min_s'])}) | | | {load_text(d['jvm_start']['loads'])} |")
        if s:
            w = s["workspace"]
            desc = {"first": "first sync, fresh host dir vs `rsync -a` into a fresh dst",
                    "changed": "1 small file changed, not committed, vs `rsync -a` again",
                    "committed": "1 small file changed and committed, vs `rsync -a` again"}
            for kind, r in s["rows"].items():
                print(f"| {desc[kind]}: Sortie end to end | {fmt(r['sortie_s']['median_s'], '.2f')} "
                      f"({fmt(r['sortie_s']['min_s'], '.2f')}) | {fmt(r['rsync_s']['median_s'], '.2f')} "
                      f"({fmt(r['rsync_s']['min_s'], '.2f')}) | {fmt(r['ratio_e2e'], '.2f')}x | {load_text(r['loads'])} |")
                print(f"| same: Sortie's sync phase alone | {fmt(r['sortie_sync_s']['median_s'], '.2f')} "
                      f"({fmt(r['sortie_sync_s']['min_s'], '.2f')}) | {fmt(r['rsync_s']['median_s'], '.2f')} | "
                      f"{fmt(r['ratio_sync_phase'], '.2f')}x | {load_text(r['loads'])} |")
            print(f"\nSync workspace: {w['files']} files, {w['bytes'] / MB:.0f} MB ({w['big_files']} of "
                  f"{w['big_file_bytes'] / MB:.1f} MB, {w['small_files']} of 1-8 KB in {w['folders']} folders), "
                  f"{w['files_in_snapshot']} distinct blobs; medians of {a.sync_runs}. New blobs on the host per "
                  + ", ".join(f"{k}: {r['new_blobs']}" for k, r in s["rows"].items()))
        print()
        for g in goals:
            print(f"- {g['goal']}: {'met' if g['met'] else 'not met'} ({fmt(g['ratio'], '.2f')}x)")
        if d:
            print(f"\nDispatch, one run with SORTIE_TRACE=1 (warm host; first run, installing the agent: "
                  f"{d['first_run_s']:.2f} s):\n")
            print(trace_table(d["trace"], d["trace_wall_s"]))
        if s and s["rows"]["first"].get("trace"):
            print("\nFirst sync, SORTIE_TRACE=1 (round 1):\n")
            print(trace_table(s["rows"]["first"]["trace"], s["rows"]["first"]["sortie_s"]["all_s"][0]))
        if s and s["rows"]["changed"].get("trace"):
            print("\nOne uncommitted change, SORTIE_TRACE=1 (round 1):\n")
            print(trace_table(s["rows"]["changed"]["trace"], s["rows"]["changed"]["sortie_s"]["all_s"][0]))
        problems = ([d["note"]] if d and d["note"] else []) + (s["notes"] if s else [])
        if problems:
            print("\nProblems: " + "; ".join(problems))
        print(f"\nCommand: `{cmdline}`")
        print("Environment: " + "; ".join(f"{k}: {v}" for k, v in env.items()))

    if a.keep or not ok:
        log(f"work dir kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


def copy_sortie(work):
    """A copy of the launcher and the built distribution, laid out as in the checkout: a rebuild of this
    checkout while the benchmark runs (other work goes on in it) changes nothing under the benchmark."""
    copy = os.path.join(work, "sortie-copy")
    shutil.copytree(os.path.join(ROOT, "sortie-cli", "target", "dist"), os.path.join(copy, "sortie-cli", "target", "dist"))
    shutil.copy2(os.path.join(ROOT, "sortie"), os.path.join(copy, "sortie"))
    return os.path.join(copy, "sortie")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    main()
