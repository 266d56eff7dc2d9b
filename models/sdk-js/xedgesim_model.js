// Write an xedgesim node model in plain JavaScript; export it as a WASM
// component (world `node-model` of wit/node.wit). The JS counterpart of the
// Rust SDK (models/sdk, crate xedgesim-model).
//
// A model is a class:
//
//   class Counter {
//     constructor(nodeId, config) {         // config: Map key -> {tag, val}
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
//   export const model = exportModel(Counter, { outbox, sandbox, log });
//
// What the SDK hides, as the Rust SDK does:
//  - the packed inbox (header table + text bytes + payload bytes) becomes
//    Message objects; offsets count bytes, so bytes are sliced, then decoded;
//  - every export that runs node code calls sandbox.enter(i) before it and
//    sandbox.leave() after it (i = 0 in step/finish, the position in
//    step-batch);
//  - the step's outbox is sent with outbox.send while the node is entered;
//  - the two JS toolchains' bindings differ: componentize-js (jco) gives u64
//    as BigInt, componentize-qjs as Number. Models see Numbers (exact below
//    2^53 µs, 285 years) and the SDK converts back to the host's kind.
//
// Errors: throw ConfigError from the constructor (host: "rejected its
// config"), StepError from step (host: "returned an error"). Any other
// exception from a step is reported as that step's error too, prefixed
// "uncaught exception:" (JS has no trap to raise).

import { utf8Decode, utf8Encode } from "./payload.js";
export { encode, decode, Payload, PayloadError, formatF64, debugF64, utf8Encode, utf8Decode } from "./payload.js";
import { formatF64 } from "./payload.js";

/** Destination of a message published on its topic through the broker. */
export const PUBLISH = Symbol("publish");

export class ConfigError extends Error {}
export class StepError extends Error {}

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
  switch (v.tag) {
    case "boolean": return `${v.val}`;
    case "integer": return `${v.val}`;
    case "float": return formatF64(v.val);
    case "text": return `the text ${debugStr(v.val)}`;
    default: return `the list or map ${v.val}`;
  }
}

