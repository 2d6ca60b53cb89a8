#!/usr/bin/env bash
# The README's test command: builds kvguard twice (plain, and with
# AddressSanitizer + UndefinedBehaviorSanitizer) and runs every test with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

run_suite() { # name, extra cmake flags...
  local dir=$1; shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  ctest --test-dir "$dir" --output-on-failure -j"$jobs"
}

echo "== build and test (plain)"
run_suite build
echo "== build and test (ASan + UBSan)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_suite build-asan -DKVG_SANITIZE=ON

echo "== valgrind over the unit tests (plain build)"
vg_failed=0 vg_passed=0
for name in $(ctest --test-dir build -N -L unit | sed -n 's/.*unit\.\(test_[a-z0-9_]*\)$/\1/p'); do
  if ! CK_FORK=no valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
      --error-exitcode=99 "build/tests/$name" >"build/valgrind-$name.log" 2>&1; then
    echo "valgrind: $name FAILED (build/valgrind-$name.log)"; tail -40 "build/valgrind-$name.log"
    vg_failed=$((vg_failed + 1))
  else
    echo "valgrind: $name clean"
    vg_passed=$((vg_passed + 1))
  fi
done
echo "valgrind: $vg_passed passed, $vg_failed failed"
[ "$vg_failed" -eq 0 ]

# libFuzzer targets, a bounded run each (longer runs by hand: tests/fuzz/run.sh)
if command -v clang >/dev/null; then
  echo "== fuzz: ${FUZZ_SECONDS:-30} s per target"
  FUZZ_SECONDS=${FUZZ_SECONDS:-30} bash tests/fuzz/run.sh build-fuzz
else
  echo "== fuzz SKIPPED: no clang"
fi

# The end-to-end suite needs Go (it builds kube-apiserver, etcd and kubectl
# from the module proxy, cached in tests/e2e/bin). CI sets KVG_REQUIRE_E2E.
[ -d /usr/local/go/bin ] && PATH=$PATH:/usr/local/go/bin
if ! command -v go >/dev/null; then
  if [ -n "${KVG_REQUIRE_E2E:-}" ]; then echo "e2e: no Go toolchain" >&2; exit 1; fi
  echo "== e2e SKIPPED: no Go toolchain (see tests/e2e/README.md)"
  exit 0
fi
echo "== e2e: build kube-apiserver, etcd, kubectl (cached)"
bash tests/e2e/build.sh
echo "== manifests: kustomize builds of base and overlays"
bash tests/manifests/kustomize-check.sh --kvguard build/kvguard
echo "== manifests: applied to a real kube-apiserver"
bash tests/manifests/apiserver-check.sh
echo "== e2e: kubectl -> kube-apiserver -> kvguard"
KVG_BIN=$PWD/build/kvguard bash tests/e2e/run.sh
