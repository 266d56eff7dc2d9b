// The model's own tests, under plain Node.js: `node test.js`. TestNode, the
// SDK's test harness (as in Rust and Python), steps the model in-process,
// with the step's time as its clock, and keeps what it sent, logged and
// reported. Its config is a plain object, as a scenario's `config:` is.
import assert from "node:assert/strict";
import test from "node:test";
import { TestNode, reading } from "./testing.js";
import { {{type}} } from "./{{module}}.js";

test("forwards readings above the threshold", () => {
  const node = new TestNode({{type}}, "{{id}}", { threshold: 25, destination: "cloud" });
  const step = node.step(1_000_000, [reading("sensor1", 30.5), reading("sensor2", 20)]);
  assert.equal(step.payloadsTo("cloud")[0].number("temperature"), 30.5);
  assert.equal(step.sentTo("cloud").length, 1);
  assert.equal(node.finish().get("forwarded"), 1);
});

test("refuses a threshold that is not a number", () => {
  assert.throws(() => new TestNode({{type}}, "{{id}}", { threshold: "abc", destination: "cloud" }), {
    message: "config key 'threshold' must be a number; found the text \"abc\"",
  });
});
