"""The component side: adapts a model class to the bindings componentize-py
generates for ``wit/node.wit`` (world ``node-model``). The Python port of
``models/sdk/src/guest.rs``.

componentize-py looks up the exports in the entry module by name: class
``Model`` (the ``model`` interface's free function ``step-batch``) and class
``Node`` (its ``node`` resource). :func:`export_model` makes both::

    Model, Node = export_model(MyModel)      # in module `model`

What it hides, as the Rust SDK does:

* the packed inbox (header table + text bytes + payload bytes) is unpacked
  into :class:`~xedgesim_model.Message` objects; offsets count bytes, so the
  bytes are sliced before they are decoded;
* every export that runs node code calls ``sandbox.enter(i)`` before and
  ``sandbox.leave()`` after it (``i`` = 0 in ``step``/``finish``, the call's
  position in ``step-batch``), flushing stdout/stderr before ``leave`` so
  that a half-written line is charged to the node that wrote it;
* the step's outbox is sent with ``outbox.send`` while the node is entered;
* the ``random`` module is per node: CPython seeds its one generator once
  per instance, so nodes sharing an instance would draw from one stream
  (packing would change results). Each node gets a generator seeded from
  its own WASI stream (``os.urandom``: per node, per seed), swapped in while
  its code runs.
"""

import os
import random
import sys

from componentize_py_types import Err, Ok
from wit_world.imports import log as wit_log
from wit_world.imports import outbox as wit_outbox
from wit_world.imports import sandbox
from wit_world.imports import types as wit

from . import PUBLISH, ConfigError, Json, Message, StepError

__all__ = ["export_model", "host_log"]

_LEVELS = {
    "trace": wit_log.Level.TRACE,
    "debug": wit_log.Level.DEBUG,
    "info": wit_log.Level.INFO,
    "warn": wit_log.Level.WARN,
    "error": wit_log.Level.ERROR,
}


def host_log(level, message):
    wit_log.log(_LEVELS[level], message)


def _config_value(v):
    """A WIT ``config-value`` as a plain Python value."""
    if isinstance(v, wit.ConfigValue_Json):
        return Json(v.value)
    return v.value  # bool, int, float or str


def _slice(buf, start, length):
    """``buf[start..start+len]``, or empty when out of range (as in Rust)."""
    end = start + length
    return buf[start:end] if end <= len(buf) else b""


def _unpack(inbox, me):
    """Unpacks an inbox into a list of Message addressed to ``me``."""
    text, payloads = inbox.text, inbox.payloads
    messages = []
    for h in inbox.headers:
        messages.append(Message(
            # Rust uses String::from_utf8_lossy; 'replace' gives the same U+FFFDs.
            source=_slice(text, h.source_start, h.source_len).decode("utf-8", "replace"),
            destination=PUBLISH if h.published else me,
            topic=_slice(text, h.topic_start, h.topic_len).decode("utf-8", "replace"),
            payload=bytes(_slice(payloads, h.payload_start, h.payload_len)),
            sent_us=h.sent_us,
        ))
    return messages


def _outgoing(o):
    dest = wit.Address_Publish() if o.destination is PUBLISH else wit.Address_Node(o.destination)
    return wit.Outgoing(destination=dest, topic=o.topic, payload=bytes(o.payload))


def _flush():
    # What the node printed without a newline is still in this instance's
    # buffers: hand it over while the node is the one running.
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:  # a closed stream must not fault the node
        pass


class _NodeRandom:
    """One node's state of the ``random`` module's generator."""

    __slots__ = ("state",)

    def __init__(self):
        # Runs as the node: os.urandom draws from the node's own stream.
        self.state = random.Random(int.from_bytes(os.urandom(32), "little")).getstate()

    def swap_in(self):
        random.setstate(self.state)

    def swap_out(self):
        self.state = random.getstate()


def _entered(call, node, f, *args):
    """Runs ``f(*args)`` as call ``call`` of the current export (see the
    ``sandbox`` interface) with ``node``'s random state: the host charges
    its fuel, randomness, log lines and messages to that call's node."""
    sandbox.enter(call)
    node._random.swap_in()
    try:
        return f(*args)
    finally:
        node._random.swap_out()
        _flush()
        sandbox.leave()


def export_model(model_class):
    """Returns ``(Model, Node)``: the classes componentize-py exports, for
    the model class ``model_class`` (constructed as ``model_class(id, config)``)."""

    class Node:
        """The ``node`` resource: one model instance and its node id."""

        def __init__(self, id, config):
            cfg = {}
            for entry in config:  # a repeated key: the last wins (as a BTreeMap)
                cfg[entry.key] = _config_value(entry.value)
            self._random = _NodeRandom()
            self._random.swap_in()
            try:
                self._model = model_class(id, cfg)
            except ConfigError as e:
                raise Err(str(e))
            finally:
                self._random.swap_out()
            self._id = id

        def _step(self, now_us, inbox):
            """The node's step, with its messages sent; runs while entered."""
            try:
                out = self._model.step(now_us, _unpack(inbox, self._id))
            except StepError as e:
                return Err(wit.NodeError(message=str(e)))
            for message in out.outbox:
                wit_outbox.send(_outgoing(message))
            return Ok(wit.StepOutput(wake_at_us=out.wake_at_us))

        def step(self, now_us, inbox):
            r = _entered(0, self, self._step, now_us, inbox)
            if isinstance(r, Err):
                raise r
            return r.value

        def finish(self):
            metrics = _entered(0, self, self._model.finish)
            return [wit.Metric(name=m.name, value=float(m.value)) for m in metrics]

    class Model:
        """The ``model`` interface: ``step-batch`` steps each call's node in
        order, entering call ``i`` for the ``i``-th."""

        def step_batch(self, calls):
            return [_entered(i, c.node, c.node._step, c.now_us, c.inbox) for i, c in enumerate(calls)]

    return Model, Node
