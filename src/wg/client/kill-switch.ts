/**
 * The client-side kill switch as one nftables `inet` table (IPv4 and IPv6 together), planned as
 * text from facts and applied atomically with `nft -f`. Pure: tested as input → ruleset.
 *
 * Output is dropped unless it leaves through
 *   1. loopback (this covers Docker's embedded resolver 127.0.0.11, see ./dns-mode.ts),
 *   2. the tunnel interface,
 *   3. WireGuard's own UDP to the proxy's endpoint, recognised by the fwmark WireGuard stamps on
 *      its packets (an agent without CAP_NET_ADMIN/NET_RAW cannot set a socket mark),
 *   4. the directly attached compose networks, minus the Docker gateway (the host) and the proxy's
 *      own addresses, which are refused so the proxy's other ports are only reachable through the tunnel.
 * Nothing is forwarded. The table is installed before the tunnel exists and stays when it dies, so
 * a dead tunnel means no traffic, never direct traffic. The proxy's addresses sit in named sets so a
 * proxy that comes back on another IP is tracked without reloading the table.
 */
export interface KillSwitchPlan {
  table: string;
  tunnelIface: string;
  fwmark: number;
  endpointPort: number;
  proxy4: string[];
  proxy6: string[];
  gateways4: string[];
  gateways6: string[];
  localNets4: string[];
  localNets6: string[];
  /** Also refuse Docker's embedded resolver (used when DNS is pointed straight at the tunnel). */
  blockDockerDns: boolean;
  /** MSS clamp for TCP leaving through the tunnel; 0 turns it off. */
  clampMss: boolean;
}

export const DOCKER_DNS = '127.0.0.11';

function set(values: readonly string[]): string {
  return `{ ${values.join(', ')} }`;
}

function elements(values: readonly string[]): string {
  return values.length ? ` elements = ${set(values)};` : '';
}

/** `add table` + `delete table` first makes the script idempotent on a re-run (nft has no "replace table"). */
export function killSwitchRuleset(p: KillSwitchPlan): string {
  const q = (s: string): string => JSON.stringify(s);
  const out: string[] = [];
  out.push(`add table inet ${p.table}`, `delete table inet ${p.table}`, `table inet ${p.table} {`);
  out.push(`  set proxy4 { type ipv4_addr;${elements(p.proxy4)} }`);
  out.push(`  set proxy6 { type ipv6_addr;${elements(p.proxy6)} }`);
  out.push('  chain output {', '    type filter hook output priority filter; policy drop;');
  if (p.blockDockerDns) out.push(`    ip daddr ${DOCKER_DNS} counter reject with icmpx type admin-prohibited`);
  out.push('    oifname "lo" accept');
  out.push(`    oifname ${q(p.tunnelIface)} accept`);
  out.push(`    meta mark ${p.fwmark} ip daddr @proxy4 udp dport ${p.endpointPort} accept`);
  out.push(`    meta mark ${p.fwmark} ip6 daddr @proxy6 udp dport ${p.endpointPort} accept`);
  out.push('    ip daddr @proxy4 counter reject with icmpx type admin-prohibited');
  out.push('    ip6 daddr @proxy6 counter reject with icmpx type admin-prohibited');
  if (p.gateways4.length) out.push(`    ip daddr ${set(p.gateways4)} counter reject with icmpx type admin-prohibited`);
  if (p.gateways6.length) out.push(`    ip6 daddr ${set(p.gateways6)} counter reject with icmpx type admin-prohibited`);
  if (p.localNets4.length) out.push(`    ip daddr ${set(p.localNets4)} accept`);
  if (p.localNets6.length) {
    out.push(`    ip6 daddr ${set(p.localNets6)} accept`);
    // Neighbour discovery, or the compose network's IPv6 neighbours are unreachable.
    out.push('    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-solicit } accept');
  }
  out.push('    counter reject with icmpx type admin-prohibited', '  }');
  out.push('  chain forward {', '    type filter hook forward priority filter; policy drop;', '  }');
  if (p.clampMss) {
    out.push('  chain mss {', '    type filter hook postrouting priority mangle; policy accept;');
    out.push(`    oifname ${q(p.tunnelIface)} tcp flags syn / syn,rst tcp option maxseg size set rt mtu`);
    out.push('  }');
  }
  out.push('}');
  return out.join('\n') + '\n';
}

/** Replace the proxy address sets in one transaction (the proxy restarted on another address). */
export function proxySetsUpdate(table: string, proxy4: readonly string[], proxy6: readonly string[]): string {
  const lines = [`flush set inet ${table} proxy4`, `flush set inet ${table} proxy6`];
  if (proxy4.length) lines.push(`add element inet ${table} proxy4 ${set(proxy4)}`);
  if (proxy6.length) lines.push(`add element inet ${table} proxy6 ${set(proxy6)}`);
  return lines.join('\n') + '\n';
}
