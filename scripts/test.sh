#!/usr/bin/env bash
# The README's test command: installs what the tests need on a fresh Debian/Ubuntu (as root),
# builds, and runs the whole suite (unit, loopback integration, WireGuard lab, Docker).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# The container tests need a Docker engine; start one if this machine can (they skip, saying why, if not).
if [ "$(id -u)" = 0 ] && [ -x scripts/docker-ci-setup.sh ] && [ "${SANDCAT_SKIP_DOCKER:-0}" != 1 ]; then
  if ./scripts/docker-ci-setup.sh >/tmp/sandcat-docker-setup.log 2>&1; then
    echo "docker engine ready (log: /tmp/sandcat-docker-setup.log)"
  else
    echo "could not start a Docker engine; container tests will be skipped (log: /tmp/sandcat-docker-setup.log)"
    export SANDCAT_SKIP_DOCKER=1
  fi
fi
npm test
