"""The model's own tests, under a plain CPython: `python3 -m unittest`."""

import unittest

from xedgesim_model import Message, encode
from {{module}} import {{type}}


def reading(source, temperature):
    """A reading as the built-in sensor sends it (see docs/models.md)."""
    payload = encode([("temperature", temperature), ("unit", "C"), ("sample_id", 1), ("t_us", 0)])
    return Message(source, "{{id}}", "reading", payload, 0)


class {{type}}Test(unittest.TestCase):
    def test_forwards_readings_above_the_threshold(self):
        node = {{type}}("{{id}}", {"threshold": 25.0, "destination": "cloud"})
        out = node.step(1_000_000, [reading("sensor1", 30.5), reading("sensor2", 20.0)])
        self.assertEqual([m.destination for m in out.outbox], ["cloud"])
        self.assertEqual({m.name: m.value for m in node.finish()}["forwarded"], 1)


if __name__ == "__main__":
    unittest.main()
