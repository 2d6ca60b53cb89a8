#!/usr/bin/env bash
# bench/run.sh: the kvguard load benchmark, one command, loopback only.
#
#   bench/run.sh [BUILD_DIR]        (default: build)
#
# Generates certificates (kvguard certs), a cluster state of the example
# cluster + 10,000 generated objects and 15 AdmissionReviews (snapshot,
# restore, clone, DataVolume; 2 KB to 200 KB) with bench_gen_state, starts
# `kvguard serve --listen 127.0.0.1:0 --bench-baseline` on it and runs
# bench_loadgen against POST /validate (kvguard) and POST /baseline (the same
# server answering a fixed "allowed" without decoding or policy: the cost of
# TLS + HTTP alone) at concurrency 1, 16, 64, 256 with keep-alive, and 1, 16
# without (a fresh TLS handshake per request). Reports requests/s,
# p50/p99/p99.9, server CPU per request and the server's RSS; writes the
# markdown table to bench/results/<date>.md and prints it.
#
# Bounded: each run stops at BENCH_SECONDS (default 5) or BENCH_REQUESTS
# (default 200000), whichever comes first. Environment:
#   BENCH_SECONDS, BENCH_REQUESTS, BENCH_OBJECTS (default 10000),
#   BENCH_CONCURRENCY (default "1 16 64 256"), BENCH_OUT (results file)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
secs=${BENCH_SECONDS:-5}
reqs=${BENCH_REQUESTS:-200000}
objects=${BENCH_OBJECTS:-10000}
concs=${BENCH_CONCURRENCY:-"1 16 64 256"}
out=${BENCH_OUT:-$root/bench/results/$(date -u +%Y-%m-%d).md}

. "$here/lib/setup.sh"
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# The idle footprint without a big view: the shipped example cluster.
start_server small "$root/examples/cluster" --bench-baseline
sleep 1
rss_idle_small=$(status_kib "$pid" VmRSS)
kill "$pid"; wait "$pid" 2>/dev/null || true

start_server big "$work/state/cluster" --bench-baseline
sleep 1
rss_idle_big=$(status_kib "$pid" VmRSS)
bodies=()
for f in "$work"/state/reviews/*.json; do bodies+=(--body "$f"); done
body_min=$(stat -c %s "$work"/state/reviews/*.json | sort -n | head -1)
body_max=$(stat -c %s "$work"/state/reviews/*.json | sort -n | tail -1)

rows=()
# run ENDPOINT CONC [--no-keepalive]: one loadgen run, appends a table row
run() {
    local ep=$1 conc=$2 ka=yes line
    shift 2
    [ "${1:-}" = --no-keepalive ] && ka=no
    line=$("$loadgen" --url "https://127.0.0.1:$port/$ep" --cacert "$work/certs/ca.crt" \
        "${bodies[@]}" --concurrency "$conc" --requests "$reqs" --seconds "$secs" \
        --server-pid "$pid" "$@" || true)
    echo "  $ep: $line" >&2
    local v
    v() { echo "$line" | grep -o "$1=[0-9.]*" | cut -d= -f2; }
    printf -v row '| %s | %s | %s | %s | %s | %.0f | %.0f | %.0f | %s |' \
        "$ep" "$conc" "$ka" "$(v requests)" "$(v rps)" "$(v p50_us)" "$(v p99_us)" \
        "$(v p999_us)" "$(v server_cpu_us_per_req)"
    rows+=("$row|$(v errors)")
    eval "rps_${ep}_${conc}_${ka}_last=$(v rps)"
    [ "${cls:-}" ] || eval "rps_${ep}_${conc}_${ka}=$(v rps)"
}

for conc in $concs; do
    run baseline "$conc"
    run validate "$conc"
done
rss_load=$(status_kib "$pid" VmRSS)
# by body size, at concurrency 16: what decoding costs grows with the body
all_bodies=("${bodies[@]}")
for cls in small 20k 200k; do
    bodies=()
    for f in "$work"/state/reviews/*-$cls.json; do bodies+=(--body "$f"); done
    run baseline 16
    rows[-1]=${rows[-1]/| baseline |/| baseline ($cls bodies) |}
    run validate 16
    rows[-1]=${rows[-1]/| validate |/| validate ($cls bodies) |}
    eval "rps_${cls}_b=\$rps_baseline_16_yes_last rps_${cls}_k=\$rps_validate_16_yes_last"
done
bodies=("${all_bodies[@]}")
cls=
for conc in 1 16; do
    run baseline "$conc" --no-keepalive
    run validate "$conc" --no-keepalive
done
hwm=$(status_kib "$pid" VmHWM)
rss_end=$(status_kib "$pid" VmRSS)

mkdir -p "$(dirname "$out")"
{
    echo "# kvguard benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')),"
    echo "kernel $(uname -r); build: $(grep -m1 CMAKE_BUILD_TYPE "$build/CMakeCache.txt" | cut -d= -f2)."
    echo "Cluster view: the example cluster + $objects generated objects; $((${#bodies[@]} / 2))"
    echo "AdmissionReviews of $body_min to $body_max bytes, cycled. Each run: ${secs} s or"
    echo "$reqs requests. Load generator (libcurl multi, one thread) on the same machine."
    echo
    echo "| endpoint | concurrency | keep-alive | requests | req/s | p50 µs | p99 µs | p99.9 µs | server CPU µs/req | errors |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for r in "${rows[@]}"; do echo "${r%|*} ${r##*|} |"; done
    echo
    echo "| kvguard / baseline throughput | ratio |"
    echo "|---|---|"
    for conc in $concs; do
        b=$(eval echo "\${rps_baseline_${conc}_yes:-0}")
        k=$(eval echo "\${rps_validate_${conc}_yes:-0}")
        echo "| concurrency $conc, keep-alive | $(awk -v k="$k" -v b="$b" 'BEGIN { printf "%.0f%%", (b > 0 ? 100 * k / b : 0) }') |"
    done
    for cls in small 20k 200k; do
        b=$(eval echo "\${rps_${cls}_b:-0}")
        k=$(eval echo "\${rps_${cls}_k:-0}")
        echo "| concurrency 16, keep-alive, $cls bodies only | $(awk -v k="$k" -v b="$b" 'BEGIN { printf "%.0f%%", (b > 0 ? 100 * k / b : 0) }') |"
    done
    for conc in 1 16; do
        b=$(eval echo "\${rps_baseline_${conc}_no:-0}")
        k=$(eval echo "\${rps_validate_${conc}_no:-0}")
        echo "| concurrency $conc, new TLS connection per request | $(awk -v k="$k" -v b="$b" 'BEGIN { printf "%.0f%%", (b > 0 ? 100 * k / b : 0) }') |"
    done
    echo
    echo "| server memory | MiB |"
    echo "|---|---|"
    echo "| RSS idle, example cluster ($(ls "$root"/examples/cluster/*/* | wc -l) files) | $(mib "$rss_idle_small") |"
    echo "| RSS idle, $objects-object view | $(mib "$rss_idle_big") |"
    echo "| RSS after the keep-alive runs | $(mib "$rss_load") |"
    echo "| RSS at the end | $(mib "$rss_end") |"
    echo "| peak RSS (VmHWM) | $(mib "$hwm") |"
} >"$out"
cat "$out"
echo "written: $out" >&2
