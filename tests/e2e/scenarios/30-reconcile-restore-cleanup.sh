#!/usr/bin/env bash
# `kvguard reconcile` (SPEC §7, restore cleanup) against the real apiserver, as
# the kvguard-reconciler ServiceAccount with the shipped RBAC and config
# (manifests/base). The test plays KubeVirt, the PV binder, the zfs-localpv
# node agent and the Job controller by writing their status.
#
# VM vm-alpine-multipvc (kubevirt example) had claims disk-alpine and
# disk-custom; a restore replaced them with restore-pvcdisk1/2:
# - nothing is deleted while the new claims are not Bound
# - disk-alpine: its PV has a ZFSSnapshot -> a rollback Job on the owner node
#   (pool, dataset, snapshot), and the PVC is deleted only after the Job succeeded
# - disk-custom: a (non-terminated) pod still mounts it -> never deleted
# Needs the kvguard binary: $KVG_BIN, default build/kvguard.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

NS=${NS:-e2e-30-cleanup}
ZNS=openebs
VM=vm-alpine-multipvc
e2e_ns "$NS"
kubectl get namespace "$ZNS" >/dev/null 2>&1 || e2e_ns "$ZNS"
trap kvg_cleanup EXIT
kvg_rbac

echo "-- before the restore"
e2e_zfs_storageclass
check "VM $VM (kubevirt examples/vm-alpine-multipvc.yaml)" \
  kubectl -n "$NS" apply -f "$(ref kubevirt-examples/vm-alpine-multipvc.yaml)"
vm_uid=$(jp "vm/$VM" .metadata.uid -n "$NS")

# claim (Bound) + PV + ZFSVolume, as zfs-localpv provisions them (the PV name
# is the ZFSVolume name and the dataset name; see reference zfsvolume-v1-and-pv-issue641.yaml)
claim() { # NAME PV
  kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $1}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: e2e-zfspv
  resources: {requests: {storage: 1Gi}}
  volumeName: ${2:-}
EOF
  if [ -n "${2:-}" ]; then
    kubectl apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: $2}
spec:
  accessModes: [ReadWriteOnce]
  capacity: {storage: 1Gi}
  storageClassName: e2e-zfspv
  claimRef: {apiVersion: v1, kind: PersistentVolumeClaim, name: $1, namespace: $NS}
  csi:
    driver: zfs.csi.openebs.io
    fsType: zfs
    volumeHandle: $2
    volumeAttributes: {openebs.io/poolname: zfspv-pool}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions:
        - {key: openebs.io/nodeid, operator: In, values: [node-1]}
---
apiVersion: zfs.openebs.io/v1
kind: ZFSVolume
metadata:
  name: $2
  namespace: $ZNS
  labels: {kubernetes.io/nodename: node-1}
spec:
  capacity: "1073741824"
  fsType: zfs
  ownerNodeID: node-1
  poolName: zfspv-pool
  volumeType: DATASET
status: {state: Ready}
EOF
    set_status "pvc/$1" "$NS" '{"phase":"Bound","capacity":{"storage":"1Gi"},"accessModes":["ReadWriteOnce"]}'
  fi
}
claim disk-alpine pvc-e2e-alpine
claim disk-custom pvc-e2e-custom
ok "claims disk-alpine, disk-custom Bound to zfs PVs pvc-e2e-alpine, pvc-e2e-custom (ZFSVolumes on node-1)"

# the VolumeSnapshot of disk-alpine became a ZFSSnapshot of its dataset (shape of the zfs-localpv docs)
sed -e 's#^apiVersion: openebs.io/v1alpha1#apiVersion: zfs.openebs.io/v1#' \
    -e '/^  \(creationTimestamp\|generation\|resourceVersion\|selfLink\|uid\):/d' \
    -e '/^  finalizers:/,/^  - zfs.openebs.io\/finalizer/d' \
    -e 's/e2e1-node2/node-1/g; s/test-pool/zfspv-pool/g; s/pvc-73402f6e-d054-4ec2-95a4-eb8452724afb/pvc-e2e-alpine/g' \
    "$(ref storage-examples/zfssnapshot-docs-snapshot-md.yaml)" > "$KVG_E2E_WORK/30-zfssnapshot.yaml"
