#!/usr/bin/env bash
# Helpers for tests/e2e/scenarios/*.sh. Source it after `set -euo pipefail`:
#   . "$(dirname "$0")/../lib.sh"
# run.sh exports the cluster environment (KUBECONFIG, KVG_E2E_*); a scenario
# can also be run by hand after `eval "$(tests/e2e/cluster.sh env)"`.
#
# Needs only bash, kubectl (tests/e2e/bin), curl and openssl: no jq/python.

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$E2E_DIR/../.." && pwd)
KVG_SHARED_DIR=${KVG_SHARED_DIR:-$REPO_DIR/../shared}
REFERENCE_DIR=$KVG_SHARED_DIR/reference
: "${KVG_E2E_WORK:=$E2E_DIR/.work}"
: "${KVG_E2E_BIN:=$E2E_DIR/bin}"
case ":$PATH:" in *":$KVG_E2E_BIN:"*) ;; *) PATH=$KVG_E2E_BIN:$PATH ;; esac
: "${KUBECONFIG:=$KVG_E2E_WORK/kubeconfig}"
export KUBECONFIG PATH

E2E_SCENARIO=$(basename "${0%.sh}")
E2E_CHECKS=0

# --- reporting ------------------------------------------------------------
ok()   { E2E_CHECKS=$((E2E_CHECKS + 1)); echo "  ok   $*"; }
fail() { echo "  FAIL $*" >&2; exit 1; }
note() { echo "  ..   $*"; }

# check DESC CMD...: CMD must succeed; its output is shown only on failure.
check() {
  local desc=$1 out; shift
  if out=$("$@" 2>&1); then ok "$desc"; else
    printf '%s\n' "$out" | sed 's/^/       | /' >&2
    fail "$desc (command: $*)"
  fi
}

# check_fails DESC CMD...: CMD must fail; sets $E2E_OUT to its output.
check_fails() {
  local desc=$1; shift
  if E2E_OUT=$("$@" 2>&1); then
    printf '%s\n' "$E2E_OUT" | sed 's/^/       | /' >&2
    fail "$desc: expected failure, command succeeded: $*"
  fi
  ok "$desc"
}

expect_eq() { # DESC ACTUAL EXPECTED
  [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"
  ok "$1 = '$3'"
}

expect_contains() { # DESC HAYSTACK NEEDLE
  case $2 in *"$3"*) ok "$1 contains '$3'" ;;
    *) printf '%s\n' "$2" | sed 's/^/       | /' >&2; fail "$1: '$3' not found" ;; esac
}

# wait_for DESC TIMEOUT_S CMD...: retry CMD every 0.5s until it succeeds.
wait_for() {
  local desc=$1 timeout=$2 deadline; shift 2
  deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "$desc: not true after ${timeout}s ($*)"
    sleep 0.5
  done
  ok "$desc"
}

# --- cluster objects ----------------------------------------------------------
# jp KIND/NAME JSONPATH [-n NS]: one field of a live object.
jp() { local what=$1 path=$2; shift 2; kubectl get "$what" "$@" -o "jsonpath={$path}"; }

# e2e_ns NAME: a namespace plus its "default" ServiceAccount (there is no
# controller-manager to create it, and the ServiceAccount admission plugin
# refuses pods without it). Namespaces cannot be deleted for good here (no
# namespace controller): use a fresh name per scenario.
e2e_ns() {
  kubectl create namespace "$1" >/dev/null
  kubectl -n "$1" create serviceaccount default >/dev/null 2>&1 || true
}

# e2e_hostpath_storageclass: StorageClass e2e-hostpath (openebs.io/local,
# a provisioner without snapshots). Cluster-scoped: shared.
e2e_hostpath_storageclass() {
  kubectl apply -f - >/dev/null <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: e2e-hostpath
provisioner: openebs.io/local
volumeBindingMode: WaitForFirstConsumer
EOF
}

