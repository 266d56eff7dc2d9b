#!/bin/sh
# The ML placement study's sweep (docs/ml-placement.md): the cloud link's
# one-way latency × the gateway's CPU speed. For each point it writes a
# variant of scenarios/ml_placement/edge.yaml (the gateway's cpu:) and of
# cloud.yaml (the gateway <-> cloud link, both ways) to a temporary folder,
# runs `xedgesim equiv EDGE CLOUD --expect-differ --deadline-ms D --json`,
# and prints one table row of both sides' end-to-end latency at `app`:
# p50/p95/p99/max in µs and the share later than the deadline (% and
# how many of how many). Figures are
# virtual times only: the same bytes on every run.
#
#   scripts/ml_placement_sweep.sh                       # xedgesim on PATH
#   XEDGESIM=target/debug/xedgesim scripts/ml_placement_sweep.sh
#
# Settings (environment): CLOUD_MS (one-way cloud latencies, ms; default
# "2 10 25 50"), GATEWAY_CPU (profiles or instructions per µs; default
# "edge_gateway 4875", half of edge_gateway's 9,750), DEADLINE_MS (10).
# Needs jq. Exit 1 if a point's sides do not differ, 2 on errors.
set -eu

XEDGESIM=${XEDGESIM:-xedgesim}
CLOUD_MS=${CLOUD_MS:-2 10 25 50}
GATEWAY_CPU=${GATEWAY_CPU:-edge_gateway 4875}
DEADLINE_MS=${DEADLINE_MS:-10}
here=$(cd "$(dirname "$0")/.." && pwd)
study=$here/scenarios/ml_placement

command -v jq >/dev/null || { echo "error: the sweep needs jq (apt-get install jq)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ml-placement-sweep.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
# The model must lie in the scenario's folder: a copy beside the variants.
cp "$study/model.onnx" "$work/model.onnx"

printf '%-12s %8s | %8s %8s %8s %8s %13s | %8s %8s %8s %8s %13s\n' \
    gateway_cpu cloud_ms edge_p50 edge_p95 edge_p99 edge_max miss cloud_p50 cloud_p95 cloud_p99 cloud_max miss
for cpu in $GATEWAY_CPU; do
    case $cpu in
        *[!0-9.]*) cpu_yaml="cpu: $cpu" ;;
        *) cpu_yaml="cpu: {instructions_per_us: $cpu}" ;;
    esac
    edge=$work/edge-$cpu.yaml
    sed "s/^    cpu: edge_gateway\$/    $cpu_yaml/" "$study/edge.yaml" > "$edge"
    grep -q "^    $cpu_yaml\$" "$edge" || { echo "error: edge.yaml has no 'cpu: edge_gateway' line to vary" >&2; exit 2; }
    for ms in $CLOUD_MS; do
        us=$(awk "BEGIN { printf \"%d\", $ms * 1000 }")
        cloud=$work/cloud-$ms.yaml
        sed "s/latency_us: 50000}/latency_us: $us}/" "$study/cloud.yaml" > "$cloud"
        [ "$(grep -c "latency_us: $us}" "$cloud")" -ge 2 ] || { echo "error: cloud.yaml has no 50 ms cloud link to vary" >&2; exit 2; }
        json=$work/point.json
        code=0
        "$XEDGESIM" equiv "$edge" "$cloud" --expect-differ --deadline-ms "$DEADLINE_MS" \
            --out "$work/out" --json "$json" > "$work/equiv.log" 2>&1 || code=$?
        if [ "$code" -ne 0 ]; then
            cat "$work/equiv.log" >&2
            echo "error: equiv exited $code at gateway cpu $cpu, cloud $ms ms" >&2
            exit "$code"
        fi
        jq -r --arg cpu "$cpu" --arg ms "$ms" '
            def side(s): s.pooled | "\(.p50_us) \(.p95_us) \(.p99_us) \(.max_us) \(.misses.share * 1000 | round / 10)%(\(.misses.count)/\(.deliveries))";
            "\($cpu) \($ms) \(side(.latency.a)) \(side(.latency.b))"' "$json" |
            while read -r c m ep50 ep95 ep99 emax emiss cp50 cp95 cp99 cmax cmiss; do
                printf '%-12s %8s | %8s %8s %8s %8s %13s | %8s %8s %8s %8s %13s\n' \
                    "$c" "$m" "$ep50" "$ep95" "$ep99" "$emax" "$emiss" "$cp50" "$cp95" "$cp99" "$cmax" "$cmiss"
            done
    done
done
