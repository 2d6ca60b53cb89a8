#!/usr/bin/env bash
# Resilience of the real webhook path:
# - kvguard restarted mid-suite: while it is down, creates are refused with the
#   apiserver's message (failurePolicy Fail, as shipped); once it is back,
#   decisions resume
# - kube-apiserver restarted under a running kvguard: its informers' watches
#   resume, and an object created after the restart is seen by the webhook
# Needs the kvguard binary: $KVG_BIN, default build/kvguard.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

NS=${NS:-e2e-45-resilience}
TMP=$KVG_E2E_WORK/45-resilience
rm -rf "$TMP"; mkdir -p "$TMP"
e2e_ns "$NS"
trap kvg_cleanup EXIT

e2e_zfs_storageclass
kubectl apply -f "$(ref storage-examples/volumesnapshotclass-zfs-docs.yaml)" >/dev/null
vm() { # NAME: vm-cirros.yaml with its containerDisk swapped for claim NAME-disk (Bound, e2e-zfspv)
  kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $1-disk}
spec: {accessModes: [ReadWriteOnce], storageClassName: e2e-zfspv, resources: {requests: {storage: 1Gi}}}
EOF
  set_status "pvc/$1-disk" "$NS" '{"phase":"Bound","capacity":{"storage":"1Gi"}}'
  sed -e "s/vm-cirros/$1/g" -e "s#- containerDisk:#- persistentVolumeClaim:#" \
      -e "s#image: registry:5000/kubevirt/cirros-container-disk-demo:devel#claimName: $1-disk#" \
      "$(ref kubevirt-examples/vm-cirros.yaml)" | kubectl -n "$NS" apply -f - >/dev/null
}
snapshot() { # NAME VM -> $TMP/NAME.yaml
  sed "s/name: larry/name: $2/; s/name: snap-larry/name: $1/" \
    "$(ref kubevirt-examples/ug-vmsnapshot-snap-larry.yaml)" > "$TMP/$1.yaml"
}
vm vm-a
ok "vm-a with a Bound zfs claim; zfspv-snapclass present"

kvg_rbac
kvg_certs
kvg_start
kvg_webhooks ""
snapshot snap-a1 vm-a
check "snapshot of vm-a admitted" kubectl -n "$NS" create -f "$TMP/snap-a1.yaml"
set_status vmsnapshot/snap-a1 "$NS" '{"phase":"Succeeded","readyToUse":true}'

echo "-- kvguard restarted"
kvg_stop
ok "kvguard serve stopped"
snapshot snap-a2 vm-a
check_fails "while kvguard is down: create refused" kubectl -n "$NS" create -f "$TMP/snap-a2.yaml"
expect_contains "apiserver message" "$E2E_OUT" 'failed calling webhook "vmsnapshot.mutate.kvguard.io"'
expect_contains "apiserver message" "$E2E_OUT" "127.0.0.1:$KVG_PORT"
kvg_start
check "kvguard back on the same port: create admitted" kubectl -n "$NS" create -f "$TMP/snap-a2.yaml"

echo "-- kube-apiserver restarted under kvguard"
snapshot snap-b vm-b
check_fails "snapshot of the missing vm-b denied" kubectl -n "$NS" create -f "$TMP/snap-b.yaml"
expect_contains "kubectl" "$E2E_OUT" "snapshot-source-exists"
check "kube-apiserver restarted (same port, same etcd)" bash "$E2E_DIR/cluster.sh" restart-apiserver
check "kvguard serve survived the restart" kill -0 "$(cat "$KVG_DIR/serve.pid")"
vm vm-b
ok "vm-b created after the restart"
admitted() { kubectl -n "$NS" create --dry-run=server -f "$TMP/snap-b.yaml" >/dev/null 2>&1; }
wait_for "kvguard's watches resumed: snapshot of vm-b admitted (server dry run)" 60 admitted
check "snapshot of vm-b created" kubectl -n "$NS" create -f "$TMP/snap-b.yaml"

echo "-- apiserver's view"
webhook_latency

echo "$E2E_SCENARIO: $E2E_CHECKS checks passed"
