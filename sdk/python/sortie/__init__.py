"""Sortie's Python SDK: report metrics, params and artifacts from Python code to Sortie.

    import sortie

    with sortie.start(name="baseline", params={"lr": 0.01}) as run:
        for step in range(100):
            run.log(loss=0.3, acc=0.9, step=step)
        run.log_artifact("model.pt")

    run = sortie.start()        # notebooks: no `with`
    run.log(loss=0.3)
    run.finish()

Inside a run started by Sortie (``sortie run``, the queue; ``$SORTIE_EVENTS_FILE`` is set) the SDK attaches to
that experiment: its events go to the run's events file, and the command's exit decides how the experiment
ends. Outside one (a notebook, a script run by hand) ``start()`` calls ``sortie track open`` to create a tracked
experiment of its own in the project around the current folder, so the run lands in the same table. With
``$SORTIE_SERVER`` (or ``$SORTIE_API``) and ``$SORTIE_TOKEN`` set, it reports to that Sortie server instead: the
run is created in the server's table through its API, and what it logs is posted there as it goes (buffered, and
sent again while the server is briefly down; the server counts a resent point once).

Standard library only, Python 3.8+. The wire format is sdk/PROTOCOL.md in the Sortie repository: JSON lines
appended to an events file. ``log()`` only appends to an in-memory buffer; a daemon thread encodes and writes
the buffer every 0.25 s (at once when it holds 10,000 points) with one ``os.write`` per flush, and the buffer is
also flushed by ``finish()``, at interpreter exit and on SIGTERM.
"""

import atexit
import collections
import http.client
import json
import math
import numbers
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

_time = time.time

__all__ = ["start", "active_run", "Run", "SortieError", "RunStopped"]
__version__ = "0.1.0"

FLUSH_INTERVAL = 0.25  # seconds between background flushes (the protocol asks for at most 0.5)
FLUSH_POINTS = 10_000  # a flush starts at once when the buffer holds this many points
MAX_PENDING_POINTS = 2_000_000  # beyond this log() flushes on the caller's thread: memory stays bounded

_EVENTS_ENV = "SORTIE_EVENTS_FILE"
_STATUSES = ("succeeded", "failed")
_KINDS = ("artifact", "checkpoint")

# Buffered events: tuples whose first item is one of these.
_METRICS, _PARAMS, _ARTIFACT, _END = 0, 1, 2, 3


class SortieError(RuntimeError):
    """Sortie could not be reached or refused the request (``sortie track open`` failed or is missing)."""


class RunStopped(SortieError):
    """Raised by ``log()`` (and the other calls that report) of a run the Sortie server ended while it went on:
    ``sortie stop`` of the run, or the server gave it up as lost. ``status`` is how the server ended it."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


# ---------------------------------------------------------------------------------------------------------
# Encoding (on the flusher's thread, never the caller's)

_encode = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode
_encode_lenient = json.JSONEncoder(allow_nan=False, separators=(",", ":"), default=str).encode


def _finite(value):
    """The protocol's spelling of non-finite numbers, recursively: NaN, Infinity, -Infinity as strings."""
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (math.inf, -math.inf):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


_BLOB = "blob"  # an outbox entry that uploads a saved file rather than posting JSON


def _sha256(path):
    """The store's name for a file's bytes (SHA-256, lowercase hex) and its size."""
    import hashlib
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _json(value, encode=_encode):
    try:
        return encode(value)
    except ValueError:  # a NaN or an infinity somewhere: rare, so only then walk the value
        return encode(_finite(value))


def _encode_events(items):
    lines = []
    add = lines.append
    for item in items:
        kind = item[0]
        if kind == _METRICS:
            _, t, step, values = item
            if step is None:
                add('{"e":"m","t":%.6f,"v":%s}\n' % (t, _json(values)))
            else:
                add('{"e":"m","s":%d,"t":%.6f,"v":%s}\n' % (step, t, _json(values)))
        elif kind == _PARAMS:
            add('{"e":"p","t":%.6f,"v":%s}\n' % (item[1], _json(item[2], _encode_lenient)))
        elif kind == _ARTIFACT:
            add('{"e":"a","t":%.6f,"path":%s,"kind":"%s"}\n' % (item[1], _encode(item[2]), item[3]))
        elif kind == _END:
            _, t, status, error = item
            if error is None:
                add('{"e":"end","t":%.6f,"status":"%s"}\n' % (t, status))
            else:
                add('{"e":"end","t":%.6f,"status":"%s","error":%s}\n' % (t, status, _encode(error)))
    return "".join(lines).encode("utf-8")


