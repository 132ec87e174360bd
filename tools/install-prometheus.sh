#!/usr/bin/env bash
# Installs Prometheus from Debian's packages: `promtool` checks and unit-tests ops/alerts.yml
# and ops/prometheus.yml in the suite, and `gpurent up --monitoring` runs `prometheus` itself
# on loopback. The packaged service (and the node exporter Debian recommends) is left off:
# the stack starts its own server with its data in the state folder. Safe to run twice.
set -euo pipefail
if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    SUDO=""
  elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-prometheus: run as root, or install Debian's prometheus yourself" >&2
    exit 1
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  ($SUDO service prometheus stop || true) >/dev/null 2>&1
fi
command -v promtool
