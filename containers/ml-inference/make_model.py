#!/usr/bin/env python3
"""Writes model.onnx, the network the inference service runs.

A two-layer perceptron, 32 inputs -> 16 ReLU units -> 1 sigmoid unit:
input `features` [batch, 32] float32, output `probability` [batch, 1]
float32. Its weights come from a fixed seed through `random.Random.random`,
whose sequence Python keeps the same across versions, so the file is the
same bytes wherever it is made with the pinned `onnx` (which fixes the
protobuf encoding).

    pip install onnx==1.16.2 numpy==1.26.4 protobuf==5.29.5
    python3 make_model.py            # (re)writes model.onnx beside this file
    python3 make_model.py --check    # exit 1 if model.onnx is not what this makes
"""

import argparse
import hashlib
import os
import random
import struct
import sys
import tempfile

import onnx
from onnx import TensorProto, helper

ONNX_VERSION = "1.16.2"
SEED = 23
INPUTS = 32
HIDDEN = 16
# IR 8 and opset 13: loadable by every ONNX Runtime since 1.10.
IR_VERSION = 8
OPSET = 13
MODEL_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "model.onnx")


def uniform_floats(rng, count, bound):
    """`count` float32 values in [-bound, bound), packed little-endian."""
    values = [(2.0 * rng.random() - 1.0) * bound for _ in range(count)]
    return struct.pack("<%df" % count, *values)


def tensor(name, dims, raw):
    return helper.make_tensor(name, TensorProto.FLOAT, dims, raw, raw=True)


def build_model():
    rng = random.Random(SEED)
    # Bounds of 1/sqrt(fan_in) keep the sigmoid's input near 0, so the
    # output moves with the features rather than sitting at 0 or 1.
    w1 = tensor("hidden.weight", [INPUTS, HIDDEN], uniform_floats(rng, INPUTS * HIDDEN, INPUTS**-0.5))
    b1 = tensor("hidden.bias", [HIDDEN], uniform_floats(rng, HIDDEN, INPUTS**-0.5))
    w2 = tensor("out.weight", [HIDDEN, 1], uniform_floats(rng, HIDDEN, HIDDEN**-0.5))
    b2 = tensor("out.bias", [1], uniform_floats(rng, 1, HIDDEN**-0.5))
    nodes = [
        helper.make_node("Gemm", ["features", "hidden.weight", "hidden.bias"], ["hidden.pre"], name="hidden"),
        helper.make_node("Relu", ["hidden.pre"], ["hidden.act"], name="relu"),
        helper.make_node("Gemm", ["hidden.act", "out.weight", "out.bias"], ["logit"], name="out"),
        helper.make_node("Sigmoid", ["logit"], ["probability"], name="sigmoid"),
    ]
    graph = helper.make_graph(
        nodes,
        "xedgesim_ml_inference",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", INPUTS])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, ["batch", 1])],
        initializer=[w1, b1, w2, b2],
    )
    model = helper.make_model(
        graph,
        producer_name="xedgesim containers/ml-inference/make_model.py",
        producer_version="seed-%d" % SEED,
        ir_version=IR_VERSION,
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    onnx.checker.check_model(model)
    return model.SerializeToString(deterministic=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with model.onnx instead of writing it")
    args = parser.parse_args()
    if onnx.__version__ != ONNX_VERSION:
        print(
            "error: onnx %s is installed; this script pins onnx==%s (another version may encode other bytes)"
            % (onnx.__version__, ONNX_VERSION),
            file=sys.stderr,
        )
        return 2
    data = build_model()
    digest = hashlib.sha256(data).hexdigest()
    if args.check:
        try:
            with open(MODEL_FILE, "rb") as f:
                existing = f.read()
        except OSError as e:
            print("error: cannot read %s: %s" % (MODEL_FILE, e), file=sys.stderr)
            return 1
        if existing != data:
            print(
                "error: %s (sha256 %s) is not what this script makes (sha256 %s); run it without --check"
                % (MODEL_FILE, hashlib.sha256(existing).hexdigest(), digest),
                file=sys.stderr,
            )
            return 1
        print("%s: same bytes (%d, sha256 %s)" % (MODEL_FILE, len(data), digest))
        return 0
    # Written beside the target and renamed: never a half-written model.
    fd, tmp = tempfile.mkstemp(prefix=".model.", dir=os.path.dirname(MODEL_FILE))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, MODEL_FILE)
    except BaseException:
        os.unlink(tmp)
        raise
    print("%s: %d bytes, sha256 %s" % (MODEL_FILE, len(data), digest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
