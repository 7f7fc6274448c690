"""The cluster test (docs/scale.md): a running `scripts/cluster.sh up 3 ...` cluster, driven
through its nginx balancer with the standard library only. scripts/cluster-test.sh starts the
cluster, runs this, and stops it.

    python3 scripts/cluster-test.py URL SHARDS AGENTS

Ends with the line `N passed, N failed`; exits 1 when anything failed.
"""

import base64
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

BASE, SHARDS, AGENTS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
API = BASE + "/cdb-open-api/v1"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER = os.path.join(ROOT, "scripts", "cluster.sh")
PASSED, FAILED = [], []


def shard_of(name, count):
    """FNV-1a 64 of the name's bytes, modulo the shard count (src/model/shard.rs)."""
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) % 2**64
    return h % count


ACCOUNTS = ["agent%04d" % i for i in range(1, AGENTS + 1)]
BY_SHARD = {k: [a for a in ACCOUNTS if shard_of(a, SHARDS) == k] for k in range(SHARDS)}


def check(name, ok, detail=""):
    (PASSED if ok else FAILED).append(name)
    print(("ok: " if ok else "FAILED: ") + name + ("" if ok else f" ({detail})"), flush=True)


def request(method, url, auth=None, body=None, timeout=30):
    """(status, parsed JSON or text, headers) of one request; never raises on HTTP errors."""
    headers = {}
    if isinstance(auth, tuple):
        headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    elif isinstance(auth, str):
        headers["Authorization"] = "Bearer " + auth
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw, hdrs = r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        status, raw, hdrs = e.code, e.read(), e.headers
    try:
        return status, json.loads(raw), hdrs
    except ValueError:
        return status, raw.decode(errors="replace"), hdrs


def as_(account):
    return (account, account)


def login(account):
    sha = hashlib.sha256(account.encode()).hexdigest()
    s, v, _ = request("POST", f"{API}/oauth2/login?username={account}&password={sha}")
    return v.get("key") if s == 200 and isinstance(v, dict) else None


def code_ok(v):
    return isinstance(v, (dict, list)) and (not isinstance(v, dict) or v.get("code") in (0, "0"))


def devices(who):
    s, v, _ = request("GET", f"{API}/cabinet/getAllDevice", who)
    return s, (v.get("data") if isinstance(v, dict) else None) or []


def fanout(method, path, body=None):
    """scripts/cluster.sh sim: (exit code, output)."""
    args = [CLUSTER, "sim", method, path] + ([json.dumps(body)] if body is not None else [])
    p = subprocess.run(args, capture_output=True, text=True, timeout=400)
    return p.returncode, p.stdout + p.stderr


# A receiver for rent callbacks: the shards POST status=..&tradeNo=.. here.
CALLBACKS = []
CALLBACKS_LOCK = threading.Condition()


