#!/usr/bin/env bash
# Build kube-apiserver, kubectl and etcd for the e2e harness into tests/e2e/bin/.
#
# Sources come from the Go module proxy through two small wrapper modules:
#   tests/e2e/kube/  requires k8s.io/kubernetes and pins every k8s.io staging
#                    module to the matching v0.X.Y (kube-apiserver, kubectl)
#   tests/e2e/etcd/  requires go.etcd.io/etcd/server/v3 (etcd)
# go.sum of each module is committed and is the only verification root: the
# checksum database is not consulted (GOSUMDB=off), go.sum still is.
#
# A binary is rebuilt only when its key changes: the hash of its module's
# go.mod, go.sum and main.go, the Go version and the build flags. Stamps live
# next to the binaries (bin/.<name>.key).
#
# Usage: tests/e2e/build.sh [--force] [kube-apiserver|kubectl|etcd ...]
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN_DIR=${KVG_E2E_BIN:-$E2E_DIR/bin}
FORCE=0
targets=()
for a in "$@"; do
  case $a in
    --force) FORCE=1 ;;
    kube-apiserver|kubectl|etcd) targets+=("$a") ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument '$a'" >&2; exit 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(etcd kube-apiserver kubectl)

command -v go >/dev/null || { echo "build.sh: 'go' not found in PATH" >&2; exit 1; }

export GOTOOLCHAIN=local
export GOSUMDB=off
export GOFLAGS="-mod=readonly -buildvcs=false -trimpath"
export CGO_ENABLED=0
GO_VERSION=$(go env GOVERSION)

# Kubernetes version stamped into the binaries, read from the wrapper go.mod.
KUBE_VERSION=$(awk '{for (i = 1; i < NF; i++) if ($i == "k8s.io/kubernetes" && $(i+1) ~ /^v/) print $(i+1)}' "$E2E_DIR/kube/go.mod")
[ -n "$KUBE_VERSION" ] || { echo "build.sh: k8s.io/kubernetes not required in kube/go.mod" >&2; exit 1; }
kmaj=${KUBE_VERSION#v}; kmaj=${kmaj%%.*}
kmin=${KUBE_VERSION#v*.}; kmin=${kmin%%.*}

module_of() { case $1 in etcd) echo etcd ;; *) echo kube ;; esac; }
pkg_of() { case $1 in etcd) echo . ;; *) echo "./cmd/$1" ;; esac; }

key_of() {
  local mod; mod=$E2E_DIR/$(module_of "$1")
  {
    echo "$GO_VERSION $1 $GOFLAGS CGO_ENABLED=$CGO_ENABLED $(ldflags_of "$1")"
    cat "$mod/go.mod" "$mod/go.sum"
    if [ "$1" = etcd ]; then cat "$mod/main.go"; else cat "$mod/cmd/$1/main.go"; fi
  } | sha256sum | cut -d' ' -f1
}

ldflags_of() {
  local flags="-s -w"
  if [ "$1" != etcd ]; then
    local v
    for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      flags+=" -X $v.gitVersion=$KUBE_VERSION -X $v.gitMajor=$kmaj -X $v.gitMinor=$kmin"
      flags+=" -X $v.gitTreeState=clean -X $v.buildDate=1970-01-01T00:00:00Z"
    done
  fi
  echo "$flags"
}

mkdir -p "$BIN_DIR"
for t in "${targets[@]}"; do
  key=$(key_of "$t")
  out=$BIN_DIR/$t stamp=$BIN_DIR/.$t.key
  if [ $FORCE = 0 ] && [ -x "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$key" ]; then
    echo "build.sh: $t up to date ($out)"
    continue
  fi
  echo "build.sh: building $t ($(module_of "$t") module, $GO_VERSION) ..."
  start=$(date +%s)
  rm -f "$stamp"
  (cd "$E2E_DIR/$(module_of "$t")" &&
    nice -n 10 go build -ldflags "$(ldflags_of "$t")" -o "$out.tmp" "$(pkg_of "$t")")
  mv -f "$out.tmp" "$out"
  echo "$key" > "$stamp"
  echo "build.sh: built $t in $(( $(date +%s) - start ))s"
done
