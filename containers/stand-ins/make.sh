#!/usr/bin/env bash
# Makes local stand-ins for the public base images the examples build on,
# `python:3.9-slim` and `eclipse-mosquitto:2.0`, on a machine that reaches
# no image registry: each is a Debian 12 (bookworm) root file system made
# by debootstrap from Debian's packages, imported with `docker import`
# under the public name. See README.md beside this file for what differs
# from the real images.
#
# Usage: containers/stand-ins/make.sh [--force]
#   Skips an image that already exists with the label xedgesim.stand_in=1;
#   --force makes it again. An image of that name without the label (the
#   real one, pulled) is never replaced. Needs root (debootstrap, chroot).
set -euo pipefail
self="$(readlink -f "$0")"
cd "$(dirname "$self")/../.."

# Debian's main suite: its packages change only at a point release. The
# security suite is left out on purpose, so two runs between point
# releases make the same files. The versions this script was written
# against are checked below; another version is a warning, not an error.
SUITE=bookworm
MIRROR=http://deb.debian.org/debian
LABEL=xedgesim.stand_in
WORK="$PWD/target/stand-ins"
HOST_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt

PYTHON_IMAGE=python:3.9-slim
PYTHON_PACKAGES=(python3 python3-pip python-is-python3 ca-certificates)
MOSQUITTO_IMAGE=eclipse-mosquitto:2.0
MOSQUITTO_PACKAGES=(mosquitto)
# package=version as bookworm's main suite carried them when this was written.
EXPECTED_VERSIONS=(
  python3.11=3.11.2-6+deb12u8
  python3-pip=23.0.1+dfsg-1
  ca-certificates=20230311+deb12u1
  mosquitto=2.0.11-1.2+deb12u2
)

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help)
      sed -n '2,12p' "$self" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "error: unknown argument '$arg' (usage: $0 [--force])" >&2
      exit 2
      ;;
  esac
done

if [ "$(id -u)" -ne 0 ]; then
  echo "error: $0 needs root (debootstrap and chroot); run it with sudo" >&2
  exit 1
fi
if ! docker info >/dev/null 2>&1; then
  echo "error: no Docker engine answers (docker info failed); start dockerd first" >&2
  exit 1
fi

# 1 when NAME exists and is one of ours, 2 when it exists and is not, 0 when absent.
image_state() {
  if ! docker image inspect "$1" >/dev/null 2>&1; then
    echo 0
  elif [ "$(docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null)" = 1 ]; then
    echo 1
  else
    echo 2
  fi
}

wanted=()
for image in "$PYTHON_IMAGE" "$MOSQUITTO_IMAGE"; do
  case "$(image_state "$image")" in
    2) echo "$image: exists and is not a stand-in (no $LABEL=1 label): left as it is" ;;
    1) if [ "$force" = 1 ]; then wanted+=("$image"); else echo "$image: stand-in exists, skipped (--force makes it again)"; fi ;;
    0) wanted+=("$image") ;;
  esac
done
[ "${#wanted[@]}" -gt 0 ] || exit 0

if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap
fi
if [ ! -s "$HOST_CA_BUNDLE" ]; then
  echo "error: $HOST_CA_BUNDLE is missing or empty; pip in the Python stand-in needs the host's CA bundle" >&2
  exit 1
fi

mkdir -p "$WORK/debs"
rootfs=""
# Whatever happens, nothing is left mounted or on disk but the .deb cache.
cleanup() {
  if [ -n "$rootfs" ] && [ -d "$rootfs" ]; then
    findmnt -rn -o TARGET | grep -F "$rootfs/" | sort -r | while read -r mnt; do
      umount -l "$mnt" || true
    done || true
    rm -rf --one-file-system "$rootfs"
  fi
}
trap cleanup EXIT

