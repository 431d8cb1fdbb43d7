import type { LogEvent } from './proxy-log.js';

/**
 * Repeats folded for `sandcat status`: one denied `curl` asks DNS for A and AAAA, often twice, so
 * the same refusal fills four lines. Events with the same kind, host, method, verdict and blocked
 * secret within `windowMs` of the previous one become one group with a count. Pure.
 */
export interface DenialGroup {
  /** The first event, with the details (DNS types, rcodes) of all of them merged into `extra`. */
  event: LogEvent;
  count: number;
  lastMs: number;
}

function key(e: LogEvent): string {
  return [e.kind, e.host ?? '', e.kind === 'http' ? (e.method ?? '') : '', e.decision ?? '', e.leak ?? ''].join('\0');
}

function timeMs(e: LogEvent): number | undefined {
  const t = e.time ? Date.parse(e.time) : NaN;
  return Number.isNaN(t) ? undefined : t;
}

/** "REFUSED A" + "REFUSED AAAA" → "REFUSED A AAAA": the distinct words, in order. */
function mergeExtra(a: string | undefined, b: string | undefined): string | undefined {
  if (!b || a === b) return a;
  const words = (a ?? '').split(' ').filter(Boolean);
  for (const w of b.split(' ')) if (w && !words.includes(w)) words.push(w);
  return words.join(' ');
}

export function groupRepeats(events: readonly LogEvent[], windowMs = 10_000): DenialGroup[] {
  const groups: DenialGroup[] = [];
  const open = new Map<string, DenialGroup>();
  for (const e of events) {
    const k = key(e);
    const t = timeMs(e);
    const g = open.get(k);
    // Without a timestamp there is no window to judge: keep the line as it is.
    if (g && t !== undefined && g.lastMs !== -1 && t - g.lastMs <= windowMs) {
      g.count++;
      g.lastMs = t;
      g.event = { ...g.event, extra: mergeExtra(g.event.extra, e.extra) };
      // Keep groups in the order of their latest event, so "the last N" stays the most recent.
      groups.splice(groups.indexOf(g), 1);
      groups.push(g);
      continue;
    }
    const fresh: DenialGroup = { event: e, count: 1, lastMs: t ?? -1 };
    groups.push(fresh);
    open.set(k, fresh);
  }
  return groups;
}
