#!/usr/bin/env bash
# bench/soak.sh: RSS of kvguard serve under steady load, sampled over time.
#
#   bench/soak.sh [BUILD_DIR]       (default: build)
#
# Same setup as bench/run.sh (10,000-object view, the generated reviews),
# then keep-alive load at SOAK_CONCURRENCY (default 16) for SOAK_SECONDS
# (default 600), RSS sampled every SOAK_INTERVAL seconds (default 10).
# Prints the series (seconds, RSS KiB, requests so far) and the least-squares
# slope in KiB per minute over the second half (after warm-up); with
# SOAK_OUT=FILE also writes it as markdown. Loopback only.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:-$root/build}
secs=${SOAK_SECONDS:-600}
every=${SOAK_INTERVAL:-10}
conc=${SOAK_CONCURRENCY:-16}

objects=${BENCH_OBJECTS:-10000}
. "$here/lib/setup.sh"
start_server serve "$work/state/cluster"
# the audit trail goes to stderr: keep the log file from growing without bound
: >"$work/serve.log"

bodies=()
for f in "$work"/state/reviews/*.json; do bodies+=(--body "$f"); done
"$loadgen" --url "https://127.0.0.1:$port/validate" --cacert "$work/certs/ca.crt" \
    "${bodies[@]}" --concurrency "$conc" --requests 2000000000 --seconds "$secs" \
    --server-pid "$pid" >"$work/loadgen.out" 2>&1 &
lg=$!
pids+=("$lg")

rss() { status_kib "$pid" VmRSS; }
reqs() { # requests answered so far, from the server's own metrics
    curl -s --cacert "$work/certs/ca.crt" "https://127.0.0.1:$port/metrics" |
        awk '/^kvguard_admission_requests_total/ { s += $NF } END { printf "%d", s }'
}
series=()
t0=$(date +%s)
while kill -0 "$lg" 2>/dev/null; do
    t=$(( $(date +%s) - t0 ))
    line="$t $(rss) $(reqs)"
    series+=("$line")
    echo "$line" >&2
    : >"$work/serve.log"
    sleep "$every"
done
wait "$lg" || true

printf '%s\n' "${series[@]}" | awk -v secs="$secs" -v conc="$conc" '
    { t[NR] = $1; r[NR] = $2; q[NR] = $3 }
    END {
        n = 0; sx = sy = sxx = sxy = 0
        for (i = 1; i <= NR; i++) if (t[i] >= t[NR] / 2) {
            n++; x = t[i] / 60; sx += x; sy += r[i]; sxx += x * x; sxy += x * r[i] }
        slope = n > 1 ? (n * sxy - sx * sy) / (n * sxx - sx * sx) : 0
        printf "# soak: %d s at concurrency %d, keep-alive\n\n", secs, conc
        printf "| seconds | RSS MiB | requests |\n|---|---|---|\n"
        for (i = 1; i <= NR; i++) printf "| %d | %.1f | %d |\n", t[i], r[i] / 1024, q[i]
        printf "\nRSS first %.1f MiB, last %.1f MiB, min %.1f, max %.1f; slope over the second half: %.1f KiB/min\n",
            r[1] / 1024, r[NR] / 1024, min(r), max(r), slope
    }
    function min(a,  i, m) { m = a[1]; for (i in a) if (a[i] < m) m = a[i]; return m / 1024 }
    function max(a,  i, m) { m = a[1]; for (i in a) if (a[i] > m) m = a[i]; return m / 1024 }
' | tee "${SOAK_OUT:-/dev/null}"
cat "$work/loadgen.out"