# ---------------------------------------------------------------------------------------------------------
# Validation (on the caller's thread: cheap for ints and floats, the common case)


def _number(key, value):
    """A metric value as int or float, or a TypeError that names the metric."""
    if type(key) is not str:
        raise TypeError("metric names must be strings, got %r (%s)" % (key, type(key).__name__))
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, numbers.Integral):  # numpy integers
        return int(value)
    if isinstance(value, (str, bytes, bytearray)) or value is None:
        raise TypeError("metric %r must be a number, got %s %r" % (key, type(value).__name__, value))
    try:
        return float(value)  # numpy floats, Decimal, one-element tensors
    except (TypeError, ValueError) as e:
        raise TypeError("metric %r must be a number, got %s (%s)" % (key, type(value).__name__, e)) from None


def _step(step):
    if type(step) is int:
        return step
    if isinstance(step, numbers.Integral) and not isinstance(step, bool):
        return int(step)
    raise TypeError("step must be an integer, got %s %r" % (type(step).__name__, step))


# ---------------------------------------------------------------------------------------------------------
# The writer: one per run, owns the buffer, the events file and the flusher thread


class _Writer:
    ended = None  # (status, error) when the server ended the run while it went on; never for an events file

    def __init__(self, path):
        self.path = path
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.pid = os.getpid()
        self._reset()
        self._warned = False

    def _reset(self):
        """Fresh state: at creation and in the child after a fork (the parent still owns what it buffered)."""
        # A deque's append and popleft are atomic, so log() needs no lock of its own; a signal handler that
        # flushes in the middle of a log() on the same thread can neither deadlock nor lose the event.
        self.queue = collections.deque()
        self.pending = 0  # points buffered: a hint for when to flush early, not an exact count
        self.kicked = False
        self.lock = threading.RLock()  # one flush at a time, so lines keep the order they were logged in
        self.wake = threading.Event()
        self.stopping = False
        self.thread = None
        self.unwritten = b""  # encoded but not yet written (after a failed write)
        self.deferred_signal = None

    def start(self):
        self.stopping = False
        t = threading.Thread(target=self._loop, name="sortie-flusher", daemon=True)
        self.thread = t
        t.start()

    def _loop(self):
        while not self.stopping:
            self.wake.wait(FLUSH_INTERVAL)
            self.wake.clear()
            try:
                self.flush()
            except Exception:  # never let the flusher die; flush() has already reported it
                pass

    def kick(self):
        if not self.kicked:
            self.kicked = True
            self.wake.set()

    def flush(self):
        """Writes everything buffered so far: encoded, then one os.write of whole lines."""
        with self.lock:
            try:
                self.pending = 0
                self.kicked = False
                q = self.queue
                n = len(q)
                if n or self.unwritten:
                    pop = q.popleft
                    data = self.unwritten + _encode_events([pop() for _ in range(n)])
                    self.unwritten = data
                    self._write(data)
            finally:
                deferred, self.deferred_signal = self.deferred_signal, None
        if deferred is not None and not self.lock._is_owned():
            _on_sigterm(*deferred)

    def _write(self, data):
        if self.fd is None:
            return
        view = memoryview(data)
        try:
            while view:
                # One write of all the lines; a regular file takes it whole, a short write only means the
                # rest follows (still after complete lines, since the reader waits for the newline).
                view = view[os.write(self.fd, view):]
        except OSError as e:
            self.unwritten = bytes(view)  # kept for the next flush
            if not self._warned:
                self._warned = True
                print("sortie: cannot write events to %s: %s (will retry)" % (self.path, e), file=sys.stderr)
            raise
        self.unwritten = b""

    def close(self):
        self.stopping = True
        self.wake.set()
        t = self.thread
        if t is not None and t is not threading.current_thread() and t.is_alive():
            t.join(timeout=5)
        try:
            self.flush()
        finally:
            if self.fd is not None and self.pid == os.getpid():
                try:
                    os.close(self.fd)
                except OSError:
                    pass
                self.fd = None


