#!/usr/bin/env bash
# The real webhook path for VirtualMachineClone and DataVolume:
# - a source whose disks can be snapshotted and restored: admitted with
#   kvguard.io/clone-strategy: snapshot
# - a source on a class without snapshots: admitted with strategy cdi and a
#   warning printed by kubectl; the same while the source runs: denied
# - a clone without target name gets one
# - DataVolume clone with an empty source namespace: mutated to its own
#   namespace; a clone smaller than its source: denied
# Needs the kvguard binary: $KVG_BIN, default build/kvguard.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

NS=${NS:-e2e-41-clone}
TMP=$KVG_E2E_WORK/41-clone
rm -rf "$TMP"; mkdir -p "$TMP"
e2e_ns "$NS"
trap kvg_cleanup EXIT

echo "-- cluster state"
e2e_zfs_storageclass
e2e_hostpath_storageclass
kubectl apply -f "$(ref storage-examples/volumesnapshotclass-zfs-docs.yaml)" >/dev/null
pvc() { # NAME CLASS SIZE
  kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $1}
spec: {accessModes: [ReadWriteOnce], storageClassName: $2, volumeMode: Filesystem, resources: {requests: {storage: $3}}}
EOF
  set_status "pvc/$1" "$NS" "{\"phase\":\"Bound\",\"capacity\":{\"storage\":\"$3\"}}"
}
vm() { # NAME CLAIM (vm-cirros.yaml with its containerDisk swapped for the claim)
  sed -e "s/vm-cirros/$1/g" -e "s#- containerDisk:#- persistentVolumeClaim:#" \
      -e "s#image: registry:5000/kubevirt/cirros-container-disk-demo:devel#claimName: $2#" \
      "$(ref kubevirt-examples/vm-cirros.yaml)" | kubectl -n "$NS" apply -f - >/dev/null
}
pvc zfs-disk e2e-zfspv 1Gi;      vm vm-zfs zfs-disk
pvc host-disk e2e-hostpath 1Gi;  vm vm-host host-disk
ok "vm-zfs on e2e-zfspv (+ zfspv-snapclass), vm-host on e2e-hostpath (openebs.io/local), both Halted"

echo "-- kvguard serve"
kvg_rbac
kvg_certs
kvg_start
kvg_webhooks ""

# the user guide's clone, minus its example newMacAddresses ("00-11-22" is no
# MAC: KubeVirt and kvguard's clone-spec refuse it, see the check below)
clone() { # NAME SOURCE [TARGET]
  sed -e "s/name: testclone/name: $1/" -e "s/name: vm-cirros/name: $2/" -e '/newMacAddresses:/,+1d' \
      "$(ref kubevirt-examples/ug-vmclone-testclone.yaml)" > "$TMP/$1.yaml"
  if [ -n "${3:-}" ]; then sed -i "s/name: vm-clone-target/name: $3/" "$TMP/$1.yaml"
  else sed -i '/name: vm-clone-target/d' "$TMP/$1.yaml"; fi
}
strategy() { jp "vmclone/$1" '.metadata.annotations.kvguard\.io/clone-strategy' -n "$NS"; }

echo "-- VirtualMachineClone"
sed -e "s/name: vm-cirros/name: vm-zfs/" "$(ref kubevirt-examples/ug-vmclone-testclone.yaml)" > "$TMP/ug-clone.yaml"
check_fails "the user guide's clone as is: refused (newMacAddresses '00-11-22')" kubectl -n "$NS" create -f "$TMP/ug-clone.yaml"
expect_contains "kubectl" "$E2E_OUT" "malformed MAC address (00-11-22)"
clone clone-zfs vm-zfs vm-zfs-copy
check "clone of vm-zfs admitted" kubectl -n "$NS" create -f "$TMP/clone-zfs.yaml"
expect_eq "clone-zfs strategy" "$(strategy clone-zfs)" snapshot

