"""Tests of the Python SDK, standard library only: python3 -m unittest discover -s sdk/python/tests

Inside-run mode writes to a temp events file (as `sortie run` sets $SORTIE_EVENTS_FILE); outside-run mode uses
a fake `sortie` (a small Python script written here, as $SORTIE_BIN) that records its arguments and prints
what `sortie track open` prints, so no Java is needed. SIGTERM, exit and fork are tested on real child
processes.
"""
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

SDK = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if SDK not in sys.path:
    sys.path.insert(0, SDK)

import sortie  # noqa: E402

ENV_KEYS = ("SORTIE_EVENTS_FILE", "SORTIE_EXPERIMENT_ID", "SORTIE_EXPERIMENT_NAME", "SORTIE_ARTIFACT_DIR",
            "SORTIE_BIN")

FAKE_SORTIE = r'''
import json, os, sys
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "calls.jsonl"), "a") as f:
    f.write(json.dumps({"args": sys.argv[1:], "cwd": os.getcwd()}) + "\n")
if os.environ.get("FAKE_SORTIE_FAIL"):
    print("sortie: error: no Sortie project here (run sortie init)", file=sys.stderr)
    sys.exit(2)
run = os.path.join(here, "runs", "f00dfeed42")
print("sortie: opened", file=sys.stderr)
print(json.dumps({"id": "f00dfeed42", "name": "notebook-3", "events_file": os.path.join(run, "events.jsonl"),
                  "artifact_dir": os.path.join(run, "artifacts")}))
'''


def complete_events(path):
    """The complete lines so far, as Sortie's watcher reads them: a write in progress may end mid-line."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    return [json.loads(line) for line in data[:data.rfind(b"\n") + 1].decode("utf-8").splitlines()]


def read_events(path):
    """Every line of the events file, parsed; fails on a line that is not a complete JSON object."""
    if not os.path.exists(path):
        return []
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        raise AssertionError("events file ends with a partial line: %r" % data[-80:])
    events = []
    for line in data.decode("utf-8").splitlines():
        e = json.loads(line)
        assert isinstance(e, dict) and "e" in e, line
        events.append(e)
    return events


def metric_values(events, key):
    return [e["v"][key] for e in events if e["e"] == "m" and key in e["v"]]


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="sortie-sdk-test-")
        self.dir = self.tmp.name
        self.saved_env = {k: os.environ.get(k) for k in ENV_KEYS}
        for k in ENV_KEYS:
            os.environ.pop(k, None)
        self.saved_interval = sortie.FLUSH_INTERVAL

    def tearDown(self):
        run = sortie.active_run()
        if run is not None:
            run.finish()
        sortie.FLUSH_INTERVAL = self.saved_interval
        for k, v in self.saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self.tmp.cleanup()

    def inside(self):
        """Environment of a scheduled run; returns the events file's path."""
        path = os.path.join(self.dir, "events.jsonl")
        os.environ.update(SORTIE_EVENTS_FILE=path, SORTIE_EXPERIMENT_ID="abc123def0",
                          SORTIE_EXPERIMENT_NAME="mnist-7", SORTIE_ARTIFACT_DIR=os.path.join(self.dir, "art"))
        return path

    def fake_sortie(self):
        """Installs the fake `sortie` as $SORTIE_BIN; returns (events file it hands out, calls log)."""
        script = os.path.join(self.dir, "fake_sortie.py")
        with open(script, "w") as f:
            f.write(FAKE_SORTIE)
        os.environ["SORTIE_BIN"] = "%s %s" % (shlex.quote(sys.executable), shlex.quote(script))
        return (os.path.join(self.dir, "runs", "f00dfeed42", "events.jsonl"),
                os.path.join(self.dir, "calls.jsonl"))

    def child(self, code, env=None, wait=True):
        """Runs code in a fresh Python process with the SDK importable."""
        e = dict(os.environ)
        e["PYTHONPATH"] = SDK + os.pathsep + e.get("PYTHONPATH", "")
        e.update(env or {})
        p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=e, cwd=self.dir,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if not wait:
            return p
        out, err = p.communicate(timeout=30)
        return p.returncode, out.decode(), err.decode()


