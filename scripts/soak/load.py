#!/usr/bin/env python3
"""Steady API load for scripts/soak.sh: rents and returns at a fixed rate, bounded in time.

Each cycle, on a random online cabinet of the account: O1 (cabinet query), O2 (create an order
with a callback to the sink), O5 (detail) until the battery is out, then the customer returns
it through POST /_sim/cabinets/{id}/return (an order not out after a few polls is looked at
again in later cycles, for up to PENDING_S (120) seconds: a world behind its clock ejects
late). RATE cycles per second in all, over THREADS keep-alive connections, for DURATION seconds. Prints one JSON line of counts at the end;
every SAMPLE seconds appends {"t","done","errors"} to PROGRESS, so the soak can tell a stalled
API from a slow one.
"""
import base64, http.client, json, os, random, sys, threading, time, urllib.parse

base = urllib.parse.urlparse(sys.argv[1])
account = os.environ.get("ACCOUNT", "demo")
rate = float(os.environ.get("RATE", "10"))
duration = float(os.environ.get("DURATION", "60"))
threads = int(os.environ.get("THREADS", "4"))
callback = os.environ.get("CALLBACK", "")
progress = os.environ.get("PROGRESS", "")
sample = float(os.environ.get("SAMPLE", "30"))
pending_s = float(os.environ.get("PENDING_S", "120"))
cabinets = [c for c in os.environ.get("CABINETS", "").split(",") if c]
auth = {"Authorization": "Basic " + base64.b64encode(f"{account}:{account}".encode()).decode()}
api = "/cdb-open-api/v1"

lock = threading.Lock()
counts = {"cycles": 0, "rents": 0, "returns": 0, "requests": 0, "business": 0, "errors": 0}
end = time.time() + duration


def bump(key, n=1):
    with lock:
        counts[key] += n


class Client:
    def __init__(self):
        self.conn = None

    def call(self, method, path):
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
                self.conn.request(method, path, headers=auth)
                r = self.conn.getresponse()
                body = r.read()
                bump("requests")
                if r.status != 200:
                    bump("errors")
                    return None
                v = json.loads(body)
                if isinstance(v, dict) and v.get("code", 0) != 0:
                    bump("business")  # an answer in the envelope: busy cabinet, no battery...
                return v
            except (OSError, http.client.HTTPException, ValueError):
                self.conn = None
                if attempt == 1:
                    bump("errors")
        return None


def return_if_out(c, cab, trade):
    """True when the order is settled: its battery is out and was returned, or it failed."""
    d = c.call("GET", f"{api}/rent/order/detail?tradeNo={trade}")
    data = (d or {}).get("data") or {}
    if data.get("borrowStatus") == 1 and data.get("batteryId"):
        r = c.call("POST", f"/_sim/cabinets/{cab}/return?batteryId={data['batteryId']}")
        if r and r.get("code") == 0:
            bump("returns")
        return True
    return data.get("borrowStatus") not in (None, 0)


def cycle(c, pending):
    # Orders whose battery was not out yet: when the world lags behind the clock (a high
    # speed on a large fleet) the eject comes as late as the lag, seconds of real time.
    # A few of them are looked at again each cycle, for up to PENDING_S seconds.
    for item in pending[:5]:
        if return_if_out(c, item[0], item[1]) or time.time() - item[2] > pending_s:
            pending.remove(item)
    cab = random.choice(cabinets)
    c.call("GET", f"{api}/rent/cabinet/query?deviceId={cab}")
    q = f"deviceId={cab}" + (f"&callbackURL={urllib.parse.quote(callback, safe='')}" if callback else "")
    v = c.call("POST", f"{api}/rent/order/create?{q}")
    trade = (v or {}).get("data", {}).get("tradeNo") if isinstance((v or {}).get("data"), dict) else None
    if not trade:
        return
    bump("rents")
    # The cabinet ejects one virtual second later: a few polls, then later cycles.
    for _ in range(5):
        if return_if_out(c, cab, trade):
            return
        time.sleep(0.05)
    pending.append((cab, trade, time.time()))


def worker(i):
    c = Client()
    pending = []
    gap = threads / rate if rate > 0 else 1.0
    nxt = time.time() + random.random() * gap
    while time.time() < end:
        now = time.time()
        if now < nxt:
            time.sleep(min(nxt - now, end - now))
            continue
        nxt += gap
        cycle(c, pending)
        bump("cycles")


def reporter():
    t0 = time.time()
    while time.time() < end:
        time.sleep(min(sample, max(0.0, end - time.time())))
        with lock:
            line = {"t": round(time.time() - t0, 1), "done": counts["requests"], "errors": counts["errors"]}
        if progress:
            with open(progress, "a") as f:
                f.write(json.dumps(line) + "\n")


if not cabinets:
    print(json.dumps({"error": "no cabinets"}))
    sys.exit(1)
ts = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
ts.append(threading.Thread(target=reporter, daemon=True))
for t in ts:
    t.start()
for t in ts:
    t.join(timeout=max(0.0, end - time.time()) + 60)
with lock:
    print(json.dumps(counts))