# ---------------------------------------------------------------------------------------------------------
# The server writer: the same buffer and flusher, posting to a Sortie server's API instead of a file

SERVER_BATCH_POINTS = 10_000  # points per report (the server takes up to 100,000)
SERVER_TIMEOUT = 10.0  # seconds one request may take
SERVER_MAX_BACKOFF = 5.0  # seconds between tries while the server does not answer (as the agent's reporter)
SERVER_EXIT_WAIT = float(os.environ.get("SORTIE_REPORT_WAIT_S") or 30)  # how long finish() waits for a down server
SERVER_BLOB_PART = 8 << 20  # bytes per upload request of a saved file (as the CLI's push)
SERVER_HEARTBEAT = 30.0  # seconds between posts of an idle run, until the server's answer to /tracked says otherwise
_ENDED = ("succeeded", "failed", "stopped", "interrupted")


def _iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


def _server_settings():
    """(API base URL, token) from $SORTIE_API or $SORTIE_SERVER and $SORTIE_TOKEN, or None when not both set."""
    token = (os.environ.get("SORTIE_TOKEN") or "").strip()
    api = (os.environ.get("SORTIE_API") or "").strip().rstrip("/")
    if not api:
        server = (os.environ.get("SORTIE_SERVER") or "").strip().rstrip("/")
        if server:
            api = server if server.endswith("/api/v1") else server + "/api/v1"
    if not api or not token:
        return None
    parts = urllib.parse.urlsplit(api)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SortieError("sortie: %r is not a server's URL (expected http(s)://HOST:PORT)" % api)
    return api, token


class _Permanent(Exception):
    """The server refused a request for good (a 4xx other than 408/429): sending it again would not help."""

    def __init__(self, status, message):
        super().__init__("%d %s" % (status, message))
        self.status = status


