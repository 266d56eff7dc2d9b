// A test harness: run a model in-process in a test, without the host or a
// component. The JavaScript port of the Rust SDK's `testing` module:
//
//   import { TestNode, reading } from "./testing.js";
//
//   const node = new TestNode(Counter, "counter", {});
//   const step = node.step(1_000_000, [reading("s1", 21.5)]);
//   assert.deepEqual(step.outbox, []);
//   assert.equal(node.finish().get("seen"), 1);
//
// The config is a plain object as a scenario's `config:` map gives it: a
// whole Number is an integer (a BigInt to the model, as YAML's `25` is),
// any other Number a float; BigInts, booleans, strings and Json values are
// passed as they are. Time and randomness are virtual here too: while the
// model's code runs, Date.now() and `new Date()` read the step's time, as
// the host's clock does (the Unix epoch at t = 0), and Math.random draws
// from a generator of the node's own, seeded by `seed` (0 by default; not
// the stream the host would give the node in a scenario, which is derived
// from the scenario's seed and the node's id). What the node logs with
// log() is kept, per call, in step.logs.

import { LOG_LEVELS, PUBLISH, seededRandom, setLog } from "./xedgesim_model.js";
import { decode, encode, utf8Encode } from "./payload.js";

/** What one step did: its outbox (in order), wakeAtUs (or null), and logs. */
export class Step {
  constructor(outbox, wakeAtUs, logs) {
    this.outbox = outbox;
    this.wakeAtUs = wakeAtUs;
    this.logs = logs;
  }
  /** The messages sent to node `id`. */
  sentTo(id) {
    return this.outbox.filter((m) => m.destination !== PUBLISH && m.destination === id);
  }
  /** The messages published on `topic`. */
  published(topic) {
    return this.outbox.filter((m) => m.destination === PUBLISH && m.topic === topic);
  }
  /** The payloads of the messages sent to `id`, decoded as the built-in
   * models' flat JSON (see payload.js); throws PayloadError on one that is not. */
  payloadsTo(id) {
    return this.sentTo(id).map((m) => decode(m.payload));
  }
}

/** A node's final metrics: an Array of {name, value}. */
export class Metrics extends Array {
  /** The value of the metric `name`, or undefined if the node did not report it. */
  get(name) {
    return this.find((m) => m.name === name)?.value;
  }
}

/** A config as the host gives it (see above). */
function hostConfig(config) {
  const out = Object.create(null);
  for (const [key, value] of Object.entries(config)) {
    out[key] = typeof value === "number" && Number.isSafeInteger(value) ? BigInt(value) : value;
  }
  return out;
}

/** A seed (a Number or BigInt) as the generator's 16 bytes, little-endian. */
function seedBytes(seed) {
  const bytes = new Uint8Array(16);
  let n = BigInt.asUintN(64, BigInt(seed));
  for (let i = 0; i < 8; i++, n >>= 8n) bytes[i] = Number(n & 0xffn);
  return bytes;
}

/** `Date` reading `nowUs` when asked for the current time. */
function virtualDate(RealDate, nowUs) {
  const nowMs = Math.floor(nowUs / 1000);
  return class Date extends RealDate {
    constructor(...args) {
      super(...(args.length === 0 ? [nowMs] : args));
    }
    static now() {
      return nowMs;
    }
  };
}

/**
 * One node of `ModelClass` (made as `new ModelClass(id, config)`, its
 * constructor running at t = 0), stepped by the test. A bad config throws
 * what the constructor throws (ConfigError); a failed step throws what the
 * step throws (StepError).
 */
export class TestNode {
  constructor(ModelClass, id, config = {}, { seed = 0 } = {}) {
    this.id = id;
    this.nowUs = 0;
    this.random = seededRandom(seedBytes(seed));
    this.logs = [];
    this.model = this.entered(0, () => new ModelClass(id, hostConfig(config)));
    /** What the constructor logged. */
    this.constructorLogs = this.takeLogs();
  }

  /** Steps the node at `nowUs` with `inbox` (messages addressed to a node are
   * readdressed to this one) and returns a Step. Time must not go backwards. */
  step(nowUs, inbox) {
    if (nowUs < this.nowUs) throw new Error(`step at ${nowUs} µs is before the previous one at ${this.nowUs} µs`);
    this.nowUs = nowUs;
    const readdressed = inbox.map((m) => (m.destination === PUBLISH ? m : { ...m, destination: this.id }));
    let out;
    try {
      out = this.entered(nowUs, () => this.model.step(nowUs, readdressed));
    } catch (e) {
      this.takeLogs();
      throw e;
    }
    return new Step([...(out.outbox || [])], out.wakeAtUs ?? null, this.takeLogs());
  }

  /** Steps the node at `nowUs` with no messages, as a wake-up. */
  wake(nowUs) {
    return this.step(nowUs, []);
  }

  /** The node's final metrics, as Metrics. */
  finish() {
    const metrics = this.entered(this.nowUs, () => this.model.finish());
    this.takeLogs();
    return Metrics.from(metrics.map((m) => ({ name: m.name, value: Number(m.value) })));
  }

  // Runs f() as this node at `nowUs`: its clock, its Math.random, its log.
  entered(nowUs, f) {
    const saved = { random: Math.random, Date: globalThis.Date };
    const savedLog = setLog({
      log: (level, message) => {
        if (!LOG_LEVELS.includes(level)) throw new Error(`log level ${level} is not one of ${LOG_LEVELS.join(", ")}`);
        this.logs.push({ timeUs: nowUs, level, message });
      },
    });
    Math.random = this.random;
    globalThis.Date = virtualDate(saved.Date, nowUs);
    try {
      return f();
    } finally {
      Math.random = saved.random;
      globalThis.Date = saved.Date;
      setLog(savedLog);
    }
  }

  takeLogs() {
    const logs = this.logs;
    this.logs = [];
    return logs;
  }
}

/** A message from `source` with `topic` and `payload` (a Uint8Array, or a
 * string as UTF-8), sent at 0. */
export function message(source, topic, payload) {
  const bytes = typeof payload === "string" ? utf8Encode(payload) : payload;
  return { source, destination: "", published: false, topic, payload: bytes, sentUs: 0 };
}

/** A reading as the built-in sensor sends it (topic `reading`, payload
 * {"temperature":…,"unit":"C","sample_id":1,"t_us":0}). */
export function reading(source, temperature) {
  return readingAt(source, 0, 1, temperature);
}

/** A reading sampled at `tUs` (also its send time), numbered `sampleId`. */
export function readingAt(source, tUs, sampleId, temperature) {
  const payload = encode([
    ["temperature", temperature],
    ["unit", "C"],
    ["sample_id", sampleId],
    ["t_us", tUs],
  ]);
  return { ...message(source, "reading", payload), sentUs: tUs };
}
