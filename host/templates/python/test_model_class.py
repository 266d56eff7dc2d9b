"""The model's own tests, under a plain CPython: `python3 -m unittest`.
`TestNode`, the SDK's test harness (as in Rust and JavaScript), steps the
model in-process, with the step's time as its clock, and keeps what it
sent, logged and reported."""

import unittest

from xedgesim_model import ConfigError
from xedgesim_model.testing import TestNode, reading
from {{module}} import {{type}}


class {{type}}Test(unittest.TestCase):
    def test_forwards_readings_above_the_threshold(self):
        node = TestNode({{type}}, "{{id}}", {"threshold": 25.0, "destination": "cloud"})
        step = node.step(1_000_000, [reading("sensor1", 30.5), reading("sensor2", 20.0)])
        self.assertEqual(step.payloads_to("cloud")[0].number("temperature"), 30.5)
        self.assertEqual(len(step.sent_to("cloud")), 1)
        self.assertEqual(node.finish().get("forwarded"), 1)

    def test_refuses_a_threshold_that_is_not_a_number(self):
        with self.assertRaises(ConfigError) as refused:
            TestNode({{type}}, "{{id}}", {"threshold": "abc", "destination": "cloud"})
        self.assertEqual(str(refused.exception), "config key 'threshold' must be a number; found the text \"abc\"")


if __name__ == "__main__":
    unittest.main()
