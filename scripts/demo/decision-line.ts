/**
 * One line of the demo's closing log summary, from one daemon log object. Rules are named as the
 * daemon names them (`user[0]`: layer and index from 0), and a request blocked for a secret says
 * so instead of showing the rule's "allow".
 */
export type Paint = (s: string) => string;

export interface Colours {
  green: Paint;
  red: Paint;
  yellow: Paint;
  cyan: Paint;
}

/** "user[0]" from the request log's string or the DNS log's {layer, index}; null is default deny. */
export function ruleTag(rule: unknown): string {
  if (typeof rule === 'string') return rule;
  if (rule && typeof rule === 'object' && 'layer' in rule && 'index' in rule) return `${String(rule.layer)}[${String(rule.index)}]`;
  return 'none (default deny)';
}

export function decisionLine(l: Record<string, unknown>, c: Colours): string {
  const what = l.msg === 'request' ? `${String(l.method)} ${String(l.host)}${String(l.path ?? '')}` : `dns ${String(l.name)} ${String(l.type)}`;
  const leak = typeof l.leak === 'string' && l.leak !== '';
  const label = leak ? c.yellow('blocked') : l.decision === 'allow' ? c.green('allow  ') : c.red('deny   ');
  const status = l.status ? ` → ${String(l.status)}` : '';
  const why = leak
    ? ` (secret leak: ${String(l.leak)} may not be sent to this host)`
    : Array.isArray(l.substituted) && l.substituted.length
      ? ` substituted=${l.substituted.join(',')}`
      : '';
  return `${label} ${what.padEnd(44)} ${c.cyan(`rule ${ruleTag(l.rule)}`)}${status}${why}`;
}
