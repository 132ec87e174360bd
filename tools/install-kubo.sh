#!/usr/bin/env bash
# Builds Kubo (the IPFS node) from the Go module proxy into .tools/bin/ipfs. Safe to run twice.
#
# `go install github.com/ipfs/kubo/cmd/ipfs@VERSION` is refused for recent Kubo releases: their
# go.mod carries replace/exclude directives, which `go install pkg@version` rejects. v0.43.x also
# replaces go-libp2p with a fork the proxy does not serve (403). So: fetch the v0.42.0 module
# source through the proxy and build it as the main module (about 7.5 min on 2 cores, 1.2 GB RAM).
set -euo pipefail
VERSION="${KUBO_VERSION:-v0.42.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/.tools/bin"
if [ -x "$BIN/ipfs" ] && "$BIN/ipfs" version | grep -q "${VERSION#v}"; then
  echo "kubo ${VERSION} already built: $BIN/ipfs"
  exit 0
fi
command -v go >/dev/null || { echo "install-kubo: Go is needed (https://go.dev); not found on PATH" >&2; exit 1; }
SRC_DIR="$(go mod download -json "github.com/ipfs/kubo@${VERSION}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
cp -r "$SRC_DIR" "$WORK/kubo"
chmod -R u+w "$WORK/kubo"
mkdir -p "$BIN"
echo "building kubo ${VERSION} (several minutes, once)..."
(cd "$WORK/kubo" && go build -trimpath -o "$BIN/ipfs.tmp" ./cmd/ipfs)
mv "$BIN/ipfs.tmp" "$BIN/ipfs"
"$BIN/ipfs" version
