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
