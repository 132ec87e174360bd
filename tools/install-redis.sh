#!/usr/bin/env bash
# Installs Redis from Debian's packages: what several gateway replicas share (sign-in nonces,
# rate limits). The tests start their own throwaway server on a free loopback port, so the
# packaged service is stopped and left off. Safe to run twice.
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-redis: run as root, or install Debian's redis-server yourself" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  (service redis-server stop || true) >/dev/null 2>&1
fi
command -v redis-server
