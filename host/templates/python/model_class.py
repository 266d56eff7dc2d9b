"""{{id}}: forwards each reading above `threshold` to `destination` and
counts what it saw. Made by `xedgesim new model {{id}} --lang python`;
make it yours."""

from xedgesim_model import ConfigError, ConfigReader, Metric, Outgoing, StepOutput, decode, log


class {{type}}:
    def __init__(self, node_id, config):
        c = ConfigReader(config, ["threshold", "destination"])
        self.threshold = c.f64("threshold", 25.0)
        self.destination = c.text("destination")
        if self.destination is None:
            raise ConfigError("config key 'destination' is required: the node forwarded readings go to")
        self.seen = 0
        self.forwarded = 0

    def step(self, now_us, inbox):
        outbox = []
        for message in inbox:
            self.seen += 1
            try:
                temperature = decode(message.payload).number("temperature")
            except ValueError:
                temperature = None
            if temperature is None:
                log("warn", "a message from %s has no temperature" % message.source)
                continue
            if temperature > self.threshold:
                self.forwarded += 1
                outbox.append(Outgoing(self.destination, message.topic, message.payload))
        # No wake-up asked: the node runs again when a message arrives.
        return StepOutput(outbox=outbox)

    def finish(self):
        return [Metric("seen", self.seen), Metric("forwarded", self.forwarded)]
