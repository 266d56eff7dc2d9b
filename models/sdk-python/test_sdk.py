"""The SDK's own tests, under a plain CPython: `python3 -m unittest` in
this folder (tests/tests/languages.rs runs them in CI). A model's tests
use the harness the same way (see ../python-gateway/test_gateway.py)."""

import random
import time
import unittest

from xedgesim_model import PUBLISH, ConfigError, ConfigReader, Json, Metric, Outgoing, StepError, StepOutput, log
from xedgesim_model.testing import LogLine, TestNode, message, reading, reading_at


class Echo:
    """Sends each message back to its source, asks to wake 1 s later, and
    reports what it read of the clock and the random module."""

    def __init__(self, node_id, config):
        c = ConfigReader(config, ["every", "label", "raw"])
        self.every = c.u64("every", 1)
        self.label = c.text("label")
        self.raw = config.get("raw")
        self.draw = random.random()
        self.clock = time.time()
        log("debug", "made %s" % node_id)
        self.seen = 0

    def step(self, now_us, inbox):
        if any(m.topic == "fail" for m in inbox):
            raise StepError("asked to fail")
        self.seen += len(inbox)
        self.clock = (time.time(), time.monotonic_ns())
        log("info", "%d at %d" % (len(inbox), now_us))
        out = [Outgoing(m.source, "echo", m.payload) for m in inbox]
        out.append(Outgoing(PUBLISH, "seen", b"%d" % self.seen))
        return StepOutput(out, now_us + 1_000_000)

    def finish(self):
        return [Metric("seen", self.seen)]


class TestNodeTest(unittest.TestCase):
    def test_steps_with_the_step_time_and_keeps_what_it_sent_and_logged(self):
        node = TestNode(Echo, "echo", {"every": 2, "label": "x", "raw": Json("[1,2]")})
        self.assertEqual((node.model.every, node.model.label, node.model.raw), (2, "x", "[1,2]"))
        self.assertEqual(node.model.clock, 0.0, "the constructor runs at t = 0")
        self.assertEqual(node.constructor_logs, [LogLine(0, "debug", "made echo")])
        step = node.step(2_500_000, [reading("s1", 21.5), message("s2", "raw", "hi")])
        self.assertEqual(node.model.clock, (2.5, 2_500_000_000))
        self.assertEqual(step.wake_at_us, 3_500_000)
        self.assertEqual([m.payload for m in step.sent_to("s2")], [b"hi"])
        self.assertEqual(step.payloads_to("s1")[0].number("temperature"), 21.5)
        self.assertEqual([m.payload for m in step.published("seen")], [b"2"])
        self.assertEqual(step.logs, [LogLine(2_500_000, "info", "2 at 2500000")])
        self.assertEqual(node.wake(3_500_000).published("seen")[0].payload, b"2")
        self.assertEqual(node.finish().get("seen"), 2)
        self.assertIsNone(node.finish().get("absent"))

    def test_the_clock_and_random_module_are_given_back_after_each_call(self):
        real_time = time.time
        random.seed(99)
        expected = random.Random(99).random()
        TestNode(Echo, "echo").step(10, [])
        self.assertIs(time.time, real_time)
        self.assertEqual(random.random(), expected, "the test's own random state is untouched")

    def test_random_draws_follow_the_seed(self):
        a = TestNode(Echo, "a", seed=1).model.draw
        self.assertEqual(TestNode(Echo, "b", seed=1).model.draw, a)
        self.assertNotEqual(TestNode(Echo, "a", seed=2).model.draw, a)

    def test_messages_are_addressed_to_the_node(self):
        class Keep(Echo):
            def step(self, now_us, inbox):
                self.inbox = inbox
                return StepOutput()
        node = TestNode(Keep, "me")
        node.step(0, [reading_at("s1", 7, 3, 20.0)])
        m = node.model.inbox[0]
        self.assertEqual((m.source, m.destination, m.topic, m.sent_us, m.published), ("s1", "me", "reading", 7, False))
        self.assertEqual(m.payload, b'{"temperature":20,"unit":"C","sample_id":3,"t_us":7}')

    def test_errors_are_raised_as_the_model_raises_them(self):
        with self.assertRaisesRegex(ConfigError, "unknown config key 'evry'; this model takes: every, label, raw"):
            TestNode(Echo, "echo", {"evry": 1})
        with self.assertRaisesRegex(ConfigError, "config key 'every' must be a whole number >= 0; found 2.5"):
            TestNode(Echo, "echo", {"every": 2.5})
        with self.assertRaisesRegex(ConfigError, 'config key \'label\' must be text; found the list or map \\[1\\]'):
            TestNode(Echo, "echo", {"label": Json("[1]")})
        node = TestNode(Echo, "echo")
        with self.assertRaisesRegex(StepError, "asked to fail"):
            node.step(5, [message("s1", "fail", b"")])
        with self.assertRaisesRegex(ValueError, "step at 4 µs is before the previous one at 5 µs"):
            node.step(4, [])


if __name__ == "__main__":
    unittest.main()