// Compares two strings by their UTF-8 bytes (the order of Rust's BTreeMap<String, _>).
function utf8Order(a, b) {
  const x = utf8Encode(a), y = utf8Encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** Typed reads of a config map, with the Rust SDK's ConfigReader messages. */
export class ConfigReader {
  constructor(config, known) {
    for (const key of [...config.keys()].sort(utf8Order)) {
      if (!known.includes(key)) {
        const takes = known.length ? `this model takes: ${known.join(", ")}` : "this model takes no config keys";
        throw new ConfigError(`unknown config key '${key}'; ${takes}`);
      }
    }
    this.config = config;
    this.known = known;
  }
  get(key) {
    if (!this.known.includes(key)) throw new Error(`read of undeclared key ${key}`);
    return this.config.get(key);
  }
  /** A number (integer or float). */
  f64(key, dflt) {
    const v = this.get(key);
    if (v === undefined) return dflt;
    if (v.tag === "float") return v.val;
    if (v.tag === "integer") return Number(v.val); // i64 -> f64 rounds to nearest, as `as f64`
    throw new ConfigError(`config key '${key}' must be a number; found ${describeValue(v)}`);
  }
  /** A whole non-negative number (as a Number: exact up to 2^53). */
  u64(key, dflt) {
    const v = this.get(key);
    if (v === undefined) return dflt;
    if (v.tag === "integer" && v.val >= 0n) return Number(v.val);
    throw new ConfigError(`config key '${key}' must be a whole number >= 0; found ${describeValue(v)}`);
  }
  /** Text, or undefined when absent. */
  text(key) {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (v.tag === "text") return v.val;
    throw new ConfigError(`config key '${key}' must be text; found ${describeValue(v)}`);
  }
  /** A number, or undefined when absent. */
  optionalF64(key) {
    return this.get(key) === undefined ? undefined : this.f64(key, 0);
  }
}

// --- the component side -----------------------------------------------------------

// `buf[start..start+len]` as Rust's `get(..).unwrap_or_default()`: empty when out of range.
function inRange(buf, start, len) {
  return start + len <= buf.length;
}

function unpack(inbox, me) {
  const { text, payloads } = inbox;
  const str = (start, len) => (inRange(text, start, len) ? utf8Decode(text, start, start + len) : "");
  return inbox.headers.map((h) => {
    const ok = inRange(payloads, h.payloadStart, h.payloadLen);
    return {
      source: str(h.sourceStart, h.sourceLen),
      destination: h.published ? PUBLISH : me,
      published: h.published,
      topic: str(h.topicStart, h.topicLen),
      payload: ok ? payloads.slice(h.payloadStart, h.payloadStart + h.payloadLen) : new Uint8Array(0),
      sentUs: Number(h.sentUs),
    };
  });
}

function witOutgoing(o) {
  return {
    destination: o.destination === PUBLISH ? { tag: "publish" } : { tag: "node", val: o.destination },
    topic: o.topic,
    payload: o.payload,
  };
}

function message(e) {
  return e instanceof Error ? e.message : String(e);
}

/**
 * A generator of doubles in [0, 1) (xoshiro128**), seeded with 128 bits
 * from `random.getRandomBytes` (WASI random: the node's own stream, from
 * the scenario's seed and the node's id). Bytes, not getRandomU64: a u64
 * arrives as a Number under componentize-qjs, which keeps only 53 bits. QuickJS's own Math.random is seeded
 * when the component is built: the same in every node and every run.
 */
function nodeRandom(random) {
  let bytes;
  try {
    bytes = random.getRandomBytes(16); // componentize-qjs: u64 as a Number
  } catch (_) {
    bytes = random.getRandomBytes(16n); // componentize-js: u64 as a BigInt
  }
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

/** Math.random outside any node's code: no node's stream to draw from. */
function noNodeRandom() {
  throw new Error("Math.random is per node: call it from a node's constructor, step or finish");
}

/**
 * Returns the value to export as interface `model`: { Node, stepBatch }.
 * `host` holds the imported interfaces, { outbox: {send}, sandbox: {enter,
 * leave}, random: {getRandomBytes} }, and taggedConstructorResult: true for
 * componentize-qjs (see Node's constructor).
 *
 * Each node's code sees a Math.random of its own, seeded from its WASI
 * random stream: per node, per seed, whatever shares its instance.
 */
export function exportModel(ModelClass, host) {
  const { outbox, sandbox, random } = host;
  Math.random = noNodeRandom;

  // Runs f() as call `call` of the current export (see `sandbox` in the WIT),
  // with `node`'s Math.random.
  function entered(call, node, f) {
    sandbox.enter(call);
    Math.random = node.random;
    try {
      return f();
    } finally {
      Math.random = noNodeRandom;
      sandbox.leave();
    }
  }

  class Node {
    constructor(id, config) {
      const cfg = new Map();
      for (const { key, value } of config) {
        // Integers as BigInt whatever the toolchain gives, so ConfigReader is one code.
        const val = value.tag === "integer" ? BigInt(value.val) : value.val;
        cfg.set(key, { tag: value.tag, val }); // a repeated key: the last wins
      }
      let error = null;
      // The constructor runs as its node (the host charges it to the node).
      this.random = nodeRandom(random);
      Math.random = this.random;
      try {
        this.model = new ModelClass(id, cfg);
      } catch (e) {
        error = e instanceof ConfigError ? e.message : `uncaught exception: ${message(e)}`;
      } finally {
        Math.random = noNodeRandom;
      }
      this.id = id;
      // The constructor returns result<node, string>. componentize-js takes
      // `throw` as the error; componentize-qjs (0.4.x) does not apply its
      // return/throw convention to constructors: it lowers the constructed
      // value itself, so a tagged result must be returned (a JS constructor
      // may return an object in place of `this`).
      if (host.taggedConstructorResult) return error === null ? { tag: "ok", val: this } : { tag: "err", val: error };
      if (error !== null) throw error;
    }

    // The node's step with its messages sent; runs while entered. Returns a
    // WIT result ({tag, val}), wakeAtUs in the host's integer kind.
    stepInner(nowUs, inbox) {
      const big = typeof nowUs === "bigint";
      let out;
      try {
        out = this.model.step(Number(nowUs), unpack(inbox, this.id));
        for (const m of out.outbox || []) outbox.send(witOutgoing(m));
      } catch (e) {
        const msg = e instanceof StepError ? e.message : `uncaught exception: ${message(e)}`;
        return { tag: "err", val: { message: msg } };
      }
      const w = out.wakeAtUs;
      return { tag: "ok", val: { wakeAtUs: w == null ? null : big ? BigInt(w) : w } };
    }

    step(nowUs, inbox) {
      const r = entered(0, this, () => this.stepInner(nowUs, inbox));
      if (r.tag === "err") throw r.val; // result<step-output, node-error>: throw the error
      return r.val;
    }

    finish() {
      return entered(0, this, () => this.model.finish()).map((m) => ({ name: m.name, value: Number(m.value) }));
    }
  }

  function stepBatch(calls) {
    return calls.map((c, i) => entered(i, c.node, () => c.node.stepInner(c.nowUs, c.inbox)));
  }

  return { Node, stepBatch };
}

/** Logs through the host (xedgesim:node/log) into the run's trace; call setLog first. */
let hostLog = null;
export function setLog(logInterface) {
  hostLog = logInterface.log;
}
export function log(level, msg) {
  hostLog(level, msg);
}
