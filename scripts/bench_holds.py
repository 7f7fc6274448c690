#!/usr/bin/env python3
"""Request latency while whole-world passes or a long advance run (scripts/bench-holds.sh).

A steady write load (O2 create, ejectByRent, the battery returned through
POST /_sim/cabinets/{id}/return: three writes a cycle) at RATE cycles/s over THREADS
keep-alive connections, and a read load (O1 on a cabinet, GET /_sim/health, alternately) at
READS requests/s (default 100: 2,000 in a 20 s phase, enough for a p99 that does not move with
single requests) on one more, each request timed, in phases of PHASE seconds (PHASES, in
order, from):
  idle    - the load alone
  check   - GET /_sim/check back to back on another connection
  export  - GET /_sim/state back to back (the body read and thrown away)
  advance - POST /_sim/clock?advance=ADVANCE&waitMs=0 at the start, cancelled at the end
Prints one JSON line per phase: count, p50/p99/max in ms of writes and of reads, and how many
passes ran and how long each took. Usage: bench_holds.py URL
"""
import base64, http.client, json, os, sys, threading, time, urllib.parse

base = urllib.parse.urlparse(sys.argv[1])
rate = float(os.environ.get("RATE", "20"))
threads = int(os.environ.get("THREADS", "4"))
phase_s = float(os.environ.get("PHASE", "30"))
reads = float(os.environ.get("READS", "100"))
phases = os.environ.get("PHASES", "idle,check,export").split(",")
advance = os.environ.get("ADVANCE", "86400")
cabinets = [c for c in os.environ.get("CABINETS", "").split(",") if c]
auth = {"Authorization": "Basic " + base64.b64encode(b"demo:demo").decode()}
api = "/cdb-open-api/v1"


def conn():
    return http.client.HTTPConnection(base.hostname, base.port, timeout=120)


def call(c, method, path, headers=auth):
    c.request(method, path, headers=headers)
    r = c.getresponse()
    body = r.read()
    return json.loads(body) if r.status == 200 else None


lock = threading.Lock()
lat = []          # (phase, ms) of every write
rlat = []         # (phase, ms) of every read
phase = ["warm"]  # the phase now
stop = threading.Event()


def writer(k):
    c = conn()
    i = k
    period = threads / rate
    nxt = time.time()
    while not stop.is_set():
        nxt += period
        i += 7
        cab = cabinets[i % len(cabinets)]
        back = cabinets[(i + 3) % len(cabinets)]

        def timed(method, path):
            t = time.perf_counter()
            v = call(c, method, path)
            ms = (time.perf_counter() - t) * 1000
            with lock:
                lat.append((phase[0], ms))
            return v

        try:
            v = timed("POST", f"{api}/rent/order/create?deviceId={cab}")
            trade = ((v or {}).get("data") or {}).get("tradeNo") if isinstance((v or {}).get("data"), dict) else None
            if trade:
                v = timed("POST", f"{api}/cabinet/ejectByRent?cabinetid={cab}&rentOrderId={trade}&slotNum=0")
                d = call(c, "GET", f"{api}/rent/order/detail?tradeNo={trade}")
                b = ((d or {}).get("data") or {}).get("batteryId")
                if b:
                    timed("POST", f"/_sim/cabinets/{back}/return?batteryId={b}")
        except (OSError, http.client.HTTPException, ValueError):
            c = conn()
        delay = nxt - time.time()
        if delay > 0:
            time.sleep(delay)
        else:
            nxt = time.time()


def reader():
    c = conn()
    i = 0
    nxt = time.time()
    while not stop.is_set():
        nxt += 1 / reads
        i += 1
        path = f"{api}/rent/cabinet/query?deviceId={cabinets[(i * 13) % len(cabinets)]}" if i % 2 else "/_sim/health"
        try:
            t = time.perf_counter()
            call(c, "GET", path)
            ms = (time.perf_counter() - t) * 1000
            with lock:
                rlat.append((phase[0], ms))
        except (OSError, http.client.HTTPException, ValueError):
            c = conn()
        delay = nxt - time.time()
        if delay > 0:
            time.sleep(delay)
        else:
            nxt = time.time()


def passes(path, until, out):
    c = conn()
    while time.time() < until:
        t = time.perf_counter()
        c.request("GET", path)
        r = c.getresponse()
        n = 0
        while True:
            chunk = r.read(1 << 20)
            if not chunk:
                break
            n += len(chunk)
        out.append(((time.perf_counter() - t) * 1000, n))


ws = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(threads)]
ws.append(threading.Thread(target=reader, daemon=True))
for w in ws:
    w.start()
time.sleep(3)  # connections open, first answers cached


def stats(all_, name):
    with lock:
        ms = sorted(m for p, m in all_ if p == name)
    q = lambda f: round(ms[min(len(ms) - 1, int(len(ms) * f))], 1) if ms else None
    return {"n": len(ms), "p50": q(0.5), "p99": q(0.99), "max": round(ms[-1], 1) if ms else None}


for name in phases:
    phase[0] = name
    runs = []
    extra = {}
    until = time.time() + phase_s
    if name in ("check", "export"):
        passes("/_sim/check" if name == "check" else "/_sim/state", until, runs)
    elif name == "advance":
        c = conn()
        call(c, "POST", f"/_sim/clock?advance={advance}&waitMs=0", {})
        time.sleep(max(0, until - time.time()))
        v = call(c, "GET", "/_sim/clock", {}) or {}
        extra["advanced"] = ((v.get("data") or {}).get("advance") or {}).get("doneSeconds")
        call(c, "POST", "/_sim/clock?cancel=true", {})
    else:
        time.sleep(phase_s)
    phase[0] = "gap"
    print(json.dumps({"phase": name, "writes": stats(lat, name), "reads": stats(rlat, name), **extra,
                      "passes": len(runs), "passMs": [round(r[0]) for r in runs][:10],
                      "passMB": round(runs[0][1] / 2**20, 1) if runs else 0}), flush=True)
    time.sleep(2)
stop.set()
