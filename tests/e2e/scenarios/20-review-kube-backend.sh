#!/usr/bin/env bash
# kvguard's kube backend against the real apiserver, before `kvguard serve`
# exists: `kvguard review --kubeconfig` lists and watches every kind over TLS as
# the kvguard-webhook ServiceAccount with only the RBAC of manifests/base, and
# decides AdmissionReviews built from upstream manifests. The cluster state is
# created and changed with kubectl (status through the status subresource, as
# the controllers do). Covers the issue's first scenarios at the review level:
# - snapshot of a VM whose StorageClass has no VolumeSnapshotClass: denied with
#   kvguard's message; admitted once a matching VolumeSnapshotClass exists
# - restore onto a running VM denied; onto the stopped VM admitted, and the
#   mutation records the pre-restore claims; from a not-ready snapshot denied
# - without the shipped RBAC the view never syncs, and kvguard says which kinds
# Needs the kvguard binary: $KVG_BIN, default build/kvguard.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

NS=${NS:-e2e-20-review}
e2e_ns "$NS"
TMP=$KVG_E2E_WORK/20-review
rm -rf "$TMP"; mkdir -p "$TMP"
VM=vm-alpine-multipvc

kvg_rbac

echo "-- cluster state"
e2e_no_zfs_snapshot_class
e2e_zfs_storageclass
check "VM $VM from kubevirt examples/vm-alpine-multipvc.yaml" \
  kubectl -n "$NS" apply -f "$(ref kubevirt-examples/vm-alpine-multipvc.yaml)"
for pvc in disk-alpine disk-custom; do
  kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: $pvc
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: e2e-zfspv
  resources:
    requests:
      storage: 1Gi
EOF
  set_status "pvc/$pvc" "$NS" '{"phase":"Bound","capacity":{"storage":"1Gi"}}'
done
ok "PVCs disk-alpine, disk-custom on StorageClass e2e-zfspv (zfs.csi.openebs.io), Bound"

echo "-- VirtualMachineSnapshot: snapshot-volume-support"
sed "s/name: larry/name: $VM/; s/name: snap-larry/name: snap-alpine/" \
  "$(ref kubevirt-examples/ug-vmsnapshot-snap-larry.yaml)" > "$TMP/snapshot.yaml"
kvg_admission_review "$TMP/snapshot-review.json" CREATE "$NS" "$TMP/snapshot.yaml"
kvg_review "$TMP/snapshot-review.json"
expect_eq "no VolumeSnapshotClass for zfs.csi.openebs.io: kvguard review exit" "$KVG_RC" 1
expect_contains "denial" "$KVG_MSG" "snapshot-volume-support"
expect_contains "denial" "$KVG_MSG" "VM $NS/$VM"
expect_contains "denial" "$KVG_MSG" "disk-alpine"
expect_contains "denial" "$KVG_MSG" "StorageClass e2e-zfspv"
expect_contains "denial" "$KVG_MSG" "no VolumeSnapshotClass has driver zfs.csi.openebs.io"
expect_contains "kube backend log" "$KVG_ERR" "kube backend: $KVG_E2E_SERVER"

check "VolumeSnapshotClass from the zfs-localpv docs" \
  kubectl apply -f "$(ref storage-examples/volumesnapshotclass-zfs-docs.yaml)"
kvg_review "$TMP/snapshot-review.json"
expect_eq "with zfspv-snapclass: kvguard review exit (allowed)" "$KVG_RC" 0
expect_contains "response" "$KVG_OUT" '"allowed": true'

echo "-- VirtualMachineRestore"
check "snapshot snap-alpine created" kubectl -n "$NS" apply -f "$TMP/snapshot.yaml"
vm_uid=$(jp "vm/$VM" .metadata.uid -n "$NS")
kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: snapshot.kubevirt.io/v1beta1
kind: VirtualMachineSnapshotContent
metadata:
  name: vmsnapshot-content-snap-alpine
