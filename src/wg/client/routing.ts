/**
 * Policy routing for the client namespace, as wg-quick does it but without wg-quick (which writes
 * /proc/sys, read-only in containers, and runs hook scripts):
 *
 *   pref 31999  lookup main suppress_prefixlength 0   -- main's specific routes (the compose subnet,
 *                                                        loopback) still win; main's default does not
 *   pref 32000  not fwmark M lookup T                  -- everything else goes to table T:
 *   table T:    default dev <tunnel>                    -- through the tunnel
 *               unreachable default metric 4096         -- and if the tunnel is gone, nowhere
 *
 * WireGuard's own UDP carries fwmark M, skips table T and leaves by main's default route. The
 * `unreachable` fallback makes a vanished tunnel fail at routing time instead of falling through to
 * main (the kill switch would drop it anyway; this makes it fail fast and twice over).
 * Pure: returns argument lists for `ip`; ./apply.ts runs them.
 */
export interface RoutingPlanInput {
  tunnelIface: string;
  table: number;
  fwmark: number;
  ipv6: boolean;
}

export const RULE_PREF_SUPPRESS = 31999;
export const RULE_PREF_TUNNEL = 32000;

/** Commands that remove what a previous run installed; failures are expected and ignored. */
export function routingCleanup(p: RoutingPlanInput): string[][] {
  const cmds: string[][] = [];
  for (const fam of p.ipv6 ? ['-4', '-6'] : ['-4']) {
    cmds.push([fam, 'rule', 'del', 'pref', String(RULE_PREF_SUPPRESS)]);
    cmds.push([fam, 'rule', 'del', 'pref', String(RULE_PREF_TUNNEL)]);
    cmds.push([fam, 'route', 'flush', 'table', String(p.table)]);
  }
  return cmds;
}

/** Routes that live in table T; the tunnel route has to be re-added whenever the interface is re-created. */
export function tunnelRoutes(p: RoutingPlanInput): string[][] {
  const t = String(p.table);
  const cmds: string[][] = [
    ['-4', 'route', 'replace', 'unreachable', 'default', 'metric', '4096', 'table', t],
    ['-4', 'route', 'replace', 'default', 'dev', p.tunnelIface, 'table', t],
  ];
  if (p.ipv6) {
    cmds.push(['-6', 'route', 'replace', 'unreachable', 'default', 'metric', '4096', 'table', t]);
    cmds.push(['-6', 'route', 'replace', 'default', 'dev', p.tunnelIface, 'table', t]);
  }
  return cmds;
}

export function routingRules(p: RoutingPlanInput): string[][] {
  const cmds: string[][] = [];
  for (const fam of p.ipv6 ? ['-4', '-6'] : ['-4']) {
    cmds.push([fam, 'rule', 'add', 'not', 'fwmark', String(p.fwmark), 'table', String(p.table), 'pref', String(RULE_PREF_TUNNEL)]);
    cmds.push([fam, 'rule', 'add', 'table', 'main', 'suppress_prefixlength', '0', 'pref', String(RULE_PREF_SUPPRESS)]);
  }
  return cmds;
}
