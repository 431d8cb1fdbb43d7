#!/usr/bin/env bash
# Install what sandcat's demo and tests need on Debian/Ubuntu (run as root), then the npm packages.
# Idempotent and quiet: it only calls apt-get when a tool is missing, and npm ci only when
# node_modules is absent or older than package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

# tool -> Debian package
declare -A NEED=(
  [wireguard-go]=wireguard-go
  [wg]=wireguard-tools
  [nft]=nftables
  [dig]=dnsutils
  [curl]=curl
  [ip]=iproute2
  [setpriv]=util-linux
  [git]=git
  [npm]=npm
)
missing=()
for tool in "${!NEED[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${NEED[$tool]}")
done
command -v node >/dev/null 2>&1 || missing+=(nodejs)
[ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps: missing packages (${missing[*]}); install them as root with apt-get" >&2
  else
    echo "install-deps: apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  # Debian 12 and Ubuntu 24.04 ship Node 18. The npm registry carries official Node builds as the
  # node-linux-<arch> package, so fetch Node 20 through npm itself: no other download site needed.
  if [ "$(id -u)" = 0 ] && command -v npm >/dev/null 2>&1; then
    arch=$(node -p 'process.arch' 2>/dev/null || uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')
    echo "install-deps: Node.js $(node --version 2>/dev/null || echo none) is too old; installing Node 20 from the npm registry (node-linux-$arch)"
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "node-linux-$arch@20" >/dev/null && tar -xzf node-linux-*.tgz)
    cp -r "$tmp"/package/bin "$tmp"/package/include "$tmp"/package/share /usr/local/ 2>/dev/null || cp -r "$tmp"/package/bin /usr/local/
    rm -rf "$tmp"
    hash -r
    node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  fi
fi
if [ "$node_major" -lt 20 ]; then
  echo "install-deps: sandcat needs Node.js 20 or newer (found $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "install-deps: npm ci"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