# e2e_zfs_storageclass: StorageClass e2e-zfspv (zfs.csi.openebs.io,
# WaitForFirstConsumer, as the seeds' openebs-zfspv). Cluster-scoped: shared.
e2e_zfs_storageclass() {
  kubectl apply -f - >/dev/null <<'EOF'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: e2e-zfspv
parameters: {fstype: zfs, poolname: zfspv-pool}
provisioner: zfs.csi.openebs.io
volumeBindingMode: WaitForFirstConsumer
EOF
}

# e2e_no_zfs_snapshot_class: cluster-scoped objects outlive scenarios; start
# without any VolumeSnapshotClass for zfs.csi.openebs.io.
e2e_no_zfs_snapshot_class() {
  local c
  for c in $(kubectl get vsclass -o jsonpath='{range .items[?(@.driver=="zfs.csi.openebs.io")]}{.metadata.name}{" "}{end}'); do
    kubectl delete vsclass "$c" >/dev/null
    note "deleted VolumeSnapshotClass $c left by an earlier scenario"
  done
}

# ref FILE: path of an upstream manifest under shared/reference/.
ref() {
  local f=$REFERENCE_DIR/$1
  [ -f "$f" ] || fail "reference manifest missing: $f"
  echo "$f"
}

# set_status KIND/NAME NS JSON: merge-patch .status through the status
# subresource (what a controller does), e.g. set_status vmrestore/r1 ns '{"complete":true}'
set_status() {
  local nsflag=(); [ -z "$2" ] || nsflag=(-n "$2")
  kubectl "${nsflag[@]}" patch "$1" --subresource=status --type=merge -p "{\"status\":$3}" >/dev/null
}

# --- kvguard (the real binary, $KVG_BIN) ----------------------------------------
KVG_BIN=${KVG_BIN:-$REPO_DIR/build/kvguard}
KVG_DIR=$KVG_E2E_WORK/kvguard
KVG_MANIFESTS=${KVG_MANIFESTS:-$REPO_DIR/manifests/base}

# free_port VAR: set VAR to a TCP port nobody uses, below the ephemeral range.
free_port() {
  local p hex lo
  lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$lo" -gt 11000 ] || lo=32768
  for _ in $(seq 500); do
    p=$(( 10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000) ))
    hex=$(printf ':%04X ' "$p")
    if ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '{print $2" "}' | grep -q "$hex"; then
      printf -v "$1" '%s' "$p"; return 0
    fi
  done
  fail "no free TCP port found"
}

# kvg_certs: `kvguard certs` for 127.0.0.1 into $KVG_DIR/certs (ca.crt,
# tls.crt, tls.key); the caBundle it prints on stdout goes to $KVG_DIR/cabundle.
kvg_certs() {
  [ -x "$KVG_BIN" ] || fail "kvguard binary not found: $KVG_BIN (set KVG_BIN)"
  mkdir -p "$KVG_DIR"
  "$KVG_BIN" certs --out "$KVG_DIR/certs" --dns localhost --ip 127.0.0.1 --days 2 --force \
    > "$KVG_DIR/cabundle" 2> "$KVG_DIR/certs.err" \
    || fail "kvguard certs failed: $(cat "$KVG_DIR/certs.err")"
  KVG_CA=$KVG_DIR/certs/ca.crt KVG_CERT=$KVG_DIR/certs/tls.crt KVG_KEY=$KVG_DIR/certs/tls.key
  [ -s "$KVG_CERT" ] && [ -s "$KVG_KEY" ] && [ -s "$KVG_CA" ] || fail "kvguard certs: missing files in $KVG_DIR/certs"
  [ "$(tr -d '\n' < "$KVG_DIR/cabundle" | base64 -d 2>/dev/null | openssl x509 -noout -fingerprint 2>/dev/null)" = \
    "$(openssl x509 -in "$KVG_CA" -noout -fingerprint)" ] || fail "kvguard certs: stdout is not the base64 of ca.crt"
  ok "kvguard certs: $KVG_CERT for 127.0.0.1, caBundle = base64(ca.crt)"
}

