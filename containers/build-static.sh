#!/bin/sh
# Builds workspace package $1's binary $2 as a static Linux executable and
# puts it in ./bin/ of the current folder: the image's build context. Named
# as `docker.build_command` in scenarios, so `xedgesim build` and `run`
# compile it; nobody copies binaries by hand. A separate target folder
# keeps it off the lock of a cargo build or test that may be running.
set -eu
package="$1"
binary="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
# The caller's cargo settings are for its own build, not this one.
unset CARGO_TARGET_DIR RUSTFLAGS CARGO_ENCODED_RUSTFLAGS RUSTC_WRAPPER RUSTC_WORKSPACE_WRAPPER CARGO_BUILD_TARGET CARGO_MAKEFLAGS MAKEFLAGS
triple="$(rustc -vV | sed -n 's/^host: //p')"
# An explicit --target keeps crt-static off build scripts and proc macros.
RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet --release \
  --manifest-path "$root/Cargo.toml" --target-dir "$root/target/containers" \
  --target "$triple" -p "$package"
mkdir -p bin
# A temp file of its own: builds of the same context may run at once.
tmp="$(mktemp "bin/.$binary.XXXXXX")"
cp "$root/target/containers/$triple/release/$binary" "$tmp"
chmod 755 "$tmp"
mv "$tmp" "bin/$binary"