check "ZFSSnapshot of pvc-e2e-alpine (from the zfs-localpv docs)" kubectl apply -f "$KVG_E2E_WORK/30-zfssnapshot.yaml"
ZSNAP=snapshot-3cbd5e59-4c6f-4bd6-95ba-7f72c9f12fcd

# a pod (Pending: there is no kubelet) still mounts disk-custom
kubectl -n "$NS" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: Pod
metadata: {name: uses-disk-custom}
spec:
  containers:
  - {name: c, image: registry.invalid/none}
  volumes:
  - name: d
    persistentVolumeClaim: {claimName: disk-custom}
EOF
ok "pod uses-disk-custom mounts disk-custom"

# snapshot + content as KubeVirt's snapshot controller leaves them
sed "s/name: larry/name: $VM/; s/name: snap-larry/name: snap-alpine/" \
  "$(ref kubevirt-examples/ug-vmsnapshot-snap-larry.yaml)" | kubectl -n "$NS" apply -f - >/dev/null
kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: snapshot.kubevirt.io/v1beta1
kind: VirtualMachineSnapshotContent
metadata: {name: vmsnapshot-content-snap-alpine}
spec:
  virtualMachineSnapshotName: snap-alpine
  source:
    virtualMachine:
      apiVersion: kubevirt.io/v1
      kind: VirtualMachine
      metadata: {name: $VM, namespace: $NS, uid: $vm_uid}
      spec: $(kubectl -n "$NS" get vm "$VM" -o jsonpath='{.spec}')
  volumeBackups:
  - volumeName: pvcdisk1
    volumeSnapshotName: vmsnapshot-snap-alpine-volume-pvcdisk1
    persistentVolumeClaim:
      metadata: {name: disk-alpine}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, storageClassName: e2e-zfspv}
  - volumeName: pvcdisk2
    volumeSnapshotName: vmsnapshot-snap-alpine-volume-pvcdisk2
    persistentVolumeClaim:
      metadata: {name: disk-custom}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, storageClassName: e2e-zfspv}
EOF
set_status vmsnapshotcontent/vmsnapshot-content-snap-alpine "$NS" '{"readyToUse":true}'
set_status vmsnapshot/snap-alpine "$NS" \
  "{\"phase\":\"Succeeded\",\"readyToUse\":true,\"sourceUID\":\"$vm_uid\",\"virtualMachineSnapshotContentName\":\"vmsnapshot-content-snap-alpine\"}"
ok "snapshot snap-alpine ready, content lists disk-alpine and disk-custom"

echo "-- the restore completes (as KubeVirt's restore controller would leave it)"
sed "s/name: larry/name: $VM/; s/virtualMachineSnapshotName: snap-larry/virtualMachineSnapshotName: snap-alpine/; s/name: restore-larry/name: restore-alpine/" \
  "$(ref kubevirt-examples/ug-vmrestore-restore-larry.yaml)" | kubectl -n "$NS" apply -f - >/dev/null
claim restore-pvcdisk1
claim restore-pvcdisk2
kubectl -n "$NS" patch vm "$VM" --type=json -p '[
  {"op":"replace","path":"/spec/template/spec/volumes/0/persistentVolumeClaim/claimName","value":"restore-pvcdisk1"},
  {"op":"replace","path":"/spec/template/spec/volumes/1/persistentVolumeClaim/claimName","value":"restore-pvcdisk2"}]' >/dev/null
set_status vmrestore/restore-alpine "$NS" '{"complete":true,"restoreTime":"2026-01-01T00:00:00Z"}'
ok "VM now uses restore-pvcdisk1/2 (Pending, WaitForFirstConsumer); restore-alpine complete"

kvg_reconcile_start
sleep 5
check "disk-alpine kept while the new claims are not Bound" kubectl -n "$NS" get pvc disk-alpine
check "disk-custom kept while the new claims are not Bound" kubectl -n "$NS" get pvc disk-custom
expect_eq "no rollback Job yet" "$(kubectl -n kvguard-rollback get jobs -o name)" ""
note "reconciler: $(grep -o '"msg":"[^"]*restore-alpine[^"]*"' "$KVG_E2E_WORK/logs/kvguard-reconcile.log" | tail -n 1)"

