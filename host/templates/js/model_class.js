// {{id}}: forwards each reading above `threshold` to `destination` and
// counts what it saw. Made by `xedgesim new model {{id}} --lang js`; make
// it yours.
import { ConfigError, ConfigReader, decode, log, metric, outgoing } from "./xedgesim_model.js";

export class {{type}} {
  constructor(_id, config) {
    const c = new ConfigReader(config, ["threshold", "destination"]);
    this.threshold = c.f64("threshold", 25);
    this.destination = c.text("destination");
    if (this.destination === undefined) {
      throw new ConfigError("config key 'destination' is required: the node forwarded readings go to");
    }
    this.seen = 0;
    this.forwarded = 0;
  }

  step(_nowUs, inbox) {
    const outbox = [];
    for (const message of inbox) {
      this.seen += 1;
      let temperature;
      try {
        temperature = decode(message.payload).number("temperature");
      } catch {
        temperature = undefined;
      }
      if (temperature === undefined || temperature === null) {
        log("warn", `a message from ${message.source} has no temperature`);
        continue;
      }
      if (temperature > this.threshold) {
        this.forwarded += 1;
        outbox.push(outgoing(this.destination, message.topic, message.payload));
      }
    }
    // No wake-up asked: the node runs again when a message arrives.
    return { outbox, wakeAtUs: null };
  }

  finish() {
    return [metric("seen", this.seen), metric("forwarded", this.forwarded)];
  }
}
