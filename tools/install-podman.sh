#!/usr/bin/env bash
# Installs podman + runc (they serve the Docker Engine API the provider agent drives), the
# containers.conf these sandboxed machines need, and busybox-static (the tests, benchmarks and
# demo build their small images from it: no registry is needed), and gcc with the static C
# library (the hostile-image tests compile a static probe into their image). Safe to run twice.
set -euo pipefail
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || [ ! -x /bin/busybox ] \
   || ! command -v gcc >/dev/null || ! compgen -G '/usr/lib/*/libc.a' >/dev/null; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-podman: run as root, or install podman, runc, busybox-static, gcc and libc6-dev yourself" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc busybox-static gcc libc6-dev >/dev/null
fi
CONF=/etc/containers/containers.conf
# crun fails on cgroups here; the sandbox cannot raise rlimits, so containers get limits at or
# below the host's.
if [ "$(id -u)" = 0 ] && ! grep -q 'runtime = "runc"' "$CONF" 2>/dev/null; then
  mkdir -p /etc/containers
  cat > "$CONF" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
CONF
fi
podman --version
