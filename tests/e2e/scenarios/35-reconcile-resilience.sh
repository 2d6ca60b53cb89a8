#!/usr/bin/env bash
# Resilience of `kvguard reconcile` against the real apiserver:
# - the apiserver is restarted while the reconciler watches: its watches
#   resume, and a change made after the restart is acted on
# - the reconciler is stopped, the cluster changes, it is started again: it
#   resumes from the objects (progress annotations), without a duplicate action
# Needs the kvguard binary: $KVG_BIN, default build/kvguard.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

NS=${NS:-e2e-35-resilience}
VM=vm-cirros-disk
e2e_ns "$NS"
trap kvg_cleanup EXIT
kvg_rbac

e2e_zfs_storageclass

# restore N: VM vm-N (one disk) restored from claim old-N onto new-N. The
# pre-restore-claims annotation is what kvguard's mutating webhook records at
# creation (scenario 20 checks that patch); here it is written directly.
setup_restore() { # N
  local n=$1 vm_uid
  kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: vm-$n}
spec:
  runStrategy: Halted
  template:
    spec:
      domain: {devices: {disks: [{name: disk0, disk: {bus: virtio}}]}, memory: {guest: 128Mi}}
      volumes:
      - {name: disk0, persistentVolumeClaim: {claimName: new-$n}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: old-$n}
spec: {accessModes: [ReadWriteOnce], storageClassName: e2e-zfspv, resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: new-$n}
spec: {accessModes: [ReadWriteOnce], storageClassName: e2e-zfspv, resources: {requests: {storage: 1Gi}}}
---
apiVersion: snapshot.kubevirt.io/v1beta1
kind: VirtualMachineRestore
metadata:
  name: restore-$n
  annotations:
    kvguard.io/pre-restore-claims: '["old-$n"]'
spec:
  target: {apiGroup: kubevirt.io, kind: VirtualMachine, name: vm-$n}
  virtualMachineSnapshotName: snap-$n
EOF
  set_status "pvc/old-$n" "$NS" '{"phase":"Bound","capacity":{"storage":"1Gi"}}'
  set_status "vmrestore/restore-$n" "$NS" '{"complete":true}'
}
gone() { ! kubectl -n "$NS" get pvc "$1" >/dev/null 2>&1; }
bind() { set_status "pvc/$1" "$NS" '{"phase":"Bound","capacity":{"storage":"1Gi"}}'; }
cleanup_phase() { jp "vmrestore/restore-$1" '.metadata.annotations.kvguard\.io/cleanup-phase' -n "$NS"; }
is_done() { [ "$(cleanup_phase "$1")" = Done ]; }

echo "-- apiserver restart under a running reconciler"
setup_restore 1
kvg_reconcile_start
sleep 3
check "old-1 kept while new-1 is Pending" kubectl -n "$NS" get pvc old-1
check "kube-apiserver restarted (same port, same etcd)" bash "$E2E_DIR/cluster.sh" restart-apiserver
check "reconciler survived the restart" kill -0 "$(cat "$KVG_DIR/reconcile.pid")"
bind new-1
ok "new-1 Bound after the restart"
wait_for "old-1 deleted: the reconciler's watches resumed" 60 gone old-1
wait_for "restore-1 cleanup-phase Done" 30 is_done 1

echo "-- reconciler restart"
kvg_reconcile_stop
ok "reconciler stopped"
setup_restore 2
bind new-2
ok "restore-2 completed and new-2 Bound while no reconciler runs"
sleep 2
check "old-2 untouched while no reconciler runs" kubectl -n "$NS" get pvc old-2
kvg_reconcile_start
wait_for "old-2 deleted after the reconciler came back" 60 gone old-2
wait_for "restore-2 cleanup-phase Done" 30 is_done 2
expect_eq "restore-1 still Done, not redone" "$(cleanup_phase 1)" Done
echo "$E2E_SCENARIO: $E2E_CHECKS checks passed"