# kvg_rbac: the namespace, ServiceAccounts and RBAC of manifests/base, and a
# kubeconfig per ServiceAccount with a token from the TokenRequest API, so
# kvguard runs with exactly the rights the shipped manifests grant.
#   $KVG_DIR/webhook.kubeconfig     (kvguard-webhook)
#   $KVG_DIR/reconciler.kubeconfig  (kvguard-reconciler)
kvg_rbac() {
  local f sa
  for f in namespace.yaml rbac-read.yaml rbac-reconciler.yaml; do
    kubectl apply -f "$KVG_MANIFESTS/$f" >/dev/null || fail "kvg_rbac: applying $KVG_MANIFESTS/$f failed"
  done
  mkdir -p "$KVG_DIR"
  for sa in webhook reconciler; do
    kubectl -n kvguard-system get serviceaccount "kvguard-$sa" >/dev/null \
      || fail "kvg_rbac: ServiceAccount kvguard-$sa not in the manifests"
    kvg__kubeconfig "$KVG_DIR/$sa.kubeconfig" \
      "$(kubectl -n kvguard-system create token "kvguard-$sa" --duration=24h)"
  done
  ok "kvg_rbac: manifests/base RBAC applied, kubeconfigs for kvguard-webhook and kvguard-reconciler"
}

# kvg__kubeconfig FILE TOKEN: the e2e cluster with a bearer token.
kvg__kubeconfig() {
  rm -f "$1"
  kubectl config --kubeconfig="$1" set-cluster e2e --server="$KVG_E2E_SERVER" \
    --certificate-authority="$KVG_E2E_CA" --embed-certs=true >/dev/null
  kubectl config --kubeconfig="$1" set-credentials sa --token="$2" >/dev/null
  kubectl config --kubeconfig="$1" set-context e2e --cluster=e2e --user=sa >/dev/null
  kubectl config --kubeconfig="$1" use-context e2e >/dev/null
  chmod 600 "$1"
}

# kvg_start [EXTRA ARGS...]: `kvguard serve` with the shipped config
# (manifests/base/config.yaml, or $KVG_CONFIG) on 127.0.0.1:$KVG_PORT with the
# kube backend, as the kvguard-webhook ServiceAccount when kvg_rbac ran
# (else $KVG_KUBECONFIG, else the unprivileged static user "kvguard").
kvg_start() {
  [ -n "${KVG_CERT:-}" ] || kvg_certs
  [ -n "${KVG_PORT:-}" ] || free_port KVG_PORT
  local kc=${KVG_KUBECONFIG:-}
  [ -n "$kc" ] || { [ -f "$KVG_DIR/webhook.kubeconfig" ] && kc=$KVG_DIR/webhook.kubeconfig; } \
    || kc=$KVG_E2E_KVGUARD_KUBECONFIG
  mkdir -p "$KVG_E2E_WORK/logs"
  echo "--- kvguard serve $(date -u +%FT%TZ)" >> "$KVG_E2E_WORK/logs/kvguard.log"
  "$KVG_BIN" serve --config "${KVG_CONFIG:-$KVG_MANIFESTS/config.yaml}" \
    --listen "127.0.0.1:$KVG_PORT" --tls-cert "$KVG_CERT" --tls-key "$KVG_KEY" \
    --kubeconfig "$kc" "$@" < /dev/null >> "$KVG_E2E_WORK/logs/kvguard.log" 2>&1 &
  echo $! > "$KVG_DIR/serve.pid"
  for _ in $(seq 120); do
    kill -0 "$(cat "$KVG_DIR/serve.pid")" 2>/dev/null || {
      tail -n 20 "$KVG_E2E_WORK/logs/kvguard.log" >&2; fail "kvguard serve exited"; }
    if curl -fsS --max-time 2 --cacert "$KVG_CA" "https://127.0.0.1:$KVG_PORT/readyz" >/dev/null 2>&1; then
      ok "kvguard serve ready on 127.0.0.1:$KVG_PORT (pid $(cat "$KVG_DIR/serve.pid"), kubeconfig $kc)"
      return 0
    fi
    sleep 0.5
  done
  tail -n 20 "$KVG_E2E_WORK/logs/kvguard.log" >&2
  fail "kvguard serve not ready after 60s"
}