clone clone-host vm-host vm-host-copy
out=$(kubectl -n "$NS" create -f "$TMP/clone-host.yaml" 2>&1) || fail "clone of vm-host refused: $out"
ok "clone of vm-host (no snapshots) admitted"
expect_contains "kubectl output" "$out" "Warning:"
expect_contains "kubectl warning" "$out" "CDI"
expect_eq "clone-host strategy" "$(strategy clone-host)" cdi

kubectl -n "$NS" patch vm vm-host --type=merge -p '{"spec":{"runStrategy":"Always"}}' >/dev/null
clone clone-host-running vm-host vm-host-copy2
denied() { ! kubectl -n "$NS" create --dry-run=server -f "$TMP/clone-host-running.yaml" >/dev/null 2>&1; }
wait_for "kvguard sees vm-host running" 20 denied
check_fails "cdi clone of the running vm-host denied" kubectl -n "$NS" create -f "$TMP/clone-host-running.yaml"
expect_contains "kubectl" "$E2E_OUT" 'admission webhook "vmclone.validate.kvguard.io" denied the request'
expect_contains "kubectl" "$E2E_OUT" "clone-fallback-source-stopped"
kubectl -n "$NS" patch vm vm-host --type=merge -p '{"spec":{"runStrategy":"Halted"}}' >/dev/null

clone clone-noname vm-zfs
check "clone without target name admitted" kubectl -n "$NS" create -f "$TMP/clone-noname.yaml"
target=$(jp vmclone/clone-noname .spec.target.name -n "$NS")
# KubeVirt names it generateNameWithRandomSuffix(source, "clone"): <source>-clone-<5>
# (SPEC §3 writes clone-<source>-<5>; kvguard follows KubeVirt)
case $target in vm-zfs-clone-?????) ok "target name filled as KubeVirt does: $target" ;;
  *) fail "target name: got '$target', want vm-zfs-clone-<5 chars>" ;; esac

clone clone-dry vm-zfs vm-zfs-dry
check "server dry run of a clone admitted" kubectl -n "$NS" create --dry-run=server -f "$TMP/clone-dry.yaml"
check_fails "dry run stored no clone" kubectl -n "$NS" get vmclone clone-dry
expect_eq "and no VM" "$(kubectl -n "$NS" get vm vm-zfs-dry -o name 2>/dev/null)" ""

echo "-- DataVolume"
sed '/namespace: source-ns/d; s/name: source-datavolume/name: zfs-disk/' \
  "$(ref cdi-examples/cdi-clone-datavolume.yaml)" > "$TMP/dv-clone.yaml"
check "server dry run of the DataVolume clone admitted" kubectl -n "$NS" create --dry-run=server -f "$TMP/dv-clone.yaml"
check_fails "dry run stored no DataVolume" kubectl -n "$NS" get dv cloned-datavolume
check "DataVolume clone (cdi-clone-datavolume.yaml) without source namespace admitted" \
  kubectl -n "$NS" create -f "$TMP/dv-clone.yaml"
expect_eq "source.pvc.namespace filled by the mutating webhook" \
  "$(jp dv/cloned-datavolume .spec.source.pvc.namespace -n "$NS")" "$NS"
cat > "$TMP/dv-small.yaml" <<EOF
apiVersion: cdi.kubevirt.io/v1beta1
kind: DataVolume
metadata: {name: too-small}
spec:
  source: {pvc: {namespace: $NS, name: zfs-disk}}
  storage: {resources: {requests: {storage: 500Mi}}}
EOF
check_fails "DataVolume clone of 500Mi from a 1Gi claim denied" kubectl -n "$NS" create -f "$TMP/dv-small.yaml"
expect_contains "kubectl" "$E2E_OUT" 'admission webhook "datavolume.validate.kvguard.io" denied the request'
expect_contains "kubectl" "$E2E_OUT" "datavolume-clone-size"

echo "-- apiserver's view"
webhook_latency

echo "$E2E_SCENARIO: $E2E_CHECKS checks passed"
