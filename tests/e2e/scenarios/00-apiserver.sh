#!/usr/bin/env bash
# The harness itself, without kvguard: every kind kvguard reads is served by
# the real kube-apiserver from our CRDs, with upstream's names, short names,
# versions, scope and status subresource. Objects come from the real upstream
# manifests in shared/reference/ where one exists.
#
# For each kind: `kubectl apply --dry-run=server` stores nothing, a real apply
# stores it, the short name finds it, and a status set the way its controller
# sets it (status subresource, or a plain update where upstream has none) is
# what the apiserver then holds.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

NS=e2e-00-apiserver
e2e_ns "$NS"
for ns in openebs controller-openebs source-ns; do
  kubectl get namespace "$ns" >/dev/null 2>&1 || e2e_ns "$ns"
done
TMP=$KVG_E2E_WORK/00-apiserver
rm -rf "$TMP"; mkdir -p "$TMP"

# apply_checked FILE RESOURCE NAME [NS]: dry-run then real apply of FILE.
apply_checked() {
  local file=$1 res=$2 name=$3 ns=${4:-} nsflag=()
  [ -z "$ns" ] || nsflag=(-n "$ns")
  check "$res/$name: apply --dry-run=server of $(basename "$file") accepted" \
    kubectl "${nsflag[@]}" apply --dry-run=server -f "$file"
  check_fails "$res/$name: dry run stored nothing" kubectl "${nsflag[@]}" get "$res" "$name"
  expect_contains "$res/$name: dry-run error" "$E2E_OUT" "NotFound"
  check "$res/$name: apply of $(basename "$file")" kubectl "${nsflag[@]}" apply -f "$file"
  check "$res/$name: found by short/plural name" kubectl "${nsflag[@]}" get "$res" "$name"
}

# status_via_subresource RES NAME NS JSON JSONPATH WANT
status_via_subresource() {
  local res=$1 name=$2 ns=$3 json=$4 path=$5 want=$6
  # through the main resource, a status change is dropped when the subresource exists
  kubectl -n "$ns" patch "$res" "$name" --type=merge -p "{\"status\":$json}" >/dev/null
  expect_eq "$res/$name: status ignored on the main resource" "$(jp "$res/$name" "$path" -n "$ns")" ""
  set_status "$res/$name" "$ns" "$json"
  expect_eq "$res/$name: $path after patch --subresource=status" "$(jp "$res/$name" "$path" -n "$ns")" "$want"
}

# status_without_subresource RES NAME NS JSON JSONPATH WANT (upstream: no status subresource)
status_without_subresource() {
  local res=$1 name=$2 ns=$3 json=$4 path=$5 want=$6
  check_fails "$res/$name: no status subresource (as upstream)" \
    kubectl -n "$ns" patch "$res" "$name" --subresource=status --type=merge -p "{\"status\":$json}"
  check "$res/$name: status written with a plain patch" \
    kubectl -n "$ns" patch "$res" "$name" --type=merge -p "{\"status\":$json}"
  expect_eq "$res/$name: $path" "$(jp "$res/$name" "$path" -n "$ns")" "$want"
}

echo "-- discovery"
for r in vm vmi vmsnapshot vmsnapshotcontent vmrestore vmclone dv storageprofile vs vsclass zv zfssnap; do
  check "kubectl explains '$r'" kubectl explain "$r" --recursive=false
done
out=$(kubectl api-resources --api-group=snapshot.kubevirt.io -o name)
expect_contains "snapshot.kubevirt.io resources" "$out" virtualmachinerestores.snapshot.kubevirt.io
out=$(kubectl api-versions)
for gv in kubevirt.io/v1 kubevirt.io/v1alpha3 snapshot.kubevirt.io/v1alpha1 snapshot.kubevirt.io/v1beta1 \
          clone.kubevirt.io/v1alpha1 clone.kubevirt.io/v1beta1 cdi.kubevirt.io/v1beta1 \
          snapshot.storage.k8s.io/v1 zfs.openebs.io/v1 zfs.openebs.io/v1alpha1; do
  expect_contains "api-versions" "$out" "$gv"
done
expect_eq "StorageProfile scope" "$(jp crd/storageprofiles.cdi.kubevirt.io .spec.scope)" Cluster
expect_eq "VolumeSnapshotClass scope" "$(jp crd/volumesnapshotclasses.snapshot.storage.k8s.io .spec.scope)" Cluster

echo "-- kubevirt.io"
apply_checked "$(ref kubevirt-examples/vm-cirros.yaml)" vm vm-cirros "$NS"
expect_eq "vm/vm-cirros runStrategy" "$(jp vm/vm-cirros .spec.runStrategy -n "$NS")" Halted
status_via_subresource vm vm-cirros "$NS" '{"printableStatus":"Stopped","ready":false}' \
  .status.printableStatus Stopped
