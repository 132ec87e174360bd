#!/usr/bin/env bash
# Installs Debian's headless-capable Chromium: the real browser the web app's tests drive
# (playwright-core with executablePath /usr/bin/chromium; a test tool's own browser download
# fails on these machines). Safe to run twice.
set -euo pipefail
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo apt-get update -qq
      sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      echo "install-chromium: run as root, or install Debian's chromium yourself" >&2
      exit 1
    fi
  else
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
fi
/usr/bin/chromium --version
