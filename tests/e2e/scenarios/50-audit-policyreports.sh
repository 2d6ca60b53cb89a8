#!/usr/bin/env bash
# `kvguard audit` against the real apiserver (issue 8): the readiness report
# over the kube backend, and its PolicyReports accepted by a CRD with the
# upstream wgpolicyk8s.io/v1alpha2 schema (crds/policyreport-crd.yaml), both
# through `kubectl apply` and through `kvguard audit --apply`. kvguard runs as
# the shipped ServiceAccount kvguard-audit (manifests/base/rbac-audit.yaml)
# with a token from the TokenRequest API, so the RBAC is tested with it.
# Needs the kvguard binary: $KVG_BIN, default build/kvguard.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"

NS=${NS:-e2e-50-audit}
e2e_ns "$NS"
[ -x "$KVG_BIN" ] || fail "kvguard binary not found: $KVG_BIN"
OUT=$KVG_E2E_WORK/audit-$NS
mkdir -p "$OUT"

echo "-- the shipped identity of kvguard audit"
for f in namespace.yaml rbac-read.yaml rbac-audit.yaml; do
  kubectl apply -f "$KVG_MANIFESTS/$f" >/dev/null || fail "applying $KVG_MANIFESTS/$f failed"
done
AKC=$OUT/audit.kubeconfig
kvg__kubeconfig "$AKC" "$(kubectl -n kvguard-system create token kvguard-audit --duration=1h)"
ok "kubeconfig for ServiceAccount kvguard-system/kvguard-audit"
# can_i WANT VERB RESOURCE [NS]: what the audit identity may do
can_i() {
  local got
  got=$(kubectl --kubeconfig "$AKC" auth can-i "$2" "$3" ${4:+-n "$4"} 2>/dev/null || true)
  expect_eq "kvguard-audit may $2 $3${4:+ in $4}" "$got" "$1"
}
can_i yes update policyreports.wgpolicyk8s.io "$NS"
can_i yes delete policyreports.wgpolicyk8s.io "$NS"
can_i yes watch virtualmachines.kubevirt.io
can_i no create virtualmachinesnapshots.snapshot.kubevirt.io "$NS"
can_i no delete persistentvolumeclaims "$NS"
can_i no update clusterpolicyreports.wgpolicyk8s.io

echo "-- a VM whose disk lives on storage without snapshots"
e2e_hostpath_storageclass
kubectl -n "$NS" apply -f - >/dev/null <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: hostpath-disk}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: e2e-hostpath
  resources: {requests: {storage: 1Gi}}
---
apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: vm-hostpath}
spec:
  runStrategy: Halted
  template:
    spec:
      domain: {devices: {}}
      volumes:
      - name: rootdisk
        persistentVolumeClaim: {claimName: hostpath-disk}
EOF
set_status pvc/hostpath-disk "$NS" '{"phase":"Bound"}'
ok "VM $NS/vm-hostpath on StorageClass e2e-hostpath (openebs.io/local)"

echo "-- the report over the kube backend"
rc=0
"$KVG_BIN" audit --kubeconfig "$AKC" -n "$NS" > "$OUT/table.txt" 2> "$OUT/table.err" || rc=$?
expect_eq "audit exit code (something would be refused)" "$rc" 1
expect_contains "table row of the VM" "$(cat "$OUT/table.txt")" "$NS/vm-hostpath"
expect_contains "the reason names the provisioner" "$(cat "$OUT/table.txt")" "openebs.io/local"

echo "-- PolicyReports through kubectl"
rc=0
"$KVG_BIN" audit --kubeconfig "$AKC" -n "$NS" -o policyreport > "$OUT/reports.json" 2>> "$OUT/table.err" || rc=$?
expect_eq "audit -o policyreport exit code" "$rc" 1
check "server-side dry run: the CRD schema accepts the reports" \
  kubectl apply --dry-run=server -f "$OUT/reports.json"
check "reports applied" kubectl apply -f "$OUT/reports.json"
expect_contains "rules of the stored report" \
  "$(kubectl -n "$NS" get policyreports.wgpolicyk8s.io kvguard -o jsonpath='{.results[*].rule}')" \
  "snapshot-volume-support"
fails=$(kubectl -n "$NS" get policyreports.wgpolicyk8s.io kvguard -o jsonpath='{.summary.fail}')
[ "${fails:-0}" -ge 1 ] && ok "summary.fail = $fails" || fail "summary.fail is '${fails:-}', want >= 1"

echo "-- kvguard audit --apply keeps the report current"
kubectl -n "$NS" delete policyreports.wgpolicyk8s.io kvguard >/dev/null
rc=0
"$KVG_BIN" audit --kubeconfig "$AKC" -n "$NS" --apply > "$OUT/apply.txt" 2>&1 || rc=$?
[ "$rc" -le 1 ] && ok "audit --apply exit code $rc" || { cat "$OUT/apply.txt" >&2; fail "audit --apply exit code $rc"; }
check "report kvguard re-created by --apply" kubectl -n "$NS" get policyreports.wgpolicyk8s.io kvguard
expect_contains "results after --apply" \
  "$(kubectl -n "$NS" get policyreports.wgpolicyk8s.io kvguard -o jsonpath='{.results[*].result}')" "fail"

echo "-- fixing the storage turns the result around"
kubectl -n "$NS" delete vm vm-hostpath >/dev/null
"$KVG_BIN" audit --kubeconfig "$AKC" -n "$NS" --apply > "$OUT/apply2.txt" 2>&1 || true
fails=$(kubectl -n "$NS" get policyreports.wgpolicyk8s.io kvguard -o jsonpath='{.summary.fail}' 2>/dev/null || true)
[ "${fails:-0}" = 0 ] && ok "no failing result once the VM is gone" || fail "summary.fail still '$fails'"
echo "50-audit-policyreports: $E2E_CHECKS checks passed"
