"""Tests of the helper module's own failure paths (the happy paths are the examples'):
a receiver's deadline, a binary that does not start, a control call that fails, a wait for a
delivery that never comes. Run by scripts/wheel-test.sh against the installed wheel:

    python3 -m unittest -v test_helper      # with bajie_sim importable and bajie-sim found
"""

import os
import sys
import tempfile
import time
import unittest
import urllib.request

from bajie_sim import Receiver, Simulator, SimulatorError


class ReceiverTest(unittest.TestCase):
    def test_it_records_what_arrives_and_says_what_is_missing_at_the_deadline(self):
        with Receiver() as rx:
            req = urllib.request.Request(rx.url + "/cb?x=1", data=b"status=1&tradeNo=7", method="POST")
            urllib.request.urlopen(req, timeout=5).close()
            got = rx.wait(1, timeout=5)
            self.assertEqual((got[0].path, got[0].form()), ("/cb?x=1", {"status": "1", "tradeNo": "7"}))
            start = time.monotonic()
            with self.assertRaisesRegex(AssertionError, r"1 of 2 deliveries within 0.3 s"):
                rx.wait(2, timeout=0.3)
            self.assertLess(time.monotonic() - start, 5)


class SimulatorTest(unittest.TestCase):
    def test_a_binary_that_does_not_start_is_reported(self):
        with tempfile.TemporaryDirectory() as d:
            fake = os.path.join(d, "bajie-sim")
            with open(fake, "w") as f:
                f.write("#!/bin/sh\necho nope\n")
            os.chmod(fake, 0o755)
            with self.assertRaisesRegex(SimulatorError, "did not print its listening line"):
                Simulator.start(binary=fake, timeout=5)

    def test_control_errors_and_missed_deliveries_raise_with_the_simulators_message(self):
        with Simulator.start() as sim:
            self.assertEqual(sim.health()["frozen"], True)
            with self.assertRaises(SimulatorError):
                sim.control("POST", "/cabinets/NOPE/offline")
            with self.assertRaisesRegex(SimulatorError, "Timed out"):
                sim.wait_deliveries(1, timeout_ms=100, order="00000000000000000000")
        self.assertIsNotNone(sim.process.poll(), "stop() ends the process")


if __name__ == "__main__":
    unittest.main()
