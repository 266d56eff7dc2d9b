"""The payload format of the built-in models: one flat JSON object of numbers
and strings, e.g. ``{"temperature":20.5,"unit":"C","sample_id":1}``.

A byte-for-byte port of ``models/sdk/src/payload.rs``. Python's ``json``
module is not used on purpose: it formats floats differently (``1e+21``,
``20.0``), escapes differently and accepts other inputs, and traces must be
identical to the Rust SDK's.

* ``encode(fields)`` takes ``[(key, value), ...]`` in order; a value is a
  ``float``/``int`` (a number) or a ``str`` (text). Non-finite numbers are
  written as ``null``.
* ``decode(data)`` returns a :class:`Payload` or raises
  :class:`PayloadError`; ``null`` decodes to NaN, like Rust's.
"""

import math

__all__ = ["encode", "decode", "Payload", "PayloadError", "format_f64", "debug_f64"]


class PayloadError(ValueError):
    """A payload that is not a flat JSON object of numbers and strings."""


# --- f64 formatting, as Rust's `{}` (Display) and `{:?}` (Debug) ---------

def _shortest_digits(x):
    """Shortest round-trip decimal digits of ``abs(x)`` (finite, non-zero).

    Returns ``(digits, scale)`` with ``abs(x) == int(digits) * 10**scale``,
    no leading or trailing zeros in ``digits``. Python's ``repr`` and Rust's
    formatter both pick the shortest string that round-trips, and the one
    closest to the exact value among those, so the digits are the same;
    only the layout (exponent or not) differs, and that is redone here.
    """
    r = repr(abs(x))  # e.g. '20.5', '1e+21', '1.5e-07', '1.0'
    exp = 0
    if "e" in r:
        r, e = r.split("e")
        exp = int(e)
    int_part, _, frac_part = r.partition(".")
    digits = (int_part + frac_part).lstrip("0")
    scale = exp - len(frac_part)
    stripped = digits.rstrip("0")
    scale += len(digits) - len(stripped)
    return stripped, scale


def format_f64(x):
    """``format!("{}", x)`` for an f64: shortest round-trip digits, never an
    exponent, integers without ``.0`` (``1e21`` -> ``1000000000000000000000``,
    ``1e-7`` -> ``0.0000001``, ``-0.0`` -> ``-0``)."""
    if math.isnan(x):
        return "NaN"
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    if math.isinf(x):
        return sign + "inf"
    if x == 0:
        return sign + "0"
    digits, scale = _shortest_digits(x)
    if scale >= 0:
        return sign + digits + "0" * scale
    point = len(digits) + scale  # digits before the decimal point
    if point > 0:
        return sign + digits[:point] + "." + digits[point:]
    return sign + "0." + "0" * (-point) + digits


def debug_f64(x):
    """``format!("{:?}", x)`` for an f64 (used in config error messages):
    like Display but with ``.0`` on integers, and in exponent form (``1e16``,
    ``1.5e-7``) below 1e-4 or from 1e16 up."""
    if math.isnan(x):
        return "NaN"
    sign = "-" if math.copysign(1.0, x) < 0 else ""
    if math.isinf(x):
        return sign + "inf"
    if x == 0:
        return sign + "0.0"
    if 1e-4 <= abs(x) < 1e16:
        s = format_f64(x)
        return s if "." in s else s + ".0"
    digits, scale = _shortest_digits(x)
    exp = len(digits) - 1 + scale
    mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return sign + mant + "e" + str(exp)


# --- encode ---------------------------------------------------------------

def _push_string(out, s):
    out.append('"')
    for c in s:
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif ord(c) < 0x20:
            out.append("\\u%04x" % ord(c))
        else:
            out.append(c)
    out.append('"')


def encode(fields):
    """Encodes ``[(key, value), ...]``, in order, as a flat JSON object (bytes)."""
    out = ["{"]
    for i, (key, value) in enumerate(fields):
        if i > 0:
            out.append(",")
        _push_string(out, key)
        out.append(":")
        if isinstance(value, str):
            _push_string(out, value)
        elif isinstance(value, bool):  # bool is an int in Python: refuse it
            raise TypeError("payload field %r: bool is not a payload value" % key)
        else:
            v = float(value)
            out.append(format_f64(v) if math.isfinite(v) else "null")
    out.append("}")
    return "".join(out).encode("utf-8")


# --- decode ---------------------------------------------------------------