class Sink(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        with CALLBACKS_LOCK:
            CALLBACKS.append(body)
            CALLBACKS_LOCK.notify_all()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def wait_callback(trade, status, deadline_s=20):
    want = f"status={status}&tradeNo={trade}"
    end = time.time() + deadline_s
    with CALLBACKS_LOCK:
        while want not in CALLBACKS:
            left = end - time.time()
            if left <= 0:
                return False
            CALLBACKS_LOCK.wait(left)
    return True


def main():
    sink = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    callback = f"http://127.0.0.1:{sink.server_address[1]}/cb"
    check("every shard owns some of the accounts", all(BY_SHARD[k] for k in range(SHARDS)), BY_SHARD)

    # Each shard's own control API is reachable through the balancer and is that shard.
    for k in range(SHARDS):
        s, v, _ = request("GET", f"{BASE}/_sim/shard/{k}/health")
        check(f"/_sim/shard/{k}/health is shard {k}/{SHARDS}", s == 200 and v["data"]["shard"] == f"{k}/{SHARDS}", v)

    # 1. Every account through the balancer, with Basic and with a bearer token from A1.
    tokens, cabinets = {}, {}
    bad_basic, bad_bearer = [], []
    for a in ACCOUNTS:
        s, rows = devices(as_(a))
        if s != 200 or not rows:
            bad_basic.append((a, s))
            continue
        cabinets[a] = rows
        token = login(a)
        tokens[a] = token
        if not token or not token.startswith(f"s{shard_of(a, SHARDS)}-"):
            bad_bearer.append((a, token))
            continue
        s2, rows2 = devices(token)
        if s2 != 200 or [r["pCabinetid"] for r in rows2] != [r["pCabinetid"] for r in rows]:
            bad_bearer.append((a, s2))
    check(f"all {len(ACCOUNTS)} accounts answer C4 with Basic through the balancer", not bad_basic, bad_basic)
    check("A1 through the balancer gives every account a token of its shard, which works as Bearer", not bad_bearer, bad_bearer)

    # 2. A rent with callback on every shard; the trade number carries the shard.
    trades = {}
    for k in range(SHARDS):
        a = BY_SHARD[k][0]
        cab = next((r["pCabinetid"] for r in cabinets.get(a, []) if r["pOnline"] and r["pBorrow"] > 0), None)
        s, v, _ = request("POST", f"{API}/rent/order/create?deviceId={cab}&callbackURL={callback}", as_(a))
        trade = (v.get("data") or {}).get("tradeNo") if isinstance(v, dict) else None
        ok = bool(trade) and trade[12:14] == f"{k:02d}" and wait_callback(trade, 1)
        check(f"shard {k}: {a} rents from {cab}, trade {trade} carries the shard, callback status=1 arrives", ok, v)
        trades[k] = (a, cab, trade)

    # 3. O6, C4 and R1 show only the account's own records.
    for k in range(SHARDS):
        a, cab, trade = trades[k]
        s, shops, _ = request("GET", f"{API}/shop/getShopList", as_(a))
        own_shops = {row["newID"] for row in (shops.get("data") or [])}
        s, info, _ = request("GET", f"{API}/rent/cabinet/query?deviceId={cab}", as_(a))
        shop = info["data"]["shop"]
        s, near, _ = request("POST", f"{API}/rent/cabinet/list?coordType=WGS-84&zoomLevel=1&lat={shop['latitude']}&lng={shop['longitude']}", as_(a))
        listed = [i["shop"]["id"] for i in near.get("list", [])]
        check(f"shard {k}: O6 of {a} lists only its own shops", listed and set(listed) <= own_shops, (listed[:3], list(own_shops)[:3]))
        mine = {r["pCabinetid"] for r in cabinets[a]}
        others = set().union(*({r["pCabinetid"] for r in cabinets[b]} for b in ACCOUNTS if b != a and b in cabinets))
        check(f"shard {k}: C4 of {a} shares no cabinet with any other account", mine and not (mine & others))
        s, r1, _ = request("GET", f"{API}/order/list?page=1&limit=50&dataLevel=3", as_(a))
        got = [json.dumps(rec) for rec in r1.get("page", {}).get("records", [])]
        check(f"shard {k}: R1 of {a} shows its order", len(got) == 1 and trade in got[0], got)
        others_r1 = []
        for b in ACCOUNTS:
            if b != a:
                s, v, _ = request("GET", f"{API}/order/list?page=1&limit=50&dataLevel=3", as_(b))
                if trade in json.dumps(v):
                    others_r1.append(b)
        check(f"shard {k}: no other account's R1 shows {trade}", not others_r1, others_r1)

    # 4. Bad input through the balancer.
    s1, v1, _ = request("GET", f"{API}/cabinet/getAllDevice", ("nobody", "nobody"))
    s2, v2, _ = request("GET", f"{API}/cabinet/getAllDevice", ("agent0001", "wrong"))
    s3, v3, _ = request("GET", f"{API}/cabinet/getAllDevice", "s0-00000000000000000000000000000000")
    s4, v4, _ = request("GET", f"{API}/cabinet/getAllDevice")
    check("an unknown account gets the platform's 401", s1 == 401 and isinstance(v1, dict) and v1.get("code") == 401, (s1, v1))
    check("a wrong password and an unknown token get 401 too", (s2, s3) == (401, 401), (s2, v2, s3, v3))
    check("no Authorization gets the platform's 401", s4 == 401 and "authentication" in json.dumps(v4), (s4, v4))
    a0 = BY_SHARD[0][0]
    foreign = trades[1][1]
    s, v, _ = request("GET", f"{API}/rent/cabinet/query?deviceId={foreign}", as_(a0))
    s_, v_, _ = request("GET", f"{API}/rent/cabinet/query?deviceId=ZZZ99999", as_(a0))
    check(f"another shard's device {foreign} answers like an unknown device", (s, v) == (s_, v_) and v.get("code") != 0, (v, v_))
    s, v, _ = request("GET", f"{BASE}/_sim/health")
    check("/_sim/ on the balancer points at /_sim/shard/K/", s == 404 and "/_sim/shard/K/" in v.get("msg", ""), v)

    # 5. Mixed load through nginx: bounded (8 threads x 150 requests), every answer 200 + code 0.
    errors, done = [], [0]
    lock = threading.Lock()

    def worker(n):
        for i in range(150):
            a = ACCOUNTS[(n * 7 + i) % len(ACCOUNTS)]
            who = tokens.get(a) if i % 3 == 0 else as_(a)
            online = [r["pCabinetid"] for r in cabinets[a] if r["pOnline"]]
            cab = online[i % len(online)]
            op = i % 5
            if op == 0:
                r = request("GET", f"{API}/cabinet/getAllDevice", who)
            elif op == 1:
                r = request("GET", f"{API}/rent/cabinet/query?deviceId={cab}", who)
            elif op == 2:
                r = request("GET", f"{API}/shop/getShopList", who)
            elif op == 3:
                r = request("GET", f"{API}/order/list?page=1&limit=10&dataLevel=3", who)
            else:
                r = request("GET", f"{API}/cabinet/slotByCabinetId/{cab}", who)
            with lock:
                done[0] += 1
                if r[0] != 200 or not code_ok(r[1]):
                    errors.append((a, op, r[0], str(r[1])[:200]))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    t0 = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    took = time.time() - t0
    check(f"mixed load: {done[0]} requests through nginx in {took:.1f} s, no error answer", done[0] == 1200 and not errors, errors[:5])

    # 6. The control plane: cluster-wide clock advance, check, reset.
    clocks = [request("GET", f"{BASE}/_sim/shard/{k}/clock")[1]["data"]["now"] for k in range(SHARDS)]
    rc, out = fanout("POST", "/clock?advance=3600")
    after = [request("GET", f"{BASE}/_sim/shard/{k}/clock")[1]["data"]["now"] for k in range(SHARDS)]
    check("fan-out: POST /clock?advance=3600 on every shard", rc == 0 and all(a != b for a, b in zip(clocks, after)), out)
    rc, out = fanout("POST", "/clock?freeze=true&speed=2")
    check("fan-out: freeze and speed on every shard", rc == 0 and out.count("shard ") == SHARDS, out)
    rc, out = fanout("GET", "/check")
    check("fan-out: /_sim/check is clean on every shard", rc == 0 and out.count('"violations":[]') == SHARDS, out)
    rc, out = fanout("GET", "/metrics")
    reached = out.count("shard ") == SHARDS and "HTTP 502" not in out and "HTTP 000" not in out
    check("fan-out: GET /metrics reaches every shard", reached, out[:300])
    rc, out = fanout("GET", "/state")
    worlds = [json.loads(line.split(" ", 4)[4])["data"]["world"] for line in out.splitlines() if line.startswith("shard ")]
    cabs = [set(w["cabinets"]) for w in worlds]
    whole = sum(len(c) for c in cabs) == len(set().union(*cabs)) == 600
    check("fan-out: GET /state of every shard; together the 600 cabinets, each once", rc == 0 and whole, out[:300])
    rc, out = fanout("POST", "/faults", {"effect": "error", "code": 5000, "endpoint": "O1", "times": 1})
    check("fan-out: a fault rule on every shard", rc == 0, out)
    rc, out = fanout("DELETE", "/faults")
    check("fan-out: fault rules removed on every shard", rc == 0, out)
    rc, out = fanout("POST", "/reset")
    gone = all(
        request("GET", f"{API}/rent/order/detail?tradeNo={trades[k][2]}", as_(trades[k][0]))[1].get("code") != 0
        for k in range(SHARDS)
    )
    check("fan-out: reset on every shard forgets every shard's orders", rc == 0 and gone, out)
    after_reset = [request("GET", f"{BASE}/_sim/shard/{k}/clock")[1]["data"]["now"] for k in range(SHARDS)]
    check("after the reset every shard is back at its start time", after_reset == clocks, (clocks, after_reset))

    # 7. A shard that is down: 502/503 for its accounts only; unknown accounts still get 401.
    down = SHARDS - 1
    subprocess.run([CLUSTER, "stop-shard", str(down)], check=True, capture_output=True, timeout=60)
    statuses = {a: devices(as_(a))[0] for a in ACCOUNTS}
    hit = {a: s for a, s in statuses.items() if shard_of(a, SHARDS) == down}
    rest = {a: s for a, s in statuses.items() if shard_of(a, SHARDS) != down}
    check(f"shard {down} down: its accounts get 502/503", all(s in (502, 503) for s in hit.values()), hit)
    check(f"shard {down} down: every other account still gets 200", all(s == 200 for s in rest.values()), rest)
    s, v, _ = request("GET", f"{API}/cabinet/getAllDevice", ("nobody", "nobody"))
    check(f"shard {down} down: an unknown account still gets 401 from a live shard", s == 401, (s, v))

    sink.shutdown()


try:
    main()
except Exception as e:  # a crash is a failure, reported in the closing line
    import traceback

    traceback.print_exc()
    check("the test ran to the end", False, repr(e))
print(f"{len(PASSED)} passed, {len(FAILED)} failed")
sys.exit(1 if FAILED else 0)