# kvg__stop PIDFILE WHAT: SIGTERM, then the process must exit 0 (graceful:
# readiness false, drain, exit) within 30 s; else SIGKILL, FAIL, return 1.
# Also catches sanitizer reports at exit when $KVG_BIN is an ASan/UBSan build.
kvg__stop() {
  local f=$1 what=$2 pid rc=0
  [ -f "$f" ] || return 0
  pid=$(cat "$f"); rm -f "$f"
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
    echo "  FAIL $what (pid $pid) still running 30s after SIGTERM: killed" >&2
    return 1
  fi
  wait "$pid" 2>/dev/null || rc=$?
  case $rc in
    0) ok "$what stopped (SIGTERM, exit 0)" ;;
    127) ;; # not a child of this shell: status unknown
    *) echo "  FAIL $what exited with status $rc after SIGTERM (see $KVG_E2E_WORK/logs/)" >&2
       return 1 ;;
  esac
}

# kvg_cleanup: for `trap kvg_cleanup EXIT` in scenarios: stop whatever kvguard
# processes this scenario started and remove the webhook configurations; the
# scenario fails if one of them did not stop cleanly.
kvg_cleanup() {
  local rc=$? bad=0
  kvg_reconcile_stop || bad=1
  kvg_unregister 2>/dev/null || true
  kvg_stop || bad=1
  [ $bad = 0 ] || exit 1
  return $rc
}

kvg_stop() { kvg__stop "$KVG_DIR/serve.pid" "kvguard serve"; }