# the old kubevirt.io/v1alpha3 is still served, with upstream's deprecation warning
out=$(kubectl -n "$NS" apply -f "$(ref cdi-examples/cdi-vm-dv.yaml)" 2>&1)
expect_contains "apply of a kubevirt.io/v1alpha3 VM (cdi-vm-dv.yaml)" "$out" "kubevirt.io/v1alpha3 is now deprecated"
expect_eq "v1alpha3 VM read back as v1" \
  "$(kubectl -n "$NS" get vm vm-cirros-datavolume -o jsonpath='{.apiVersion}')" kubevirt.io/v1

apply_checked "$(ref kubevirt-examples/vmi-pvc.yaml)" vmi vmi-pvc "$NS"
status_without_subresource vmi vmi-pvc "$NS" '{"phase":"Running","nodeName":"node-1"}' .status.phase Running

echo "-- snapshot.kubevirt.io"
apply_checked "$(ref kubevirt-examples/ug-vmsnapshot-snap-larry.yaml)" vmsnapshot snap-larry "$NS"
status_via_subresource vmsnapshot snap-larry "$NS" '{"phase":"Succeeded","readyToUse":true}' \
  .status.readyToUse true
# v1alpha1 from KubeVirt's own operator test template
sed -e 's/{{ *.Version *}}/v1alpha1/' -e 's/{{ *.Name *}}/snap-alpha/' -e 's/{{ *.VMName *}}/vm-cirros/' \
  "$(ref kubevirt-examples/operator-test-snapshot-template.yaml)" > "$TMP/snapshot-v1alpha1.yaml"
apply_checked "$TMP/snapshot-v1alpha1.yaml" virtualmachinesnapshots.v1alpha1.snapshot.kubevirt.io snap-alpha "$NS"
expect_eq "v1alpha1 snapshot stored, read back as v1beta1" \
  "$(kubectl -n "$NS" get vmsnapshot snap-alpha -o jsonpath='{.apiVersion}')" snapshot.kubevirt.io/v1beta1

# no upstream example of a VirtualMachineSnapshotContent: the shape the
# snapshot controller creates (source.virtualMachine + volumeBackups)
cat > "$TMP/vmsnapshotcontent.yaml" <<'EOF'
apiVersion: snapshot.kubevirt.io/v1beta1
kind: VirtualMachineSnapshotContent
metadata:
  name: vmsnapshot-content-snap-larry
spec:
  virtualMachineSnapshotName: snap-larry
  source:
    virtualMachine:
      metadata:
        name: larry
      spec:
        runStrategy: Halted
        template:
          spec:
            domain:
              devices: {}
            volumes:
            - name: disk0
              persistentVolumeClaim:
                claimName: larry-disk0
  volumeBackups:
  - volumeName: disk0
    persistentVolumeClaim:
      metadata:
        name: larry-disk0
      spec:
        storageClassName: zfs
        resources:
          requests:
            storage: 1Gi
    volumeSnapshotName: vmsnapshot-snap-larry-volume-disk0
EOF
apply_checked "$TMP/vmsnapshotcontent.yaml" vmsnapshotcontent vmsnapshot-content-snap-larry "$NS"
status_via_subresource vmsnapshotcontent vmsnapshot-content-snap-larry "$NS" '{"readyToUse":true}' \
  .status.readyToUse true

apply_checked "$(ref kubevirt-examples/ug-vmrestore-restore-larry.yaml)" vmrestore restore-larry "$NS"
status_via_subresource vmrestore restore-larry "$NS" '{"complete":true,"restoreTime":"2026-01-01T00:00:00Z"}' \
  .status.complete true

echo "-- clone.kubevirt.io"
apply_checked "$(ref kubevirt-examples/ug-vmclone-testclone.yaml)" vmclone testclone "$NS"
status_via_subresource vmclone testclone "$NS" '{"phase":"SnapshotInProgress"}' .status.phase SnapshotInProgress

echo "-- cdi.kubevirt.io"
apply_checked "$(ref cdi-examples/cdi-blank-image-datavolume.yaml)" dv blank-image-datavolume "$NS"
status_via_subresource dv blank-image-datavolume "$NS" '{"phase":"Succeeded","progress":"100.0%"}' \
  .status.phase Succeeded
apply_checked "$(ref cdi-examples/cdi-clone-datavolume.yaml)" dv cloned-datavolume "$NS"
expect_eq "dv/cloned-datavolume source namespace" \
  "$(jp dv/cloned-datavolume .spec.source.pvc.namespace -n "$NS")" source-ns
# StorageProfiles are created by CDI's controller, never by users: no upstream manifest
cat > "$TMP/storageprofile.yaml" <<'EOF'
apiVersion: cdi.kubevirt.io/v1beta1
kind: StorageProfile
metadata:
  name: zfs
