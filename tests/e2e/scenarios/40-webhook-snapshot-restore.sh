#!/usr/bin/env bash
# The real path: kubectl -> kube-apiserver -> the shipped webhook configurations
# (URL + caBundle of `kvguard certs`) -> `kvguard serve` with the shipped config
# and the kube backend as the kvguard-webhook ServiceAccount.
# - snapshot of a VM whose StorageClass has no VolumeSnapshotClass: denied with
#   kvguard's message; after creating the VolumeSnapshotClass it is admitted
#   (cache update observed without restarting kvguard)
# - restore onto a running VM denied; onto the stopped VM admitted and
#   annotated with the pre-restore claims; from a not-ready snapshot denied
# - `--dry-run=server` goes through the webhook and stores nothing
# Needs the kvguard binary: $KVG_BIN, default build/kvguard.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

NS=${NS:-e2e-40-webhook}
VM=vm-alpine-multipvc
TMP=$KVG_E2E_WORK/40-webhook
rm -rf "$TMP"; mkdir -p "$TMP"
e2e_ns "$NS"
trap kvg_cleanup EXIT

echo "-- cluster state"
e2e_no_zfs_snapshot_class
e2e_zfs_storageclass
kubectl -n "$NS" apply -f "$(ref kubevirt-examples/vm-alpine-multipvc.yaml)" >/dev/null
vm_uid=$(jp "vm/$VM" .metadata.uid -n "$NS")
for pvc in disk-alpine disk-custom; do
  kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $pvc}
spec: {accessModes: [ReadWriteOnce], storageClassName: e2e-zfspv, resources: {requests: {storage: 1Gi}}}
EOF
  set_status "pvc/$pvc" "$NS" '{"phase":"Bound","capacity":{"storage":"1Gi"}}'
done
ok "VM $VM (kubevirt example) with disk-alpine, disk-custom Bound on e2e-zfspv (zfs.csi.openebs.io)"

echo "-- kvguard serve"
kvg_rbac
kvg_certs
kvg_start
kvg_webhooks ""

echo "-- VirtualMachineSnapshot"
sed "s/name: larry/name: $VM/; s/name: snap-larry/name: snap-alpine/" \
  "$(ref kubevirt-examples/ug-vmsnapshot-snap-larry.yaml)" > "$TMP/snapshot.yaml"
check_fails "snapshot without a VolumeSnapshotClass for zfs.csi.openebs.io denied" \
  kubectl -n "$NS" create -f "$TMP/snapshot.yaml"
expect_contains "kubectl" "$E2E_OUT" 'admission webhook "vmsnapshot.validate.kvguard.io" denied the request'
expect_contains "kubectl" "$E2E_OUT" "snapshot-volume-support"
expect_contains "kubectl" "$E2E_OUT" "no VolumeSnapshotClass has driver zfs.csi.openebs.io"
check_fails "nothing stored" kubectl -n "$NS" get vmsnapshot snap-alpine
check_fails "server dry run denied the same way" kubectl -n "$NS" create --dry-run=server -f "$TMP/snapshot.yaml"
expect_contains "kubectl" "$E2E_OUT" "snapshot-volume-support"

check "VolumeSnapshotClass from the zfs-localpv docs created" \
  kubectl apply -f "$(ref storage-examples/volumesnapshotclass-zfs-docs.yaml)"
admitted() { kubectl -n "$NS" create --dry-run=server -f "$TMP/snapshot.yaml" >/dev/null 2>&1; }
wait_for "kvguard sees the new class without a restart (server dry run admitted)" 20 admitted
check_fails "dry run stored nothing" kubectl -n "$NS" get vmsnapshot snap-alpine
check "snapshot created" kubectl -n "$NS" create -f "$TMP/snapshot.yaml"
check "kvguard serve still the same process" kill -0 "$(cat "$KVG_DIR/serve.pid")"

echo "-- VirtualMachineRestore"
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
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, storageClassName: e2e-zfspv, volumeMode: Filesystem}
  - volumeName: pvcdisk2
    volumeSnapshotName: vmsnapshot-snap-alpine-volume-pvcdisk2
    persistentVolumeClaim:
      metadata: {name: disk-custom}
      spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}, storageClassName: e2e-zfspv, volumeMode: Filesystem}
EOF
set_status vmsnapshotcontent/vmsnapshot-content-snap-alpine "$NS" '{"readyToUse":true}'
set_status vmsnapshot/snap-alpine "$NS" \
  "{\"phase\":\"Succeeded\",\"readyToUse\":true,\"sourceUID\":\"$vm_uid\",\"virtualMachineSnapshotContentName\":\"vmsnapshot-content-snap-alpine\"}"
ok "snapshot snap-alpine ready (status subresource, as KubeVirt's controller)"

sed "s/name: larry/name: $VM/; s/virtualMachineSnapshotName: snap-larry/virtualMachineSnapshotName: snap-alpine/; s/name: restore-larry/name: restore-alpine/" \
  "$(ref kubevirt-examples/ug-vmrestore-restore-larry.yaml)" > "$TMP/restore.yaml"
kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: $VM
  ownerReferences:
  - {apiVersion: kubevirt.io/v1, kind: VirtualMachine, name: $VM, uid: $vm_uid, controller: true, blockOwnerDeletion: true}
spec: {domain: {devices: {}}}
EOF
kubectl -n "$NS" patch vmi "$VM" --type=merge -p '{"status":{"phase":"Running"}}' >/dev/null
running() { ! kubectl -n "$NS" create --dry-run=server -f "$TMP/restore.yaml" >/dev/null 2>&1; }
wait_for "kvguard sees the Running VMI" 20 running
check_fails "restore onto the running VM denied" kubectl -n "$NS" create -f "$TMP/restore.yaml"
expect_contains "kubectl" "$E2E_OUT" 'admission webhook "vmrestore.validate.kvguard.io" denied the request'
expect_contains "kubectl" "$E2E_OUT" "restore-target-powered-off"

check "VMI deleted (VM stopped)" kubectl -n "$NS" delete vmi "$VM" --wait=true --timeout=20s
stopped() { kubectl -n "$NS" create --dry-run=server -f "$TMP/restore.yaml" >/dev/null 2>&1; }
wait_for "kvguard sees the VM stopped" 20 stopped
check "restore onto the stopped VM admitted" kubectl -n "$NS" create -f "$TMP/restore.yaml"
expect_eq "restore annotated by the mutating webhook" \
  "$(jp vmrestore/restore-alpine '.metadata.annotations.kvguard\.io/pre-restore-claims' -n "$NS")" \
  '["disk-alpine","disk-custom"]'

set_status vmrestore/restore-alpine "$NS" '{"complete":true}'
set_status vmsnapshot/snap-alpine "$NS" '{"phase":"InProgress","readyToUse":false}'
sed 's/name: restore-alpine/name: restore-alpine-2/' "$TMP/restore.yaml" > "$TMP/restore2.yaml"
notready() { ! kubectl -n "$NS" create --dry-run=server -f "$TMP/restore2.yaml" >/dev/null 2>&1; }
wait_for "kvguard sees the snapshot not ready" 20 notready
check_fails "restore from a not-ready snapshot denied" kubectl -n "$NS" create -f "$TMP/restore2.yaml"
expect_contains "kubectl" "$E2E_OUT" "restore-snapshot-ready"

echo "-- apiserver's view (apiserver_admission_webhook_admission_duration_seconds)"
webhook_latency

echo "$E2E_SCENARIO: $E2E_CHECKS checks passed"
