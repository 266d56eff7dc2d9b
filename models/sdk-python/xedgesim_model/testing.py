"""A test harness: run a model in-process in a unit test, without the host
or a component. The Python port of the Rust SDK's ``testing`` module::

    from xedgesim_model.testing import TestNode, reading

    node = TestNode(Counter, "counter", {})
    step = node.step(1_000_000, [reading("s1", 21.5)])
    assert step.outbox == [] and step.wake_at_us is None
    assert node.finish().get("seen") == 1

The config is a dict as the host gives it (``bool``, ``int``, ``float``,
``str`` or :class:`~xedgesim_model.Json` values). Time and randomness are
virtual here too: while the model's code runs, ``time.time()``,
``time.monotonic()`` and ``time.perf_counter()`` (and their ``_ns``
forms) read the step's time, as the host's clocks do (the wall clock
starts at the Unix epoch at t = 0), and the ``random`` module draws from a
generator of the node's own, seeded by ``seed`` (0 by default; not the
stream the host would give the node in a scenario, which is derived from
the scenario's seed and the node's id). What the node logs with
:func:`~xedgesim_model.log` is kept, per call, in :attr:`Step.logs`.
"""

import random
import time

import xedgesim_model as _sdk
from . import PUBLISH, LOG_LEVELS, Message
from .payload import decode, encode

__all__ = ["TestNode", "Step", "Metrics", "LogLine", "message", "reading", "reading_at"]


class LogLine:
    """One line a node logged: ``time_us``, ``level`` and ``message``."""

    __slots__ = ("time_us", "level", "message")

    def __init__(self, time_us, level, message):
        self.time_us = time_us
        self.level = level
        self.message = message

    def __eq__(self, other):
        return isinstance(other, LogLine) and (self.time_us, self.level, self.message) == (
            other.time_us, other.level, other.message)

    def __repr__(self):
        return "LogLine(%d, %r, %r)" % (self.time_us, self.level, self.message)


class Step:
    """What one step did: ``outbox`` (the messages it sent, in order),
    ``wake_at_us`` (when it asked to be stepped again, or None) and
    ``logs`` (the :class:`LogLine` list it logged)."""

    __slots__ = ("outbox", "wake_at_us", "logs")

    def __init__(self, outbox, wake_at_us, logs):
        self.outbox = outbox
        self.wake_at_us = wake_at_us
        self.logs = logs

    def sent_to(self, node_id):
        """The messages sent to node ``node_id``."""
        return [m for m in self.outbox if m.destination is not PUBLISH and m.destination == node_id]

    def published(self, topic):
        """The messages published on ``topic``."""
        return [m for m in self.outbox if m.destination is PUBLISH and m.topic == topic]

    def payloads_to(self, node_id):
        """The payloads of the messages sent to ``node_id``, decoded as the
        built-in models' flat JSON (see :mod:`xedgesim_model.payload`);
        raises :class:`~xedgesim_model.PayloadError` on one that is not."""
        return [decode(m.payload) for m in self.sent_to(node_id)]


class Metrics(list):
    """A node's final metrics: a list of :class:`~xedgesim_model.Metric`."""

    def get(self, name):
        """The value of the metric ``name``, or None if the node did not report it."""
        for m in self:
            if m.name == name:
                return m.value
        return None


class _Clock:
    """The ``time`` module's clocks, reading a virtual time while installed."""

    _NAMES = ("time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns")

    def __init__(self, now_us):
        self.now_us = now_us
        self.saved = {}

    def __enter__(self):
        now_us = self.now_us
        seconds = lambda: now_us / 1e6  # noqa: E731
        nanoseconds = lambda: now_us * 1000  # noqa: E731
        for name in self._NAMES:
            self.saved[name] = getattr(time, name)
            setattr(time, name, nanoseconds if name.endswith("_ns") else seconds)
        return self

    def __exit__(self, *_):
        for name, f in self.saved.items():
            setattr(time, name, f)


class TestNode:
    """One node of ``model_class`` (made as ``model_class(node_id, config)``,
    its constructor running at t = 0), stepped by the test.

    A bad config raises what the constructor raises
    (:class:`~xedgesim_model.ConfigError`); a failed step raises what the
    step raises (:class:`~xedgesim_model.StepError`).
    """

    __test__ = False  # not a test case, whatever a test runner's naming rules say

    def __init__(self, model_class, node_id, config=None, seed=0):
        self.id = node_id
        self.now_us = 0
        self._random = random.Random(seed).getstate()
        self._logs = []
        #: What the constructor logged.
        self.constructor_logs = []
        self.model = self._entered(0, lambda: model_class(node_id, dict(config or {})))
        self.constructor_logs = self._take_logs()

    def step(self, now_us, inbox):
        """Steps the node at ``now_us`` with ``inbox`` (a list of
        :class:`~xedgesim_model.Message`; one addressed to a node is
        readdressed to this one) and returns a :class:`Step`. Time must
        not go backwards."""
        if now_us < self.now_us:
            raise ValueError("step at %d µs is before the previous one at %d µs" % (now_us, self.now_us))
        self.now_us = now_us
        inbox = [_readdressed(m, self.id) for m in inbox]
        try:
            out = self._entered(now_us, lambda: self.model.step(now_us, inbox))
        finally:
            logs = self._take_logs()
        return Step(list(out.outbox), out.wake_at_us, logs)

    def wake(self, now_us):
        """Steps the node at ``now_us`` with no messages, as a wake-up."""
        return self.step(now_us, [])

    def finish(self):
        """The node's final metrics, as :class:`Metrics`."""
        metrics = self._entered(self.now_us, self.model.finish)
        self._take_logs()
        return Metrics(metrics)

    def _entered(self, now_us, f):
        """Runs ``f()`` as this node at ``now_us``: its clock, its random
        state, its log."""
        saved_random = random.getstate()
        saved_sink = _sdk._log_sink
        random.setstate(self._random)
        _sdk._log_sink = lambda level, text: self._log(now_us, level, text)
        try:
            with _Clock(now_us):
                return f()
        finally:
            self._random = random.getstate()
            random.setstate(saved_random)
            _sdk._log_sink = saved_sink

    def _log(self, now_us, level, text):
        if level not in LOG_LEVELS:
            raise ValueError("log level %r is not one of %s" % (level, ", ".join(LOG_LEVELS)))
        self._logs.append(LogLine(now_us, level, text))

    def _take_logs(self):
        logs, self._logs = self._logs, []
        return logs


def _readdressed(m, node_id):
    if m.destination is PUBLISH:
        return m
    return Message(m.source, node_id, m.topic, m.payload, m.sent_us)


def message(source, topic, payload):
    """A message from ``source`` with ``topic`` and ``payload`` (bytes, or a
    str as UTF-8), sent at 0."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return Message(source, "", topic, bytes(payload), 0)


def reading(source, temperature):
    """A reading as the built-in sensor sends it (topic ``reading``, payload
    ``{"temperature":…,"unit":"C","sample_id":1,"t_us":0}``)."""
    return reading_at(source, 0, 1, temperature)


def reading_at(source, t_us, sample_id, temperature):
    """A reading sampled at ``t_us`` (also its send time), numbered ``sample_id``."""
    payload = encode([
        ("temperature", float(temperature)),
        ("unit", "C"),
        ("sample_id", float(sample_id)),
        ("t_us", float(t_us)),
    ])
    return Message(source, "", "reading", payload, t_us)
