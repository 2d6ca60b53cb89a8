#!/usr/bin/env bash
# Build every kustomization of manifests/ with `kubectl kustomize` and check
# the output is what the overlays promise. Uses tests/e2e/bin/kubectl (built
# from Go modules by tests/e2e/build.sh), else $KUBECTL, else kubectl on PATH;
# without any, it says so and exits 77 (skipped). Downloads nothing.
#
# Usage: tests/manifests/kustomize-check.sh [--kvguard BIN]
#   --kvguard BIN   also generate the generated-certs overlay in a temporary
#                   directory with tools/gen-webhook-certs.sh and build it
#                   (default: build/kvguard when it exists)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=
[ -x "$ROOT/build/kvguard" ] && BIN=$ROOT/build/kvguard
while [ $# -gt 0 ]; do
  case $1 in
    --kvguard) BIN=$2; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "kustomize-check: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done

KUBECTL=${KUBECTL:-}
if [ -z "$KUBECTL" ]; then
  if [ -x "$ROOT/tests/e2e/bin/kubectl" ]; then KUBECTL=$ROOT/tests/e2e/bin/kubectl
  elif command -v kubectl >/dev/null; then KUBECTL=$(command -v kubectl)
  else echo "kustomize-check: SKIP: no kubectl (run tests/e2e/build.sh kubectl)" >&2; exit 77
  fi
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail=0
bad() { echo "kustomize-check: FAIL: $*" >&2; fail=1; }

# build NAME DIR: kustomize DIR into $TMP/NAME.yaml
build() {
  if "$KUBECTL" kustomize "$2" > "$TMP/$1.yaml" 2> "$TMP/$1.err"; then
    echo "kustomize-check: ok: $1 ($(grep -c '^kind:' "$TMP/$1.yaml") objects)"
  else
    bad "$1: $(cat "$TMP/$1.err")"; : > "$TMP/$1.yaml"
  fi
}
# count NAME REGEX: lines of the build output matching REGEX
count() { grep -cE "$2" "$TMP/$1.yaml" || true; }
expect() { # NAME REGEX N what
  local n; n=$(count "$1" "$2")
  [ "$n" = "$3" ] || bad "$1: $4: $n matches of /$2/, want $3"
}

build base "$ROOT/manifests/base"
expect base '^    caBundle: ' 0 "the base carries no caBundle"
expect base '^  replicas: 2$' 2 "webhook and reconciler at 2 replicas"
expect base 'name: kvguard-config-[a-z0-9]{10}$' 3 "ConfigMap with a content hash, used by both Deployments"

build ha "$ROOT/manifests/overlays/ha"
expect ha '^  replicas: 3$' 1 "webhook at 3 replicas"
expect ha '^  minAvailable: 2$' 1 "webhook PDB minAvailable 2"
expect ha 'whenUnsatisfiable: DoNotSchedule' 1 "hard spread over nodes"

# the opt-in audit-reports component over the base
mkdir -p "$TMP/audit-reports"
printf 'resources:\n- %s\ncomponents:\n- %s\n' \
  "$(realpath --relative-to="$TMP/audit-reports" "$ROOT/manifests/base")" \
  "$(realpath --relative-to="$TMP/audit-reports" "$ROOT/manifests/components/audit-reports")" \
  > "$TMP/audit-reports/kustomization.yaml"
build audit-reports "$TMP/audit-reports"
expect audit-reports 'name: kvguard-config-[a-z0-9]{10}$' 4 "the audit Deployment uses the hashed ConfigMap too"
expect audit-reports '^      serviceAccountName: kvguard-audit$' 1 "audit runs as kvguard-audit"

build cert-manager "$ROOT/manifests/overlays/cert-manager"
expect cert-manager 'cert-manager.io/inject-ca-from: kvguard-system/kvguard-webhook$' 2 "CA injection into both configurations"
expect cert-manager '^kind: (Issuer|Certificate)$' 4 "two Issuers and two Certificates"

if [ -n "$BIN" ]; then
  "$ROOT/tools/gen-webhook-certs.sh" --kvguard "$BIN" --out "$TMP/generated" --ha 2> "$TMP/gen.err" ||
    bad "gen-webhook-certs.sh: $(cat "$TMP/gen.err")"
  build generated-certs "$TMP/generated"
  hooks=$(( $(count base '^  - admissionReviewVersions:|^- admissionReviewVersions:') ))
  [ "$hooks" -gt 0 ] || bad "base: no webhooks found"
  expect generated-certs "^    caBundle: $(cat "$TMP/generated/cabundle.txt")\$" "$hooks" "caBundle on every webhook"
  expect generated-certs '^kind: Secret$' 1 "Secret kvguard-webhook-tls"
  expect generated-certs '^  name: kvguard-webhook-tls$' 1 "the Secret keeps its name (no hash)"
  expect generated-certs '^  replicas: 3$' 1 "--ha adds the ha component"
else
  echo "kustomize-check: generated-certs not checked: no kvguard binary (--kvguard BIN)" >&2
fi

[ "$fail" = 0 ] && echo "kustomize-check: all kustomizations build"
exit "$fail"
