#!/usr/bin/env python3
"""An edge ML inference service that speaks MQTT 3.1.1.

It loads an ONNX model, subscribes to `ml/inference/request` (QoS 0) and
answers each request with one publish on `ml/inference/result/<device_id>`:

    request: {"device_id": "s1", "timestamp_us": 1000, "features": [32 numbers]}
    answer:  {"device_id": "s1", "timestamp_us": 1000,
              "prediction": 0.53, "inference_time_ms": 0.07}

Environment: MQTT_BROKER_HOST (default localhost), MQTT_BROKER_PORT
(default 1883), MODEL_PATH (default /app/model.onnx), MQTT_CLIENT_ID
(default ml-inference-<host name>, so that several copies on one broker
do not take each other's session). Everything it logs goes to stdout, a line at a
time. A request it cannot use is a log line and no answer; SIGTERM or
SIGINT disconnects and exits 0.
"""

import json
import math
import os
import signal
import socket
import sys
import time

import numpy as np
import onnxruntime
import paho.mqtt.client as mqtt

REQUEST_TOPIC = "ml/inference/request"
RESULT_TOPIC_PREFIX = "ml/inference/result/"
KEEPALIVE_S = 60


def log(message):
    print(message, flush=True)


class BadRequest(Exception):
    """A request this service cannot answer; the message says why."""


class Stopped(BaseException):
    """Raised by the signal handler when there is no connection to close;
    not an Exception, so that no handler of a request's failure takes it."""


class Model:
    """One ONNX Runtime session on a single-input, single-output model."""

    def __init__(self, path):
        options = onnxruntime.SessionOptions()
        # One thread: the answer time then measures the model, not how
        # busy the machine's other cores are.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        inputs = self.session.get_inputs()
        outputs = self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError("%s: expected one input and one output, found %d and %d" % (path, len(inputs), len(outputs)))
        self.input_name = inputs[0].name
        self.output_name = outputs[0].name
        width = inputs[0].shape[-1] if inputs[0].shape else None
        self.width = width if isinstance(width, int) else None
        log("model %s: input %s %s, output %s %s" % (path, self.input_name, inputs[0].shape, self.output_name, outputs[0].shape))

    def predict(self, features):
        """The first output value for one feature vector, and the time taken in ms."""
        started = time.perf_counter()
        batch = np.asarray(features, dtype=np.float32).reshape(1, -1)
        output = self.session.run([self.output_name], {self.input_name: batch})[0]
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        return float(np.asarray(output).reshape(-1)[0]), elapsed_ms


def parse_request(payload, width):
    """(device_id, timestamp_us, features) of a request, or BadRequest."""
    try:
        request = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise BadRequest("not UTF-8 JSON: %s" % e)
    if not isinstance(request, dict):
        raise BadRequest("not a JSON object")
    device_id = request.get("device_id")
    if not isinstance(device_id, str) or not device_id:
        raise BadRequest("device_id must be a non-empty string")
    # The id is one level of the result topic.
    if any(c in device_id for c in "/+#\0"):
        raise BadRequest("device_id %r has a character not allowed in one topic level (/ + # or NUL)" % device_id)
    timestamp_us = request.get("timestamp_us")
    if not isinstance(timestamp_us, int) or isinstance(timestamp_us, bool):
        raise BadRequest("timestamp_us of %s must be an integer" % device_id)
    features = request.get("features")
    if not isinstance(features, list):
        raise BadRequest("features of %s must be a list of numbers" % device_id)
    for value in features:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BadRequest("features of %s must be finite numbers, found %r" % (device_id, value))
    if width is not None and len(features) != width:
        raise BadRequest("features of %s: %d values, the model takes %d" % (device_id, len(features), width))
    return device_id, timestamp_us, features


class Service:
    def __init__(self, model, host, port, client_id):
        self.model = model
        self.host = host
        self.port = port
        self.answered = 0
        self.refused = 0
        self.stopping = False
        self.client = mqtt.Client(client_id=client_id, clean_session=True, protocol=mqtt.MQTTv311)
        self.client.on_connect = self.on_connect
        self.client.on_disconnect = self.on_disconnect
        self.client.on_message = self.on_message
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)

    def on_connect(self, client, userdata, flags, rc):
        if rc != 0:
            log("connection to %s:%d refused: %s" % (self.host, self.port, mqtt.connack_string(rc)))
            return
        log("connected to %s:%d" % (self.host, self.port))
        # On every (re)connect: a clean session forgets subscriptions.
        client.subscribe(REQUEST_TOPIC, qos=0)
        log("subscribed to %s" % REQUEST_TOPIC)

    def on_disconnect(self, client, userdata, rc):
        if not self.stopping:
            log("disconnected from %s:%d (%s); reconnecting" % (self.host, self.port, mqtt.error_string(rc)))

    def on_message(self, client, userdata, message):
        # An exception escaping a callback would end paho's loop.
        try:
            device_id, timestamp_us, features = parse_request(message.payload, self.model.width)
            prediction, inference_time_ms = self.model.predict(features)
            answer = {
                "device_id": device_id,
                "timestamp_us": timestamp_us,
                "prediction": prediction,
                "inference_time_ms": inference_time_ms,
            }
            client.publish(RESULT_TOPIC_PREFIX + device_id, json.dumps(answer), qos=0)
            self.answered += 1
            log("%s at %d us: prediction %.4f in %.3f ms" % (device_id, timestamp_us, prediction, inference_time_ms))
        except BadRequest as e:
            self.refused += 1
            log("request on %s refused: %s" % (message.topic, e))
        except Exception as e:  # noqa: BLE001 - any failure is one request's, never the service's
            self.refused += 1
            log("request on %s failed: %s: %s" % (message.topic, type(e).__name__, e))

    def stop(self, signum, frame):
        self.stopping = True
        if self.client.is_connected():
            log("signal %d: disconnecting" % signum)
            self.client.disconnect()
        else:
            # A connect attempt to a host that is gone blocks for seconds;
            # with no session to close, leave at once.
            log("signal %d: not connected, stopping" % signum)
            raise Stopped()

    def run(self):
        log("connecting to %s:%d" % (self.host, self.port))
        self.client.connect_async(self.host, self.port, keepalive=KEEPALIVE_S)
        # Retries the first connection too, so the broker may start later.
        try:
            self.client.loop_forever(retry_first_connection=True)
        except Stopped:
            pass
        log("stopped: %d answered, %d refused" % (self.answered, self.refused))


def main():
    host = os.environ.get("MQTT_BROKER_HOST", "localhost")
    port_text = os.environ.get("MQTT_BROKER_PORT", "1883")
    model_path = os.environ.get("MODEL_PATH", "/app/model.onnx")
    client_id = os.environ.get("MQTT_CLIENT_ID") or "ml-inference-" + socket.gethostname()
    try:
        port = int(port_text)
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        log("error: MQTT_BROKER_PORT=%r is not a TCP port (1-65535)" % port_text)
        return 2
    try:
        model = Model(model_path)
    except Exception as e:  # noqa: BLE001 - ONNX Runtime raises its own types
        log("error: cannot load the model %s: %s" % (model_path, e))
        return 1
    service = Service(model, host, port, client_id)
    # As PID 1 in a container, a signal without a handler is ignored.
    signal.signal(signal.SIGTERM, service.stop)
    signal.signal(signal.SIGINT, service.stop)
    service.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
