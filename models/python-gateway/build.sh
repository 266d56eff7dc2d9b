#!/bin/sh
# Builds a Python model into a component: `build.sh MODEL_DIR OUT.wasm`.
#
# MODEL_DIR holds the model's modules, its entry being model.py
# (componentize-py names it after the WIT interface `model`; see
# ../python-gateway). The toolchain is componentize-py 0.25.1, found on
# PATH or as $COMPONENTIZE_PY (`pip install componentize-py==0.25.1`).
# This SDK's package, xedgesim_model, is put on the model's path.
set -eu
sdk="$(cd "$(dirname "$0")" && pwd)"
model="$(cd "${1:?usage: build.sh MODEL_DIR OUT.wasm}" && pwd)"
out="$(cd "$(dirname "${2:?usage: build.sh MODEL_DIR OUT.wasm}")" && pwd)/$(basename "$2")"
tool="${COMPONENTIZE_PY:-componentize-py}"
if ! command -v "$tool" >/dev/null 2>&1; then
  echo "error: componentize-py is not installed; run \`pip install componentize-py==0.25.1\`" >&2
  exit 1
fi
tmp="$(mktemp "$out.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
"$tool" -d "$sdk/wit" -w node-model componentize model -p "$model" -p "$sdk" -o "$tmp" >&2
chmod 644 "$tmp"
mv "$tmp" "$out"