class _ServerWriter(_Writer):
    """Posts the run's events to ``POST /tracked`` and ``POST /reports/{id}``.

    Reports wait in ``outbox`` (oldest first) until the server acknowledged them, so a server that is down or
    restarting loses nothing: the flusher sends again from the oldest with a growing pause (up to 5 s), and
    finish() waits up to $SORTIE_REPORT_WAIT_S (30 s) for the rest. Every request can be sent twice: the run's id
    is chosen here, and the server keys points by (metric, step), so metrics without a step are numbered here.
    """

    def __init__(self, api, token, run_id, create):
        self.path = api  # for messages: never the token
        self.api = api
        self.token = token
        self.run_id = run_id
        self.fd = None
        self.pid = os.getpid()
        parts = urllib.parse.urlsplit(api)
        self._https = parts.scheme == "https"
        self._netloc = parts.netloc
        self._base = parts.path.rstrip("/")
        self.outbox = collections.deque([("/tracked", create)])
        self.next_step = {}
        self.retry_at = 0.0
        self.backoff = 0.0
        self.conn = None
        self._down_since = None
        self.heartbeat = SERVER_HEARTBEAT
        self.last_post = time.monotonic()
        self.end_queued = False
        self._reset()
        self._warned = False

    def _reset(self):
        _Writer._reset(self)
        self.conn = None  # a forked child opens its own connection

    # -- turning events into requests

    def _enqueue(self, items):
        points = []
        for item in items:
            kind = item[0]
            if kind == _METRICS:
                _, t, step, values = item
                when = _iso(t)
                for k, v in values.items():
                    # NaN and the infinities go as the strings "NaN", "Infinity", "-Infinity" (post() spells them so,
                    # as the events file does), which the server maps back: a diverging loss shows as NaN
                    if step is None:
                        s = self.next_step.get(k, 0)
                    else:
                        s = step
                    if s + 1 > self.next_step.get(k, 0):
                        self.next_step[k] = s + 1
                    points.append({"key": k, "step": s, "value": v, "time": when})
                    if len(points) >= SERVER_BATCH_POINTS:
                        self.outbox.append(("/reports/" + self.run_id, {"attempt": 1, "metrics": points}))
                        points = []
                continue
            if points:
                self.outbox.append(("/reports/" + self.run_id, {"attempt": 1, "metrics": points}))
                points = []
            if kind == _PARAMS:
                self.outbox.append(("/tracked", {"id": self.run_id, "params": item[2]}))
            elif kind == _ARTIFACT:
                self._enqueue_artifact(item[2], item[3])
            elif kind == _END:
                _, t, status, error = item
                self.end_queued = True
                self.outbox.append(("/reports/" + self.run_id, {"attempt": 1, "state": status, "error": error}))
        if points:
            self.outbox.append(("/reports/" + self.run_id, {"attempt": 1, "metrics": points}))

    def _enqueue_artifact(self, path, kind):
        """A saved file (or each file of a saved folder): its bytes uploaded to the server's store, then recorded on
        the run under its path relative to the working folder (its name when it lies outside), as a local run's."""
        cwd = os.getcwd()
        if os.path.isdir(path):
            files = sorted(os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs)
        else:
            files = [path]
        records = []
        for f in files:
            try:
                digest, size = _sha256(f)
            except OSError as e:
                print("sortie: %s not saved: %s" % (f, e), file=sys.stderr)
                continue
            inside = os.path.commonpath([cwd, f]) == cwd
            rel = os.path.relpath(f, cwd) if inside else os.path.relpath(f, os.path.dirname(path))
            self.outbox.append((_BLOB, (f, digest, size)))
            records.append({"path": rel.replace(os.sep, "/"), "hash": digest, "size": size, "kind": kind})
        if records:
            self.outbox.append(("/reports/" + self.run_id, {"attempt": 1, "artifacts": records}))

    # -- sending

    def _connection(self):
        if self.conn is None:
            if self._https:
                self.conn = http.client.HTTPSConnection(self._netloc, timeout=SERVER_TIMEOUT)
            else:
                self.conn = http.client.HTTPConnection(self._netloc, timeout=SERVER_TIMEOUT)
        return self.conn

    def post(self, path, body):
        """One request on the kept-alive connection; its JSON answer. OSError when the server cannot be reached,
        _Permanent when it refused for good, and a retryable OSError for 5xx, 408 and 429."""
        if path is _BLOB:
            return self._upload(*body)
        return self._request("POST", path, _json(body, _encode_lenient).encode("utf-8"), "application/json")

    def _upload(self, file, digest, size):
        """Sends a saved file to the store in parts (the resumable upload 'sortie push' uses): from the bytes the
        server has, so a server restarted mid-file costs only the part it was sent."""
        base = "/blobs/%s/upload" % digest
        state = self._request("GET", base, None, None)
        if state.get("stored"):
            return {}
        offset = state.get("size") or 0
        if offset > size:
            offset = 0
        try:
            with open(file, "rb") as f:
                while offset < size:
                    f.seek(offset)
                    part = f.read(min(SERVER_BLOB_PART, size - offset))
                    if not part:
                        raise _Permanent(0, "%s is shorter than when it was saved (%d bytes)" % (file, size))
                    answer = self._request("PUT", "%s?offset=%d" % (base, offset), part, "application/octet-stream")
                    if answer.get("stored"):
                        return {}
                    offset = answer.get("size", offset + len(part))
        except FileNotFoundError as e:
            raise _Permanent(0, "%s is gone: %s" % (file, e)) from None
        self._request("POST", base + "/complete", b"{}", "application/json")
        return {}

    def _request(self, method, path, data, content_type):
        conn = self._connection()
        headers = {"Authorization": "Bearer " + self.token}
        if content_type:
            headers["Content-Type"] = content_type
        try:
            conn.request(method, self._base + path, body=data, headers=headers)
            r = conn.getresponse()
            payload = r.read()
        except (OSError, http.client.HTTPException) as e:
            self.conn = None
            conn.close()
            raise OSError(str(e) or type(e).__name__) from None
        if r.status >= 400:
            try:
                message = json.loads(payload.decode("utf-8")).get("error") or ""
            except ValueError:
                message = payload[:200].decode("utf-8", "replace")
            if r.status in (408, 429) or r.status >= 500:
                raise OSError("%d %s" % (r.status, message))
            raise _Permanent(r.status, message)
        try:
            return json.loads(payload.decode("utf-8")) if payload else {}
        except ValueError:
            return {}

    def _send(self, force=False):
        """Sends the outbox from its oldest request; stops at the first failure (tried again later)."""
        while self.outbox:
            now = time.monotonic()
            if not force and now < self.retry_at:
                return
            path, body = self.outbox[0]
            try:
                answer = self.post(path, body)
            except _Permanent as e:
                self.outbox.popleft()
                print("sortie: the server at %s refused %s (%s); not sent again" % (self.api, path, e), file=sys.stderr)
                continue
            except OSError as e:
                self.backoff = min(SERVER_MAX_BACKOFF, max(0.25, self.backoff * 2))
                self.retry_at = time.monotonic() + self.backoff
                if self._down_since is None:
                    self._down_since = time.time()
                    print("sortie: the server at %s did not take a report (%s); keeping it and sending again"
                          % (self.api, e), file=sys.stderr)
                raise
            self.outbox.popleft()
            if path is not _BLOB:
                self.answered(answer)
            self.backoff = 0.0
            self.retry_at = 0.0
            if self._down_since is not None:
                print("sortie: the server at %s takes reports again; what was kept was sent" % self.api, file=sys.stderr)
                self._down_since = None

    def answered(self, answer):
        """What the server's answer says: how often to post when idle (/tracked), and whether the run was ended
        there while it goes on here (``sortie stop``, or lost): then log() raises :class:`RunStopped`."""
        self.last_post = time.monotonic()
        if not isinstance(answer, dict):
            return
        beat = answer.get("heartbeat_s")
        if isinstance(beat, (int, float)) and beat > 0:
            self.heartbeat = float(beat)
        status = answer.get("status")
        if status in _ENDED and not self.end_queued and self.ended is None:
            self.ended = (status, answer.get("error"))
            print("sortie: the server at %s ended run %s: %s%s" % (self.api, self.run_id, status,
                  " (%s)" % answer["error"] if answer.get("error") else ""), file=sys.stderr)

    def flush(self, force=False):
        """Sends what was logged; True when the server has all of it. A server that does not answer is no
        error here: what it did not take is kept and sent again (the flusher's next rounds, finish())."""
        sent = False
        with self.lock:
            try:
                self.pending = 0
                self.kicked = False
                q = self.queue
                n = len(q)
                if n:
                    pop = q.popleft
                    self._enqueue([pop() for _ in range(n)])
                elif (not self.outbox and not self.end_queued and self.ended is None
                      and time.monotonic() - self.last_post >= self.heartbeat):
                    # nothing to report for a while: an empty report, so the server knows this process is there
                    self.outbox.append(("/reports/" + self.run_id, {"attempt": 1}))
                try:
                    self._send(force)
                    sent = not self.outbox
                except OSError:
                    pass
            finally:
                deferred, self.deferred_signal = self.deferred_signal, None
        if deferred is not None and not self.lock._is_owned():
            _on_sigterm(*deferred)
        return sent

    def close(self):
        self.stopping = True
        self.wake.set()
        t = self.thread
        if t is not None and t is not threading.current_thread() and t.is_alive():
            t.join(timeout=SERVER_TIMEOUT + 5)
        deadline = time.monotonic() + SERVER_EXIT_WAIT
        while not self.flush(force=True) and self.outbox:
            if time.monotonic() + self.backoff > deadline:
                break
            time.sleep(self.backoff)
        if self.outbox:
            print("sortie: the server at %s did not answer for %.0f s; %d report(s) of run %s were not sent"
                  % (self.api, SERVER_EXIT_WAIT, len(self.outbox), self.run_id), file=sys.stderr)
        if self.conn is not None:
            self.conn.close()
            self.conn = None


