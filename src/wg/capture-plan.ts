/**
 * The nftables ruleset that captures agent traffic arriving on the WireGuard interface (pure:
 * text in, text out; applied by ./capture.ts). One `inet` table per interface, named after it,
 * so several daemons (tests) can coexist in one namespace and teardown touches only its own.
 *
 *   prerouting (nat):  udp/tcp dport 53 from the tunnel  → redirect to the DNS server's port
 *                      any other tcp from the tunnel     → redirect to the proxy's port
 *                      (redirect keeps the original destination for SO_ORIGINAL_DST)
 *                      any other udp from the tunnel     → redirect to a local port too, only so
 *                      that it reaches the input hook (a packet for a remote address would go
 *                      to forward, where the kernel, not forwarding, drops it silently)
 *   input (filter):    redirected DNS is accepted; every other UDP from the tunnel is rejected
 *                      with ICMP port-unreachable (conntrack maps the error back to the address
 *                      the agent dialled), so QUIC clients fall back to TCP at once
 *   forward (filter):  nothing is routed to or from the tunnel: the only way out is the proxy
 *
 * Only packets whose input interface is the tunnel are touched: WireGuard's own UDP (the listen
 * port) arrives on the underlay interface and passes untouched.
 */

export interface CapturePlanInput {
  /** The WireGuard interface. */
  iface: string;
  dnsPort: number;
  proxyPort: number;
}

/** nft identifiers allow letters, digits and `_`; map anything else so any interface name works. */
export function captureTableName(iface: string): string {
  return `sandcat_${iface.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

function quoteIface(iface: string): string {
  if (!/^[A-Za-z0-9_.=+-]{1,15}$/.test(iface)) throw new Error(`invalid interface name "${iface}"`);
  return `"${iface}"`;
}

/**
 * A script for `nft -f -`. It first declares then deletes the table, so a stale table from an
 * earlier run is replaced in the same atomic transaction instead of failing or duplicating rules.
 */
export function captureRuleset({ iface, dnsPort, proxyPort }: CapturePlanInput): string {
  const t = captureTableName(iface);
  const i = quoteIface(iface);
  return [
    `table inet ${t} {}`,
    `delete table inet ${t}`,
    `table inet ${t} {`,
    `  chain prerouting {`,
    `    type nat hook prerouting priority dstnat; policy accept;`,
    `    iifname ${i} udp dport 53 redirect to :${dnsPort}`,
    `    iifname ${i} tcp dport 53 redirect to :${dnsPort}`,
    `    iifname ${i} meta l4proto tcp redirect to :${proxyPort}`,
    `    iifname ${i} meta l4proto udp redirect to :${proxyPort}`,
    `  }`,
    `  chain input {`,
    `    type filter hook input priority filter; policy accept;`,
    `    iifname ${i} udp dport ${dnsPort} ct status dnat accept`,
    `    iifname ${i} meta l4proto udp reject with icmpx type port-unreachable`,
    `  }`,
    `  chain forward {`,
    `    type filter hook forward priority filter; policy accept;`,
    `    iifname ${i} meta l4proto udp reject with icmpx type port-unreachable`,
    `    iifname ${i} drop`,
    `    oifname ${i} drop`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

/** Removal script; deleting an absent table is made a no-op the same way. */
export function captureTeardown(iface: string): string {
  const t = captureTableName(iface);
  return `table inet ${t} {}\ndelete table inet ${t}\n`;
}
