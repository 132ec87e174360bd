#!/usr/bin/env bash
# Builds geth (go-ethereum's execution client) from the Go module proxy into .tools/bin/geth, for
# `gpurent up --chain geth`. Opt-in (`make setup-geth`), not part of `make setup`: about 9 min on
# 2 cores, a 90 MB binary. Safe to run twice.
set -euo pipefail
VERSION="${GETH_VERSION:-v1.17.10}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/.tools/bin"
if [ -x "$BIN/geth" ] && "$BIN/geth" version 2>/dev/null | grep -q "^Version: ${VERSION#v}"; then
  echo "geth ${VERSION} already built: $BIN/geth"
  exit 0
fi
command -v go >/dev/null || { echo "install-geth: Go is needed (https://go.dev); not found on PATH" >&2; exit 1; }
mkdir -p "$BIN"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
echo "building geth ${VERSION} (several minutes, once)..."
# go install writes to GOBIN; build into a scratch folder so a half-written binary never lands.
GOBIN="$WORK" GOFLAGS=-mod=mod go install -trimpath "github.com/ethereum/go-ethereum/cmd/geth@${VERSION}"
mv "$WORK/geth" "$BIN/geth"
"$BIN/geth" version | head -2
