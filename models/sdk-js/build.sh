#!/bin/sh
# Builds a JavaScript model into a component: `build.sh MODEL_DIR OUT.wasm`.
#
# MODEL_DIR holds the model's modules, its entry being model.js (see
# ../js-gateway). The toolchain is componentize-qjs (QuickJS), pinned in
# package-lock.json here: run `npm ci` in this folder once. It takes one
# folder of modules, so this SDK's modules are staged beside the model's:
# a model imports them as ./xedgesim_model.js. `--sync`: the host runs
# the synchronous ABI.
set -eu
sdk="$(cd "$(dirname "$0")" && pwd)"
model="$(cd "${1:?usage: build.sh MODEL_DIR OUT.wasm}" && pwd)"
out="$(cd "$(dirname "${2:?usage: build.sh MODEL_DIR OUT.wasm}")" && pwd)/$(basename "$2")"
tool="$sdk/node_modules/.bin/componentize-qjs"
if [ ! -x "$tool" ]; then
  echo "error: componentize-qjs is not installed; run \`npm ci --prefix $sdk\` (Node.js 20+ and npm)" >&2
  exit 1
fi
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$sdk"/xedgesim_model.js "$sdk"/payload.js "$sdk"/guest.js "$stage"/
# Then the model's modules, over them: a folder `xedgesim new` made holds
# its own copy of the SDK (one cp of both would refuse the same name twice).
cp "$model"/*.js "$stage"/
"$tool" --wit "$sdk/wit" --world node-model --js "$stage/model.js" --sync -o "$stage/out.wasm" >&2
mv "$stage/out.wasm" "$out"