# debootstrap into a fresh folder, with the packages named.
bootstrap() {
  local packages
  packages=$(IFS=,; echo "$*")
  rm -rf --one-file-system "$rootfs"
  echo "debootstrap $SUITE ($packages) into ${rootfs#"$PWD"/}"
  debootstrap --variant=minbase --include="$packages" --cache-dir="$WORK/debs" \
    "$SUITE" "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    echo "error: debootstrap failed; the end of its log ($WORK/debootstrap.log):" >&2
    tail -n 20 "$WORK/debootstrap.log" >&2
    exit 1
  }
  # Like Debian's own images: apt in a derived image sees the updates too.
  cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb http://deb.debian.org/debian-security $SUITE-security main
EOF
}

check_versions() {
  local pair package expected actual
  for pair in "${EXPECTED_VERSIONS[@]}"; do
    package=${pair%%=*}
    expected=${pair#*=}
    # Empty or an error: not in this image.
    actual=$(chroot "$rootfs" dpkg-query -W -f '${Version}' "$package" 2>/dev/null) || continue
    [ -n "$actual" ] || continue
    if [ "$actual" != "$expected" ]; then
      echo "warning: $package is $actual on the mirror, not $expected as written in $self" >&2
    fi
  done
}

# Packs the root file system into an image named $1, with the changes given.
import_rootfs() {
  local image=$1
  shift
  # Slim: no package lists, caches, manuals or documentation.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/*.log \
    "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
  tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change "LABEL $LABEL=1" \
    --change "LABEL $LABEL.source=debian-$SUITE" \
    "$@" - "$image" >/dev/null
  rm -rf --one-file-system "$rootfs"
  rootfs=""
}

report() {
  local image=$1 what=$2
  docker image inspect --format "$image: {{ .Id }}, {{ .Size }} bytes, $what" "$image"
}

make_python() {
  rootfs="$WORK/rootfs-python"
  bootstrap "${PYTHON_PACKAGES[@]}"
  check_versions
  # pip may install into the system Python, as in the real image.
  rm -f "$rootfs"/usr/lib/python3*/EXTERNALLY-MANAGED
  # TLS to the package registries may be re-signed by a proxy that only
  # the host's bundle trusts. Kept under /usr/local/share too, so an
  # update-ca-certificates in a derived image keeps it.
  cp "$HOST_CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  cp "$HOST_CA_BUNDLE" "$rootfs/usr/local/share/ca-certificates/xedgesim-host-bundle.crt"
  cat >"$rootfs/etc/pip.conf" <<'EOF'
[global]
cert = /etc/ssl/certs/ca-certificates.crt
disable-pip-version-check = true
EOF
  local versions
  versions="$(chroot "$rootfs" python3 --version), $(chroot "$rootfs" pip --version | cut -d' ' -f1-2)"
  import_rootfs "$PYTHON_IMAGE" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]'
  report "$PYTHON_IMAGE" "$versions"
}

make_mosquitto() {
  rootfs="$WORK/rootfs-mosquitto"
  bootstrap "${MOSQUITTO_PACKAGES[@]}"
  check_versions
  # The official image's layout. Started as root, mosquitto drops to the
  # user `mosquitto` (made by the package) itself, as the official one does.
  mkdir -p "$rootfs/mosquitto/config" "$rootfs/mosquitto/data" "$rootfs/mosquitto/log"
  cat >"$rootfs/mosquitto/config/mosquitto.conf" <<'EOF'
# Stand-in for eclipse-mosquitto:2.0: plain MQTT on 1883, no login.
listener 1883
allow_anonymous true
EOF
  chroot "$rootfs" chown -R mosquitto:mosquitto /mosquitto
  local version
  version="mosquitto $(chroot "$rootfs" dpkg-query -W -f '${Version}' mosquitto)"
  import_rootfs "$MOSQUITTO_IMAGE" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'EXPOSE 1883' \
    --change 'CMD ["/usr/sbin/mosquitto","-c","/mosquitto/config/mosquitto.conf"]'
  report "$MOSQUITTO_IMAGE" "$version"
}

for image in "${wanted[@]}"; do
  started=$SECONDS
  case "$image" in
    "$PYTHON_IMAGE") make_python ;;
    "$MOSQUITTO_IMAGE") make_mosquitto ;;
  esac
  echo "$image: made in $((SECONDS - started)) s"
done
rm -f "$WORK/debootstrap.log"
