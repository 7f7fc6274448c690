"""A client developer's integration test against bajie-sim, in Python with the standard library
only: a rental called back and billed on the virtual clock, then an injected eject failure.

    BAJIE_SIM_URL=http://127.0.0.1:8080 python3 -m unittest examples/python/test_rent.py

The simulator should run with a frozen clock and no autonomous activity:
`bajie-sim --frozen --no-sim --seed 42 --start '2026-03-02 09:00:00'` (scripts/python-example.sh
starts one for you).
"""

import base64
import json
import os
import unittest
import urllib.request

BASE = os.environ.get("BAJIE_SIM_URL", "http://127.0.0.1:8080")
API = BASE + "/cdb-open-api/v1"
AUTH = "Basic " + base64.b64encode(b"demo:demo").decode()
CALLBACK = BASE + "/_sim/ui/sink/rent"  # the simulator's built-in receiver


def call(method, url, auth=True):
    req = urllib.request.Request(url, method=method, headers={"Authorization": AUTH} if auth else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def control(path):
    return call("POST", BASE + "/_sim" + path, auth=False)


def callback_of(trade):
    """Wait (with a deadline) for the order's first delivered callback; return its body."""
    j = call("GET", f"{BASE}/_sim/pushes/wait?order={trade}&count=1&timeoutMs=5000", auth=False)
    return j["data"]["records"][0]["body"]


class RentFlow(unittest.TestCase):
    def setUp(self):
        control("/reset")

    def test_a_rental_is_called_back_and_billed(self):
        v = call("POST", f"{API}/rent/order/create?deviceId=BJD60151&callbackURL={CALLBACK}")
        trade = v["data"]["tradeNo"]
        control("/clock?advance=1")  # the cabinet ejects one virtual second after the order
        self.assertEqual(callback_of(trade), f"status=1&tradeNo={trade}")

        battery = call("GET", f"{API}/rent/order/detail?tradeNo={trade}")["data"]["batteryId"]
        control("/clock?advance=3600")  # an hour with the customer
        control(f"/cabinets/BJD60152/return?batteryId={battery}")
        d = call("GET", f"{API}/rent/order/detail?tradeNo={trade}")["data"]
        self.assertEqual(d["borrowStatus"], 3)
        self.assertEqual(d["orderAmount"], 3)  # 55 billable minutes: two periods of 1.50

    def test_an_injected_eject_failure_is_reported(self):
        control("/faults?effect=ejectFailure&faultType=4&device=BJD60151&times=1")
        trade = call("POST", f"{API}/rent/order/create?deviceId=BJD60151&callbackURL={CALLBACK}")["data"]["tradeNo"]
        control("/clock?advance=1")
        self.assertEqual(callback_of(trade), f"status=0&tradeNo={trade}")
        self.assertEqual(call("GET", f"{API}/rent/order/detail?tradeNo={trade}")["data"]["borrowStatus"], 2)

    def test_an_offline_cabinet_answers_the_production_error(self):
        control("/cabinets/BJD60151/offline")
        v = call("GET", f"{API}/rent/cabinet/query?deviceId=BJD60151")
        self.assertEqual(v, {"msg": "Device not online.", "code": 2004})


if __name__ == "__main__":
    unittest.main()