# ---------------------------------------------------------------------------------------------------------
# Runs


class Run:
    """One tracked experiment. Made by :func:`sortie.start`; use it as a context manager or call finish()."""

    def __init__(self, run_id, name, events_file, artifact_dir, scheduled, writer=None):
        self._id = run_id
        self._name = name
        self._events_file = events_file
        self._artifact_dir = artifact_dir
        self._scheduled = scheduled
        self._writer = writer if writer is not None else _Writer(events_file)
        self._owner_pid = os.getpid()
        self._finished = False

    # -- properties

    @property
    def id(self):
        """The experiment's id (``$SORTIE_EXPERIMENT_ID`` inside a scheduled run)."""
        return self._id

    @property
    def name(self):
        """The experiment's name."""
        return self._name

    @property
    def inside_scheduled_run(self):
        """True when attached to a run Sortie started (``sortie run``, the queue), False for a tracked run."""
        return self._scheduled

    @property
    def events_file(self):
        """The events file this run appends to (None when it reports to a server)."""
        return self._events_file

    @property
    def server(self):
        """The API URL of the Sortie server this run reports to, or None."""
        w = self._writer
        return w.api if isinstance(w, _ServerWriter) else None

    @property
    def artifact_dir(self):
        """Files written here are saved as artifacts (None when Sortie did not say where)."""
        return self._artifact_dir

    @property
    def finished(self):
        return self._finished

    # -- logging

    def log(self, metrics=None, /, step=None, **values):
        """Logs metric values: ``run.log(loss=0.3, acc=0.9, step=5)`` or ``run.log({"val/loss": 0.3})``.

        Values are numbers (int, float, bool, numpy scalars, anything float() takes); NaN and infinities are
        kept. Without ``step`` each metric's values are numbered 0, 1, 2... by Sortie. Returns at once: the
        values are written to the events file in the background.
        """
        if metrics is not None:
            if values:
                metrics = dict(metrics)
                metrics.update(values)
                values = metrics
            else:
                values = dict(metrics)
        # The hot path, kept inline: values is a dict nobody else holds (the kwargs, or a copy).
        if self._finished:
            raise RuntimeError("sortie: run %s is finished; start a new one to log more" % self._name)
        if self._writer.ended is not None:
            self._stopped()
        for k, v in values.items():
            t = type(v)
            if (t is not float and t is not int) or type(k) is not str:
                values[k] = _number(k, v)  # replaces a value, the dict's size stays: safe while iterating
        if not values:
            return
        if step is not None and type(step) is not int:
            step = _step(step)
        w = self._writer
        if w.thread is None:  # the first log in a child after fork
            w.start()
        w.queue.append((_METRICS, _time(), step, values))
        w.pending += len(values)
        if w.pending >= FLUSH_POINTS:
            self._full()

    def _stopped(self):
        status, error = self._writer.ended
        raise RunStopped("sortie: run %s was ended on the server (%s%s) while it went on; stopping here"
                         % (self._name, status, ": " + error if error else ""), status)

    @property
    def stopped(self):
        """How the server ended this run while it went on ("stopped" after ``sortie stop``, "interrupted" when it
        gave it up as lost), or None. Learnt from the answer to the run's next post (within a heartbeat)."""
        ended = self._writer.ended
        return None if ended is None else ended[0]

    def log_metrics(self, metrics, step=None):
        """Logs a dict of metric name to number, as one step (``step`` optional)."""
        self.log(metrics, step)

    def _full(self):
        w = self._writer
        if w.pending >= MAX_PENDING_POINTS:
            w.flush()  # the flusher cannot keep up: the caller waits rather than memory growing without end
        else:
            w.kick()

    def log_params(self, params):
        """Records params (nested dicts allowed). Sortie keeps them for tracked (notebook) runs; a scheduled
        run's params are fixed by ``sortie run`` and these are ignored there."""
        if not isinstance(params, dict):
            raise TypeError("params must be a dict, got %s" % type(params).__name__)
        for k in params:
            if type(k) is not str:
                raise TypeError("param names must be strings, got %r" % (k,))
        self._append((_PARAMS, time.time(), json.loads(_json(params, _encode_lenient))))

    def log_artifact(self, path, kind="artifact"):
        """Saves a file or folder into Sortie's store (now, and again when the run ends if it changed).
        ``kind`` is "artifact" or "checkpoint"."""
        if kind not in _KINDS:
            raise ValueError("kind must be 'artifact' or 'checkpoint', got %r" % (kind,))
        path = os.path.abspath(os.fspath(path))
        if not os.path.exists(path):
            raise FileNotFoundError("sortie: no such file or folder to save: %s" % path)
        self._append((_ARTIFACT, time.time(), path, kind))
        self._writer.kick()

    def _append(self, event):
        if self._finished:
            raise RuntimeError("sortie: run %s is finished; start a new one to log more" % self._name)
        if self._writer.ended is not None:
            self._stopped()
        w = self._writer
        if w.thread is None:
            w.start()
        w.queue.append(event)

    def flush(self):
        """Writes everything logged so far to the events file now."""
        self._writer.flush()

    # -- ending

    def finish(self, status="succeeded", error=None):
        """Flushes and ends the run. Outside a scheduled run this ends the tracked experiment with ``status``
        ("succeeded" or "failed", with an optional ``error`` text). Inside a scheduled run the command's exit
        decides how the experiment ends: finish() only flushes, unless status is "failed", which is recorded.
        A second call does nothing."""
        if status not in _STATUSES:
            raise ValueError("status must be 'succeeded' or 'failed', got %r" % (status,))
        if self._finished:
            return
        w = self._writer
        owner = os.getpid() == self._owner_pid  # a forked child never ends its parent's run
        if owner and (not self._scheduled or status == "failed") and w.ended is None:
            w.queue.append((_END, time.time(), status, None if error is None else str(error)))
        self._finished = True
        global _active
        with _state_lock:
            if _active is self:
                _active = None
        w.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None or (issubclass(exc_type, SystemExit) and exc.code in (None, 0)):
            self.finish()
        else:
            self.finish("failed", _error_text(exc_type, exc))
        return False

    def __repr__(self):
        return "<sortie.Run %s id=%s%s%s>" % (self._name, self._id,
                                             " scheduled" if self._scheduled else "",
                                             " finished" if self._finished else "")


