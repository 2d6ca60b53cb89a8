#!/usr/bin/env bash
# Newcomer's first command: build kvguard, generate development certificates,
# and serve the webhook on https://127.0.0.1:8443 against the shipped example
# cluster state (examples/cluster/). Ctrl-C stops it gracefully.
set -euo pipefail
cd "$(dirname "$0")"
bash .ci/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" --target kvguard
if [ ! -f certs/dev/tls.crt ]; then
  build/kvguard certs --out certs/dev --dns localhost --ip 127.0.0.1
fi
exec build/kvguard serve --listen "${KVG_LISTEN:-127.0.0.1:8443}" \
  --tls-cert certs/dev/tls.crt --tls-key certs/dev/tls.key \
  --cluster-state examples/cluster "$@"
