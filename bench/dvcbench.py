"""What the benchmarks against DVC's queue share (bench/dvc.py, bench/queue.py): an environment in which nothing
prompts or phones home, DVC 3 installed into a venv of the bench's own, a DVC project initialised quietly, and the
wait for DVC's queue to drain, timed from DVC's own result files. Imported by those scripts (run as
`python3 bench/NAME.py`); each passes its benchlib.Commands, whose log and output files it keeps."""
import os
import re
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Identity for the throwaway repos' commits (DVC commits each experiment too), and nothing that could prompt
# or phone home: no git credential prompts, no DVC analytics, update check or Studio, no user-level DVC config.
BASE_ENV = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@localhost",
                GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@localhost", GIT_TERMINAL_PROMPT="0",
                DVC_NO_ANALYTICS="1", DVC_STUDIO_OFFLINE="1")
# Every experiment prints as Python does when its output is a file or a pipe: one write per process. With
# PYTHONUNBUFFERED=1 each print is two writes (the text, then the newline), and commands that share one output
# file interleave them (`metric=0.002metric=0.004`, then two newlines).
BASE_ENV.pop("PYTHONUNBUFFERED", None)

# A task's line in `dvc queue status`: its id, its name, when it was created, its state last.
TASK_LINE = re.compile(r"^[0-9a-f]{7,}\s+\S+\s+.*\s(\w+)\s*$")


def dvc_env(venv, work):
    """BASE_ENV with dvc (and the stages' `python`) from venv first on PATH: the queue's workers are spawned as
    `dvc exp queue-worker`, found on PATH. DVC's site cache and global/system config go under work, so nothing
    outside it is read or left behind."""
    return dict(BASE_ENV, PATH=os.path.join(venv, "bin") + os.pathsep + BASE_ENV.get("PATH", ""),
                DVC_SITE_CACHE_DIR=os.path.join(work, "dvc-site-cache"),
                DVC_GLOBAL_CONFIG_DIR=os.path.join(work, "dvc-global"),
                DVC_SYSTEM_CONFIG_DIR=os.path.join(work, "dvc-system"))


def ensure_dvc(commands, venv, requirements):
    """Returns DVC's version, installing requirements into venv the first time (the only network use)."""
    dvc = os.path.join(venv, "bin", "dvc")
    try:
        v = commands.capture([dvc, "--version"], ROOT, dict(BASE_ENV)).strip()
        if v.startswith("3."):
            return v
    except (OSError, subprocess.CalledProcessError):
        pass
    commands.log(f"installing DVC into {venv} (pip, once)")
    if not os.path.exists(os.path.join(venv, "bin", "python")):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        # The venv is not covered by the repository's .gitignore; this keeps git from seeing it.
        with open(os.path.join(venv, ".gitignore"), "w") as f:
            f.write("*\n")
    subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "--disable-pip-version-check",
                    "--no-input", "-r", requirements], check=True, stdin=subprocess.DEVNULL)
    return commands.capture([dvc, "--version"], ROOT, dict(BASE_ENV)).strip()


def init_dvc(commands, d, env, logfile):
    """`dvc init` in the git repository d, with DVC's analytics and update check off."""
    commands.run(["dvc", "init", "-q"], d, env, logfile)
    commands.run(["dvc", "config", "core.analytics", "false"], d, env, logfile)
    commands.run(["dvc", "config", "core.check_update", "false"], d, env, logfile)


def queue_counts(commands, d, env):
    """Tasks by state (Queued, Running, Success, Failed, ...) from `dvc queue status`, the documented view."""
    counts = {}
    for line in commands.capture(["dvc", "queue", "status"], d, env).splitlines():
        m = TASK_LINE.match(line.strip())
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    return counts


def ended(counts):
    """How many of queue_counts()'s tasks are in an end state (neither queued nor running)."""
    return sum(v for k, v in counts.items() if k not in ("Queued", "Running"))


def wait_dvc(commands, d, env, n, deadline, logfile):
    """Waits until n tasks in all have ended; returns (when the last one ended, task counts, timed out).

    `dvc queue status` is the documented view, but one call takes 2-3 s of CPU on the machine the two workers
    share, so polling it would slow DVC down and still miss the end by up to a poll interval. So this
    watches the celery result files DVC writes as each task ends (after the experiment is collected into
    git), which costs nothing, takes the end from their mtimes, and asks `dvc queue status` only to confirm.
    The end is thus when DVC finished, before any user could notice: if anything, a figure in DVC's favour.
    Without that folder (another DVC layout) it polls status alone, every 5 s.
    """
    results = os.path.join(d, ".dvc", "tmp", "exps", "celery", "result")
    last_status, counts = 0.0, {}
    while True:
        now = time.time()
        files = [os.path.join(results, f) for f in os.listdir(results)] if os.path.isdir(results) else None
        if (files is None or len(files) >= n) and now - last_status >= (5 if files is None else 1):
            counts, last_status = queue_counts(commands, d, env), now
            with open(logfile, "a") as f:
                f.write(f"[{time.strftime('%H:%M:%S')}] dvc queue status: {counts}\n")
            # Require n tasks in an end state, not just none queued or running: a task passing from queued
            # to running can be missing from both lists for a moment.
            if ended(counts) >= n and not counts.get("Queued") and not counts.get("Running"):
                return (max(os.path.getmtime(f) for f in files) if files else time.time()), counts, False
        if now > deadline:
            return now, counts, True
        time.sleep(0.5)


def stop_queue(commands, d, env, logfile):
    """Drops what is still queued and kills the running tasks (a row past its timeout)."""
    commands.run(["dvc", "queue", "remove", "--queued"], d, env, logfile, check=False)
    commands.run(["dvc", "queue", "stop", "--kill"], d, env, logfile, check=False)


def sortie_version(commands, sortie):
    """`sortie --version` on one line, or why there is none (not built, or it failed)."""
    if not os.path.isdir(os.path.join(ROOT, "sortie-cli", "target", "dist", "lib")):
        return "not built"
    try:
        return "; ".join(l.strip() for l in commands.capture([sortie, "--version"], ROOT).splitlines() if l.strip())
    except (subprocess.CalledProcessError, OSError) as e:
        return f"unknown ({e})"


def fmt(x, spec=".2f"):
    return "n/a" if x is None else format(x, spec)


def footer(cmdline, versions):
    """The table's last lines: the command that made it and the versions of what it ran."""
    print(f"\nCommand: `{cmdline}`")
    print("Versions: " + "; ".join(f"{k}: {v}" for k, v in versions.items()))


def clean_up(commands, work, keep):
    """Removes the work folder, unless keep (--keep, or a row that did not complete: kept to look into)."""
    if keep:
        commands.log(f"work dir kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
