// The payload format of the built-in models: one flat JSON object of numbers
// and strings, e.g. {"temperature":20.5,"unit":"C","sample_id":1}.
//
// A byte-for-byte port of models/sdk/src/payload.rs. JSON.stringify and
// JSON.parse are not used on purpose: they format numbers differently
// (1e+21, and no "-0"), escape differently and accept other inputs, and
// traces must equal the Rust SDK's. No TextEncoder/TextDecoder either:
// QuickJS has none, so UTF-8 is done here (utf8Encode/utf8Decode).
//
//   encode([[key, value], ...]) -> Uint8Array   value: number or string;
//                                               non-finite numbers -> null
//   decode(bytes) -> Payload (a Map: key -> number | string), or throws
//                    PayloadError; null decodes to NaN, like Rust's.

export class PayloadError extends Error {}

// --- UTF-8 ------------------------------------------------------------------

/** Encodes a JS string as UTF-8 (lone surrogates -> U+FFFD, as TextEncoder). */
export function utf8Encode(s) {
  const out = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

/**
 * Decodes UTF-8 bytes b[start, end). With fatal, returns null on any invalid
 * sequence (Rust's str::from_utf8); else replaces each maximal invalid
 * subpart with U+FFFD (Rust's String::from_utf8_lossy, WHATWG's decoder).
 */
export function utf8Decode(b, start = 0, end = b.length, fatal = false) {
  let s = "";
  let i = start;
  while (i < end) {
    const c = b[i];
    if (c < 0x80) {
      s += String.fromCharCode(c);
      i++;
      continue;
    }
    let need, lo = 0x80, hi = 0xbf, cp;
    if (c >= 0xc2 && c <= 0xdf) { need = 1; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2; cp = c & 0x0f;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3; cp = c & 0x07;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else {
      if (fatal) return null;
      s += "\ufffd";
      i++;
      continue;
    }
    let j = i + 1, ok = true;
    for (let k = 0; k < need; k++, j++) {
      const d = j < end ? b[j] : -1;
      if (d < lo || d > hi) { ok = false; break; }
      cp = (cp << 6) | (d & 0x3f);
      lo = 0x80; hi = 0xbf;
    }
    if (!ok) {
      if (fatal) return null;
      s += "\ufffd"; // the valid prefix [i, j) is one replacement
      i = j;
      continue;
    }
    s += String.fromCodePoint(cp);
    i = j;
  }
  return s;
}

// --- f64 formatting, as Rust's `{}` (Display) and `{:?}` (Debug) --------------

// Shortest round-trip digits of |x| (finite, non-zero) as [digits, scale] with
// |x| = digits * 10^scale. Number.prototype.toString and Rust both pick the
// shortest digits that round-trip, closest to the exact value; only the
// layout differs, and that is redone here.
function shortestDigits(x) {
  let r = String(Math.abs(x)); // "20.5", "1e+21", "1.5e-7"
  let exp = 0;
  const e = r.indexOf("e");
  if (e >= 0) {
    exp = parseInt(r.slice(e + 1), 10);
    r = r.slice(0, e);
  }
  const dot = r.indexOf(".");
  const intPart = dot >= 0 ? r.slice(0, dot) : r;
  const fracPart = dot >= 0 ? r.slice(dot + 1) : "";
  const digits = (intPart + fracPart).replace(/^0+/, "");
  const stripped = digits.replace(/0+$/, "");
  return [stripped, exp - fracPart.length + (digits.length - stripped.length)];
}

/** Rust's format!("{}", x) for an f64: never an exponent, integers without ".0". */
export function formatF64(x) {
  if (Number.isNaN(x)) return "NaN";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (!Number.isFinite(x)) return sign + "inf";
  if (x === 0) return sign + "0";
  const [digits, scale] = shortestDigits(x);
  if (scale >= 0) return sign + digits + "0".repeat(scale);
  const point = digits.length + scale;
  if (point > 0) return sign + digits.slice(0, point) + "." + digits.slice(point);
  return sign + "0." + "0".repeat(-point) + digits;
}

/** Rust's format!("{:?}", x) for an f64 ("1.0", "1e16", "1.5e-7"). */
export function debugF64(x) {
  if (Number.isNaN(x)) return "NaN";
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (!Number.isFinite(x)) return sign + "inf";
  if (x === 0) return sign + "0.0";
  const a = Math.abs(x);
  if (a >= 1e-4 && a < 1e16) {
    const s = formatF64(x);
    return s.includes(".") ? s : s + ".0";
  }
  const [digits, scale] = shortestDigits(x);
  const mant = digits[0] + (digits.length > 1 ? "." + digits.slice(1) : "");
  return sign + mant + "e" + (digits.length - 1 + scale);
}

// --- encode -----------------------------------------------------------------

function pushString(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (c < 0x20) out += "\\u" + c.toString(16).padStart(4, "0");
    else out += ch;
  }
  return out + '"';
}

/** Encodes [[key, value], ...], in order, as a flat JSON object (UTF-8 bytes). */
export function encode(fields) {
  let out = "{";
  fields.forEach(([key, value], i) => {
    if (i > 0) out += ",";
    out += pushString(key) + ":";
    if (typeof value === "string") out += pushString(value);
    else if (typeof value === "number") out += Number.isFinite(value) ? formatF64(value) : "null";
    else throw new TypeError(`payload field ${key}: ${typeof value} is not a payload value`);
  });
  return utf8Encode(out + "}");
}

// --- decode -----------------------------------------------------------------

/** A decoded payload: key -> number | string. */
export class Payload extends Map {
  /** The number under key, or undefined when absent or text. */
  number(key) {
    const v = this.get(key);
    return typeof v === "number" ? v : undefined;
  }
  /** The text under key, or undefined when absent or a number. */
  text(key) {
    const v = this.get(key);
    return typeof v === "string" ? v : undefined;
  }
}

const isWs = (b) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0c; // u8::is_ascii_whitespace
const isNumberByte = (b) => (b >= 0x30 && b <= 0x39) || b === 0x2b || b === 0x2d || b === 0x2e || b === 0x65 || b === 0x45;
// Rust's f64 grammar over the bytes [0-9+-.eE] (Number("") would be 0: refuse it).
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const HEX = /^\+?[0-9a-fA-F]+$/; // u32::from_str_radix(_, 16) takes a leading '+'

class Parser {
  constructor(s) {
    this.s = s;
    this.i = 0;
  }
  skipWs() {
    while (this.i < this.s.length && isWs(this.s[this.i])) this.i++;
  }
  peek() {
    this.skipWs();
    return this.i < this.s.length ? this.s[this.i] : undefined;
  }
  eat(b) {
    const hit = this.peek() === b;
    if (hit) this.i++;
    return hit;
  }
  eatWord(word) {
    this.skipWs();
    for (let k = 0; k < word.length; k++) if (this.s[this.i + k] !== word.charCodeAt(k)) return false;
    this.i += word.length;
    return true;
  }
  expect(b) {
    if (!this.eat(b)) throw new PayloadError(`expected '${String.fromCharCode(b)}' at offset ${this.i} of payload`);
  }
  string() {
    this.expect(0x22);
    const s = this.s;
    let out = "";
    for (;;) {
      if (this.i >= s.length) throw new PayloadError("unterminated string in payload");
      const c = s[this.i++];
      if (c === 0x22) return out;
      if (c === 0x5c) {
        if (this.i >= s.length) throw new PayloadError("unterminated escape in payload");
        const e = s[this.i++];
        if (e === 0x75) { // 'u'
          if (this.i + 4 > s.length) throw new PayloadError("short \\u escape");
          const hex = utf8Decode(s, this.i, this.i + 4, true);
          if (hex === null || !HEX.test(hex)) throw new PayloadError("invalid digit found in string");
          const code = parseInt(hex, 16);
          out += code >= 0xd800 && code <= 0xdfff ? "\ufffd" : String.fromCharCode(code);
          this.i += 4;
        } else if (e === 0x6e) out += "\n";
        else if (e === 0x74) out += "\t";
        else out += String.fromCharCode(e); // Rust pushes the byte as a char: `\r` -> 'r'
      } else {
        // Copy one whole UTF-8 sequence.
        const start = this.i - 1;
        const len = c <= 0x7f ? 1 : c >= 0xc0 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : 4;
        const end = Math.min(start + len, s.length);
        const ch = utf8Decode(s, start, end, true);
        if (ch === null) throw new PayloadError("invalid utf-8 sequence in payload");
        out += ch;
        this.i = end;
      }
    }
  }
  number() {
    this.skipWs();
    const start = this.i;
    while (this.i < this.s.length && isNumberByte(this.s[this.i])) this.i++;
    let text = "";
    for (let k = start; k < this.i; k++) text += String.fromCharCode(this.s[k]);
    if (!NUMBER.test(text)) throw new PayloadError(`expected a number at offset ${start} of payload`);
    return Number(text);
  }
}

/** Decodes a flat JSON object of numbers and strings into a Payload. */
export function decode(bytes) {
  const s = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
  if (utf8Decode(s, 0, s.length, true) === null) throw new PayloadError("payload is not UTF-8");
  const p = new Parser(s);
  const fields = new Payload();
  p.expect(0x7b);
  if (!p.eat(0x7d)) {
    for (;;) {
      const key = p.string();
      p.expect(0x3a);
      let value;
      if (p.peek() === 0x22) value = p.string();
      else if (p.eatWord("null")) value = NaN;
      else value = p.number();
      fields.set(key, value); // a repeated key: the last wins, as in Rust's BTreeMap
      if (p.eat(0x7d)) break;
      p.expect(0x2c);
    }
  }
  p.skipWs();
  if (p.i !== s.length) throw new PayloadError(`trailing bytes in payload at offset ${p.i}`);
  return fields;
}
