import { readFileSync } from 'node:fs';
import { Resolver } from 'node:dns';
import { isIP } from 'node:net';

export interface ServerAddress {
  host: string;
  port: number;
  family: 4 | 6;
}

/**
 * Parse one server: `1.2.3.4`, `1.2.3.4:5300`, `::1`, `[::1]:5300`, `fe80::1%eth0`. Settings'
 * `dns_servers` only admits bare IPs (port 53); the port forms serve the system resolver list and
 * tests. Returns null for anything else.
 */
export function parseServer(text: string, defaultPort = 53): ServerAddress | null {
  const s = text.trim();
  let host = s;
  let port = defaultPort;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else if (s.indexOf(':') !== -1 && s.indexOf(':') === s.lastIndexOf(':')) {
    const [h, p] = s.split(':');
    host = h!;
    port = Number(p);
  }
  const family = isIP(host.replace(/%.*$/, ''));
  if (family === 0 || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  return { host, port, family: family as 4 | 6 };
}

/** `nameserver` lines of a resolv.conf file, in order. */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}

/**
 * The system resolver's servers: resolv.conf's nameservers, else what node's resolver (c-ares)
 * found, else 127.0.0.1 as glibc does with no nameserver line.
 */
export function systemServers(resolvConfPath = '/etc/resolv.conf'): string[] {
  try {
    const listed = parseResolvConf(readFileSync(resolvConfPath, 'utf8'));
    if (listed.length > 0) return listed;
  } catch {
    // unreadable: fall through to node's own view
  }
  const fromNode = new Resolver().getServers();
  return fromNode.length > 0 ? fromNode : ['127.0.0.1'];
}