def _error_text(exc_type, exc):
    msg = str(exc) if exc is not None else ""
    return "%s: %s" % (exc_type.__name__, msg) if msg else exc_type.__name__


# ---------------------------------------------------------------------------------------------------------
# start() and the process-wide state

_state_lock = threading.Lock()
_active = None
_uncaught = None  # (type, value) of an exception that ended the program, for runs left unfinished
_sigterm_installed = False
_previous_sigterm = None
_previous_excepthook = None


def active_run():
    """The run started by :func:`start` and not finished yet, or None."""
    return _active


def start(name=None, params=None):
    """Starts reporting to Sortie and returns the :class:`Run`.

    Inside a run started by Sortie it attaches to it (``name`` and ``params`` are fixed there: ``params`` are
    recorded but ignored). Otherwise it creates a tracked experiment with ``sortie track open`` in the project
    around the current folder; the ``sortie`` command is ``$SORTIE_BIN`` if set (a command line), else
    ``sortie`` on PATH.
    """
    global _active
    if params is not None and not isinstance(params, dict):
        raise TypeError("params must be a dict, got %s" % type(params).__name__)
    with _state_lock:
        if _active is not None and not _active.finished:
            raise RuntimeError("sortie: run %s is still active; call its finish() before starting another"
                               % _active.name)
        events = os.environ.get(_EVENTS_ENV)
        if events:
            run = Run(os.environ.get("SORTIE_EXPERIMENT_ID"), os.environ.get("SORTIE_EXPERIMENT_NAME"),
                      os.path.abspath(events), os.environ.get("SORTIE_ARTIFACT_DIR"), scheduled=True)
        elif _server_settings() is not None:
            run = _server_open(name, params)
        else:
            info = _track_open(name, params)
            run = Run(info.get("id"), info.get("name"), info["events_file"], info.get("artifact_dir"),
                      scheduled=False)
        run._writer.start()
        _install_hooks()
        _active = run
    if params and run.inside_scheduled_run:
        run.log_params(params)
    return run


