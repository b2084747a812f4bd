"""What the benchmark scripts share: running a command quietly with its output kept in a log file, the first line
of what went wrong, and progress lines on stderr. Imported by bench/*.py (run as `python3 bench/NAME.py`)."""
import os
import shlex
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
