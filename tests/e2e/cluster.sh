#!/usr/bin/env bash
# A throw-away control plane for the e2e suite: etcd + kube-apiserver on
# 127.0.0.1, random free ports, envtest-like flags, state in tests/e2e/.work/.
#
#   cluster.sh start              start (wipes previous state); on any failure
#                                 or Ctrl-C during start, everything is torn down
#   cluster.sh stop               stop what `start` started (by pid), keep logs
#   cluster.sh env                print shell exports (eval "$(cluster.sh env)")
#   cluster.sh status             exit 0 when the apiserver answers /readyz
#   cluster.sh restart-apiserver  stop and start kube-apiserver only (same
#                                 flags, same port, etcd keeps the data)
#
# There is no kube-controller-manager, scheduler or kubelet: nothing binds PVCs,
# runs Jobs, collects garbage or finalizes namespaces. Tests drive status
# themselves (through the status subresource), as envtest does.
#
# Environment: KVG_E2E_WORK (state dir, default tests/e2e/.work),
# KVG_E2E_BIN (binaries, default tests/e2e/bin), KVG_E2E_READY_TIMEOUT (s, 120).
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN_DIR=${KVG_E2E_BIN:-$E2E_DIR/bin}
WORK=${KVG_E2E_WORK:-$E2E_DIR/.work}
PKI=$WORK/pki
LOGS=$WORK/logs
READY_TIMEOUT=${KVG_E2E_READY_TIMEOUT:-120}

log() { echo "cluster.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# free_port VAR: set VAR to a TCP port nobody uses (checked in /proc, no
# extra tools), below the kernel's ephemeral range so that no outgoing
# connection takes it meanwhile. Ports handed out earlier by this shell are
# skipped. The remaining race with other programs is accepted: start fails loudly.
USED_PORTS=" "
free_port() {
  local p hex lo
  lo=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  [ "$lo" -gt 11000 ] || lo=32768
  for _ in $(seq 500); do
    p=$(( 10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000) ))
    case $USED_PORTS in *" $p "*) continue ;; esac
    hex=$(printf ':%04X ' "$p")
    if ! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk '{print $2" "}' | grep -q "$hex"; then
      USED_PORTS+="$p "
      printf -v "$1" '%s' "$p"
      return 0
    fi
  done
  die "no free TCP port found"
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

stop_pid() { # pidfile name
  local f=$1 name=$2 pid i
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) still running 10s after SIGTERM, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    log "stopped $name (pid $pid)"
  fi
  rm -f "$f"
}

