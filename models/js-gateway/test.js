// The gateway's own tests, under plain Node.js with the SDK's harness:
// `node test.js` in this folder (tests/tests/languages.rs runs them in CI;
// ../python-gateway/test_gateway.py is the same test in Python).
import assert from "node:assert/strict";
import test from "node:test";
import { TestNode, message, readingAt } from "./testing.js";
import { Gateway } from "./gateway.js";

const text = (bytes) => new TextDecoder().decode(bytes);

test("alerts at once and aggregates each window", () => {
  const node = new TestNode(Gateway, "gw", { window_s: 1, destination: "cloud", alert_threshold: 30.0 });
  assert.equal(node.step(0, []).wakeAtUs, 1_000_000);
  let step = node.step(500_000, [readingAt("s1", 499_000, 1, 20.0), readingAt("s2", 498_000, 1, 31.5)]);
  assert.deepEqual([step.outbox, step.wakeAtUs], [[], 500_100], "processed 100 µs after arrival");
  step = node.wake(500_100);
  assert.deepEqual(step.sentTo("cloud").map((m) => text(m.payload)), [
    '{"source":"s2","temperature":31.5,"threshold":30,"t_us":498000}',
  ]);
  step = node.wake(1_000_000);
  assert.deepEqual(step.sentTo("cloud").map((m) => [m.topic, text(m.payload)]), [
    ["aggregate", '{"window_start_us":0,"window_end_us":1000000,"count":2,"mean":25.75,"min":20,"max":31.5,"t_us":499000}'],
  ]);
  assert.equal(step.wakeAtUs, 2_000_000);
  node.step(1_200_000, [message("s1", "reading", "not json")]);
  node.wake(1_200_100);
  const metrics = node.finish();
  const names = ["readings_received", "readings_processed", "readings_malformed", "windows_closed", "aggregates_sent", "alerts_sent"];
  assert.deepEqual(names.map((m) => metrics.get(m)), [3, 2, 1, 1, 1, 1]);
});

test("subscribes at its first step", () => {
  const node = new TestNode(Gateway, "gw", { subscribe: "sensors/#" });
  assert.deepEqual(node.step(3_000_000, []).published("$subscribe").map((m) => text(m.payload)), ["sensors/#"]);
  assert.deepEqual(node.wake(8_000_000).outbox, [], "no destination: windows close unsent");
});

test("a bad config is refused naming the key", () => {
  for (const [config, message] of [
    [{ window_s: "5" }, "config key 'window_s' must be a number; found the text \"5\""],
    [{ window_s: 0 }, "config key 'window_s' must be > 0; found 0"],
    [{ processing_delay_us: 2.5 }, "config key 'processing_delay_us' must be a whole number >= 0; found 2.5"],
    [
      { destinaton: "cloud" },
      "unknown config key 'destinaton'; this model takes: window_s, processing_delay_us, destination, alert_threshold, subscribe",
    ],
  ]) {
    assert.throws(() => new TestNode(Gateway, "gw", config), { message });
  }
});