def _server_open(name, params):
    """A run in the server's table: created now if the server answers, else as soon as it does (kept in the
    outbox, first). A refusal (a name in use, a bad token) is an error here, where the caller sees it."""
    api, token = _server_settings()
    run_id = os.urandom(5).hex()
    create = {"id": run_id, "name": None if name is None else str(name),
              "project": os.path.basename(os.getcwd()) or None,
              "params": json.loads(_json(params or {}, _encode_lenient)),
              "command": [sys.executable] + [str(a) for a in sys.argv], "host": socket.gethostname()}
    writer = _ServerWriter(api, token, run_id, create)
    made = {}
    try:
        made = writer.post("/tracked", create)
        writer.outbox.popleft()
        writer.answered(made)
    except _Permanent as e:
        raise SortieError("sortie: the server at %s refused the run: %s" % (api, e)) from None
    except OSError as e:
        print("sortie: the server at %s does not answer (%s); the run is created there when it does, and what it "
              "logs is kept until then" % (api, e), file=sys.stderr)
    return Run(run_id, made.get("name", name), None, None, scheduled=False, writer=writer)


def _sortie_command():
    configured = os.environ.get("SORTIE_BIN")
    if configured and configured.strip():
        return shlex.split(configured)
    found = shutil.which("sortie")
    if found:
        return [found]
    raise SortieError(
        "sortie: the `sortie` command was not found, and a run outside `sortie run` needs it to create a "
        "tracked experiment. Put it on PATH (in a Sortie checkout, after `mvn -q -DskipTests package`: "
        "ln -s \"$PWD/sortie\" ~/.local/bin/sortie) or set SORTIE_BIN to the command line that runs it.")


