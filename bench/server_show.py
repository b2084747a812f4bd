#!/usr/bin/env python3
"""`sortie show` through a `sortie server` (issue 12) against the same command on a local ledger.

One ledger of --experiments experiments x 20 params x 20 metrics (made as bench/foundation.py makes its own) is the
server's (`sortie server --dir D --workers 0` on loopback) and is also read locally (`sortie show` in D). The two rows
are timed in turn, round after round (local, through the server, local, ...: --runs rounds), each with the 1-minute
load average as it started; the ratio is the median of the pairs timed side by side in one round. Both commands'
outputs are checked equal first.

Usage: python3 bench/server_show.py [--runs N] [--experiments N] [--show "SHOW OPTIONS"]   (build first: mvn -q -DskipTests package)
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import interleaved, load_average, median, paired_ratios
from foundation import ROOT, SORTIE, WORK, seed_ledger, sh


def timed(args, cwd, env):
    t = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {"s": time.perf_counter() - t}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--experiments", type=int, default=10_000)
    ap.add_argument("--show", default="", help="show's options, e.g. \"--sort-by m03 --filter p01>0.5 --limit 20\"")
    a = ap.parse_args()
    show = [SORTIE, "show"] + shlex.split(a.show)
    if not os.path.isdir(os.path.join(ROOT, "sortie-cli", "target", "dist", "lib")):
        sys.exit("build Sortie first: mvn -q -DskipTests package")
    os.makedirs(WORK, exist_ok=True)
    work = tempfile.mkdtemp(prefix="server-show-", dir=WORK)
    server = None
    try:
        d = os.path.join(work, "server")
        laptop = os.path.join(work, "laptop")
        os.makedirs(d)
        os.makedirs(laptop)
        sh([SORTIE, "init"], d)
        seed_ledger(os.path.join(d, ".sortie", "ledger.db"), a.experiments, 20, 20)
        base = {k: v for k, v in os.environ.items() if k not in ("SORTIE_SERVER", "SORTIE_TOKEN")}
        base["SORTIE_CREDENTIALS"] = os.path.join(work, "no-login")
        token = subprocess.run([SORTIE, "server", "token", "create", "--name", "bench", "--dir", d], env=base, check=True,
                               capture_output=True, text=True).stdout.strip().splitlines()[-1]
        out = open(os.path.join(work, "server.out"), "w")
        server = subprocess.Popen([SORTIE, "server", "--dir", d, "--port", "0", "--workers", "0"], env=base, stdout=out,
                                  stderr=subprocess.STDOUT)
        url = None
        for _ in range(600):
            m = re.search(r"listening on (\S+)", open(os.path.join(work, "server.out")).read())
            if m:
                url = m.group(1)
                break
            if server.poll() is not None:
                sys.exit("the server ended: " + open(os.path.join(work, "server.out")).read())
            time.sleep(0.1)
        remote = dict(base, SORTIE_SERVER=url, SORTIE_TOKEN=token)
        local_out = subprocess.run(show, cwd=d, env=base, check=True, capture_output=True).stdout
        remote_out = subprocess.run(show, cwd=laptop, env=remote, check=True, capture_output=True).stdout
        if local_out != remote_out:
            sys.exit("sortie show through the server differs from the local one")
        rows = [("local", f"`{' '.join(['sortie show'] + shlex.split(a.show))}` on the local ledger, {a.experiments} experiments x 20 params x 20 metrics",
                 lambda i: timed(show, d, base)),
                ("server", "`sortie show` through `sortie server` on loopback, same ledger",
                 lambda i: timed(show, laptop, remote))]
        runs = interleaved([(k, f) for k, _, f in rows], a.runs, lambda m: print(f"[server-show] {m}", file=sys.stderr, flush=True))
        ratio = median(paired_ratios(runs["server"], runs["local"], "s"))
        print(f"| measurement (median of {a.runs} rounds, rows interleaved) | seconds | load average (median) | each round: s (load) |")
        print("| --- | ---: | ---: | --- |")
        for key, name, _ in rows:
            rs = runs[key]
            print(f"| {name} | {median([r['s'] for r in rs]):.3f} | {median([r['load'] for r in rs]):.2f} | "
                  + ", ".join(f"{r['s']:.3f} ({r['load']})" for r in rs) + " |")
        print(f"\nthrough the server / local: {ratio:.2f}x (median of the rounds' pairs); load average at the end: {load_average()}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
