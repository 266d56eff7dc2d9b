"""Write an xedgesim node model in plain Python; export it as a WASM
component with componentize-py.

The Python counterpart of the Rust SDK (``models/sdk``, crate
``xedgesim-model``). A model is a class::

    class Counter(NodeModel):
        def __init__(self, node_id, config):
            ConfigReader(config, [])        # rejects unknown keys, naming them
            self.seen = 0
        def step(self, now_us, inbox):       # inbox: list of Message
            self.seen += len(inbox)
            return StepOutput()              # no messages, no wake-up
        def finish(self):
            return [Metric("seen", self.seen)]

and the component's entry module (componentize-py wants it named ``model``,
after the WIT interface ``model``) exports it::

    from xedgesim_model.guest import export_model
    Model, Node = export_model(Counter)

Errors: raise :class:`ConfigError` from ``__init__`` (the host reports
"rejected its config") and :class:`StepError` from ``step`` (the host reports
"returned an error"). Any other exception traps, like a Rust panic.

Times are Python ints of microseconds. Use ``time`` and ``random`` freely:
inside the host both are virtual (simulation clock, seeded per node).

The package's modules are the Rust SDK's, by the same names:

* ``xedgesim_model``: the model API (these types, :class:`ConfigReader`,
  :func:`log`);
* ``xedgesim_model.payload``: the built-in models' payloads, byte for byte;
* ``xedgesim_model.testing``: a test harness that steps a model in-process
  (:class:`~xedgesim_model.testing.TestNode`);
* ``xedgesim_model.guest``: the component side (:func:`export_model`), the
  only module that imports the generated bindings.

A model's config is a dict, key -> ``bool``, ``int``, ``float``, ``str`` or
:class:`Json` (a list or map, as JSON text): the kinds of the Rust SDK's
``ConfigValue``. Read it through :class:`ConfigReader`, whose errors name
the key.

Everything but ``guest`` runs under a plain CPython, so a model and its
tests do too.
"""

from .payload import debug_f64, decode, encode, format_f64, Payload, PayloadError  # noqa: F401

__all__ = [
    "NodeModel", "Message", "Outgoing", "StepOutput", "Metric", "Json",
    "ConfigReader", "ConfigError", "StepError", "PUBLISH", "log", "LOG_LEVELS",
    "encode", "decode", "Payload", "PayloadError",
]


class _Publish:
    """The address of a published message (``address::publish``)."""

    def __repr__(self):
        return "PUBLISH"


#: Destination of a message published on its topic through the broker.
PUBLISH = _Publish()


class ConfigError(Exception):
    """A bad ``config:`` map; the message should name the key."""


class StepError(Exception):
    """A step that failed in a way the model can explain (``node-error``)."""


class Json(str):
    """A config value that was a list or map in the scenario: its JSON text."""


class Message:
    """A message delivered to a node.

    ``destination`` is :data:`PUBLISH` when it came through the broker on its
    topic (then ``published`` is True), else this node's id.
    """

    __slots__ = ("source", "destination", "topic", "payload", "sent_us")

    def __init__(self, source, destination, topic, payload, sent_us):
        self.source = source        # str: sender's node id
        self.destination = destination
        self.topic = topic          # str
        self.payload = payload      # bytes
        self.sent_us = sent_us      # int: virtual send time

    @property
    def published(self):
        return self.destination is PUBLISH

    def __eq__(self, other):
        return isinstance(other, Message) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __repr__(self):
        return "Message(%r -> %r, %r, %r, sent_us=%d)" % (
            self.source, self.destination, self.topic, self.payload, self.sent_us)


