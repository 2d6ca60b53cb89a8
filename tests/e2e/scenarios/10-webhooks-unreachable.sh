#!/usr/bin/env bash
# kvguard's shipped webhook configurations (manifests/base), registered in the
# real apiserver with the caBundle of `kvguard certs`, while no kvguard listens
# on their URL: what a cluster sees when kvguard is down.
# - failurePolicy Fail (as shipped): creates of the four kinds are refused with
#   the apiserver's own message, server-side dry runs too; what must keep
#   working for KubeVirt's controllers does (status writes, metadata-only
#   updates via the matchCondition, deletes, excluded namespaces).
# - failurePolicy Ignore: the same creates are admitted.
# Needs the kvguard binary (only for `kvguard certs`): $KVG_BIN, default build/kvguard.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

NS=e2e-10-unreachable
e2e_ns "$NS"
trap kvg_unregister EXIT

kvg_certs
kvg_rbac                    # namespaces and RBAC of manifests/base
free_port KVG_PORT          # nothing listens there
note "webhooks point at https://127.0.0.1:$KVG_PORT, where nothing listens"

# objects that exist before the webhooks are registered
kubectl -n "$NS" apply -f "$(ref kubevirt-examples/vm-cirros.yaml)" >/dev/null
kubectl -n "$NS" apply -f "$(ref kubevirt-examples/ug-vmsnapshot-snap-larry.yaml)" >/dev/null

echo "-- failurePolicy: Fail (as shipped)"
kvg_webhooks ""
expect_eq "validating webhooks all Fail" \
  "$(jp validatingwebhookconfiguration/kvguard '.webhooks[*].failurePolicy')" "Fail Fail Fail Fail"
expect_eq "no service reference left" "$(jp validatingwebhookconfiguration/kvguard '.webhooks[*].clientConfig.service')" ""

refused() { # DESC FILE WEBHOOK [kubectl args...]
  local desc=$1 file=$2 hook=$3; shift 3
  check_fails "$desc" kubectl -n "$NS" create -f "$file" "$@"
  expect_contains "$desc: apiserver message" "$E2E_OUT" "failed calling webhook \"$hook\""
  expect_contains "$desc: apiserver message" "$E2E_OUT" "127.0.0.1:$KVG_PORT"
}
sed 's/name: snap-larry/name: snap-larry-2/' "$(ref kubevirt-examples/ug-vmsnapshot-snap-larry.yaml)" \
  > "$KVG_E2E_WORK/10-snap2.yaml"
refused "VirtualMachineSnapshot create refused" "$KVG_E2E_WORK/10-snap2.yaml" vmsnapshot.mutate.kvguard.io
refused "VirtualMachineRestore create refused" "$(ref kubevirt-examples/ug-vmrestore-restore-larry.yaml)" \
  vmrestore.mutate.kvguard.io
refused "VirtualMachineClone create refused" "$(ref kubevirt-examples/ug-vmclone-testclone.yaml)" \
  vmclone.mutate.kvguard.io
refused "DataVolume create refused" "$(ref cdi-examples/cdi-blank-image-datavolume.yaml)" \
  datavolume.mutate.kvguard.io
refused "server-side dry run goes through the webhooks too" \
  "$(ref kubevirt-examples/ug-vmrestore-restore-larry.yaml)" vmrestore.mutate.kvguard.io --dry-run=server
check_fails "vmrestore not stored" kubectl -n "$NS" get vmrestore restore-larry

check_fails "spec change of an existing snapshot refused" \
  kubectl -n "$NS" patch vmsnapshot snap-larry --type=merge -p '{"spec":{"failureDeadline":"1m"}}'
expect_contains "spec change" "$E2E_OUT" 'failed calling webhook "vmsnapshot.validate.kvguard.io"'
check "label-only update admitted (matchCondition create-or-spec-changed)" \
  kubectl -n "$NS" label vmsnapshot snap-larry e2e=yes
set_status vmsnapshot/snap-larry "$NS" '{"phase":"Succeeded","readyToUse":true}'
expect_eq "status write admitted (status subresource not routed)" \
  "$(jp vmsnapshot/snap-larry .status.phase -n "$NS")" Succeeded
check "VirtualMachine create not routed" kubectl -n "$NS" apply -f "$(ref cdi-examples/cdi-vm-dv.yaml)"

kubectl create namespace e2e-10-excluded >/dev/null
kubectl label namespace e2e-10-excluded kvguard.io/exclude=true >/dev/null
check "create admitted in a namespace labelled kvguard.io/exclude=true" \
  kubectl -n e2e-10-excluded create -f "$(ref kubevirt-examples/ug-vmrestore-restore-larry.yaml)"
check "create admitted in kvguard-system" \
  kubectl -n kvguard-system create -f "$(ref kubevirt-examples/ug-vmrestore-restore-larry.yaml)"
check "delete not routed" kubectl -n "$NS" delete vmsnapshot snap-larry --wait=false

echo "-- failurePolicy: Ignore"
kvg_webhooks Ignore
expect_eq "validating webhooks all Ignore" \
  "$(jp validatingwebhookconfiguration/kvguard '.webhooks[*].failurePolicy')" "Ignore Ignore Ignore Ignore"
check "VirtualMachineSnapshot admitted" kubectl -n "$NS" create -f "$KVG_E2E_WORK/10-snap2.yaml"
check "VirtualMachineRestore admitted" kubectl -n "$NS" create -f "$(ref kubevirt-examples/ug-vmrestore-restore-larry.yaml)"
check "VirtualMachineClone admitted" kubectl -n "$NS" create -f "$(ref kubevirt-examples/ug-vmclone-testclone.yaml)"
check "DataVolume admitted" kubectl -n "$NS" create -f "$(ref cdi-examples/cdi-blank-image-datavolume.yaml)"
expect_eq "restore stored unchanged (no mutation without kvguard)" \
  "$(jp vmrestore/restore-larry '.metadata.annotations.kvguard\.io/pre-restore-claims' -n "$NS")" ""

echo "-- apiserver's view (apiserver_admission_webhook_admission_duration_seconds)"
webhook_latency

echo "$E2E_SCENARIO: $E2E_CHECKS checks passed"
