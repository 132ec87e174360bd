#!/usr/bin/env bash
# Builds IPFS Cluster (ipfs-cluster-service and ipfs-cluster-ctl) from the Go module proxy into
# .tools/bin. Safe to run twice.
#
# The proxy refuses the module's version list and its v1.1.x releases (403); v1.0.8 is served.
# As with Kubo, its go.mod carries replace directives that `go install pkg@version` rejects, so
# the module source is fetched and built as the main module (about 3 min on 2 cores).
set -euo pipefail
VERSION="${IPFS_CLUSTER_VERSION:-v1.0.8}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN="$ROOT/.tools/bin"
if [ -x "$BIN/ipfs-cluster-service" ] && [ -x "$BIN/ipfs-cluster-ctl" ] \
   && "$BIN/ipfs-cluster-service" --version | grep -q "${VERSION#v}"; then
  echo "ipfs-cluster ${VERSION} already built: $BIN/ipfs-cluster-service"
  exit 0
fi
command -v go >/dev/null || { echo "install-ipfs-cluster: Go is needed (https://go.dev); not found on PATH" >&2; exit 1; }
SRC_DIR="$(go mod download -json "github.com/ipfs-cluster/ipfs-cluster@${VERSION}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
cp -r "$SRC_DIR" "$WORK/cluster"
chmod -R u+w "$WORK/cluster"
mkdir -p "$BIN"
echo "building ipfs-cluster ${VERSION} (a few minutes, once)..."
for cmd in ipfs-cluster-service ipfs-cluster-ctl; do
  (cd "$WORK/cluster" && go build -trimpath -o "$BIN/$cmd.tmp" "./cmd/$cmd")
  mv "$BIN/$cmd.tmp" "$BIN/$cmd"
done
"$BIN/ipfs-cluster-service" --version