spec:
  virtualMachineSnapshotName: snap-alpine
  source:
    virtualMachine:
      apiVersion: kubevirt.io/v1
      kind: VirtualMachine
      metadata: {name: $VM, namespace: $NS, uid: $vm_uid}
      spec: $(kubectl -n "$NS" get vm "$VM" -o jsonpath='{.spec}')
  volumeBackups:
$(for v in pvcdisk1:disk-alpine pvcdisk2:disk-custom; do cat <<EOV
  - volumeName: ${v%%:*}
    volumeSnapshotName: vmsnapshot-snap-alpine-volume-${v%%:*}
    persistentVolumeClaim:
      metadata: {name: ${v#*:}, namespace: $NS}
      spec:
        accessModes: [ReadWriteOnce]
        resources: {requests: {storage: 1Gi}}
        storageClassName: e2e-zfspv
        volumeMode: Filesystem
EOV
done)
EOF
set_status vmsnapshotcontent/vmsnapshot-content-snap-alpine "$NS" '{"readyToUse":true,"creationTime":"2026-01-01T00:00:00Z"}'
set_status vmsnapshot/snap-alpine "$NS" \
  "{\"phase\":\"Succeeded\",\"readyToUse\":true,\"sourceUID\":\"$vm_uid\",\"virtualMachineSnapshotContentName\":\"vmsnapshot-content-snap-alpine\"}"
ok "snapshot snap-alpine Succeeded/readyToUse with its content (status subresource)"

sed "s/name: larry/name: $VM/; s/virtualMachineSnapshotName: snap-larry/virtualMachineSnapshotName: snap-alpine/; s/name: restore-larry/name: restore-alpine/" \
  "$(ref kubevirt-examples/ug-vmrestore-restore-larry.yaml)" > "$TMP/restore.yaml"
kvg_admission_review "$TMP/restore-review.json" CREATE "$NS" "$TMP/restore.yaml"

# the VM runs: its VMI (same name, owned by the VM) is Running
kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: $VM
  ownerReferences:
  - {apiVersion: kubevirt.io/v1, kind: VirtualMachine, name: $VM, uid: $vm_uid, controller: true, blockOwnerDeletion: true}
spec:
  domain:
    devices: {}
EOF
kubectl -n "$NS" patch vmi "$VM" --type=merge -p '{"status":{"phase":"Running"}}' >/dev/null
kvg_review "$TMP/restore-review.json"
expect_eq "restore onto the running VM: kvguard review exit" "$KVG_RC" 1
expect_contains "denial" "$KVG_MSG" "restore-target-powered-off"
expect_contains "denial" "$KVG_MSG" "VMI phase Running"

check "VMI deleted (VM stopped)" kubectl -n "$NS" delete vmi "$VM" --wait=true --timeout=20s
kvg_review "$TMP/restore-review.json"
expect_eq "restore onto the stopped VM: kvguard review exit" "$KVG_RC" 0
kvg_review --mutate "$TMP/restore-review.json"
expect_eq "mutating review exit" "$KVG_RC" 0
expect_contains "JSONPatch" "$KVG_PATCH" "kvguard.io/pre-restore-claims"
expect_contains "JSONPatch" "$KVG_PATCH" 'disk-alpine\",\"disk-custom'

set_status vmsnapshot/snap-alpine "$NS" '{"phase":"InProgress","readyToUse":false}'
kvg_review "$TMP/restore-review.json"
expect_eq "restore from a not-ready snapshot: kvguard review exit" "$KVG_RC" 1
expect_contains "denial" "$KVG_MSG" "restore-snapshot-ready"

echo "-- RBAC: the unprivileged static user 'kvguard' has no grant"
KVG_SYNC_TIMEOUT=3 KVG_KUBECONFIG=$KVG_E2E_KVGUARD_KUBECONFIG kvg_review "$TMP/restore-review.json"
expect_eq "kvguard review exit without RBAC" "$KVG_RC" 2
expect_contains "error" "$KVG_ERR" "403 Forbidden"
expect_contains "error" "$KVG_ERR" "cluster view not synced"

echo "$E2E_SCENARIO: $E2E_CHECKS checks passed"
