#!/usr/bin/env bash
# Installs PostgreSQL from Debian's packages: the indexer's production database, which the
# tests and the benchmark run for real (each starts its own throwaway server on loopback, so
# nothing needs to be started here). Safe to run twice.
set -euo pipefail
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-postgresql: run as root, or install Debian's postgresql yourself" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
ls -d /usr/lib/postgresql/*/bin | tail -1
