// The SDK's own tests, under plain Node.js: `node test_sdk.js` in this
// folder (tests/tests/languages.rs runs them in CI). A model's tests use
// the harness the same way (see ../js-gateway/test.js); this is
// ./test_sdk.py's test in JavaScript.
import assert from "node:assert/strict";
import test from "node:test";
import { ConfigError, ConfigReader, Json, PUBLISH, StepError, log, metric, outgoing } from "./xedgesim_model.js";
import { TestNode, message, reading, readingAt } from "./testing.js";

// Sends each message back to its source, asks to wake 1 s later, and
// keeps what it read of the clock and Math.random.
class Echo {
  constructor(id, config) {
    const c = new ConfigReader(config, ["every", "label", "raw"]);
    this.every = c.u64("every", 1);
    this.label = c.text("label");
    this.raw = config.raw;
    this.draw = Math.random();
    this.clock = Date.now();
    log("debug", `made ${id}`);
    this.seen = 0;
  }
  step(nowUs, inbox) {
    if (inbox.some((m) => m.topic === "fail")) throw new StepError("asked to fail");
    this.seen += inbox.length;
    this.clock = [Date.now(), new Date().getTime()];
    log("info", `${inbox.length} at ${nowUs}`);
    const out = inbox.map((m) => outgoing(m.source, "echo", m.payload));
    out.push(outgoing(PUBLISH, "seen", `${this.seen}`));
    return { outbox: out, wakeAtUs: nowUs + 1_000_000 };
  }
  finish() {
    return [metric("seen", this.seen)];
  }
}

const text = (bytes) => new TextDecoder().decode(bytes);

test("steps with the step time and keeps what it sent and logged", () => {
  const node = new TestNode(Echo, "echo", { every: 2, label: "x", raw: new Json("[1,2]") });
  assert.deepEqual([node.model.every, node.model.label, `${node.model.raw}`], [2, "x", "[1,2]"]);
  assert.equal(node.model.clock, 0, "the constructor runs at t = 0");
  assert.deepEqual(node.constructorLogs, [{ timeUs: 0, level: "debug", message: "made echo" }]);
  const step = node.step(2_500_000, [reading("s1", 21.5), message("s2", "raw", "hi")]);
  assert.deepEqual(node.model.clock, [2500, 2500]);
  assert.equal(step.wakeAtUs, 3_500_000);
  assert.deepEqual(step.sentTo("s2").map((m) => text(m.payload)), ["hi"]);
  assert.equal(step.payloadsTo("s1")[0].number("temperature"), 21.5);
  assert.deepEqual(step.published("seen").map((m) => text(m.payload)), ["2"]);
  assert.deepEqual(step.logs, [{ timeUs: 2_500_000, level: "info", message: "2 at 2500000" }]);
  assert.equal(text(node.wake(3_500_000).published("seen")[0].payload), "2");
  assert.equal(node.finish().get("seen"), 2);
  assert.equal(node.finish().get("absent"), undefined);
});

test("the clock and Math.random are given back after each call", () => {
  const [random, date] = [Math.random, Date];
  new TestNode(Echo, "echo").step(10, []);
  assert.equal(Math.random, random);
  assert.equal(Date, date);
});

test("random draws follow the seed", () => {
  const a = new TestNode(Echo, "a", {}, { seed: 1 }).model.draw;
  assert.equal(new TestNode(Echo, "b", {}, { seed: 1 }).model.draw, a);
  assert.notEqual(new TestNode(Echo, "a", {}, { seed: 2 }).model.draw, a);
});

test("messages are addressed to the node", () => {
  class Keep extends Echo {
    step(_nowUs, inbox) {
      this.inbox = inbox;
      return { outbox: [], wakeAtUs: null };
    }
  }
  const node = new TestNode(Keep, "me");
  assert.equal(node.step(0, [readingAt("s1", 7, 3, 20)]).wakeAtUs, null);
  const m = node.model.inbox[0];
  assert.deepEqual([m.source, m.destination, m.topic, m.sentUs, m.published], ["s1", "me", "reading", 7, false]);
  assert.equal(text(m.payload), '{"temperature":20,"unit":"C","sample_id":3,"t_us":7}');
});

test("the config is typed as the host gives it", () => {
  class Config {
    constructor(_id, config) {
      this.config = config;
    }
  }
  const config = new TestNode(Config, "c", { n: 3, x: 2.5, big: 2n ** 60n, b: true, s: "t" }).model.config;
  assert.deepEqual({ ...config }, { n: 3n, x: 2.5, big: 2n ** 60n, b: true, s: "t" });
  assert.equal(Object.getPrototypeOf(config), null, "a key such as __proto__ is an ordinary key");
});

test("errors are thrown as the model throws them", () => {
  const refused = (config, message) => assert.throws(() => new TestNode(Echo, "echo", config), { name: "Error", message });
  refused({ evry: 1 }, "unknown config key 'evry'; this model takes: every, label, raw");
  refused({ every: 2.5 }, "config key 'every' must be a whole number >= 0; found 2.5");
  refused({ every: -1 }, "config key 'every' must be a whole number >= 0; found -1");
  refused({ label: new Json("[1]") }, "config key 'label' must be text; found the list or map [1]");
  refused({ label: 3 }, "config key 'label' must be text; found 3");
  assert.throws(() => new TestNode(Echo, "echo", { every: "2" }), ConfigError);
  const node = new TestNode(Echo, "echo");
  assert.throws(() => node.step(5, [message("s1", "fail", "")]), StepError);
  assert.throws(() => node.step(4, []), { message: "step at 4 µs is before the previous one at 5 µs" });
});
