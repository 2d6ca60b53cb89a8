#!/usr/bin/env bash
# Two `kvguard reconcile` replicas against the real apiserver: exactly one
# holds the coordination.k8s.io/v1 Lease and acts; the standby does nothing;
# when the leader stops (SIGTERM) it gives the lease up and the standby takes
# over at once (not after a whole lease duration) and acts from then on.
# Needs the kvguard binary: $KVG_BIN, default build/kvguard.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

NS=${NS:-e2e-36-leader}
e2e_ns "$NS"
kvg_rbac
LEASE=(lease/kvguard-reconciler)
LNS=(-n kvguard-system)
B_LOG=$KVG_E2E_WORK/logs/kvguard-reconcile-standby.log
B_PID=$KVG_DIR/reconcile-standby.pid
stop_standby() { kvg__stop "$B_PID" "standby kvguard reconcile"; }
trap 'stop_standby || true; kvg_cleanup' EXIT

metric() { # PORT NAME: the value of an unlabelled metric
  curl -sf "http://127.0.0.1:$1/metrics" | awk -v m="$2" '$1 == m {print $2}'
}

# A completed restore whose old claim has no ZFS snapshot: whoever leads
# deletes the old claim, so it shows who acts.
restore_with_old_claim() { # NAME
  kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: vm-$1}
spec:
  runStrategy: Halted
  template:
    spec:
      domain: {devices: {}}
      volumes:
      - name: rootdisk
        persistentVolumeClaim: {claimName: new-$1}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: new-$1}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: old-$1}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: snapshot.kubevirt.io/v1beta1
kind: VirtualMachineRestore
metadata:
  name: $1
  annotations: {kvguard.io/pre-restore-claims: '["old-$1"]'}
spec:
  target: {apiGroup: kubevirt.io, kind: VirtualMachine, name: vm-$1}
  virtualMachineSnapshotName: snap-$1
EOF
  set_status "pvc/new-$1" "$NS" '{"phase":"Bound"}'
  set_status "pvc/old-$1" "$NS" '{"phase":"Bound"}'
  set_status "virtualmachinerestore/$1" "$NS" '{"complete":true}'
}

echo "-- two replicas"
kvg_reconcile_start
A_PORT=$KVG_RECONCILE_PORT
holder_a=$(jp "${LEASE[@]}" .spec.holderIdentity "${LNS[@]}")
free_port B_PORT
: > "$B_LOG" # logs persist across runs in .work: judge this run only
"$KVG_BIN" reconcile --config "${KVG_CONFIG:-$KVG_MANIFESTS/config.yaml}" \
  --kubeconfig "$KVG_DIR/reconciler.kubeconfig" --metrics-listen "127.0.0.1:$B_PORT" \
  < /dev/null >> "$B_LOG" 2>&1 &
echo $! > "$B_PID"
wait_for "standby serves its metrics" 30 curl -sf "http://127.0.0.1:$B_PORT/healthz"
sleep 5 # several retry periods (2 s): the standby must not take the lease
expect_eq "lease holder after 5 s of two replicas" "$(jp "${LEASE[@]}" .spec.holderIdentity "${LNS[@]}")" "$holder_a"
expect_eq "leader's kvguard_leader" "$(metric "$A_PORT" kvguard_leader)" 1
expect_eq "standby's kvguard_leader" "$(metric "$B_PORT" kvguard_leader)" 0
check_fails "standby logged no leader.acquired" grep -q '"leader.acquired"' "$B_LOG"

echo "-- only the leader acts"
restore_with_old_claim r1
gone() { ! kubectl -n "$NS" get pvc "$1" >/dev/null 2>&1; }
wait_for "old claim old-r1 deleted" 30 gone old-r1
expect_contains "the deletion event names the leader" \
  "$(kubectl -n "$NS" get events --field-selector reason=ClaimDeleted -o jsonpath='{.items[*].reportingInstance}')" \
  "$holder_a"
check_fails "standby logged no action" grep -q '"reconcile.event"' "$B_LOG"

echo "-- the leader stops: the standby takes over at once"
t0=$(date +%s)
kvg_reconcile_stop
other_holder() {
  local h; h=$(jp "${LEASE[@]}" .spec.holderIdentity "${LNS[@]}")
  [ -n "$h" ] && [ "$h" != "$holder_a" ]
}
wait_for "standby holds the lease" 10 other_holder
took=$(( $(date +%s) - t0 ))
[ "$took" -lt 15 ] && ok "takeover in ${took}s (< the 15 s lease duration: the lease was released)" \
  || fail "takeover took ${took}s: the stopping leader did not release the lease"
holder_b=$(jp "${LEASE[@]}" .spec.holderIdentity "${LNS[@]}")
b_leads() { [ "$(metric "$B_PORT" kvguard_leader)" = 1 ]; }
wait_for "new leader's kvguard_leader is 1" 10 b_leads
[ "$(jp "${LEASE[@]}" .spec.leaseTransitions "${LNS[@]}")" -ge 1 ] && ok "lease transition counted" \
  || fail "leaseTransitions did not grow on takeover"

echo "-- the new leader acts"
restore_with_old_claim r2
wait_for "old claim old-r2 deleted by the new leader" 30 gone old-r2
expect_contains "the deletion event names the new leader" \
  "$(kubectl -n "$NS" get events --field-selector reason=ClaimDeleted -o jsonpath='{.items[*].reportingInstance}')" \
  "$holder_b"
stop_standby
echo "36-reconcile-leader-election: $E2E_CHECKS checks passed"
