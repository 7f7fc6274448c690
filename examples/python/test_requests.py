"""A client developer's test of what their client sent, in Python with the standard library only:
the request journal (/_sim/requests) and contract warnings (X-Sim-Warnings), then the
integration report (/_sim/report). See docs/request-journal.md.

    BAJIE_SIM_URL=http://127.0.0.1:8080 python3 -m unittest examples/python/test_requests.py

The simulator should run with a frozen clock and no autonomous activity:
`bajie-sim --frozen --no-sim --seed 42` (scripts/python-example.sh starts one for you).
"""

import base64
import json
import os
import unittest
import urllib.parse
import urllib.request

BASE = os.environ.get("BAJIE_SIM_URL", "http://127.0.0.1:8080")
API = BASE + "/cdb-open-api/v1"
AUTH = "Basic " + base64.b64encode(b"demo:demo").decode()
CALLBACK = BASE + "/_sim/ui/sink/rent?rental=42&token=abc"  # the simulator's built-in receiver


def call(method, url, auth=True):
    """(parsed body, X-Sim-Warnings or None) of one request."""
    req = urllib.request.Request(url, method=method, headers={"Authorization": AUTH} if auth else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r), r.headers.get("X-Sim-Warnings")


def control(method, path):
    return call(method, BASE + "/_sim" + path, auth=False)[0]


class WhatMyClientSent(unittest.TestCase):
    def setUp(self):
        control("POST", "/reset")  # also empties the request journal

    def test_a_rental_by_the_documented_contract_has_no_warning(self):
        cb = urllib.parse.quote(CALLBACK, safe="")
        body, warnings = call("POST", f"{API}/rent/order/create?deviceId=BJD60151&callbackURL={cb}")
        self.assertEqual(body["code"], 0)
        self.assertIsNone(warnings)
        trade = body["data"]["tradeNo"]
        call("GET", f"{API}/rent/order/detail?tradeNo={trade}")

        # What the client sent, newest first, with the answers.
        records = control("GET", f"/requests?order={trade}")["data"]["records"]
        self.assertEqual([r["op"] for r in records], ["O5", "O2"])
        create = records[1]
        self.assertEqual(create["response"]["code"], 0)
        self.assertEqual(create["account"], "demo")
        self.assertIn({"name": "authorization", "value": "Basic demo"}, create["headers"])  # never the secret
        # "My client made no request production would treat differently."
        self.assertEqual(control("GET", "/requests/count?warned=true")["data"]["count"], 0)

    def test_leaning_on_the_simulators_tolerance_is_named(self):
        _, warnings = call("POST", f"{API}/rent/order/create?deviceId=BJD60151&callbackURL={CALLBACK}")
        self.assertEqual(warnings, "UNKNOWN_PARAM,CALLBACK_URL_NOT_ENCODED")  # "&token=abc" was cut off
        _, warnings = call("GET", f"{API}/rent/order/detail?orderId=1")
        self.assertEqual(warnings, "PARAM_SPELLING")
        entry = control("GET", "/requests?warning=PARAM_SPELLING")["data"]["records"][0]
        self.assertEqual(entry["warnings"][0]["alternative"].split(":")[0], "Use the documented spelling")
        report = control("GET", "/report")["data"]
        self.assertEqual(report["warnings"], {"CALLBACK_URL_NOT_ENCODED": 1, "PARAM_SPELLING": 1, "UNKNOWN_PARAM": 1})
        self.assertIn("answer-2004", report["notMet"])  # this test never met an offline cabinet

    def test_waiting_for_a_request_times_out_with_9001(self):
        v = control("GET", "/requests/wait?op=O4&count=1&timeoutMs=100")
        self.assertEqual(v["code"], 9001)


if __name__ == "__main__":
    unittest.main()
