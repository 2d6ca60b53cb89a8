#!/usr/bin/env bash
# Apply the manifests to a real kube-apiserver (the e2e control plane of
# tests/e2e/cluster.sh, in a private state directory) and check what
# docs/operations.md promises about them, with no kvguard pod running (there
# is no kubelet): exactly the "kvguard is down" case.
#
#   - every object is accepted (server-side validation, CEL compilation of the
#     matchConditions, Pod Security admission without warnings)
#   - with failurePolicy Fail, creating each of the four kinds is refused with
#     the apiserver's "failed calling webhook" error; other kinds are not
#     intercepted
#   - metadata-only updates and deletes pass, spec updates are refused
#   - break-glass: the kvguard.io/exclude label and the failurePolicy patch of
#     docs/operations.md open the path; re-applying closes it again
#   - RBAC: SubjectAccessReviews of what each service account may and may not do
#   - the audit-reports component applies without Pod Security warnings
#
# Usage: tests/manifests/apiserver-check.sh [--kvguard BIN]
# Needs tests/e2e/bin/{etcd,kube-apiserver,kubectl} (tests/e2e/build.sh) or
# KVG_E2E_BIN; without them it exits 77 (skipped). Takes about 30 s.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=
[ -x "$ROOT/build/kvguard" ] && BIN=$ROOT/build/kvguard
while [ $# -gt 0 ]; do
  case $1 in
    --kvguard) BIN=$2; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "apiserver-check: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$BIN" ] || { echo "apiserver-check: no kvguard binary (--kvguard BIN)" >&2; exit 2; }

export KVG_E2E_BIN=${KVG_E2E_BIN:-$ROOT/tests/e2e/bin}
for b in etcd kube-apiserver kubectl; do
  [ -x "$KVG_E2E_BIN/$b" ] || {
    echo "apiserver-check: SKIP: $KVG_E2E_BIN/$b missing (tests/e2e/build.sh)" >&2; exit 77; }
done

