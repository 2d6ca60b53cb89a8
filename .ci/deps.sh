#!/usr/bin/env bash
# Installs kvguard's build and test dependencies from Debian packages.
# Skips the work when everything is already there (a developer's machine).
set -euo pipefail
pkgs=(build-essential cmake pkg-config ca-certificates openssl curl
      libmicrohttpd-dev libgnutls28-dev libjson-c-dev libyaml-dev
      libcurl4-openssl-dev libssl-dev check valgrind clang)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "kvguard: missing packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
