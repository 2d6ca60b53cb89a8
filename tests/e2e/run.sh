#!/usr/bin/env bash
# End-to-end suite: build (cached) etcd, kube-apiserver and kubectl, start a
# throw-away control plane, install the CRDs, run tests/e2e/scenarios/*.sh,
# tear down. The last line printed is exactly "N passed, N failed".
#
# Usage: tests/e2e/run.sh [SCENARIO-NAME-PATTERN...]   (e.g. run.sh 00-apiserver)
# Environment:
#   KVG_E2E_KEEP=1           leave the cluster running afterwards
#                            (eval "$(tests/e2e/cluster.sh env)"; cluster.sh stop)
#   KVG_E2E_TIMEOUT=600      per-scenario timeout in seconds
#   KVG_BIN=path             the kvguard binary for scenarios that need it
#   KVG_SHARED_DIR=path      shared/ (reference manifests), default <repo>/../shared
set -uo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export KVG_E2E_WORK=${KVG_E2E_WORK:-$E2E_DIR/.work}
TIMEOUT=${KVG_E2E_TIMEOUT:-600}
LOGS=$KVG_E2E_WORK/logs

scenarios=()
for s in "$E2E_DIR"/scenarios/*.sh; do
  [ -e "$s" ] || continue
  if [ $# -gt 0 ]; then
    keep=0
    for pat in "$@"; do case $(basename "$s" .sh) in *$pat*) keep=1 ;; esac; done
    [ $keep = 1 ] || continue
  fi
  scenarios+=("$s")
done

passed=0 failed=0
cleaned=0
cleanup() {
  [ $cleaned = 0 ] || return 0
  cleaned=1
  # kvguard processes a killed scenario could not stop (by their pid files)
  local f
  for f in "$KVG_E2E_WORK"/kvguard/serve.pid "$KVG_E2E_WORK"/kvguard/reconcile.pid; do
    [ -f "$f" ] || continue
    echo "e2e: stopping leftover kvguard pid $(cat "$f") ($f)" >&2
    kill -KILL "$(cat "$f")" 2>/dev/null || true
    rm -f "$f"
  done
  if [ "${KVG_E2E_KEEP:-0}" = 1 ]; then
    echo "e2e: KVG_E2E_KEEP=1, cluster left running: eval \"\$($E2E_DIR/cluster.sh env)\"" >&2
  else
    bash "$E2E_DIR/cluster.sh" stop 2>&1 | sed 's/^/e2e: /' >&2
  fi
}
# Tear down first, so that the summary really is the last line.
finish() {
  cleanup
  echo "e2e: logs in $LOGS"
  echo "$passed passed, $failed failed"
  exit "$1"
}
# Anything that stops the harness itself fails every scenario not yet run.
abort() {
  echo "e2e: $*" >&2
  failed=$(( ${#scenarios[@]} - passed ))
  [ $failed -gt 0 ] || failed=1
  finish 1
}
trap cleanup EXIT
interrupted() {
  echo "e2e: interrupted" >&2
  failed=$(( ${#scenarios[@]} - passed ))
  finish 130
}
trap interrupted INT TERM

[ ${#scenarios[@]} -gt 0 ] || abort "no scenario matches: $*"

echo "== build"
t0=$(date +%s)
bash "$E2E_DIR/build.sh" || abort "build failed"
echo "e2e: build step took $(( $(date +%s) - t0 ))s"

echo "== cluster"
bash "$E2E_DIR/cluster.sh" start || abort "cluster start failed (logs: $LOGS)"
eval "$(bash "$E2E_DIR/cluster.sh" env)" || abort "cluster env failed"
kubectl version 2>&1 | sed 's/^/e2e: /'

echo "== CRDs"
kubectl apply -f "$E2E_DIR/crds/" | sed 's/^/e2e: /'
[ "${PIPESTATUS[0]}" = 0 ] || abort "applying CRDs failed"
kubectl wait --for=condition=Established --timeout=60s -f "$E2E_DIR/crds/" | sed 's/^/e2e: /'
[ "${PIPESTATUS[0]}" = 0 ] || abort "CRDs not Established"
# Established is not yet "in discovery": wait until kubectl resolves every kind.
kinds=$(kubectl get -f "$E2E_DIR/crds/" -o jsonpath='{range .items[*]}{.spec.names.plural}.{.spec.group},{end}')
for _ in $(seq 60); do
  kubectl get "${kinds%,}" -A >/dev/null 2>&1 && break
  sleep 1
done
kubectl get "${kinds%,}" -A >/dev/null || abort "CRDs not in discovery after 60s"

for s in "${scenarios[@]}"; do
  name=$(basename "$s" .sh)
  echo "== scenario $name"
  t0=$(date +%s)
  timeout --foreground -k 10 "$TIMEOUT" bash "$s" 2>&1 | tee "$LOGS/scenario-$name.log"
  rc=${PIPESTATUS[0]}
  if [ $rc = 0 ]; then
    passed=$((passed + 1)); echo "PASS $name ($(( $(date +%s) - t0 ))s)"
  else
    echo "FAIL $name (exit $rc, $(( $(date +%s) - t0 ))s; log: $LOGS/scenario-$name.log)"
    # Ctrl-C reaches the scenario too, which exits 130: bash then skips its own
    # INT trap (the child "handled" it), so stop here explicitly.
    case $rc in 130|143) interrupted ;; esac
    failed=$((failed + 1))
    [ $rc = 124 ] && echo "e2e: $name timed out after ${TIMEOUT}s" >&2
  fi
done

echo "== kvguard webhooks as the apiserver saw them since its last start (apiserver_admission_webhook_admission_duration_seconds; per-scenario blocks above)"
lat=$(bash -c '. "$1/lib.sh"; webhook_latency' _ "$E2E_DIR" 2>/dev/null)
echo "${lat:-  (no call to a kvguard webhook in this run)}"

[ $failed = 0 ] && finish 0
finish 1