TMP=$(mktemp -d)
export KVG_E2E_WORK=$TMP/e2e
CLUSTER=$ROOT/tests/e2e/cluster.sh
cleanup() { bash "$CLUSTER" stop >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
bash "$CLUSTER" start 2> "$TMP/start.log" || { cat "$TMP/start.log" >&2; exit 1; }
eval "$(bash "$CLUSTER" env)"

checks=0 failed=0
ok() { checks=$((checks + 1)); echo "  ok   $*"; }
bad() { checks=$((checks + 1)); failed=$((failed + 1)); echo "  FAIL $*" >&2; }
# expect_ok DESC CMD...: the command succeeds
expect_ok() {
  local d=$1; shift
  if out=$("$@" 2>&1); then ok "$d"; else bad "$d: $out"; fi
}
# expect_refused DESC NEEDLE CMD...: the command fails and says NEEDLE
expect_refused() {
  local d=$1 needle=$2; shift 2
  if out=$("$@" 2>&1); then bad "$d: accepted"
  elif [[ $out == *"$needle"* ]]; then ok "$d"
  else bad "$d: refused for another reason: $out"; fi
}

echo "== install"
kubectl apply -f "$ROOT/tests/e2e/crds/" >/dev/null
kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null
"$ROOT/tools/gen-webhook-certs.sh" --kvguard "$BIN" --out "$TMP/overlay" 2>/dev/null
if out=$(kubectl apply -k "$TMP/overlay" 2>&1); then
  ok "generated-certs overlay applied ($(grep -c . <<< "$out") objects)"
  if grep -qi "warning" <<< "$out"; then bad "warnings on apply: $(grep -i warning <<< "$out")"
  else ok "no warnings (Pod Security restricted holds for both Deployments)"; fi
else
  bad "apply generated-certs: $out"
fi
expect_ok "ha overlay passes server-side dry run" kubectl apply --dry-run=server -k "$ROOT/manifests/overlays/ha"
# the opt-in audit-reports component (kvguard audit --apply as kvguard-audit)
mkdir -p "$TMP/audit-overlay"
printf 'resources:\n- ../overlay\ncomponents:\n- %s\n' \
  "$(realpath --relative-to="$TMP/audit-overlay" "$ROOT/manifests/components/audit-reports")" \
  > "$TMP/audit-overlay/kustomization.yaml"
if out=$(kubectl apply -k "$TMP/audit-overlay" 2>&1); then
  if grep -qi "warning" <<< "$out"; then bad "audit-reports component: warnings on apply: $(grep -i warning <<< "$out")"
  else ok "audit-reports component applied, no warnings (Pod Security restricted)"; fi
else
  bad "apply audit-reports component: $out"
fi
# cert-manager's kinds need its CRDs, which this control plane does not have.
kubectl kustomize "$ROOT/manifests/overlays/cert-manager" |
  awk '/^---$/{n++} {print > ("'"$TMP"'/cm-" n ".yaml")}'
cm_ok=1
for f in "$TMP"/cm-*.yaml; do
  grep -qE '^kind: (Issuer|Certificate)$' "$f" && continue
  kubectl apply --dry-run=server -f "$f" >/dev/null 2>"$TMP/cm.err" || { cm_ok=0; bad "cert-manager overlay: $(cat "$TMP/cm.err")"; }
done
[ "$cm_ok" = 1 ] && ok "cert-manager overlay (but Issuer/Certificate) passes server-side dry run"

ns=kvg-check
kubectl create namespace $ns >/dev/null
snap() { # NAME: a VirtualMachineSnapshot manifest
  printf 'apiVersion: snapshot.kubevirt.io/v1beta1\nkind: VirtualMachineSnapshot\nmetadata: {name: %s, namespace: %s}\nspec:\n  source: {apiGroup: kubevirt.io, kind: VirtualMachine, name: vm1}\n' "$1" $ns
}
create() { kubectl create -f - <<< "$1"; }
restore='apiVersion: snapshot.kubevirt.io/v1beta1
kind: VirtualMachineRestore
metadata: {name: r1, namespace: '$ns'}
spec:
  target: {apiGroup: kubevirt.io, kind: VirtualMachine, name: vm1}
  virtualMachineSnapshotName: s1'
clone='apiVersion: clone.kubevirt.io/v1beta1
kind: VirtualMachineClone
metadata: {name: c1, namespace: '$ns'}
spec:
  source: {apiGroup: kubevirt.io, kind: VirtualMachine, name: vm1}
  target: {apiGroup: kubevirt.io, kind: VirtualMachine, name: vm2}'
dv='apiVersion: cdi.kubevirt.io/v1beta1
kind: DataVolume
metadata: {name: dv1, namespace: '$ns'}
spec:
  source: {pvc: {name: src, namespace: '$ns'}}
  storage: {resources: {requests: {storage: 1Gi}}}'
vm='apiVersion: kubevirt.io/v1
kind: VirtualMachine
metadata: {name: vm1, namespace: '$ns'}
spec:
  runStrategy: Halted
  template: {spec: {domain: {devices: {}}}}'

echo "== kvguard down, failurePolicy Fail"
expect_refused "VirtualMachineSnapshot CREATE refused" 'failed calling webhook "vmsnapshot.mutate.kvguard.io"' create "$(snap s1)"
expect_refused "VirtualMachineRestore CREATE refused" 'failed calling webhook "vmrestore.mutate.kvguard.io"' create "$restore"
expect_refused "VirtualMachineClone CREATE refused" 'failed calling webhook "vmclone.mutate.kvguard.io"' create "$clone"
expect_refused "DataVolume CREATE refused" 'failed calling webhook "datavolume.mutate.kvguard.io"' create "$dv"
expect_ok "VirtualMachine (not routed) created" create "$vm"
expect_ok "kvguard-system is never intercepted" kubectl create -f - <<< "$(snap s0 | sed 's/namespace: '$ns'/namespace: kvguard-system/')"

echo "== break-glass: namespace label"
kubectl label namespace $ns kvguard.io/exclude=true >/dev/null
expect_ok "excluded namespace: snapshot created" create "$(snap s1)"
kubectl label namespace $ns kvguard.io/exclude- >/dev/null
expect_ok "label removed: metadata-only UPDATE passes" kubectl -n $ns label vmsnapshot s1 team=a
expect_ok "finalizer UPDATE passes" kubectl -n $ns patch vmsnapshot s1 --type=merge -p '{"metadata":{"finalizers":["example.io/hold"]}}'
expect_refused "spec UPDATE refused" 'failed calling webhook "vmsnapshot.validate.kvguard.io"' \
  kubectl -n $ns patch vmsnapshot s1 --type=merge -p '{"spec":{"failureDeadline":"1m"}}'
kubectl -n $ns patch vmsnapshot s1 --type=merge -p '{"metadata":{"finalizers":null}}' >/dev/null
expect_ok "DELETE passes" kubectl -n $ns delete vmsnapshot s1

echo "== break-glass: failurePolicy Ignore (docs/operations.md)"
for c in validatingwebhookconfiguration mutatingwebhookconfiguration; do
  for i in 0 1 2 3; do
    kubectl patch $c kvguard --type=json \
      -p "[{\"op\":\"replace\",\"path\":\"/webhooks/$i/failurePolicy\",\"value\":\"Ignore\"}]" >/dev/null
  done
done
expect_ok "fail open: snapshot created unchecked" create "$(snap s2)"
kubectl apply -k "$TMP/overlay" >/dev/null 2>&1
policies=$(kubectl get validatingwebhookconfiguration,mutatingwebhookconfiguration kvguard -o jsonpath='{.items[*].webhooks[*].failurePolicy}')
[ "$policies" = "Fail Fail Fail Fail Fail Fail Fail Fail" ] && ok "re-apply restores failurePolicy Fail" || bad "after re-apply: $policies"

echo "== RBAC"
# sar SA VERB GROUP RESOURCE SUBRESOURCE NAMESPACE NAME WANT
sar() {
  local got
  got=$(kubectl create -o jsonpath='{.status.allowed}' -f - <<EOF
apiVersion: authorization.k8s.io/v1
kind: SubjectAccessReview
spec:
  user: system:serviceaccount:kvguard-system:$1
  groups: [system:serviceaccounts, "system:serviceaccounts:kvguard-system", system:authenticated]
  resourceAttributes: {verb: "$2", group: "$3", resource: "$4", subresource: "$5", namespace: "$6", name: "$7"}
EOF
)
  [ "${got:-false}" = "$8" ] && ok "$1 $2 ${3:-core}/$4${5:+/$5} ${6:+in $6} -> $8" ||
    bad "$1 $2 ${3:-core}/$4${5:+/$5} ${6:+in $6}: allowed=${got:-false}, want $8"
}
W=kvguard-webhook R=kvguard-reconciler
sar $W list kubevirt.io virtualmachines "" "" "" true
sar $W watch zfs.openebs.io zfssnapshots "" "" "" true
sar $W get "" pods "" $ns p1 true
sar $W create snapshot.kubevirt.io virtualmachinesnapshots "" $ns "" false
sar $W delete "" persistentvolumeclaims "" $ns x false
sar $W get "" secrets "" kvguard-system kvguard-webhook-tls false
sar $R delete "" persistentvolumeclaims "" $ns x true
sar $R update "" persistentvolumeclaims "" $ns x false
sar $R create kubevirt.io virtualmachines "" $ns "" true
sar $R patch kubevirt.io virtualmachines "" $ns vm1 true
sar $R update kubevirt.io virtualmachines "" $ns vm1 false
sar $R update subresources.kubevirt.io virtualmachines start $ns vm1 true
sar $R update subresources.kubevirt.io virtualmachines stop $ns vm1 false
sar $R patch clone.kubevirt.io virtualmachineclones "" $ns c1 true
sar $R patch snapshot.kubevirt.io virtualmachinerestores "" $ns r1 true
sar $R patch snapshot.kubevirt.io virtualmachinesnapshots "" $ns s1 false
sar $R create batch jobs "" kvguard-rollback "" true
sar $R create batch jobs "" kvguard-system "" false
sar $R create batch jobs "" $ns "" false
sar $R get coordination.k8s.io leases "" kvguard-system kvguard-reconciler true
sar $R update coordination.k8s.io leases "" kvguard-system someone-else false
sar $R create events.k8s.io events "" $ns "" true
sar $R get "" secrets "" kvguard-system "" false
A=kvguard-audit
sar $A list kubevirt.io virtualmachines "" "" "" true
sar $A create wgpolicyk8s.io policyreports "" $ns "" true
sar $A update wgpolicyk8s.io policyreports "" $ns kvguard true
sar $A delete wgpolicyk8s.io policyreports "" $ns kvguard true
sar $A create wgpolicyk8s.io clusterpolicyreports "" "" "" false
sar $A create snapshot.kubevirt.io virtualmachinesnapshots "" $ns "" false
sar $A delete "" persistentvolumeclaims "" $ns x false
sar $A get "" secrets "" kvguard-system "" false
sar $R create wgpolicyk8s.io policyreports "" $ns "" false
sar $W create wgpolicyk8s.io policyreports "" $ns "" false

echo "apiserver-check: $((checks - failed)) passed, $failed failed"
[ "$failed" = 0 ]
