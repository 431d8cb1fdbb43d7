/**
 * What the kill switch and the routes need to know about this network namespace before anything is
 * changed: the networks it is directly attached to (the compose network) and its default gateways
 * (the Docker host). Read once at start from `ip -j route`, so the plan is built from facts, not
 * guesses about Docker's address ranges.
 */
import { isIP } from 'node:net';
import { runCommand } from '../run-command.js';

export interface NetFacts {
  /** Directly connected IPv4 networks (e.g. the compose subnet), as CIDRs, with their device. */
  localNets4: { cidr: string; dev: string }[];
  /** Directly connected global IPv6 networks; link-local fe80::/10 is left out on purpose (it reaches the host). */
  localNets6: { cidr: string; dev: string }[];
  gateways4: string[];
  gateways6: string[];
}

interface IpRoute {
  dst?: string;
  gateway?: string;
  dev?: string;
  type?: string;
  protocol?: string;
  scope?: string;
  nexthops?: { gateway?: string; dev?: string }[];
}

function isLinkLocal6(cidr: string): boolean {
  return /^fe[89ab][0-9a-f]:/i.test(cidr);
}

/**
 * Pure: turn `ip -j -4 route show table main` and `ip -j -6 …` output into facts. Routes through
 * `ignoreDevs` (loopback, our own tunnel on a re-run) are skipped.
 */
export function parseNetFacts(routes4Json: string, routes6Json: string, ignoreDevs: readonly string[] = ['lo']): NetFacts {
  const facts: NetFacts = { localNets4: [], localNets6: [], gateways4: [], gateways6: [] };
  const parse = (text: string): IpRoute[] => (text.trim() ? (JSON.parse(text) as IpRoute[]) : []);
  for (const [family, routes] of [
    [4, parse(routes4Json)],
    [6, parse(routes6Json)],
  ] as const) {
    for (const r of routes) {
      if (r.dev && ignoreDevs.includes(r.dev)) continue;
      if (r.type && r.type !== 'unicast') continue;
      const gws = [r.gateway, ...(r.nexthops ?? []).map((n) => n.gateway)].filter((g): g is string => !!g && isIP(g) === family);
      if (r.dst === 'default') {
        (family === 4 ? facts.gateways4 : facts.gateways6).push(...gws);
        continue;
      }
      if (!r.dst || gws.length > 0 || !r.dev) continue; // only directly connected networks
      const cidr = r.dst.includes('/') ? r.dst : `${r.dst}/${family === 4 ? 32 : 128}`;
      if (family === 4) facts.localNets4.push({ cidr, dev: r.dev });
      else if (!isLinkLocal6(cidr) && !/^ff/i.test(cidr)) facts.localNets6.push({ cidr, dev: r.dev });
    }
  }
  facts.gateways4 = [...new Set(facts.gateways4)];
  facts.gateways6 = [...new Set(facts.gateways6)];
  return facts;
}

export async function readNetFacts(ignoreDevs: readonly string[]): Promise<NetFacts> {
  const [v4, v6] = await Promise.all([
    runCommand('ip', ['-j', '-4', 'route', 'show', 'table', 'main']),
    runCommand('ip', ['-j', '-6', 'route', 'show', 'table', 'main']).catch(() => ({ stdout: '[]', stderr: '' })),
  ]);
  return parseNetFacts(v4.stdout, v6.stdout, ['lo', ...ignoreDevs]);
}