class Outgoing:
    """A message to send: ``destination`` is a node id (str) or :data:`PUBLISH`."""

    __slots__ = ("destination", "topic", "payload")

    def __init__(self, destination, topic, payload):
        self.destination = destination
        self.topic = topic
        self.payload = bytes(payload)

    def __eq__(self, other):
        return isinstance(other, Outgoing) and all(getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __repr__(self):
        return "Outgoing(%r, %r, %r)" % (self.destination, self.topic, self.payload)


class StepOutput:
    """What a step produced: messages to send, in order, and when to wake
    (an int of µs, or None: only when a message arrives)."""

    __slots__ = ("outbox", "wake_at_us")

    def __init__(self, outbox=None, wake_at_us=None):
        self.outbox = [] if outbox is None else outbox
        self.wake_at_us = wake_at_us


class Metric:
    """A named number reported at the end of a run."""

    __slots__ = ("name", "value")

    def __init__(self, name, value):
        self.name = name
        self.value = float(value)

    def __eq__(self, other):
        return isinstance(other, Metric) and (self.name, self.value) == (other.name, other.value)

    def __repr__(self):
        return "Metric(%r, %r)" % (self.name, self.value)


class NodeModel:
    """Base class of a model (optional: any class with these methods works)."""

    def __init__(self, node_id, config):
        """``config`` is a dict: key -> bool | int | float | str | Json."""

    def step(self, now_us, inbox):
        """Runs the node at ``now_us`` with the list of :class:`Message` that
        arrived since its last step; returns a :class:`StepOutput`."""
        return StepOutput()

    def finish(self):
        """Returns the final list of :class:`Metric`."""
        return []


# --- config ----------------------------------------------------------------

def _debug_str(s):
    """Rust's ``{:?}`` of a str (exact for ASCII; other non-printable
    characters are escaped by Unicode category, close to Rust's tables)."""
    out = ['"']
    for c in s:
        o = ord(c)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif c == "\0":
            out.append("\\0")
        elif o < 0x20 or o == 0x7F or (o >= 0x80 and _nonprintable(c)):
            out.append("\\u{%x}" % o)
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _nonprintable(c):
    try:
        import unicodedata
    except ImportError:  # pragma: no cover
        return False
    cat = unicodedata.category(c)
    return cat in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Mn", "Me")


def describe_value(v):
    """A config value as the Rust SDK's error messages quote it (its
    ``ConfigValue`` Display): ``3``, ``2.5``, ``true``, ``the text "x"``,
    ``the list or map [1]``."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return "%d" % v
    if isinstance(v, float):
        return format_f64(v)
    if isinstance(v, Json):
        return "the list or map %s" % v
    return "the text %s" % _debug_str(v)


def _utf8_key(k):
    return k.encode("utf-8")


class ConfigReader:
    """Typed reads of a config map, rejecting unknown keys and wrong types
    with the same messages as the Rust SDK's ``ConfigReader``."""

    def __init__(self, config, known):
        # Rust iterates a BTreeMap: keys in byte order, first unknown reported.
        for key in sorted(config, key=_utf8_key):
            if key not in known:
                takes = ("this model takes: " + ", ".join(known)) if known else "this model takes no config keys"
                raise ConfigError("unknown config key '%s'; %s" % (key, takes))
        self.config = config
        self.known = list(known)

    def _get(self, key):
        assert key in self.known, "read of undeclared key " + key
        return self.config.get(key)

    def f64(self, key, default):
        """A number (integer or float)."""
        v = self._get(key)
        if v is None:
            return float(default)
        if isinstance(v, float):
            return v
        if isinstance(v, int) and not isinstance(v, bool):
            return float(v)
        raise ConfigError("config key '%s' must be a number; found %s" % (key, describe_value(v)))

    def u64(self, key, default):
        """A whole non-negative number."""
        v = self._get(key)
        if v is None:
            return default
        if isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            return v
        raise ConfigError("config key '%s' must be a whole number >= 0; found %s" % (key, describe_value(v)))

    def text(self, key):
        """Text, or None when absent."""
        v = self._get(key)
        if v is None:
            return None
        if isinstance(v, str) and not isinstance(v, Json):
            return v
        raise ConfigError("config key '%s' must be text; found %s" % (key, describe_value(v)))

    def optional_f64(self, key):
        """A number, or None when absent."""
        return None if self._get(key) is None else self.f64(key, 0.0)


# --- logging -----------------------------------------------------------------

#: The log levels, least first.
LOG_LEVELS = ("trace", "debug", "info", "warn", "error")

# Where log() sends a line outside a component: a testing.TestNode's list
# while its model runs (see testing.py), else None.
_log_sink = None


def log(level, message):
    """Logs through the host (``xedgesim:node/log``) into the run's trace.
    ``level`` is one of "trace", "debug", "info", "warn", "error". In a
    :class:`~xedgesim_model.testing.TestNode`, the line is kept for the
    test to read."""
    if _log_sink is not None:
        _log_sink(level, message)
        return
    from .guest import host_log  # only inside a component
    host_log(level, message)
