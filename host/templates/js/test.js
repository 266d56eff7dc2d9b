// The model's own tests, under plain Node.js: `node test.js`.
import assert from "node:assert/strict";
import { encode } from "./xedgesim_model.js";
import { {{type}} } from "./{{module}}.js";

// A config as the host gives it: each value tagged with its kind.
const config = new Map([
  ["threshold", { tag: "float", val: 25 }],
  ["destination", { tag: "text", val: "cloud" }],
]);

// A reading as the built-in sensor sends it (see docs/models.md).
function reading(source, temperature) {
  const payload = encode([["temperature", temperature], ["unit", "C"], ["sample_id", 1], ["t_us", 0]]);
  return { source, destination: "{{id}}", published: false, topic: "reading", payload, sentUs: 0 };
}

const node = new {{type}}("{{id}}", config);
const out = node.step(1_000_000, [reading("sensor1", 30.5), reading("sensor2", 20)]);
assert.deepEqual(out.outbox.map((m) => m.destination), ["cloud"]);
assert.equal(node.finish().find((m) => m.name === "forwarded").value, 1);
console.log("ok: forwards readings above the threshold");
