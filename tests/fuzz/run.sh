#!/usr/bin/env bash
# tests/fuzz/run.sh: runs every libFuzzer target for a bounded time.
#
#   tests/fuzz/run.sh [BUILD_DIR] [TARGET...]    (default: build-fuzz, all)
#
# Configures BUILD_DIR with clang (CC=${CC:-clang}) and -DKVG_FUZZ=ON if
# needed, builds the targets, seeds each corpus from the test cases and
# examples (tests/cases, examples/, tests/fuzz/seeds) and runs each target for
# FUZZ_SECONDS (default 60). Corpora persist in FUZZ_CORPUS (default
# BUILD_DIR/corpus) so longer runs by hand accumulate; crashes land in
# BUILD_DIR/crashes/<target>/. Exit status 1 when any target crashed.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build-fuzz}
shift || true
secs=${FUZZ_SECONDS:-60}
corpus=${FUZZ_CORPUS:-$build/corpus}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(admit config files kubeconfig watch)

if [ ! -f "$build/CMakeCache.txt" ]; then
    CC=${CC:-clang} cmake -S "$root" -B "$build" -DKVG_FUZZ=ON -DKVG_TESTS=OFF \
        -DKVG_WERROR=OFF >/dev/null
fi
cmake --build "$build" -j2 $(printf -- '--target fuzz_%s ' "${targets[@]}") >/dev/null

# seed TARGET: fills $corpus/TARGET (idempotent: names are content hashes)
seed() {
    local dir=$corpus/$1 f
    mkdir -p "$dir"
    case $1 in
    admit) # first byte: bit 0 mutate, bit 1 explain
        while IFS= read -r -d '' f; do
            for b in 0 1; do
                { printf "\\x0$b"; cat "$f"; } >"$dir/seed-$b-$(md5sum <"$f" | cut -c1-16)"
            done
        done < <(find "$root/tests/cases" "$root/examples/reviews" -name '*.json' \
                 ! -name expected.json -print0)
        ;;
    config)
        find "$root/tests/cases" "$root/examples/config" -name 'config.yaml' -o \
             -name 'kvguard.yaml' | while read -r f; do
            cp "$f" "$dir/seed-$(md5sum <"$f" | cut -c1-16)"; done
        ;;
    files)
        find "$root/examples/cluster" "$root/tests/cases" -path '*cluster*' -type f \
             \( -name '*.yaml' -o -name '*.json' \) | while read -r f; do
            cp "$f" "$dir/seed-$(md5sum <"$f" | cut -c1-16)"; done
        ;;
    kubeconfig | watch)
        cp "$here/seeds/$1"/* "$dir/"
        ;;
    esac
}

crashed=()
for t in "${targets[@]}"; do
    seed "$t"
    mkdir -p "$build/crashes/$t"
    echo "fuzz_$t: $secs s, corpus $(ls "$corpus/$t" | wc -l) inputs" >&2
    if ! "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -max_len=262144 \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$build/crashes/$t/" "$corpus/$t" \
        >"$build/fuzz_$t.log" 2>&1; then
        crashed+=("$t")
        tail -40 "$build/fuzz_$t.log" >&2
    fi
    grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^#[0-9]+.*DONE' \
        "$build/fuzz_$t.log" | tr '\n' ' ' >&2
    echo >&2
done
if [ ${#crashed[@]} -gt 0 ]; then
    echo "fuzz: crashes in: ${crashed[*]} (inputs in $build/crashes/)" >&2
    exit 1
fi
echo "fuzz: ${#targets[@]} targets, $secs s each, no crash" >&2