echo "-- the new claims get Bound"
for c in restore-pvcdisk1 restore-pvcdisk2; do
  set_status "pvc/$c" "$NS" '{"phase":"Bound","capacity":{"storage":"1Gi"}}'
done
ok "restore-pvcdisk1/2 Bound"
has_job() { [ -n "$(kubectl -n kvguard-rollback get jobs -l app.kubernetes.io/name=zfs-rollback -o name)" ]; }
wait_for "rollback Job created in kvguard-rollback" 30 has_job
JOB=$(kubectl -n kvguard-rollback get jobs -l app.kubernetes.io/name=zfs-rollback -o name | head -n 1)
expect_eq "$JOB nodeSelector openebs.io/nodeid" \
  "$(kubectl -n kvguard-rollback get "$JOB" -o jsonpath='{.spec.template.spec.nodeSelector.openebs\.io/nodeid}')" node-1
env_of() { kubectl -n kvguard-rollback get "$JOB" -o jsonpath="{.spec.template.spec.containers[0].env[?(@.name==\"$1\")].value}"; }
expect_eq "$JOB POOL" "$(env_of POOL)" zfspv-pool
expect_eq "$JOB DATASET" "$(env_of DATASET)" pvc-e2e-alpine
expect_eq "$JOB SNAP" "$(env_of SNAP)" "$ZSNAP"
expect_contains "$JOB script" "$(kubectl -n kvguard-rollback get "$JOB" -o jsonpath='{.spec.template.spec.containers[0].args[0]}')" \
  'zfs rollback "$TARGET"'
sleep 3
check "disk-alpine kept while the Job has not succeeded" kubectl -n "$NS" get pvc disk-alpine

echo "-- the Job succeeds (status written as the Job controller would)"
now=$(date -u +%FT%TZ)
kubectl -n kvguard-rollback patch "$JOB" --subresource=status --type=merge -p "{\"status\":{
  \"startTime\":\"$now\",\"completionTime\":\"$now\",\"succeeded\":1,\"active\":0,\"ready\":0,\"terminating\":0,
  \"uncountedTerminatedPods\":{},
  \"conditions\":[
    {\"type\":\"SuccessCriteriaMet\",\"status\":\"True\",\"reason\":\"CompletionsReached\",\"message\":\"Reached expected number of succeeded pods\",\"lastProbeTime\":\"$now\",\"lastTransitionTime\":\"$now\"},
    {\"type\":\"Complete\",\"status\":\"True\",\"reason\":\"CompletionsReached\",\"message\":\"Reached expected number of succeeded pods\",\"lastProbeTime\":\"$now\",\"lastTransitionTime\":\"$now\"}]}}" >/dev/null \
  || fail "could not mark $JOB Complete"
ok "$JOB Complete"
gone() { ! kubectl -n "$NS" get pvc "$1" >/dev/null 2>&1; }
wait_for "disk-alpine deleted after the rollback" 30 gone disk-alpine
sleep 3
check "disk-custom never deleted (a pod uses it)" kubectl -n "$NS" get pvc disk-custom
check "restore-pvcdisk1 untouched" kubectl -n "$NS" get pvc restore-pvcdisk1
phase() { [ "$(jp vmrestore/restore-alpine '.metadata.annotations.kvguard\.io/cleanup-phase' -n "$NS")" = Done ]; }
wait_for "restore-alpine annotated kvguard.io/cleanup-phase=Done" 30 phase
state=$(jp vmrestore/restore-alpine '.metadata.annotations.kvguard\.io/cleanup-state' -n "$NS")
expect_contains "kvguard.io/cleanup-state" "$state" '"disk-alpine":{"step":"deleted"'
expect_contains "kvguard.io/cleanup-state" "$state" '"disk-custom":{"step":"kept"'

echo "$E2E_SCENARIO: $E2E_CHECKS checks passed"
