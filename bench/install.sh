#!/bin/sh
# Installs the tools the benchmark drives, only when missing (Debian). Quiet unless something fails.
set -e
need=""
command -v mitmdump >/dev/null 2>&1 || need="$need mitmproxy"
command -v wrk >/dev/null 2>&1 || need="$need wrk"
command -v wireguard-go >/dev/null 2>&1 || need="$need wireguard-go"
command -v wg >/dev/null 2>&1 || need="$need wireguard-tools"
command -v nft >/dev/null 2>&1 || need="$need nftables"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v taskset >/dev/null 2>&1 || need="$need util-linux"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "bench/install.sh: missing:$need; run as root or install them yourself" >&2
  exit 1
fi
log=$(mktemp)
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  exit 1
fi
rm -f "$log"
