#!/bin/sh
# Copies each SDK into the repository's model folders that carry one, as
# `xedgesim new` writes it into a new model's folder: the Python SDK into
# python-gateway/, the JavaScript SDK into js-gateway/, each with its WIT.
# Run it after editing models/sdk-python, models/sdk-js or wit/; the test
# languages::the_gateway_folders_carry_the_sdk_xedgesim_new_writes fails
# until the copies match.
set -eu
models="$(cd "$(dirname "$0")" && pwd)"
copy() {
  # $1: the SDK's folder, $2: the model's folder, then the SDK's entries.
  sdk="$1"
  model="$2"
  shift 2
  for entry in "$@"; do
    rm -rf "${model:?}/$entry"
    # -L: the SDK's wit/ is a link to the workspace's; the copy is real files.
    cp -RL "$sdk/$entry" "$model/$entry"
  done
  find "$model" -name __pycache__ -prune -exec rm -rf {} +
}
copy "$models/sdk-python" "$models/python-gateway" xedgesim_model build.sh wit
copy "$models/sdk-js" "$models/js-gateway" \
  xedgesim_model.js payload.js guest.js testing.js build.sh package.json package-lock.json wit
