import { globToRegExp, normalizeHost, unmatchedWhy } from '../policy/index.js';

/**
 * The daemon's pino JSON lines, made readable for `sandcat proxy` and `sandcat status`. Pure: a line
 * in, a string (or nothing, when filtered out) back. Field names follow what the daemon logs:
 * requests {method, host, path, decision, rule: "layer[i]", reason, status, substituted, leak},
 * lookups {name, type, decision, rule: {layer, index}, rcode}, relays {proto, host, port, decision}.
 */

export interface LogEvent {
  time: string | undefined;
  level: number;
  msg: string;
  decision: 'allow' | 'deny' | undefined;
  kind: 'http' | 'dns' | 'tcp' | 'tls' | 'other';
  host: string | undefined;
  method: string | undefined;
  path: string | undefined;
  status: number | undefined;
  rule: string | undefined;
  reason: string | undefined;
  substituted: string[];
  /** The secret name a request was blocked for (names only; the daemon never logs values). */
  leak: string | undefined;
  extra: string | undefined;
}

export type ParsedLine = { event: LogEvent } | { text: string };

/** compose prefixes each line with "service_1  | " (v1) or "service-1  | " (v2). */
const COMPOSE_PREFIX = /^[\w.-]+\s*\|\s?/;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
}

function ruleText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && 'layer' in v && 'index' in v) return `${String((v as { layer: unknown }).layer)}[${String((v as { index: unknown }).index)}]`;
  return undefined;
}

function kindOf(o: Record<string, unknown>): LogEvent['kind'] {
  const proto = String(o.proto ?? '');
  if (o.msg === 'dns lookup' || (o.name !== undefined && o.rcode !== undefined)) return 'dns';
  if (proto.startsWith('tls')) return 'tls';
  if (o.method !== undefined && o.method !== 'CONNECT') return 'http';
  if (proto) return 'tcp';
  return 'other';
}

export function parseLogLine(line: string): ParsedLine | null {
  const text = line.replace(/\r$/, '').replace(COMPOSE_PREFIX, '');
  if (text.trim() === '' || text.startsWith('Attaching to ')) return null; // compose's own chatter
  if (!text.trimStart().startsWith('{')) return { text };
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { text };
  }
  if (!o || typeof o !== 'object') return { text };
  const decision = o.decision === 'allow' || o.decision === 'deny' ? o.decision : undefined;
  const host = str(o.host) ?? str(o.name) ?? str(o.sni) ?? (Array.isArray(o.names) ? str(o.names[0]) : undefined);
  const extra = [str(o.rcode), str(o.type), str(o.error), str(o.note), o.port !== undefined && kindOf(o) !== 'http' ? `port ${String(o.port)}` : undefined].filter(Boolean).join(' ');
  return {
    event: {
      time: str(o.time),
      level: typeof o.level === 'number' ? o.level : 30,
      msg: String(o.msg ?? ''),
      decision,
      kind: kindOf(o),
      host,
      method: str(o.method),
      path: str(o.path),
      status: typeof o.status === 'number' ? o.status : undefined,
      rule: ruleText(o.rule),
      reason: str(o.reason),
      substituted: Array.isArray(o.substituted) ? o.substituted.map(String) : [],
      leak: str(o.leak),
      extra: extra || undefined,
    },
  };
}

/** Blocked by a rule, by default deny, or for a secret headed to the wrong host. */
export function isDenied(e: LogEvent): boolean {
  return e.decision === 'deny' || e.leak !== undefined || (e.reason?.startsWith('secret-') ?? false);
}

export interface LogFilter {
  deniedOnly?: boolean;
  /** fnmatch glob on the host, as in the rules. */
  host?: string;
}

export function compileFilter(f: LogFilter): (p: ParsedLine) => boolean {
  const hostRe = f.host ? globToRegExp(normalizeHost(f.host)) : null;
  if (!f.deniedOnly && !hostRe) return () => true;
  return (p) => {
    if (!('event' in p)) return false; // with a filter, only decisions
    const e = p.event;
    if (f.deniedOnly && !isDenied(e)) return false;
    if (hostRe && !(e.host && hostRe.test(normalizeHost(e.host)))) return false;
    return true;
  };
}

const C = { red: '31', green: '32', yellow: '33', cyan: '36', dim: '2', bold: '1' } as const;

export interface RenderOptions {
  color: boolean;
  /** Turns "project[3]" into the rule's text, when the settings are at hand (sandcat status). */
  describeRule?: (tag: string) => string | undefined;
}

function paint(on: boolean, code: string, s: string): string {
  return on ? `\x1b[${code}m${s}\x1b[0m` : s;
}

function clock(time: string | undefined): string {
  const m = time ? /T(\d\d:\d\d:\d\d)/.exec(time) : null;
  return m ? m[1]! : '--:--:--';
}

export function formatEvent(e: LogEvent, o: RenderOptions): string {
  const c = o.color;
  const t = paint(c, C.dim, clock(e.time));
  if (!e.decision && e.leak === undefined) {
    const lvl = e.level >= 50 ? paint(c, C.red, 'ERROR') : e.level >= 40 ? paint(c, C.yellow, 'WARN ') : paint(c, C.dim, 'info ');
    return `${t} ${lvl} ${e.msg}${e.host ? ` ${e.host}` : ''}${e.extra ? paint(c, C.dim, ` (${e.extra})`) : ''}`;
  }
  const leak = e.leak !== undefined || e.reason?.startsWith('secret-');
  const verdict = leak ? paint(c, C.yellow, 'LEAK ') : e.decision === 'deny' ? paint(c, C.red, 'DENY ') : paint(c, C.green, 'ALLOW');
  const what = e.kind === 'dns' ? 'DNS' : e.kind === 'tls' ? 'TLS' : e.kind === 'tcp' ? 'TCP' : (e.method ?? '?');
  const target = `${e.host ?? '?'}${e.kind === 'http' && e.path ? paint(c, C.dim, e.path.length > 60 ? `${e.path.slice(0, 57)}...` : e.path) : ''}`;
  const parts = [t, verdict, what.padEnd(6), target];
  if (e.status !== undefined) parts.push(String(e.status));
  if (e.extra) parts.push(paint(c, C.dim, e.extra));
  if (e.rule) {
    const text = o.describeRule?.(e.rule);
    parts.push(paint(c, C.cyan, `rule ${e.rule}${text ? ` ${text}` : ''}`));
  } else if (e.decision === 'deny') parts.push(paint(c, C.cyan, e.reason === 'no-settings' ? 'no settings file: all denied' : unmatchedWhy(normalizeHost(e.host ?? ''))));
  if (e.substituted.length) parts.push(paint(c, C.dim, `secrets ${e.substituted.join(',')}`));
  if (e.leak) parts.push(paint(c, C.yellow, `secret ${e.leak} not allowed for this host`));
  return parts.join(' ');
}

/** One log line → one display line, or null when filtered out or empty. */
export function renderLine(line: string, filter: (p: ParsedLine) => boolean, o: RenderOptions): string | null {
  const parsed = parseLogLine(line);
  if (!parsed || !filter(parsed)) return null;
  return 'event' in parsed ? formatEvent(parsed.event, o) : paint(o.color, C.dim, parsed.text);
}

/** Colour when writing to a terminal, unless NO_COLOR is set (https://no-color.org) or FORCE_COLOR asks. */
export function wantColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true;
}