# kvg_webhooks [FAILURE_POLICY] [FILE...]: apply the webhook configurations of
# FILEs (default: the validating and mutating ones of manifests/base) pointed at
# the local kvguard: in every webhook, clientConfig.service becomes
# url https://127.0.0.1:$KVG_PORT<service.path> with the caBundle of kvg_certs,
# and failurePolicy is overridden when given (Fail|Ignore, "" = as shipped).
# The files are not edited: kubectl patches each object locally, then applies it.
kvg_webhooks() {
  local policy=${1:-} doc kind name wh path patch first files
  [ $# -gt 0 ] && shift
  files=("$@")
  [ ${#files[@]} -gt 0 ] || files=("$KVG_MANIFESTS/validatingwebhookconfiguration.yaml"
                                   "$KVG_MANIFESTS/mutatingwebhookconfiguration.yaml")
  [ -s "$KVG_DIR/cabundle" ] || fail "kvg_webhooks: run kvg_certs first"
  [ -n "${KVG_PORT:-}" ] || fail "kvg_webhooks: KVG_PORT not set (run kvg_start first)"
  local cab; cab=$(tr -d '\n' < "$KVG_DIR/cabundle")
  rm -rf "$KVG_DIR/docs"; mkdir -p "$KVG_DIR/docs"
  awk -v dir="$KVG_DIR/docs" 'FNR==1{n++} /^---/{n++; next} {print > (dir "/" sprintf("%03d", n) ".yaml")}' "${files[@]}"
  for doc in "$KVG_DIR"/docs/*.yaml; do
    grep -q '^kind:' "$doc" || continue
    kind=$(kubectl create --dry-run=client -f "$doc" -o 'jsonpath={.kind}')
    name=$(kubectl create --dry-run=client -f "$doc" -o 'jsonpath={.metadata.name}')
    case $kind in ValidatingWebhookConfiguration|MutatingWebhookConfiguration) ;; *) continue ;; esac
    patch='{"webhooks":['; first=1
    while IFS='|' read -r wh path; do
      [ -n "$wh" ] || continue
      [ $first = 1 ] || patch+=','
      first=0
      patch+="{\"name\":\"$wh\",\"clientConfig\":{\"service\":null,\"url\":\"https://127.0.0.1:$KVG_PORT${path:-/}\",\"caBundle\":\"$cab\"}"
      [ -z "$policy" ] || patch+=",\"failurePolicy\":\"$policy\""
      patch+='}'
    done < <(kubectl create --dry-run=client -f "$doc" \
               -o 'jsonpath={range .webhooks[*]}{.name}|{.clientConfig.service.path}{"\n"}{end}')
    patch+=']}'
    kubectl patch --local -f "$doc" --type=strategic -p "$patch" -o yaml |
      kubectl apply --server-side --force-conflicts --field-manager=kvguard-e2e -f - >/dev/null \
      || fail "kvg_webhooks: applying $kind/$name failed"
    ok "registered $kind/$name -> https://127.0.0.1:$KVG_PORT (failurePolicy ${policy:-as shipped})"
  done
}

# kvg_unregister: remove kvguard's webhook configurations.
kvg_unregister() {
  kubectl delete validatingwebhookconfiguration,mutatingwebhookconfiguration \
    -l app.kubernetes.io/name=kvguard --ignore-not-found >/dev/null
  kubectl delete validatingwebhookconfiguration/kvguard mutatingwebhookconfiguration/kvguard \
    --ignore-not-found >/dev/null
}

# webhook_latency: the apiserver's own view of each kvguard webhook, from
# apiserver_admission_webhook_admission_duration_seconds (sum/count = mean),
# next to the whole request (apiserver_request_duration_seconds, CREATE =
# verb POST) of the kinds kvguard intercepts: the webhook's share.
webhook_latency() {
  kubectl get --raw /metrics 2>/dev/null | awk '
    function label(s, k,   r) { if (match(s, k "=\"[^\"]*\"")) { r = substr(s, RSTART + length(k) + 2, RLENGTH - length(k) - 3); return r } return "" }
    /^apiserver_admission_webhook_admission_duration_seconds_(sum|count)\{/ && /kvguard/ {
      k = sprintf("%-32s %-6s rejected=%-5s", label($0, "name"), label($0, "operation"), label($0, "rejected"))
      if ($0 ~ /_sum\{/) wsum[k] += $NF; else wcnt[k] += $NF }
    /^apiserver_request_duration_seconds_(sum|count)\{/ && /verb="POST"/ &&
    /resource="(virtualmachinesnapshots|virtualmachinerestores|virtualmachineclones|datavolumes)"/ {
      k = sprintf("%-32s %-6s", "request " label($0, "resource"), "POST")
      if ($0 ~ /_sum\{/) rsum[k] += $NF; else rcnt[k] += $NF }
    END {
      for (k in wcnt) if (wcnt[k] > 0) printf "  webhook %s calls %5d  mean %7.2f ms\n", k, wcnt[k], 1000 * wsum[k] / wcnt[k]
      for (k in rcnt) if (rcnt[k] > 0) printf "  %s                 calls %5d  mean %7.2f ms\n", k, rcnt[k], 1000 * rsum[k] / rcnt[k]
    }' | sort
}

# --- `kvguard review --kubeconfig`: the kube backend without the server ----------
# kvg_admission_review OUT OPERATION NS FILE: an AdmissionReview (v1) for the
# object of FILE in NS, as the apiserver would send it (object as JSON).
kvg_admission_review() {
  local out=$1 op=$2 ns=$3 file=$4 obj av kind name group version plural uid
  obj=$(kubectl -n "$ns" create --dry-run=client -f "$file" -o json) || fail "kvg_admission_review: cannot read $file"
  read -r av kind name <<< "$(kubectl -n "$ns" create --dry-run=client -f "$file" \
    -o 'jsonpath={.apiVersion} {.kind} {.metadata.name}')"
  group=${av%/*} version=${av#*/}
  [ "$group" != "$av" ] || group=
  plural=$(kubectl api-resources --api-group="$group" --no-headers | awk -v k="$kind" '$NF == k {print $1; exit}')
  [ -n "$plural" ] || fail "kvg_admission_review: no resource for kind $kind in group '$group'"
  uid=$(cat /proc/sys/kernel/random/uuid)
  local gvk="{\"group\":\"$group\",\"version\":\"$version\",\"kind\":\"$kind\"}"
  cat > "$out" <<EOR
{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
 "uid":"$uid","kind":$gvk,"requestKind":$gvk,
 "resource":{"group":"$group","version":"$version","resource":"$plural"},
 "requestResource":{"group":"$group","version":"$version","resource":"$plural"},
 "name":"$name","namespace":"$ns","operation":"$op",
 "userInfo":{"username":"kvguard-e2e-admin","groups":["system:masters","system:authenticated"]},
 "dryRun":false,"options":{"apiVersion":"meta.k8s.io/v1","kind":"CreateOptions"},
 "object":$obj,"oldObject":null}}
EOR
}