class InsideRunTest(Base):
    def test_events_are_whole_json_lines_in_order(self):
        path = self.inside()
        with sortie.start() as run:
            self.assertTrue(run.inside_scheduled_run)
            self.assertEqual(run.id, "abc123def0")
            self.assertEqual(run.name, "mnist-7")
            self.assertIs(sortie.active_run(), run)
            run.log(loss=0.5, acc=0.25, step=5)
            run.log(loss=0.4)
            run.log({"val/loss": 0.3, "ok": True}, epoch=2)
            run.log_metrics({"lr": 1e-3}, step=7)
            run.log_params({"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}})
            model = os.path.join(self.dir, "model.pt")
            open(model, "w").close()
            run.log_artifact(model)
            run.log_artifact(os.path.relpath(model), kind="checkpoint")
        self.assertIsNone(sortie.active_run())
        events = read_events(path)
        self.assertEqual([e["e"] for e in events], ["m", "m", "m", "m", "p", "a", "a"])
        self.assertEqual(events[0]["s"], 5)
        self.assertEqual(events[0]["v"], {"loss": 0.5, "acc": 0.25})
        self.assertNotIn("s", events[1], "without step= Sortie numbers the values")
        self.assertEqual(events[2]["v"], {"val/loss": 0.3, "ok": 1, "epoch": 2})
        self.assertEqual(events[3], dict(events[3], s=7, v={"lr": 1e-3}))
        self.assertEqual(events[4]["v"], {"lr": 0.1, "opt": {"name": "adam", "betas": [0.9, 0.99]}})
        self.assertEqual(events[5]["path"], model)
        self.assertEqual(events[5]["kind"], "artifact")
        self.assertEqual((events[6]["path"], events[6]["kind"]), (model, "checkpoint"))
        for e in events:
            self.assertIsInstance(e["t"], float)
        # inside a scheduled run the command's exit decides: no end event on success

    def test_non_finite_values_use_the_protocol_strings(self):
        path = self.inside()
        with sortie.start() as run:
            run.log(a=float("nan"), b=float("inf"), c=float("-inf"), d=1.5)
            run.log_params({"x": float("nan")})
        events = read_events(path)
        self.assertEqual(events[0]["v"], {"a": "NaN", "b": "Infinity", "c": "-Infinity", "d": 1.5})
        self.assertEqual(events[1]["v"], {"x": "NaN"})

    def test_bad_values_are_type_errors_naming_the_metric(self):
        self.inside()
        with sortie.start() as run:
            with self.assertRaisesRegex(TypeError, "'loss'.*str"):
                run.log(loss="0.3")
            with self.assertRaisesRegex(TypeError, "'acc'.*NoneType"):
                run.log_metrics({"acc": None})
            with self.assertRaisesRegex(TypeError, "'vec'"):
                run.log(vec=[1, 2])
            with self.assertRaisesRegex(TypeError, "metric names must be strings"):
                run.log_metrics({3: 1.0})
            with self.assertRaisesRegex(TypeError, "step must be an integer"):
                run.log(loss=1.0, step=1.5)
            with self.assertRaisesRegex(ValueError, "kind"):
                run.log_artifact(__file__, kind="model")
            with self.assertRaises(FileNotFoundError):
                run.log_artifact(os.path.join(self.dir, "missing"))

    def test_periodic_flush_without_finish(self):
        path = self.inside()
        run = sortie.start()
        run.log(loss=1.0, step=0)
        deadline = time.time() + 3
        while time.time() < deadline and not complete_events(path):
            time.sleep(0.05)
        self.assertEqual(metric_values(read_events(path), "loss"), [1.0])
        run.finish()

    def test_a_full_buffer_flushes_at_once(self):
        path = self.inside()
        sortie.FLUSH_INTERVAL = 60  # only the 10,000-point threshold can trigger the write
        run = sortie.start()
        for i in range(100):
            run.log_metrics({"m%d" % j: i for j in range(100)}, step=i)
        deadline = time.time() + 5
        while time.time() < deadline and len(complete_events(path)) < 100:
            time.sleep(0.02)
        self.assertEqual(len(read_events(path)), 100)
        run.finish()

    def test_threads_log_at_once(self):
        path = self.inside()
        with sortie.start() as run:
            def work(k):
                for i in range(5000):
                    run.log(**{"t%d" % k: i})
            threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        events = read_events(path)
        for k in range(4):
            self.assertEqual(metric_values(events, "t%d" % k), list(range(5000)))

    def test_exception_in_with_writes_failed_end_and_reraises(self):
        path = self.inside()
        with self.assertRaisesRegex(ValueError, "diverged"):
            with sortie.start() as run:
                run.log(loss=1.0)
                raise ValueError("loss diverged")
        events = read_events(path)
        self.assertEqual(metric_values(events, "loss"), [1.0])
        self.assertEqual(events[-1]["e"], "end")
        self.assertEqual(events[-1]["status"], "failed")
        self.assertEqual(events[-1]["error"], "ValueError: loss diverged")

    def test_finish_is_final(self):
        path = self.inside()
        run = sortie.start()
        with self.assertRaisesRegex(RuntimeError, "still active"):
            sortie.start()
        run.finish()
        run.finish()
        with self.assertRaisesRegex(RuntimeError, "finished"):
            run.log(loss=1.0)
        with self.assertRaisesRegex(ValueError, "status"):
            run.finish(status="done")
        self.assertEqual(read_events(path), [])
        again = sortie.start()  # a second phase in the same scheduled run
        again.log(x=1)
        again.finish(status="failed", error="bad data")
        self.assertEqual(read_events(path)[-1], dict(read_events(path)[-1], e="end", status="failed",
                                                       error="bad data"))

    def test_flush_at_interpreter_exit(self):
        path = self.inside()
        rc, out, err = self.child("""
            import sortie
            sortie.FLUSH_INTERVAL = 60
            run = sortie.start()
            for i in range(1000):
                run.log(loss=i / 1000, step=i)
        """)
        self.assertEqual(rc, 0, err)
        events = read_events(path)
        self.assertEqual(len(metric_values(events, "loss")), 1000)
        self.assertNotIn("end", [e["e"] for e in events])

    def test_uncaught_exception_without_with_is_recorded_at_exit(self):
        path = self.inside()
        rc, out, err = self.child("""
            import sortie
            run = sortie.start()
            run.log(loss=1.0)
            raise KeyError("boom")
        """)
        self.assertEqual(rc, 1)
        self.assertIn("KeyError", err)
        events = read_events(path)
        self.assertEqual(events[-1]["status"], "failed")
        self.assertEqual(events[-1]["error"], "KeyError: 'boom'")

    def sigterm_child(self, prelude=""):
        path = self.inside()
        p = self.child(prelude + """
            import sys, time, sortie
            sortie.FLUSH_INTERVAL = 60  # nothing is written before SIGTERM
            run = sortie.start()
            for i in range(5000):
                run.log(loss=i, step=i)
            print("ready", flush=True)
            time.sleep(30)
        """, wait=False)
        self.assertEqual(p.stdout.readline().strip(), b"ready")
        self.assertEqual(read_events(path), [])
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=10)
        return p.returncode, err.decode(), read_events(path)

    def test_sigterm_flushes_then_dies_of_sigterm(self):
        rc, err, events = self.sigterm_child()
        self.assertEqual(rc, -signal.SIGTERM, err)
        self.assertEqual(metric_values(events, "loss"), list(range(5000)))

    def test_sigterm_chains_to_the_previous_handler(self):
        rc, err, events = self.sigterm_child(prelude="""
            import signal, sys
            def checkpoint_and_exit(signum, frame):
                print("checkpointed", file=sys.stderr)
                sys.exit(3)
            signal.signal(signal.SIGTERM, checkpoint_and_exit)
        """)
        self.assertEqual(rc, 3, err)
        self.assertIn("checkpointed", err)
        self.assertEqual(metric_values(events, "loss"), list(range(5000)))

    def test_log_latency(self):
        self.inside()
        with sortie.start() as run:
            log = run.log
            perf = time.perf_counter
            per_call = []
            for _ in range(1000):
                t0 = perf()
                for i in range(100):
                    log(loss=0.25, acc=0.5)
                per_call.append((perf() - t0) / 100)
            stepped = []
            for _ in range(100):
                t0 = perf()
                for i in range(100):
                    log(loss=0.25, step=i)
                stepped.append((perf() - t0) / 100)
        print("\n[sortie sdk] run.log(loss=, acc=): median %.2f us per call over 100,000 calls; "
              "run.log(loss=, step=): median %.2f us over 10,000"
              % (statistics.median(per_call) * 1e6, statistics.median(stepped) * 1e6), file=sys.stderr)


class ForkTest(Base):
    @unittest.skipUnless(hasattr(os, "fork"), "no fork here")
    def test_child_after_fork_has_its_own_buffer_and_never_ends_the_run(self):
        path, calls = self.fake_sortie()
        rc, out, err = self.child("""
            import os, sys, sortie
            sortie.FLUSH_INTERVAL = 60
            run = sortie.start()
            for i in range(5):
                run.log(parent=i, step=i)
            writer = run._writer
            pid = os.fork()
            if pid == 0:
                w = run._writer
                assert len(w.queue) == 0, "child inherited the parent's buffer"
                assert w.thread is None, "child shares the parent's flusher"
                run.log(child=1)
                assert w.thread is not None and w.thread.is_alive()
                sys.exit(0)  # atexit in the child: flushes its own events, writes no end
            _, status = os.waitpid(pid, 0)
            assert status == 0, status
            run.log(parent=5, step=5)
            run.finish()
            print("ok")
        """)
        self.assertEqual((rc, out.strip()), (0, "ok"), err)
        events = read_events(path)
        self.assertEqual(metric_values(events, "parent"), [0, 1, 2, 3, 4, 5])
        self.assertEqual(metric_values(events, "child"), [1])
        ends = [e for e in events if e["e"] == "end"]
        self.assertEqual(len(ends), 1)
        self.assertEqual(events[-1]["status"], "succeeded")


class OutsideRunTest(Base):
    def test_track_open_and_end_succeeded(self):
        path, calls = self.fake_sortie()
        with sortie.start(name="nb", params={"lr": 0.1, "layers": [1, 2]}) as run:
            self.assertFalse(run.inside_scheduled_run)
            self.assertEqual((run.id, run.name), ("f00dfeed42", "notebook-3"))
            self.assertEqual(run.events_file, path)
            self.assertTrue(run.artifact_dir.endswith("artifacts"))
            run.log(loss=0.1, step=1)
        with open(calls) as f:
            call = json.loads(f.readline())
        args = call["args"]
        self.assertEqual(args[:4], ["track", "open", "--pid", str(os.getpid())])
        self.assertEqual(args[args.index("--name") + 1], "nb")
        self.assertEqual(json.loads(args[args.index("--params") + 1]), {"lr": 0.1, "layers": [1, 2]})
        self.assertEqual(os.path.realpath(call["cwd"]), os.path.realpath(os.getcwd()))
        events = read_events(path)
        self.assertEqual(metric_values(events, "loss"), [0.1])
        self.assertEqual(events[-1], dict(events[-1], e="end", status="succeeded"))
        self.assertNotIn("error", events[-1])

    def test_no_name_no_params_notebook_style(self):
        path, calls = self.fake_sortie()
        run = sortie.start()
        run.log(acc=0.9)
        run.finish()
        with open(calls) as f:
            self.assertEqual(json.loads(f.readline())["args"], ["track", "open", "--pid", str(os.getpid())])
        self.assertEqual([e["e"] for e in read_events(path)], ["m", "end"])

    def test_exception_marks_failed_and_keeps_what_was_logged(self):
        path, calls = self.fake_sortie()
        with self.assertRaises(ZeroDivisionError):
            with sortie.start() as run:
                run.log(loss=0.7)
                1 / 0
        events = read_events(path)
        self.assertEqual(metric_values(events, "loss"), [0.7])
        self.assertEqual(events[-1]["e"], "end")
        self.assertEqual(events[-1]["status"], "failed")
        self.assertTrue(events[-1]["error"].startswith("ZeroDivisionError: "), events[-1])

    def test_sys_exit_zero_is_success(self):
        path, calls = self.fake_sortie()
        with self.assertRaises(SystemExit):
            with sortie.start():
                sys.exit(0)
        self.assertEqual(read_events(path)[-1]["status"], "succeeded")

    def test_unfinished_run_ends_at_exit(self):
        path, calls = self.fake_sortie()
        rc, out, err = self.child("""
            import sortie
            run = sortie.start()
            run.log(loss=0.5)
        """)
        self.assertEqual(rc, 0, err)
        events = read_events(path)
        self.assertEqual([e["e"] for e in events], ["m", "end"])
        self.assertEqual(events[-1]["status"], "succeeded")

    def test_track_open_failure_is_reported(self):
        self.fake_sortie()
        os.environ["FAKE_SORTIE_FAIL"] = "1"
        try:
            with self.assertRaisesRegex(sortie.SortieError, "exit 2.*no Sortie project here"):
                sortie.start()
        finally:
            del os.environ["FAKE_SORTIE_FAIL"]
        self.assertIsNone(sortie.active_run())

    def test_missing_sortie_command_says_how_to_fix_it(self):
        saved = os.environ.get("PATH", "")
        os.environ["PATH"] = self.dir  # no sortie here
        try:
            with self.assertRaisesRegex(sortie.SortieError, "SORTIE_BIN") as cm:
                sortie.start()
            self.assertIn("PATH", str(cm.exception))
        finally:
            os.environ["PATH"] = saved


if __name__ == "__main__":
    unittest.main()