gen_pki() {
  mkdir -p "$PKI"
  local o="$PKI" ext="$PKI/ext.cnf"
  openssl ecparam -name prime256v1 -genkey -noout -out "$o/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$o/ca.key" -sha256 -days 3 -subj "/CN=kvguard-e2e-ca" \
    -out "$o/ca.crt" 2>/dev/null

  # apiserver serving cert: loopback plus the in-cluster names
  cat > "$ext" <<EOF
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local
EOF
  sign_cert apiserver "/CN=kube-apiserver" "$ext"

  # admin client cert: system:masters, like envtest's admin user
  printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > "$ext"
  sign_cert admin "/O=system:masters/CN=kvguard-e2e-admin" "$ext"
  rm -f "$ext"

  # service-account token signing key pair
  openssl genrsa -out "$o/sa.key" 2048 2>/dev/null
  openssl rsa -in "$o/sa.key" -pubout -out "$o/sa.pub" 2>/dev/null

  # static tokens: an admin and an unprivileged "kvguard" user (RBAC decides)
  ADMIN_TOKEN=$(openssl rand -hex 16)
  KVG_TOKEN=$(openssl rand -hex 16)
  printf '%s,kvguard-e2e-admin,kvguard-e2e-admin,"system:masters"\n%s,kvguard,kvguard\n' \
    "$ADMIN_TOKEN" "$KVG_TOKEN" > "$o/tokens.csv"
  echo "$ADMIN_TOKEN" > "$o/admin.token"
  echo "$KVG_TOKEN" > "$o/kvguard.token"
  chmod 600 "$o"/*.key "$o"/*.token "$o/tokens.csv"
}

sign_cert() { # name subject extfile
  local o=$PKI
  openssl ecparam -name prime256v1 -genkey -noout -out "$o/$1.key" 2>/dev/null
  openssl req -new -key "$o/$1.key" -subj "$2" -out "$o/$1.csr" 2>/dev/null
  openssl x509 -req -in "$o/$1.csr" -CA "$o/ca.crt" -CAkey "$o/ca.key" -CAcreateserial \
    -days 3 -sha256 -extfile "$3" -out "$o/$1.crt" 2>/dev/null
  rm -f "$o/$1.csr"
}

write_kubeconfigs() {
  local k="$BIN_DIR/kubectl" server="https://127.0.0.1:$API_PORT" f
  for f in kubeconfig kvguard.kubeconfig; do
    rm -f "$WORK/$f"
    "$k" config --kubeconfig="$WORK/$f" set-cluster e2e --server="$server" \
      --certificate-authority="$PKI/ca.crt" --embed-certs=true >/dev/null
  done
  "$k" config --kubeconfig="$WORK/kubeconfig" set-credentials admin \
    --client-certificate="$PKI/admin.crt" --client-key="$PKI/admin.key" --embed-certs=true >/dev/null
  "$k" config --kubeconfig="$WORK/kubeconfig" set-context e2e --cluster=e2e --user=admin >/dev/null
  "$k" config --kubeconfig="$WORK/kvguard.kubeconfig" set-credentials kvguard \
    --token="$(cat "$PKI/kvguard.token")" >/dev/null
  "$k" config --kubeconfig="$WORK/kvguard.kubeconfig" set-context e2e --cluster=e2e --user=kvguard >/dev/null
  for f in kubeconfig kvguard.kubeconfig; do
    "$k" config --kubeconfig="$WORK/$f" use-context e2e >/dev/null
    chmod 600 "$WORK/$f"
  done
}

start_etcd() {
  mkdir -p "$WORK/etcd"
  local peer
  free_port peer
  free_port ETCD_PORT
  # --unsafe-no-fsync: throw-away data, as envtest does; saves a lot of time.
  "$BIN_DIR/etcd" --name=e2e --data-dir="$WORK/etcd" \
    --listen-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls="http://127.0.0.1:$peer" \
    --initial-advertise-peer-urls="http://127.0.0.1:$peer" \
    --initial-cluster="e2e=http://127.0.0.1:$peer" \
    --unsafe-no-fsync=true --log-level=warn \
    < /dev/null > "$LOGS/etcd.log" 2>&1 &
  echo $! > "$WORK/etcd.pid"
  local i
  for i in $(seq 100); do
    pid_alive "$WORK/etcd.pid" || { tail -n 30 "$LOGS/etcd.log" >&2; die "etcd exited"; }
    curl -fsS "http://127.0.0.1:$ETCD_PORT/health" 2>/dev/null | grep -q '"health":"true"' && {
      log "etcd ready on 127.0.0.1:$ETCD_PORT (pid $(cat "$WORK/etcd.pid"))"; return 0; }
    sleep 0.2
  done
  tail -n 30 "$LOGS/etcd.log" >&2
  die "etcd not healthy after 20s"
}

# Admission: the defaults of this release plus both webhook plugins, named
# explicitly. StorageObjectInUseProtection is off: it puts the pvc-protection
# finalizer on every PVC, and without kube-controller-manager nothing would
# ever remove it, so a deleted PVC would never go away.
apiserver_args() {
  cat <<EOF
--etcd-servers=http://127.0.0.1:$ETCD_PORT
--bind-address=127.0.0.1
--advertise-address=127.0.0.1
--secure-port=$API_PORT
--tls-cert-file=$PKI/apiserver.crt
--tls-private-key-file=$PKI/apiserver.key
--client-ca-file=$PKI/ca.crt
--token-auth-file=$PKI/tokens.csv
--service-account-issuer=https://kubernetes.default.svc.cluster.local
--service-account-key-file=$PKI/sa.pub
--service-account-signing-key-file=$PKI/sa.key
--service-cluster-ip-range=10.0.0.0/24
--authorization-mode=RBAC
--enable-admission-plugins=NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook
--disable-admission-plugins=StorageObjectInUseProtection
--allow-privileged=true
--cert-dir=$PKI
--profiling=false
--v=1
EOF
}

start_apiserver() {
  local args=() a
  while IFS= read -r a; do args+=("$a"); done < "$WORK/apiserver.args"
  "$BIN_DIR/kube-apiserver" "${args[@]}" < /dev/null >> "$LOGS/kube-apiserver.log" 2>&1 &
  echo $! > "$WORK/kube-apiserver.pid"
  wait_ready
}

wait_ready() {
  local i deadline=$(( $(date +%s) + READY_TIMEOUT ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    pid_alive "$WORK/kube-apiserver.pid" || {
      tail -n 40 "$LOGS/kube-apiserver.log" >&2; die "kube-apiserver exited"; }
    if [ "$(curl -s --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
          "https://127.0.0.1:$API_PORT/readyz" 2>/dev/null)" = ok ]; then
      log "kube-apiserver ready on https://127.0.0.1:$API_PORT (pid $(cat "$WORK/kube-apiserver.pid"))"
      return 0
    fi
    sleep 0.5
  done
  curl -s --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
    "https://127.0.0.1:$API_PORT/readyz?verbose" >&2 || true
  tail -n 40 "$LOGS/kube-apiserver.log" >&2
  die "kube-apiserver not ready after ${READY_TIMEOUT}s"
}

load_ports() {
  [ -f "$WORK/ports" ] || die "no cluster state in $WORK (run: cluster.sh start)"
  # shellcheck disable=SC1091
  . "$WORK/ports"
}

cmd_stop() {
  stop_pid "$WORK/kube-apiserver.pid" kube-apiserver
  stop_pid "$WORK/etcd.pid" etcd
}

cmd_start() {
  for b in etcd kube-apiserver kubectl; do
    [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b missing (run tests/e2e/build.sh)"
  done
  command -v openssl >/dev/null || die "openssl not found"
  command -v curl >/dev/null || die "curl not found"
  cmd_stop 2>/dev/null
  rm -rf "$WORK/etcd" "$PKI" "$WORK/ports" "$WORK/apiserver.args" "$WORK/kube-cache"
  mkdir -p "$WORK" "$LOGS"
  : > "$LOGS/kube-apiserver.log"
  # Whatever goes wrong from here on, leave nothing running.
  trap 'rc=$?; if [ $rc -ne 0 ]; then log "start failed, tearing down"; cmd_stop; fi' EXIT
  trap 'log "interrupted"; exit 130' INT TERM

  gen_pki
  start_etcd
  free_port API_PORT
  printf 'ETCD_PORT=%s\nAPI_PORT=%s\n' "$ETCD_PORT" "$API_PORT" > "$WORK/ports"
  apiserver_args > "$WORK/apiserver.args"
  write_kubeconfigs
  start_apiserver
  trap - EXIT INT TERM
}

cmd_restart_apiserver() {
  load_ports
  stop_pid "$WORK/kube-apiserver.pid" kube-apiserver
  echo "--- restart $(date -u +%FT%TZ) ---" >> "$LOGS/kube-apiserver.log"
  start_apiserver
}

cmd_env() {
  load_ports
  cat <<EOF
export KUBECONFIG='$WORK/kubeconfig'
export KVG_E2E_WORK='$WORK'
export KVG_E2E_BIN='$BIN_DIR'
export KVG_E2E_SERVER='https://127.0.0.1:$API_PORT'
export KVG_E2E_CA='$PKI/ca.crt'
export KVG_E2E_ADMIN_TOKEN='$(cat "$PKI/admin.token")'
export KVG_E2E_KVGUARD_KUBECONFIG='$WORK/kvguard.kubeconfig'
export KUBECACHEDIR='$WORK/kube-cache'
export KVG_E2E_ETCD='http://127.0.0.1:$ETCD_PORT'
export PATH='$BIN_DIR':"\$PATH"
EOF
}

cmd_status() {
  load_ports
  [ "$(curl -s --max-time 5 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
        "https://127.0.0.1:$API_PORT/readyz" 2>/dev/null)" = ok ]
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  status) cmd_status ;;
  restart-apiserver) cmd_restart_apiserver ;;
  *) sed -n '2,18p' "$0" >&2; exit 2 ;;
esac