# kvg_review [--mutate] REVIEW_FILE: `kvguard review` with the kube backend as
# the kvguard-webhook ServiceAccount (kvg_rbac). Sets KVG_RC (0 allowed,
# 1 denied, 2 error), KVG_OUT (the response), KVG_ERR (stderr), KVG_MSG
# (status.message), KVG_PATCH (the decoded JSONPatch, if any).
kvg_review() {
  local args=() kc=${KVG_KUBECONFIG:-$KVG_DIR/webhook.kubeconfig}
  [ "${1:-}" != --mutate ] || { args+=(--mutate); shift; }
  [ -x "$KVG_BIN" ] || fail "kvguard binary not found: $KVG_BIN (set KVG_BIN)"
  [ -f "$kc" ] || fail "kvg_review: no kubeconfig $kc (run kvg_rbac)"
  KVG_RC=0
  KVG_OUT=$("$KVG_BIN" review --kubeconfig "$kc" --sync-timeout "${KVG_SYNC_TIMEOUT:-20}" "${args[@]}" "$1" 2> "$KVG_DIR/review.err") || KVG_RC=$?
  KVG_ERR=$(cat "$KVG_DIR/review.err")
  KVG_MSG=$(printf '%s\n' "$KVG_OUT" | sed -n 's/^ *"message": "\(.*\)",\{0,1\}$/\1/p' | head -n 1)
  KVG_PATCH=$(printf '%s\n' "$KVG_OUT" | sed -n 's/^ *"patch": "\([A-Za-z0-9+\/=]*\)",\{0,1\}$/\1/p' | head -n 1 | base64 -d 2>/dev/null || true)
}

# --- `kvguard reconcile` ----------------------------------------------------------
# kvg_reconcile_start [ARGS...]: the reconciler with the shipped config
# (manifests/base/config.yaml) as the kvguard-reconciler ServiceAccount
# (kvg_rbac), metrics/probes on 127.0.0.1:$KVG_RECONCILE_PORT; waits for the lease.
kvg_reconcile_start() {
  [ -x "$KVG_BIN" ] || fail "kvguard binary not found: $KVG_BIN (set KVG_BIN)"
  [ -f "$KVG_DIR/reconciler.kubeconfig" ] || fail "kvg_reconcile_start: run kvg_rbac first"
  [ -n "${KVG_RECONCILE_PORT:-}" ] || free_port KVG_RECONCILE_PORT
  local log=$KVG_E2E_WORK/logs/kvguard-reconcile.log
  echo "--- kvguard reconcile $(date -u +%FT%TZ)" >> "$log"
  local first; first=$(( $(wc -l < "$log") + 1 ))
  "$KVG_BIN" reconcile --config "${KVG_CONFIG:-$KVG_MANIFESTS/config.yaml}" \
    --kubeconfig "$KVG_DIR/reconciler.kubeconfig" --metrics-listen "127.0.0.1:$KVG_RECONCILE_PORT" "$@" \
    < /dev/null >> "$log" 2>&1 &
  echo $! > "$KVG_DIR/reconcile.pid"
  for _ in $(seq 60); do
    kill -0 "$(cat "$KVG_DIR/reconcile.pid")" 2>/dev/null || { tail -n 20 "$log" >&2; fail "kvguard reconcile exited"; }
    if [ "$(kubectl -n kvguard-system get lease kvguard-reconciler -o jsonpath='{.spec.holderIdentity}' 2>/dev/null)" ] &&
       tail -n +"$first" "$log" | grep -q '"leader.acquired"'; then
      ok "kvguard reconcile running (pid $(cat "$KVG_DIR/reconcile.pid")), holds lease kvguard-system/kvguard-reconciler"
      return 0
    fi
    sleep 0.5
  done
  tail -n 20 "$log" >&2
  fail "kvguard reconcile did not take the lease within 30s"
}

kvg_reconcile_stop() { kvg__stop "$KVG_DIR/reconcile.pid" "kvguard reconcile"; }
