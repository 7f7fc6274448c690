"""Test helpers for clients of bajie-sim, standard library only.

Start a simulator on a free port, talk to its platform API, receive callbacks and pushes on a
local receiver, move its virtual clock, wait for deliveries and assert on the requests your
client sent::

    from bajie_sim import Simulator, Receiver

    with Simulator.start() as sim, Receiver() as rx:
        sim.reset()
        order = sim.api("POST", "/rent/order/create", deviceId="BJD60151", callbackURL=rx.url + "/cb")
        sim.advance(1)                       # the cabinet ejects one virtual second later
        assert rx.wait(1)[0].body == f"status=1&tradeNo={order['data']['tradeNo']}"

`Simulator.start()` runs the `bajie-sim` binary (installed by the wheel, or found on PATH, in
$BAJIE_SIM_BIN, or in a clone's target/) with `--bind 127.0.0.1:0 --seed 42 --start
'2026-03-02 09:00:00' --frozen --no-sim` (the same run every time) and reads the port from its
one stdout line; `Simulator.connect(url)` uses one that
is already running. Every call returns the parsed envelope `{"msg", "code", "data"}`.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["Simulator", "Receiver", "Delivery", "SimulatorError", "find_binary"]

DEFAULT_FLAGS = ("--seed", "42", "--start", "2026-03-02 09:00:00", "--frozen", "--no-sim")
LISTENING = "bajie-sim listening on "


class SimulatorError(Exception):
    """The simulator could not be started, or a control call answered a non-zero code."""


def find_binary():
    """The bajie-sim executable: $BAJIE_SIM_BIN, the one beside this Python (a wheel installs
    it into the venv's bin/), PATH, then a clone's target/release or target/debug."""
    candidates = [os.environ.get("BAJIE_SIM_BIN")]
    here = os.path.dirname(sys.executable)
    candidates += [os.path.join(here, "bajie-sim"), shutil.which("bajie-sim")]
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    candidates += [os.path.join(repo, "target", p, "bajie-sim") for p in ("release", "debug")]
    for c in candidates:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    raise SimulatorError("bajie-sim not found: pip install the wheel, put it on PATH or set BAJIE_SIM_BIN")


def _request(method, url, headers=None, body=None, timeout=30):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:  # 4xx/5xx still carry the envelope
        text = e.read().decode(errors="replace")
        try:
            return json.loads(text)
        except ValueError:
            raise SimulatorError(f"{method} {url}: HTTP {e.code}: {text[:200]}") from None


class Simulator:
    """A bajie-sim to test against: one this object started (stopped by `stop()` or `with`),
    or one already running."""

    def __init__(self, url, process=None, account=("demo", "demo"), token=None):
        self.url = url.rstrip("/")
        self.process = process
        self.account = account
        self.token = token

    @classmethod
    def start(cls, *flags, binary=None, timeout=30, env=None):
        """Run the binary on a free loopback port with `flags` (default: seed 42, a pinned
        start, frozen clock, no simulation) and wait up to `timeout` seconds for its listening
        line."""
        args = [binary or find_binary(), "--bind", "127.0.0.1:0", *(flags or DEFAULT_FLAGS)]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                env={**os.environ, **(env or {})})
        found = {}
        reader = threading.Thread(target=lambda: found.setdefault("line", proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(timeout)
        line = found.get("line", "")
        if not line.startswith(LISTENING):
            proc.kill()
            proc.wait()
            proc.stdout.close()
            raise SimulatorError(f"{args[0]} did not print its listening line within {timeout} s (got {line!r})")
        return cls(line[len(LISTENING):].strip(), process=proc)

    @classmethod
    def connect(cls, url=None, token=None):
        """A simulator already running at `url` (default $BAJIE_SIM_URL, else port 8080)."""
        return cls(url or os.environ.get("BAJIE_SIM_URL", "http://127.0.0.1:8080"), token=token)

    def stop(self):
        """Stop the process this object started (SIGTERM, then kill after 10 s)."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stdout:
            self.process.stdout.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    @property
    def api_url(self):
        """Base URL of the platform API, the one your client is configured with."""
        return self.url + "/cdb-open-api/v1"

    def sink_url(self, name="sink"):
        """A URL of the simulator's built-in receiver (answers 200 to anything)."""
        return f"{self.url}/_sim/ui/sink/{name}"

    def api(self, method, path, body=None, account=None, **params):
        """Call the platform API as `account` (default demo/demo); `params` go in the query
        string; returns the envelope, whatever its code."""
        user, password = account or self.account
        auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        headers = {"Authorization": auth}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        return _request(method, self._url(self.api_url + path, params), headers, body)

    def control(self, method, path, body=None, **params):
        """Call the control API (`/_sim` + path); raises SimulatorError on a non-zero code."""
        headers = {"X-Sim-Token": self.token} if self.token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        v = _request(method, self._url(f"{self.url}/_sim{path}", params), headers, body)
        if v.get("code") != 0:
            raise SimulatorError(f"{method} /_sim{path}: {v.get('code')} {v.get('msg')}")
        return v

    def reset(self):
        """Back to the loaded world and start time; the journals are emptied."""
        return self.control("POST", "/reset")

    def advance(self, seconds):
        """Move the virtual clock forward, running everything due on the way."""
        return self.control("POST", "/clock", advance=seconds)

    def health(self):
        """`GET /_sim/health`'s data: version, seed, virtual time, frozen, delivery totals."""
        return self.control("GET", "/health")["data"]

    def wait_deliveries(self, count=1, timeout_ms=5000, **filters):
        """Wait (on the server, with a deadline) until `count` deliveries matching `filters`
        (order=, cabinet=, event=, kind=, status= default delivered) are in the journal;
        returns their records. Raises SimulatorError on the deadline, with what did arrive."""
        return self.control("GET", "/pushes/wait", count=count, timeoutMs=timeout_ms, **filters)["data"]["records"]

    def wait_callback(self, trade_no, timeout_ms=5000):
        """The body of the first delivered callback or push of order `trade_no`."""
        return self.wait_deliveries(1, timeout_ms, order=trade_no)[0]["body"]

    def requests(self, **filters):
        """The request journal, `GET /_sim/requests` (op=, warned=, and the route's other
        filters): the entries of what your client sent, newest first (at most `limit`, 100 by
        default)."""
        return self.control("GET", "/requests", **filters)["data"]["records"]

    def request_count(self, **filters):
        """How many journaled requests match the filters (`GET /_sim/requests/count`)."""
        return self.control("GET", "/requests/count", **filters)["data"]["count"]

    def assert_requested(self, op, count=None, **filters):
        """Assert that the client called operation `op` (exactly `count` times when given);
        returns the matching journal entries, newest first."""
        n = self.request_count(op=op, **filters)
        if (count is None and n == 0) or (count is not None and n != count):
            want = "at least once" if count is None else f"{count} time(s)"
            seen = self.requests(op=op, **filters)
            raise AssertionError(f"expected {op} {want}, saw {n}: {json.dumps(seen)[:2000]}")
        return self.requests(op=op, **filters)

    def assert_no_warnings(self):
        """Assert that no request your client sent leaned on the simulator's tolerance (no
        contract warning: see docs/request-journal.md)."""
        warned = self.requests(warned="true")
        if warned:
            lines = [f"{e['method']} {e['path']}: {[w['code'] for w in e['warnings']]}" for e in warned]
            raise AssertionError("requests production would treat differently:\n" + "\n".join(lines))

    @staticmethod
    def _url(base, params):
        params = {k: v for k, v in params.items() if v is not None}
        return base + ("?" + urllib.parse.urlencode(params) if params else "")


class Delivery:
    """One request a Receiver got: method, path (with query), headers (dict), body (str)."""

    def __init__(self, method, path, headers, body):
        self.method, self.path, self.headers, self.body = method, path, headers, body

    def json(self):
        return json.loads(self.body)

    def form(self):
        """The body as a form (callbacks are `status=1&tradeNo=...`)."""
        return dict(urllib.parse.parse_qsl(self.body))

    def __repr__(self):
        return f"Delivery({self.method} {self.path} {self.body[:80]!r})"


class Receiver:
    """A local HTTP receiver on a free loopback port standing in for your callback URL and
    push endpoint: answers every request with `status` (200) and records it."""

    def __init__(self, status=200):
        self.deliveries = []
        self._cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _record(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n).decode(errors="replace")
                with outer._cond:
                    outer.deliveries.append(Delivery(self.command, self.path, dict(self.headers), body))
                    outer._cond.notify_all()
                self.send_response(outer.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET = do_PUT = _record

            def log_message(self, *args):
                pass

        self.status = status
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count=1, timeout=10, path=None):
        """Wait until `count` requests (to `path`, when given) have arrived; returns them.
        Raises AssertionError at the deadline, listing what did arrive."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [d for d in self.deliveries if path is None or d.path.split("?")[0] == path]
                left = deadline - time.monotonic()
                if len(got) >= count:
                    return got
                if left <= 0:
                    raise AssertionError(f"{len(got)} of {count} deliveries within {timeout} s: {got}")
                self._cond.wait(left)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
