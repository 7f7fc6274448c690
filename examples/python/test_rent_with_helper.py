"""A client developer's integration test against bajie-sim, in Python with the standard library
and the helper module bajie_sim (python/bajie_sim, also inside the wheel): a rental called back
to a local receiver and billed on the virtual clock, then an injected eject failure. (The same
test without the helper is test_rent.py.)

    python3 -m unittest -v examples/python/test_rent_with_helper.py

starts its own simulator (the `bajie-sim` the wheel installed, or a clone's target/ build) on a
free port with a frozen clock and no autonomous activity; with BAJIE_SIM_URL set it uses that
one instead (start it as `bajie-sim --seed 42 --frozen --no-sim`).
"""

import os
import sys
import unittest

try:
    from bajie_sim import Receiver, Simulator
except ImportError:  # a clone without the wheel installed
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
    from bajie_sim import Receiver, Simulator

SIM = None


def setUpModule():
    global SIM
    SIM = Simulator.connect() if os.environ.get("BAJIE_SIM_URL") else Simulator.start()


def tearDownModule():
    SIM.stop()


class RentFlow(unittest.TestCase):
    def setUp(self):
        SIM.reset()
        self.rx = Receiver()  # stands in for your backend's callback endpoint
        self.addCleanup(self.rx.close)

    def rent(self, cabinet="BJD60151"):
        v = SIM.api("POST", "/rent/order/create", deviceId=cabinet, callbackURL=self.rx.url + "/rent-callback")
        self.assertEqual(v["code"], 0, v)
        return v["data"]["tradeNo"]

    def test_a_rental_is_called_back_and_billed(self):
        trade = self.rent()
        SIM.advance(1)  # the cabinet ejects one virtual second after the order
        callback = self.rx.wait(1)[0]
        self.assertEqual((callback.path, callback.form()), ("/rent-callback", {"status": "1", "tradeNo": trade}))

        battery = SIM.api("GET", "/rent/order/detail", tradeNo=trade)["data"]["batteryId"]
        SIM.advance(3600)  # an hour with the customer
        SIM.control("POST", "/cabinets/BJD60152/return", batteryId=battery)
        self.assertEqual(self.rx.wait(2)[1].form(), {"status": "2", "tradeNo": trade})
        d = SIM.api("GET", "/rent/order/detail", tradeNo=trade)["data"]
        self.assertEqual(d["borrowStatus"], 3)
        self.assertEqual(d["orderAmount"], 3)  # 55 billable minutes: two periods of 1.50

        # What the client sent: one order create, two details, and nothing production would
        # answer differently.
        create = SIM.assert_requested("O2", count=1)[0]
        self.assertEqual(create["order"], trade)
        SIM.assert_requested("O5", count=2, order=trade)
        SIM.assert_no_warnings()

    def test_an_injected_eject_failure_is_reported(self):
        SIM.control("POST", "/faults", effect="ejectFailure", faultType=4, device="BJD60151", times=1)
        trade = self.rent()
        SIM.advance(1)
        # The simulator's delivery journal tells the same story as the receiver.
        self.assertEqual(SIM.wait_callback(trade), f"status=0&tradeNo={trade}")
        self.assertEqual(SIM.api("GET", "/rent/order/detail", tradeNo=trade)["data"]["borrowStatus"], 2)

    def test_an_offline_cabinet_answers_the_production_error(self):
        SIM.control("POST", "/cabinets/BJD60151/offline")
        v = SIM.api("GET", "/rent/cabinet/query", deviceId="BJD60151")
        self.assertEqual(v, {"msg": "Device not online.", "code": 2004})


if __name__ == "__main__":
    unittest.main()
