// Write an xedgesim node model in plain JavaScript; export it as a WASM
// component (world `node-model` of wit/node.wit). The JS counterpart of the
// Rust SDK (models/sdk, crate xedgesim-model).
//
// A model is a class:
//
//   class Counter {
//     constructor(nodeId, config) {         // config: key -> boolean | BigInt | number | string | Json
//       new ConfigReader(config, []);       // rejects unknown keys, naming them
//       this.seen = 0;
//     }
//     step(nowUs, inbox) {                  // inbox: Array of Message
//       this.seen += inbox.length;
//       return { outbox: [], wakeAtUs: null }; // no messages, no wake-up
//     }
//     finish() { return [metric("seen", this.seen)]; }
//   }
//
// and the entry module exports it (see model.js):
//
//   export const model = exportModel(Counter);   // exportModel from ./guest.js
//
// The SDK's modules are the Rust SDK's, by the same names:
//  - xedgesim_model.js: the model API (this module: PUBLISH, outgoing,
//    metric, ConfigReader, log);
//  - payload.js: the built-in models' payloads, byte for byte;
//  - testing.js: a test harness that steps a model in-process (TestNode);
//  - guest.js: the component side (exportModel), the only module that
//    imports the component's interfaces.
// All but guest.js run under plain Node.js, so a model and its tests do too.
//
// A model's config is a plain object, key -> value, of the kinds of the
// Rust SDK's ConfigValue: a boolean, an integer as a BigInt (exact, as
// Rust's i64), a float as a number, a string, or a Json (a list or map, as
// its JSON text). Read it through ConfigReader, whose errors name the key
// and whose numbers are Numbers.
//
// Errors: throw ConfigError from the constructor (host: "rejected its
// config"), StepError from step (host: "returned an error"). Any other
// exception from a step is reported as that step's error too, prefixed
// "uncaught exception:" (JS has no trap to raise).

import { utf8Encode } from "./payload.js";
export { encode, decode, Payload, PayloadError, formatF64, debugF64, utf8Encode, utf8Decode } from "./payload.js";
import { formatF64 } from "./payload.js";

/** Destination of a message published on its topic through the broker. */
export const PUBLISH = Symbol("publish");

export class ConfigError extends Error {}
export class StepError extends Error {}

/** A config value that was a list or map in the scenario: its JSON text. */
export class Json extends String {}

/** A message to send: to a node id, or PUBLISH. payload: Uint8Array or string (UTF-8). */
export function outgoing(destination, topic, payload) {
  return { destination, topic, payload: typeof payload === "string" ? utf8Encode(payload) : payload };
}

/** A named number reported at the end of a run. */
export function metric(name, value) {
  return { name, value: Number(value) };
}

// --- config -------------------------------------------------------------------

// Rust's {:?} of a str: exact for ASCII; other control and format characters
// are escaped as \u{..} too (Rust's printable tables are not reproduced).
function debugStr(s) {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\0") out += "\\0";
    else if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0xd800 && c <= 0xdfff)) out += "\\u{" + c.toString(16) + "}";
    else out += ch;
  }
  return out + '"';
}

/** A config value as the Rust SDK's error messages quote it (its ConfigValue
 * Display): 3, 2.5, true, the text "x", the list or map [1]. */
export function describeValue(v) {
  if (v instanceof Json) return `the list or map ${v}`;
  switch (typeof v) {
    case "boolean":
    case "bigint":
      return `${v}`;
    case "number":
      return formatF64(v);
    default:
      return `the text ${debugStr(String(v))}`;
  }
}

// Compares two strings by their UTF-8 bytes (the order of Rust's BTreeMap<String, _>).
function utf8Order(a, b) {
  const x = utf8Encode(a), y = utf8Encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

const own = (object, key) => Object.prototype.hasOwnProperty.call(object, key);

/** Typed reads of a config object, with the Rust SDK's ConfigReader messages. */
export class ConfigReader {
  constructor(config, known) {
    for (const key of Object.keys(config).sort(utf8Order)) {
      if (!known.includes(key)) {
        const takes = known.length ? `this model takes: ${known.join(", ")}` : "this model takes no config keys";
        throw new ConfigError(`unknown config key '${key}'; ${takes}`);
      }
    }
    this.config = config;
    this.known = known;
  }
  /** The value under key as the host gave it, or undefined when absent. */
  get(key) {
    if (!this.known.includes(key)) throw new Error(`read of undeclared key ${key}`);
    return own(this.config, key) ? this.config[key] : undefined;
  }
  /** A number (integer or float). */
  f64(key, dflt) {
    const v = this.get(key);
    if (v === undefined) return dflt;
    if (typeof v === "number") return v;
    if (typeof v === "bigint") return Number(v); // i64 -> f64 rounds to nearest, as `as f64`
    throw new ConfigError(`config key '${key}' must be a number; found ${describeValue(v)}`);
  }
  /** A whole non-negative number (as a Number: exact up to 2^53). */
  u64(key, dflt) {
    const v = this.get(key);
    if (v === undefined) return dflt;
    if (typeof v === "bigint" && v >= 0n) return Number(v);
    throw new ConfigError(`config key '${key}' must be a whole number >= 0; found ${describeValue(v)}`);
  }
  /** Text, or undefined when absent. */
  text(key) {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (typeof v === "string") return v;
    throw new ConfigError(`config key '${key}' must be text; found ${describeValue(v)}`);
  }
  /** A number, or undefined when absent. */
  optionalF64(key) {
    return this.get(key) === undefined ? undefined : this.f64(key, 0);
  }
}

// --- randomness -------------------------------------------------------------------

/**
 * A generator of doubles in [0, 1) (xoshiro128**), seeded with 16 bytes: what
 * Math.random is while a node's code runs (guest.js seeds it from the node's
 * WASI random stream, testing.js from the test's seed).
 */
export function seededRandom(bytes) {
  const s = new Uint32Array(4);
  for (let i = 0; i < 16; i++) s[i >> 2] |= bytes[i] << (8 * (i & 3));
  if ((s[0] | s[1] | s[2] | s[3]) === 0) s[0] = 1; // the one state it must not have
  const next = () => {
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  };
  // 53 random bits, as Math.random gives.
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
}

function rotl(x, k) {
  return (x << k) | (x >>> (32 - k));
}

// --- logging -----------------------------------------------------------------------

/** The log levels, least first. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error"];

let hostLog = null;

/** Where log() sends its lines: the host's log interface (guest.js), or a
 * TestNode's list while its model runs (testing.js). Returns the previous one. */
export function setLog(logInterface) {
  const previous = hostLog;
  hostLog = logInterface;
  return previous;
}

/** Logs through the host (xedgesim:node/log) into the run's trace. level is
 * one of "trace", "debug", "info", "warn", "error". In a TestNode, the line
 * is kept for the test to read. */
export function log(level, msg) {
  hostLog.log(level, msg);
}