class Payload(dict):
    """A decoded payload: a dict of key -> float or str."""

    def number(self, key):
        """The number under ``key``, or None when absent or text."""
        v = self.get(key)
        return v if isinstance(v, float) else None

    def text(self, key):
        """The text under ``key``, or None when absent or a number."""
        v = self.get(key)
        return v if isinstance(v, str) else None


_WS = b" \t\n\r\x0c"  # Rust's u8::is_ascii_whitespace
_NUMBER_BYTES = b"0123456789+-.eE"


class _Parser:
    def __init__(self, s):
        self.s = s
        self.i = 0

    def skip_ws(self):
        while self.i < len(self.s) and self.s[self.i] in _WS:
            self.i += 1

    def peek(self):
        self.skip_ws()
        return self.s[self.i] if self.i < len(self.s) else None

    def eat(self, b):
        hit = self.peek() == b
        if hit:
            self.i += 1
        return hit

    def eat_word(self, word):
        self.skip_ws()
        hit = self.s.startswith(word, self.i)
        if hit:
            self.i += len(word)
        return hit

    def expect(self, b):
        if not self.eat(b):
            raise PayloadError("expected '%s' at offset %d of payload" % (chr(b), self.i))

    def string(self):
        self.expect(ord('"'))
        out = []
        s = self.s
        while True:
            if self.i >= len(s):
                raise PayloadError("unterminated string in payload")
            c = s[self.i]
            self.i += 1
            if c == 0x22:  # '"'
                return "".join(out)
            if c == 0x5C:  # '\\'
                if self.i >= len(s):
                    raise PayloadError("unterminated escape in payload")
                e = s[self.i]
                self.i += 1
                if e == ord("u"):
                    hex_bytes = s[self.i:self.i + 4]
                    if len(hex_bytes) < 4:
                        raise PayloadError("short \\u escape")
                    out.append(_rust_hex_char(hex_bytes))
                    self.i += 4
                elif e == ord("n"):
                    out.append("\n")
                elif e == ord("t"):
                    out.append("\t")
                else:
                    # Rust pushes the escaped byte as a char (`\r` -> 'r').
                    out.append(chr(e))
            else:
                # Copy one whole UTF-8 sequence (the payload is valid UTF-8).
                start = self.i - 1
                n = 1 if c <= 0x7F else 2 if 0xC0 <= c <= 0xDF else 3 if 0xE0 <= c <= 0xEF else 4
                end = min(start + n, len(s))
                try:
                    out.append(s[start:end].decode("utf-8"))
                except UnicodeDecodeError as err:
                    raise PayloadError(str(err)) from None
                self.i = end

    def number(self):
        self.skip_ws()
        start = self.i
        while self.i < len(self.s) and self.s[self.i] in _NUMBER_BYTES:
            self.i += 1
        text = self.s[start:self.i].decode("ascii")
        # Rust's f64 grammar over these bytes equals Python's float() grammar
        # (sign, digits, '.', exponent); both reject '', '.', 'e5', '1e'.
        try:
            return float(text)
        except ValueError:
            raise PayloadError("expected a number at offset %d of payload" % start) from None


def _rust_hex_char(hex_bytes):
    """``\\uXXXX`` as Rust's decoder reads it: u32::from_str_radix(_, 16)
    (which takes a leading '+'), a surrogate or bad code becomes U+FFFD."""
    try:
        text = hex_bytes.decode("utf-8")
    except UnicodeDecodeError as err:
        raise PayloadError(str(err)) from None
    body = text[1:] if text.startswith("+") else text
    if not body or any(ch not in "0123456789abcdefABCDEF" for ch in body):
        raise PayloadError("invalid digit found in string")
    code = int(body, 16)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return chr(code)


def decode(data):
    """Decodes a flat JSON object of numbers and strings into a :class:`Payload`."""
    data = bytes(data)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadError("payload is not UTF-8") from None
    p = _Parser(data)
    fields = Payload()
    p.expect(ord("{"))
    if not p.eat(ord("}")):
        while True:
            key = p.string()
            p.expect(ord(":"))
            if p.peek() == ord('"'):
                value = p.string()
            elif p.eat_word(b"null"):
                value = math.nan
            else:
                value = p.number()
            fields[key] = value  # a repeated key: the last one wins, as in Rust
            if p.eat(ord("}")):
                break
            p.expect(ord(","))
    p.skip_ws()
    if p.i != len(data):
        raise PayloadError("trailing bytes in payload at offset %d" % p.i)
    return fields