spec: {}
EOF
apply_checked "$TMP/storageprofile.yaml" storageprofile zfs
set_status storageprofile/zfs "" '{"storageClass":"zfs","provisioner":"zfs.csi.openebs.io","snapshotClass":"zfspv-snapclass","cloneStrategy":"snapshot"}'
expect_eq "storageprofile/zfs status.snapshotClass (cluster scope)" \
  "$(jp storageprofile/zfs .status.snapshotClass)" zfspv-snapclass

echo "-- snapshot.storage.k8s.io"
apply_checked "$(ref storage-examples/volumesnapshotclass-zfs-docs.yaml)" vsclass zfspv-snapclass
expect_eq "vsclass/zfspv-snapclass driver" "$(jp vsclass/zfspv-snapclass .driver)" zfs.csi.openebs.io
expect_eq "vsclass/zfspv-snapclass default-class annotation" \
  "$(jp vsclass/zfspv-snapclass '.metadata.annotations.snapshot\.storage\.kubernetes\.io/is-default-class')" true
cat > "$TMP/volumesnapshot.yaml" <<'EOF'
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata:
  name: vmsnapshot-snap-larry-volume-disk0
spec:
  volumeSnapshotClassName: zfspv-snapclass
  source:
    persistentVolumeClaimName: larry-disk0
EOF
apply_checked "$TMP/volumesnapshot.yaml" vs vmsnapshot-snap-larry-volume-disk0 "$NS"
status_via_subresource vs vmsnapshot-snap-larry-volume-disk0 "$NS" '{"readyToUse":true,"restoreSize":"1Gi"}' \
  .status.readyToUse true
check_fails "VolumeSnapshot with neither source field is refused by the schema" \
  kubectl -n "$NS" create -f - <<'EOF'
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata:
  name: bad
spec:
  source: {}
EOF

echo "-- zfs.openebs.io"
apply_checked "$(ref storage-examples/zfsvolume-v1-and-pv-issue641.yaml)" zv my-zfs-volume controller-openebs
expect_eq "zv/my-zfs-volume poolName" "$(jp zv/my-zfs-volume .spec.poolName -n controller-openebs)" tank
check "pv/my-zfs-volume from the same file" kubectl get pv my-zfs-volume
status_without_subresource zv my-zfs-volume controller-openebs '{"state":"Ready"}' .status.state Ready
apply_checked "$(ref storage-examples/zfsvolume-sample-zfspvcr.yaml)" \
  zfsvolumes.v1alpha1.zfs.openebs.io pvc-34133838-0d0d-11ea-96e3-42010a800114 openebs
expect_eq "v1alpha1 ZFSVolume keeps the status of its manifest" \
  "$(jp zv/pvc-34133838-0d0d-11ea-96e3-42010a800114 .status.state -n openebs)" Ready
# the docs' ZFSSnapshot is a `kubectl get -o yaml` capture from the pre-0.6
# group openebs.io/v1alpha1: move it to zfs.openebs.io/v1 and drop the
# server-set metadata, fields unchanged
sed -e 's#^apiVersion: openebs.io/v1alpha1#apiVersion: zfs.openebs.io/v1#' \
    -e '/^  \(creationTimestamp\|generation\|resourceVersion\|selfLink\|uid\):/d' \
    "$(ref storage-examples/zfssnapshot-docs-snapshot-md.yaml)" > "$TMP/zfssnapshot.yaml"
apply_checked "$TMP/zfssnapshot.yaml" zfssnap snapshot-3cbd5e59-4c6f-4bd6-95ba-7f72c9f12fcd openebs
expect_eq "zfssnap label openebs.io/persistent-volume" \
  "$(kubectl -n openebs get zfssnap -l openebs.io/persistent-volume=pvc-73402f6e-d054-4ec2-95a4-eb8452724afb -o name)" \
  zfssnapshot.zfs.openebs.io/snapshot-3cbd5e59-4c6f-4bd6-95ba-7f72c9f12fcd
status_without_subresource zfssnap snapshot-3cbd5e59-4c6f-4bd6-95ba-7f72c9f12fcd openebs '{"state":"Pending"}' \
  .status.state Pending

echo "-- core objects the later scenarios drive by hand"
check "PVC created" kubectl -n "$NS" create -f - <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: larry-disk0
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: zfs
  resources:
    requests:
      storage: 1Gi
EOF
set_status pvc/larry-disk0 "$NS" '{"phase":"Bound"}'
expect_eq "pvc/larry-disk0 phase set through the status subresource" "$(jp pvc/larry-disk0 .status.phase -n "$NS")" Bound
check "Pod created (default ServiceAccount present)" kubectl -n "$NS" run e2e-pod --image=registry.invalid/none --restart=Never
check "PVC deleted at once (no pvc-protection finalizer without controllers)" \
  kubectl -n "$NS" delete pvc larry-disk0 --wait=true --timeout=10s

echo "$E2E_SCENARIO: $E2E_CHECKS checks passed"
