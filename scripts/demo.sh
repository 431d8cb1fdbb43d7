#!/usr/bin/env bash
# The README's "main job" for now: bring up the lab (agent, proxy and upstream network namespaces,
# a WireGuard tunnel, the sandcat daemon, HTTPS/HTTP/DNS upstreams), show allowed, denied and
# substituted requests with real curl and dig, then tear it all down. Run as root on Debian/Ubuntu;
# it installs what it needs first.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" != 0 ]; then
  echo "demo: run as root (it creates network namespaces, nftables rules and WireGuard interfaces)" >&2
  exit 2
fi
./scripts/install-deps.sh
echo "demo: building…"
npm run build --silent >/dev/null
npx tsc -p scripts/demo/tsconfig.json
exec node dist/lab/scripts/demo/demo.js