def _track_open(name, params):
    cmd = _sortie_command() + ["track", "open", "--pid", str(os.getpid())]
    if name is not None:
        cmd += ["--name", str(name)]
    if params is not None:
        cmd += ["--params", _json(params, _encode_lenient)]
    try:
        p = subprocess.run(cmd, cwd=os.getcwd(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=300)
    except FileNotFoundError as e:
        raise SortieError("sortie: cannot run %s: %s (check SORTIE_BIN or PATH)" % (shlex.join(cmd[:1]), e)) \
            from None
    except subprocess.TimeoutExpired:
        raise SortieError("sortie: `%s` did not answer in 300 s" % shlex.join(cmd)) from None
    err = p.stderr.decode("utf-8", "replace").strip()
    if p.returncode != 0:
        raise SortieError("sortie: `sortie track open` failed (exit %d)%s" % (p.returncode, ": " + err if err else ""))
    out = p.stdout.decode("utf-8", "replace")
    lines = [line for line in out.splitlines() if line.strip()]
    try:
        info = json.loads(lines[-1])
        if not isinstance(info, dict) or not info.get("events_file"):
            raise ValueError("no events_file")
    except (IndexError, ValueError) as e:
        raise SortieError("sortie: `sortie track open` printed no usable JSON (%s): %r%s"
                          % (e, out[:500], "; stderr: " + err if err else "")) from None
    return info


# ---------------------------------------------------------------------------------------------------------
# Interpreter exit, SIGTERM, uncaught exceptions, fork


def _install_hooks():
    """Once per process, from start(): the SIGTERM handler (main thread only) and the excepthook wrapper."""
    global _sigterm_installed, _previous_sigterm, _previous_excepthook
    if not _sigterm_installed and threading.current_thread() is threading.main_thread():
        try:
            previous = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, _on_sigterm)
            _previous_sigterm = previous
            _sigterm_installed = True
        except (ValueError, OSError):  # not the main interpreter, or no signals here
            pass
    if _previous_excepthook is None:
        _previous_excepthook = sys.excepthook
        sys.excepthook = _excepthook


def _excepthook(exc_type, exc, tb):
    global _uncaught
    _uncaught = (exc_type, exc)
    (_previous_excepthook or sys.__excepthook__)(exc_type, exc, tb)


def _on_sigterm(signum, frame):
    run = _active
    if run is not None and not run.finished:
        w = run._writer
        if w.lock._is_owned():
            # SIGTERM arrived while this thread was inside a flush: finish that one first; flush() calls us
            # again when it has let go of the lock.
            w.deferred_signal = (signum, frame)
            return
        try:
            w.flush()
        except Exception:
            pass
    previous = _previous_sigterm
    if callable(previous):
        previous(signum, frame)
    elif previous == signal.SIG_IGN:
        return
    else:  # SIG_DFL (or a handler not set from Python): die of SIGTERM as if we had never been here
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)


def _at_exit():
    run = _active
    if run is None or run.finished:
        return
    try:
        if os.getpid() != run._owner_pid:
            run._writer.close()  # a forked child: its own events only
        elif _uncaught is not None and not issubclass(_uncaught[0], SystemExit):
            run.finish("failed", _error_text(*_uncaught))
        else:
            run.finish()
    except Exception as e:
        print("sortie: could not flush events at exit: %s" % e, file=sys.stderr)


def _after_fork_in_child():
    global _state_lock
    _state_lock = threading.Lock()
    run = _active
    if run is not None and not run.finished:
        run._writer._reset()  # no flusher thread here yet; one starts on the child's first log


atexit.register(_at_exit)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
