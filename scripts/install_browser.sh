#!/usr/bin/env bash
# Install Debian's Chromium for the browser tests (Playwright drives it; we never download a browser build).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  echo "chromium installed: $(chromium --version 2>/dev/null || echo '?')"
else
  echo "warning: chromium is missing and cannot be installed here (needs root and apt-get);" \
       "browser tests will skip (they fail under CI=true)." >&2
fi
