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
# Not used by any scenario until `kvguard serve` has its kube backend.
KVG_BIN=${KVG_BIN:-$REPO_DIR/build/kvguard}
KVG_DIR=$KVG_E2E_WORK/kvguard

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

# kvg_certs: serving cert for 127.0.0.1 from `kvguard certs`; the caBundle it
# prints is kept in $KVG_DIR/cabundle.
kvg_certs() {
  [ -x "$KVG_BIN" ] || fail "kvguard binary not found: $KVG_BIN (set KVG_BIN)"
  mkdir -p "$KVG_DIR/certs"
  "$KVG_BIN" certs --out "$KVG_DIR/certs" --dns localhost --ip 127.0.0.1 > "$KVG_DIR/certs.out" \
    || fail "kvguard certs failed: $(cat "$KVG_DIR/certs.out")"
  # the caBundle is the one base64 token of the output (tolerates a label before it)
  tr -s ' \t' '\n\n' < "$KVG_DIR/certs.out" | grep -E '^[A-Za-z0-9+/]{200,}={0,2}$' | tail -n 1 \
    > "$KVG_DIR/cabundle"
  [ -s "$KVG_DIR/cabundle" ] || fail "no caBundle in the output of kvguard certs"
  KVG_CERT=$(ls "$KVG_DIR"/certs/*.crt 2>/dev/null | grep -v -i ca | head -n 1)
  KVG_KEY=$(ls "$KVG_DIR"/certs/*.key 2>/dev/null | grep -v -i ca | head -n 1)
  [ -n "$KVG_CERT" ] && [ -n "$KVG_KEY" ] || fail "kvguard certs wrote no serving cert/key in $KVG_DIR/certs"
  ok "kvguard certs: serving cert $KVG_CERT, caBundle of $(wc -c < "$KVG_DIR/cabundle") bytes"
}

# kvg_start [EXTRA ARGS...]: `kvguard serve` on 127.0.0.1:$KVG_PORT with the
# kube backend (unprivileged "kvguard" user: RBAC must grant what it reads).
kvg_start() {
  [ -n "${KVG_CERT:-}" ] || kvg_certs
  [ -n "${KVG_PORT:-}" ] || free_port KVG_PORT
  mkdir -p "$KVG_E2E_WORK/logs"
  "$KVG_BIN" serve --listen "127.0.0.1:$KVG_PORT" --tls-cert "$KVG_CERT" --tls-key "$KVG_KEY" \
    --kubeconfig "${KVG_KUBECONFIG:-$KVG_E2E_KVGUARD_KUBECONFIG}" "$@" \
    < /dev/null >> "$KVG_E2E_WORK/logs/kvguard.log" 2>&1 &
  echo $! > "$KVG_DIR/serve.pid"
  local ca; ca=$(ls "$KVG_DIR"/certs/ca*.crt 2>/dev/null | head -n 1)
  local i
  for i in $(seq 120); do
    kill -0 "$(cat "$KVG_DIR/serve.pid")" 2>/dev/null || {
      tail -n 20 "$KVG_E2E_WORK/logs/kvguard.log" >&2; fail "kvguard serve exited"; }
    if curl -fsS --max-time 2 ${ca:+--cacert "$ca"} ${ca:-"-k"} \
         "https://127.0.0.1:$KVG_PORT/readyz" >/dev/null 2>&1; then
      ok "kvguard serve ready on 127.0.0.1:$KVG_PORT (pid $(cat "$KVG_DIR/serve.pid"))"
      return 0
    fi
    sleep 0.5
  done
  tail -n 20 "$KVG_E2E_WORK/logs/kvguard.log" >&2
  fail "kvguard serve not ready after 60s"
}

kvg_stop() {
  local f=$KVG_DIR/serve.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$f"
}

# kvg_webhooks FILE [FAILURE_POLICY]: apply the webhook configurations of FILE
# (from manifests/) pointed at the local kvguard: in every webhook,
# clientConfig.service is replaced by url https://127.0.0.1:$KVG_PORT<service.path>
# plus the caBundle of kvg_certs, and failurePolicy is overridden if given.
# FILE itself is not edited: kubectl patches each object locally, then applies it.
kvg_webhooks() {
  local file=$1 policy=${2:-} doc kind name wh path patch first
  [ -s "$KVG_DIR/cabundle" ] || fail "kvg_webhooks: run kvg_certs first"
  local cab; cab=$(cat "$KVG_DIR/cabundle")
  rm -rf "$KVG_DIR/docs"; mkdir -p "$KVG_DIR/docs"
  awk -v dir="$KVG_DIR/docs" 'BEGIN{n=0} /^---/{n++; next} {print > (dir "/" sprintf("%03d", n) ".yaml")}' "$file"
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
    kubectl patch --local -f "$doc" --type=strategic -p "$patch" -o yaml | kubectl apply -f - >/dev/null \
      || fail "kvg_webhooks: applying $kind/$name failed"
    ok "registered $kind/$name -> https://127.0.0.1:$KVG_PORT (failurePolicy ${policy:-from manifest})"
  done
}
