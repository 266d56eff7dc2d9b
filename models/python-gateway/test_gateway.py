"""The gateway's own tests, under a plain CPython with the SDK's harness:
`python3 -m unittest` in this folder (tests/tests/languages.rs runs them
in CI; ../js-gateway/test.js is the same test in JavaScript)."""

import unittest

from xedgesim_model import ConfigError
from xedgesim_model.testing import TestNode, message, reading_at
from gateway import Gateway


class GatewayTest(unittest.TestCase):
    def test_alerts_at_once_and_aggregates_each_window(self):
        node = TestNode(Gateway, "gw", {"window_s": 1, "destination": "cloud", "alert_threshold": 30.0})
        self.assertEqual(node.step(0, []).wake_at_us, 1_000_000)
        step = node.step(500_000, [reading_at("s1", 499_000, 1, 20.0), reading_at("s2", 498_000, 1, 31.5)])
        self.assertEqual((step.outbox, step.wake_at_us), ([], 500_100), "processed 100 µs after arrival")
        step = node.wake(500_100)
        self.assertEqual(
            [m.payload for m in step.sent_to("cloud")],
            [b'{"source":"s2","temperature":31.5,"threshold":30,"t_us":498000}'],
        )
        step = node.wake(1_000_000)
        self.assertEqual(
            [(m.topic, m.payload) for m in step.sent_to("cloud")],
            [("aggregate", b'{"window_start_us":0,"window_end_us":1000000,"count":2,'
                           b'"mean":25.75,"min":20,"max":31.5,"t_us":499000}')],
        )
        self.assertEqual(step.wake_at_us, 2_000_000)
        node.step(1_200_000, [message("s1", "reading", b"not json")])
        node.wake(1_200_100)
        metrics = node.finish()
        self.assertEqual([metrics.get(m) for m in ["readings_received", "readings_processed", "readings_malformed",
                                                   "windows_closed", "aggregates_sent", "alerts_sent"]],
                         [3, 2, 1, 1, 1, 1])

    def test_subscribes_at_its_first_step(self):
        node = TestNode(Gateway, "gw", {"subscribe": "sensors/#"})
        self.assertEqual([m.payload for m in node.step(3_000_000, []).published("$subscribe")], [b"sensors/#"])
        self.assertEqual(node.wake(8_000_000).outbox, [], "no destination: windows close unsent")

    def test_a_bad_config_is_refused_naming_the_key(self):
        for config, error in [
            ({"window_s": "5"}, "config key 'window_s' must be a number; found the text \"5\""),
            ({"window_s": 0}, "config key 'window_s' must be > 0; found 0"),
            ({"processing_delay_us": 2.5}, "config key 'processing_delay_us' must be a whole number >= 0; found 2.5"),
            ({"destinaton": "cloud"}, "unknown config key 'destinaton'; this model takes: window_s, "
                                      "processing_delay_us, destination, alert_threshold, subscribe"),
        ]:
            with self.assertRaises(ConfigError) as raised:
                TestNode(Gateway, "gw", config)
            self.assertEqual(str(raised.exception), error)


if __name__ == "__main__":
    unittest.main()
