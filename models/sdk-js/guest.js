// The component side of the JavaScript SDK: adapts a model class to the
// interfaces the component imports and exports (world `node-model` of
// wit/node.wit). The port of models/sdk/src/guest.rs. Only a component
// build has the imported modules (build.sh stages this file beside the
// model's), so the rest of the SDK stays importable by plain Node.js, for
// a model's own tests.
//
// A model's entry module, model.js, is then two imports and one line:
//
//   import { exportModel } from "./guest.js";
//   import { Gateway } from "./gateway.js";
//   export const model = exportModel(Gateway);
//
// What it hides, as the Rust SDK does:
//  - the config list becomes a plain object (see xedgesim_model.js);
//  - the packed inbox (header table + text bytes + payload bytes) becomes
//    Message objects; offsets count bytes, so bytes are sliced, then decoded;
//  - every export that runs node code calls sandbox.enter(i) before it and
//    sandbox.leave() after it (i = 0 in step/finish, the position in
//    step-batch);
//  - the step's outbox is sent with outbox.send while the node is entered;
//  - the two JS toolchains' bindings differ: componentize-js (jco) gives u64
//    as BigInt, componentize-qjs as Number. Models see Numbers (exact below
//    2^53 µs, 285 years) and the SDK converts back to the host's kind.

import * as outboxNs from "xedgesim:node/outbox@0.2.0";
import * as sandboxNs from "xedgesim:node/sandbox@0.2.0";
import * as logNs from "xedgesim:node/log@0.2.0";
import * as randomNs from "wasi:random/random@0.2.12";
import { ConfigError, Json, PUBLISH, StepError, seededRandom, setLog, utf8Decode } from "./xedgesim_model.js";

// componentize-qjs gives each imported interface as a default export (and
// named ones); componentize-js only named ones. That tells them apart.
const qjs = outboxNs.default !== undefined;
const iface = (ns) => (qjs ? ns.default : ns);

setLog(iface(logNs));

/** The value to export as interface `model` for the model class `ModelClass`. */
export function exportModel(ModelClass) {
  return bind(ModelClass, {
    outbox: iface(outboxNs),
    sandbox: iface(sandboxNs),
    random: iface(randomNs),
    taggedConstructorResult: qjs,
  });
}

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

/** A WIT config-value as the plain value a model sees. */
function configValue(value) {
  switch (value.tag) {
    // Integers as BigInt whatever the toolchain gives: exact, and told apart from floats.
    case "integer":
      return BigInt(value.val);
    case "json":
      return new Json(value.val);
    default:
      return value.val; // boolean, float (a number), text (a string)
  }
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
 * The node's Math.random, seeded with 128 bits from `random.getRandomBytes`
 * (WASI random: the node's own stream, from the scenario's seed and the
 * node's id). Bytes, not getRandomU64: a u64 arrives as a Number under
 * componentize-qjs, which keeps only 53 bits. QuickJS's own Math.random is
 * seeded when the component is built: the same in every node and every run.
 */
function nodeRandom(random) {
  let bytes;
  try {
    bytes = random.getRandomBytes(16); // componentize-qjs: u64 as a Number
  } catch (_) {
    bytes = random.getRandomBytes(16n); // componentize-js: u64 as a BigInt
  }
  return seededRandom(bytes);
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
function bind(ModelClass, host) {
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
      // No prototype: a key such as `__proto__` is an ordinary key.
      const cfg = Object.create(null);
      for (const { key, value } of config) cfg[key] = configValue(value); // a repeated key: the last wins
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
