/**
 * How names are resolved in the client namespace. Pure: decided from /etc/resolv.conf's text.
 *
 * `docker` (the default inside a compose network): /etc/resolv.conf keeps Docker's embedded
 * resolver 127.0.0.11, so sibling service names, container names, network aliases and
 * `extra_hosts` keep working. Everything Docker's resolver does not know itself it forwards to the
 * container's configured DNS servers, and it does so from inside this network namespace: with
 * `dns: [10.77.0.1]` on the wg-client service that is the proxy's DNS through the tunnel; with no
 * `dns:` it is the host's resolvers, which policy routing sends through the tunnel too, where the
 * proxy redirects every port-53 packet to its own DNS. Either way the lookup is decided by sandcat's
 * rules, and a denied name never reaches an upstream resolver.
 *
 * `tunnel`: /etc/resolv.conf names only the tunnel DNS servers and the kill switch also refuses
 * 127.0.0.11. Chosen automatically when Docker says it forwards from the *host's* namespace, which
 * would bypass the tunnel: newer Docker releases do that for upstreams taken from the host's own
 * resolv.conf (loopback ones always, recent releases all of them, never `dns:` overrides) and mark
 * them `host(…)` in the `# ExtServers:` comment (moby libnetwork/internal/resolvconf). Also chosen
 * when there is no Docker resolver at all. Sibling names then only resolve through /etc/hosts.
 */
import { DOCKER_DNS } from './kill-switch.js';

export type DnsModeSetting = 'auto' | 'docker' | 'tunnel';

export interface DnsDecision {
  mode: 'docker' | 'tunnel';
  reason: string;
  /** Full new /etc/resolv.conf text in tunnel mode. */
  resolvConf?: string;
  blockDockerDns: boolean;
}

export function decideDnsMode(setting: DnsModeSetting, resolvConf: string, tunnelDns: readonly string[], search: readonly string[] = []): DnsDecision {
  const nameservers = [...resolvConf.matchAll(/^\s*nameserver\s+(\S+)/gm)].map((m) => m[1]);
  const usesDocker = nameservers.includes(DOCKER_DNS);
  const hostLoopback = /^#\s*ExtServers:.*\bhost\(/m.test(resolvConf);
  const tunnel = (reason: string): DnsDecision => ({
    mode: 'tunnel',
    reason,
    blockDockerDns: true,
    resolvConf:
      '# written by sandcat wg-client: every lookup goes to the sandcat proxy through the tunnel\n' +
      tunnelDns.map((d) => `nameserver ${d}`).join('\n') +
      '\n' +
      (search.length ? `search ${search.join(' ')}\n` : '') +
      'options ndots:0\n',
  });

  if (setting === 'tunnel') return tunnel('--dns-mode tunnel');
  if (setting === 'docker') {
    if (hostLoopback) return tunnel("Docker's resolver forwards from the host namespace (ExtServers host(...)); that would bypass the tunnel");
    return { mode: 'docker', reason: '--dns-mode docker', blockDockerDns: false };
  }
  if (!usesDocker) return tunnel('/etc/resolv.conf does not use Docker\'s embedded resolver');
  if (hostLoopback) return tunnel("Docker's resolver forwards from the host namespace (ExtServers host(...)); set `dns: [<tunnel DNS>]` on the wg-client service to keep sibling names");
  return { mode: 'docker', reason: "Docker's embedded resolver forwards from this namespace, so through the tunnel", blockDockerDns: false };
}
