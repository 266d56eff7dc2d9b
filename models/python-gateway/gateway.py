"""The built-in gateway (models/gateway/src/lib.rs), in Python.

Handles each reading `processing_delay_us` after it arrives (default 100
µs), aggregates each `window_s` window (default 5 s; count, mean, min, max)
and forwards the aggregate to `destination`. With `alert_threshold`, a
reading above it is forwarded at once as an alert. With `subscribe`, it
subscribes to that topic at the broker. A window is emitted even when empty
(count 0). Traces equal the Rust gateway's byte for byte: keep the float
operations (order, min/max, rounding) exactly as in the Rust source.
"""

import math
from collections import deque

from xedgesim_model import (
    PUBLISH, ConfigError, ConfigReader, Metric, NodeModel, Outgoing, PayloadError,
    StepOutput, decode, encode,
)
from xedgesim_model.payload import format_f64

KEYS = ["window_s", "processing_delay_us", "destination", "alert_threshold", "subscribe"]

U64_MAX = 2**64 - 1


def f64_min(a, b):
    """Rust's f64::min: a NaN operand is ignored."""
    if a != a:
        return b
    if b != b:
        return a
    return a if a <= b else b


def f64_max(a, b):
    """Rust's f64::max: a NaN operand is ignored."""
    if a != a:
        return b
    if b != b:
        return a
    return a if a >= b else b


def round_to_u64(x):
    """Rust's `x.round() as u64`: half away from zero, saturating, NaN -> 0."""
    if x != x or x <= 0:
        return 0
    if math.isinf(x):
        return U64_MAX
    f = math.floor(x)
    r = f + 1 if x - f >= 0.5 else f  # x - f is exact for doubles
    return min(int(r), U64_MAX)


class Window:
    """The readings of the current window."""

    def __init__(self):
        self.count = 0
        self.sum = 0.0
        self.min = 0.0
        self.max = 0.0
        self.newest_t_us = 0.0  # sample time of the newest reading in the window


class Gateway(NodeModel):
    def __init__(self, node_id, config):
        c = ConfigReader(config, KEYS)
        window_s = c.f64("window_s", 5.0)
        if not (math.isfinite(window_s) and window_s > 0.0):
            raise ConfigError("config key 'window_s' must be > 0; found %s" % format_f64(window_s))
        self.window_us = max(round_to_u64(window_s * 1e6), 1)
        self.processing_delay_us = c.u64("processing_delay_us", 100)
        self.destination = c.text("destination")
        self.alert_threshold = c.optional_f64("alert_threshold")
        self.subscribe = c.text("subscribe")
        self.pending = deque()  # (due_us, Message), in arrival order
        self.window = Window()
        self.window_end_us = self.window_us
        self.readings_received = 0
        self.readings_processed = 0
        self.malformed = 0
        self.windows_closed = 0
        self.aggregates_sent = 0
        self.alerts_sent = 0
        # Windows (and the subscription) start at its first step: t = 0, or
        # its restart time after a scripted crash, as the Rust gateway's.
        self.started = False

    def step(self, now_us, inbox):
        outbox = []
        if not self.started:
            self.started = True
            self.window_end_us = now_us + self.window_us
            if self.subscribe is not None:
                topic, self.subscribe = self.subscribe, None
                outbox.append(Outgoing(PUBLISH, "$subscribe", topic.encode("utf-8")))
        for message in inbox:
            self.readings_received += 1
            self.pending.append((now_us + self.processing_delay_us, message))
        while True:
            # Process readings due before the window closes, then close it, in time order.
            due = self.pending[0][0] if self.pending else None
            if due is not None and due <= now_us and due < self.window_end_us:
                self._process(self.pending.popleft()[1], outbox)
            elif self.window_end_us <= now_us:
                self._close_window(outbox)
            else:
                break
        wake = self.window_end_us if not self.pending else min(self.pending[0][0], self.window_end_us)
        return StepOutput(outbox, wake)

    def finish(self):
        return [
            Metric("readings_received", self.readings_received),
            Metric("readings_processed", self.readings_processed),
            Metric("readings_malformed", self.malformed),
            Metric("readings_pending", len(self.pending)),
            Metric("windows_closed", self.windows_closed),
            Metric("aggregates_sent", self.aggregates_sent),
            Metric("alerts_sent", self.alerts_sent),
        ]

    def _process(self, message, outbox):
        try:
            p = decode(message.payload)
        except PayloadError:
            p = None
        value = p.number("temperature") if p is not None else None
        if value is None:
            self.malformed += 1
            return
        t_us = p.number("t_us")
        if t_us is None:
            t_us = 0.0
        self.readings_processed += 1
        w = self.window
        if w.count == 0:
            w.min, w.max = value, value
        else:
            w.min = f64_min(w.min, value)
            w.max = f64_max(w.max, value)
        w.count += 1
        w.sum += value
        w.newest_t_us = f64_max(w.newest_t_us, t_us)
        limit = self.alert_threshold
        if limit is not None and self.destination is not None and value > limit:
            self.alerts_sent += 1
            outbox.append(Outgoing(self.destination, "alert", encode([
                ("source", message.source),
                ("temperature", value),
                ("threshold", limit),
                ("t_us", t_us),
            ])))

    def _close_window(self, outbox):
        w, self.window = self.window, Window()
        start = self.window_end_us - self.window_us
        self.windows_closed += 1
        if self.destination is not None:
            self.aggregates_sent += 1
            if w.count == 0:
                mean = mn = mx = math.nan
            else:
                mean, mn, mx = w.sum / w.count, w.min, w.max
            outbox.append(Outgoing(self.destination, "aggregate", encode([
                ("window_start_us", float(start)),
                ("window_end_us", float(self.window_end_us)),
                ("count", float(w.count)),
                ("mean", mean),
                ("min", mn),
                ("max", mx),
                ("t_us", w.newest_t_us),
            ])))
        self.window_end_us += self.window_us
