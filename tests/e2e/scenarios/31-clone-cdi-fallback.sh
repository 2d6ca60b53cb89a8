#!/usr/bin/env bash
# CDI clone fallback end to end (SPEC §6): kubectl creates a VirtualMachineClone
# of a VM whose disk cannot be snapshotted; `kvguard serve` admits it with
# kvguard.io/clone-strategy=cdi; `kvguard reconcile` creates the target VM with
# dataVolumeTemplates cloning every source claim, and mirrors the DataVolumes'
# status on the clone. The test plays virt-controller (creates the DataVolumes
# of the templates) and CDI (writes their status).
# Needs the kvguard binary: $KVG_BIN, default build/kvguard.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

NS=${NS:-e2e-31-cdi-clone}
TMP=$KVG_E2E_WORK/31-cdi-clone
rm -rf "$TMP"; mkdir -p "$TMP"
e2e_ns "$NS"
trap kvg_cleanup EXIT

e2e_hostpath_storageclass
kubectl -n "$NS" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: host-disk}
spec: {accessModes: [ReadWriteOnce], storageClassName: e2e-hostpath, volumeMode: Filesystem, resources: {requests: {storage: 1Gi}}}
EOF
set_status pvc/host-disk "$NS" '{"phase":"Bound","capacity":{"storage":"1Gi"}}'
sed -e "s/vm-cirros/vm-host/g" -e "s#- containerDisk:#- persistentVolumeClaim:#" \
    -e "s#image: registry:5000/kubevirt/cirros-container-disk-demo:devel#claimName: host-disk#" \
    "$(ref kubevirt-examples/vm-cirros.yaml)" | kubectl -n "$NS" apply -f - >/dev/null
ok "vm-host (kubevirt vm-cirros example on claim host-disk, StorageClass e2e-hostpath: openebs.io/local, no snapshots), Halted"

kvg_rbac
kvg_certs
kvg_start
kvg_webhooks ""
kvg_reconcile_start

echo "-- the clone"
sed -e "s/name: testclone/name: clone-host/" -e "s/name: vm-cirros/name: vm-host/" \
    -e "s/name: vm-clone-target/name: vm-host-copy/" -e '/newMacAddresses:/,+1d' \
    "$(ref kubevirt-examples/ug-vmclone-testclone.yaml)" > "$TMP/clone.yaml"
out=$(kubectl -n "$NS" create -f "$TMP/clone.yaml" 2>&1) || fail "clone refused: $out"
ok "clone-host created"
expect_contains "kubectl warning" "$out" "Warning:"
expect_eq "clone-strategy" "$(jp vmclone/clone-host '.metadata.annotations.kvguard\.io/clone-strategy' -n "$NS")" cdi

has_vm() { kubectl -n "$NS" get vm vm-host-copy >/dev/null 2>&1; }
wait_for "reconciler created the target VM vm-host-copy" 30 has_vm
expect_eq "target runStrategy" "$(jp vm/vm-host-copy .spec.runStrategy -n "$NS")" Halted
expect_eq "target owned by the clone" \
  "$(jp vm/vm-host-copy '.metadata.ownerReferences[?(@.kind=="VirtualMachineClone")].name' -n "$NS")" clone-host
expect_eq "dataVolumeTemplates: one per source claim" \
  "$(jp vm/vm-host-copy '.spec.dataVolumeTemplates[*].spec.source.pvc.name' -n "$NS")" host-disk
expect_eq "dataVolumeTemplate source namespace" \
  "$(jp vm/vm-host-copy '.spec.dataVolumeTemplates[0].spec.source.pvc.namespace' -n "$NS")" "$NS"
DV=$(jp vm/vm-host-copy '.spec.dataVolumeTemplates[0].metadata.name' -n "$NS")
expect_contains "target volumes use the DataVolume" \
  "$(jp vm/vm-host-copy '.spec.template.spec.volumes[*].dataVolume.name' -n "$NS")" "$DV"
note "clone-phase: $(jp vmclone/clone-host '.metadata.annotations.kvguard\.io/clone-phase' -n "$NS")"

echo "-- virt-controller creates the DataVolume, CDI copies"
vm_uid=$(jp vm/vm-host-copy .metadata.uid -n "$NS")
kubectl -n "$NS" get vm vm-host-copy -o jsonpath='{.spec.dataVolumeTemplates[0].spec}' > "$TMP/dvspec.json"
kubectl -n "$NS" create -f - >/dev/null <<EOF || fail "DataVolume $DV refused"
apiVersion: cdi.kubevirt.io/v1beta1
kind: DataVolume
metadata:
  name: $DV
  ownerReferences:
  - {apiVersion: kubevirt.io/v1, kind: VirtualMachine, name: vm-host-copy, uid: $vm_uid, controller: true, blockOwnerDeletion: true}
spec: $(cat "$TMP/dvspec.json")
EOF
ok "DataVolume $DV created from the template (through kvguard's DataVolume webhooks)"
set_status "dv/$DV" "$NS" '{"phase":"CloneInProgress","progress":"45.00%"}'
cloning() { [ "$(jp vmclone/clone-host '.metadata.annotations.kvguard\.io/clone-phase' -n "$NS")" = CloningVolumes ]; }
wait_for "clone-phase CloningVolumes" 30 cloning
expect_contains "clone-progress" "$(jp vmclone/clone-host '.metadata.annotations.kvguard\.io/clone-progress' -n "$NS")" 45
set_status "dv/$DV" "$NS" '{"phase":"Succeeded","progress":"100.0%"}'
succeeded() { [ "$(jp vmclone/clone-host '.metadata.annotations.kvguard\.io/clone-phase' -n "$NS")" = Succeeded ]; }
wait_for "clone-phase Succeeded" 30 succeeded
expect_eq "clone-progress" "$(jp vmclone/clone-host '.metadata.annotations.kvguard\.io/clone-progress' -n "$NS")" 100%
freed() { [ -z "$(jp vm/vm-host-copy '.metadata.ownerReferences[?(@.kind=="VirtualMachineClone")].name' -n "$NS")" ]; }
wait_for "target VM no longer owned by the clone" 30 freed
check "source VM untouched" kubectl -n "$NS" get vm vm-host

echo "$E2E_SCENARIO: $E2E_CHECKS checks passed"
