#!/usr/bin/env python3
"""Compare the platform answers of two bajie-sim binaries, byte for byte.

    scripts/compare-answers.py OLD_BINARY NEW_BINARY

A refactoring guard: both binaries start on the default world with the same seed, a pinned
start and a frozen clock, then get the same scripted session (every platform operation,
reads after writes, a rental through to its return), and every answer body must be identical.
Prints each difference and exits 1 when there is one. Loopback only, bounded.
"""

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

API = "/cdb-open-api/v1"
AUTH = "Basic ZGVtbzpkZW1v"  # demo:demo


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary):
    port = free_port()
    p = subprocess.Popen(
        [binary, "--bind", f"127.0.0.1:{port}", "--seed", "42", "--start", "2026-03-02 09:00:00", "--frozen", "--no-sim"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            urllib.request.urlopen(base + "/_sim/health", timeout=1).read()
            return p, base
        except OSError:
            time.sleep(0.05)
    p.kill()
    sys.exit(f"{binary} did not answer /_sim/health within 30 s")


def call(base, method, path, query=None, body=None, control=False):
    url = base + ("/_sim" if control else API) + path
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = None
    headers = {"Authorization": AUTH}
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def session(base):
    """The scripted session: (label, status, body) per step."""
    out = []

    def step(label, *args, **kw):
        out.append((label,) + call(base, *args, **kw))
        return out[-1][2]

    step("O1", "GET", "/rent/cabinet/query", {"deviceId": "BJD60151"})
    step("O1 offline", "GET", "/rent/cabinet/query", {"deviceId": "BJD60159"})
    step("O6", "POST", "/rent/cabinet/list", {"coordType": "WGS-84", "zoomLevel": 5, "lat": 48.86, "lng": 2.34})
    step("C4", "GET", "/cabinet/getAllDevice")
    step("C5", "GET", "/cabinet/detail/BJD60151")
    step("C6", "GET", "/cabinet/getDeviceByShopId", {"shopId": "04679963e0"})
    step("C7", "GET", "/cabinet/getAllDevicePage", {"page": 1, "limit": 5})
    step("C8", "GET", "/cabinet/batteryListByCabinetId/BJD60151")
    step("C9", "GET", "/cabinet/slotByCabinetId/BJD60151")
    step("S1", "GET", "/shop/getShopList")
    step("S2", "GET", "/shop/detail/04679963e0")
    step("P1", "POST", "/shop/priceStrategy/page", body={"current": 1, "size": 10})
    step("P2", "GET", "/shop/priceStrategy/detail/101")
    step("E2 before", "GET", "/cabinet/eventPush/config/get")
    step("E1", "POST", "/cabinet/eventPush/config", body={"pushUrl": "http://127.0.0.1:9/x", "eventSubscriptions": [{"event": "CABINET_ONLINE", "pushUrl": "", "enable": True}]})
    step("E2 after", "GET", "/cabinet/eventPush/config/get")
    created = step("O2", "POST", "/rent/order/create", {"deviceId": "BJD60151"})
    trade = json.loads(created).get("data", {}).get("tradeNo", "")
    step("O5 pending", "GET", "/rent/order/detail", {"tradeNo": trade})
    step("clock +1s", "POST", "/clock", {"advance": "1"}, control=True)
    step("O3", "POST", "/rent/order/query", {"tradeNo": trade})
    step("O5 in lease", "GET", "/rent/order/detail", {"tradeNo": trade})
    step("R1 in lease", "GET", "/order/list", {"page": 1, "limit": 10})
    battery = json.loads(call(base, "GET", "/rent/order/detail", {"tradeNo": trade})[1]).get("data", {}).get("batteryId", "")
    step("clock +1h", "POST", "/clock", {"advance": "3600"}, control=True)
    step("return", "POST", "/cabinets/BJD60219/return", {"batteryId": battery}, control=True)
    step("O5 returned", "GET", "/rent/order/detail", {"tradeNo": trade})
    step("R1 returned", "GET", "/order/list", {"page": 1, "limit": 10})
    step("C11", "POST", "/cabinet/bindAd", body={"cabinetIdList": ["BJD60152"], "isRestart": False, "adConfigList": [{"code": "P_GG_8_TYPE,0", "mediaType": "image", "mediaPath": "https://cdn.example.com/a.png", "startDate": "2026-03-01 00:00:00", "endDate": "2026-03-31 23:59:59", "startTime": "08:00", "endTime": "22:00"}]})
    step("C5 with ads", "GET", "/cabinet/detail/BJD60152")
    step("S2 after", "GET", "/shop/detail/3d7f0b9e51")
    step("P3", "POST", "/shop/priceStrategy/saveOrUpdate", body={"priceId": None, "name": "Compare", "shopId": "04679963e0", "type": 1, "customType": 0, "priority": 3, "isDeposit": True, "depositAmount": 20, "timeoutAmount": 25.5, "timeoutDay": 2, "freeMinutes": 0, "dayUseFreeCount": 0, "price": 2.5, "priceTime": 1, "priceUnit": 1, "dailyMaxPrice": 12, "priceStrategyDetailList": []})
    step("P5", "POST", "/shop/priceStrategy/bindShop", body={"shopId": "3d7f0b9e51", "priceId": 101, "customType": 1})
    step("P2 bound", "GET", "/shop/priceStrategy/detail/101")
    step("P1 after", "POST", "/shop/priceStrategy/page", body={"current": 1, "size": 10})
    step("A1", "POST", "/oauth2/login", {"username": "demo", "password": "2a97516c354b68848cdbd8f54a226a0a55b21ed138e207ad6c5cbb9c00aa5aea"})
    step("unknown", "GET", "/no/such/route")
    step("missing param", "GET", "/rent/cabinet/query")
    # The snapshot format too: the whole world after the session.
    step("state", "GET", "/state", control=True)
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    runs = []
    for binary in sys.argv[1:]:
        p, base = start(binary)
        try:
            runs.append(session(base))
        finally:
            p.kill()
            p.wait()
    diffs = 0
    for (label, s1, b1), (_, s2, b2) in zip(*runs):
        if (s1, b1) != (s2, b2):
            diffs += 1
            print(f"DIFF {label}: HTTP {s1} vs {s2}\n  old: {b1[:600]!r}\n  new: {b2[:600]!r}")
    print(f"{len(runs[0])} answers compared, {diffs} different")
    sys.exit(1 if diffs else 0)


if __name__ == "__main__":
    main()
