#!/bin/sh
# Entrypoint of the sandcat image: `sandcat <command> …`.
# For the daemon it first publishes the agent-side init script in the public volume, so any agent
# image can use `entrypoint: ["sh", "/sandcat/public/sandcat-agent-init.sh"]` with nothing baked in.
set -eu
if [ "${1:-}" = daemon ]; then
  pub=${SANDCAT_PUBLIC_DIR:-/sandcat/public}
  mkdir -p "$pub"
  # temp + rename: an agent starting now sees the old script or the new one, never half of one.
  cp /opt/sandcat/agent/sandcat-agent-init.sh "$pub/.sandcat-agent-init.sh.tmp"
  chmod 0755 "$pub/.sandcat-agent-init.sh.tmp"
  mv -f "$pub/.sandcat-agent-init.sh.tmp" "$pub/sandcat-agent-init.sh"
fi
exec /opt/sandcat/bin/sandcat "$@"
