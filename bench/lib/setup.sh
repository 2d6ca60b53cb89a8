# Sourced by bench/run.sh and bench/soak.sh after they set $root, $build and
# $objects: builds kvguard and the load tools, makes a scratch directory
# (removed on exit, with every process in $pids), a certificate and the
# generated cluster state with its reviews. Defines status_kib and
# start_server.

cmake --build "$build" -j2 --target kvguard bench_loadgen bench_gen_state >/dev/null
kvguard=$build/kvguard
loadgen=$build/bench/bench_loadgen

work=$(mktemp -d /tmp/kvguard-bench-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

"$kvguard" certs --out "$work/certs" --dns localhost --ip 127.0.0.1 >/dev/null
"$build/bench/bench_gen_state" "$work/state" "$objects" >/dev/null

# status_kib PID FIELD: VmRSS / VmHWM of a process in KiB
status_kib() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }

# start_server NAME STATE_DIR [FLAG...]: starts kvguard serve on a free
# loopback port, logging to $work/NAME.log; sets $pid and $port.
start_server() {
    local name=$1 state=$2 log=$work/$1.log
    shift 2
    "$kvguard" serve --listen 127.0.0.1:0 --tls-cert "$work/certs/tls.crt" \
        --tls-key "$work/certs/tls.key" --cluster-state "$state" "$@" 2>"$log" &
    pid=$!
    pids+=("$pid")
    port=
    for _ in $(seq 1 1200); do
        port=$(grep -o '"event":"server.listening".*"port":[0-9]*' "$log" 2>/dev/null |
               grep -o '"port":[0-9]*' | cut -d: -f2 || true)
        [ -n "$port" ] && break
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; exit 1; }
        sleep 0.1
    done
    [ -n "$port" ] || { echo "bench: $name did not start" >&2; exit 1; }
}
