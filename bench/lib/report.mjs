// The printed table and the targets from issue 6, checked against the figures.
import { fmt } from './stats.mjs';

/** Each target: which figure, on which path, how it is judged. */
export const TARGETS = [
  ...['c1', 'c16', 'c128'].flatMap((c) =>
    ['veth', 'wg'].map((path) => ({ figure: `keepalive-rps-${c}`, path, text: '≥ 10× mitmproxy', kind: 'ratio', vs: 'sandcat/mitmproxy', min: 10 })),
  ),
  ...['veth', 'wg'].map((path) => ({ figure: 'new-tls-conns', path, text: '≥ 5× mitmproxy', kind: 'ratio', vs: 'sandcat/mitmproxy', min: 5 })),
  ...['veth', 'wg'].map((path) => ({ figure: 'added-latency-p50', path, text: '≤ 1 ms', kind: 'value', max: 1 })),
  { figure: 'bulk-download', path: 'veth', text: '≥ 60 % of direct', kind: 'ratio', vs: 'sandcat/direct', min: 0.6 },
  { figure: 'bulk-upload', path: 'veth', text: '≥ 60 % of direct', kind: 'ratio', vs: 'sandcat/direct', min: 0.6 },
  { figure: 'idle-rss-10000', path: 'veth', text: '≤ 300 MB', kind: 'value', max: 300 },
  ...['veth', 'wg'].flatMap((path) => ['allowed', 'denied'].map((k) => ({ figure: `dns-qps-${k}`, path, text: '≥ 20,000 q/s', kind: 'value', min: 20000 }))),
];

export function evaluateTargets(result) {
  const out = [];
  for (const t of TARGETS) {
    let value;
    if (t.kind === 'ratio') value = result.ratios.find((r) => r.figure === t.figure && r.path === t.path)?.[t.vs]?.median;
    else value = result.figures.find((f) => f.figure === t.figure && f.path === t.path && f.config === 'sandcat')?.median;
    if (value === undefined || !Number.isFinite(value)) continue;
    const met = (t.min === undefined || value >= t.min) && (t.max === undefined || value <= t.max);
    out.push({ figure: t.figure, path: t.path, target: t.text, value, met });
  }
  return out;
}

const cell = (f) => (f ? `${fmt(f.median)} [${fmt(f.min)}–${fmt(f.max)}]` : '—');

export function printTable(result) {
  const rows = [];
  const seen = new Set();
  for (const f of result.figures) {
    const key = `${f.figure}|${f.path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const get = (config) => result.figures.find((x) => x.figure === f.figure && x.path === f.path && x.config === config);
    const ratio = result.ratios.find((r) => r.figure === f.figure && r.path === f.path);
    const target = result.targets.find((t) => t.figure === f.figure && t.path === f.path);
    rows.push([
      f.figure,
      f.path,
      f.unit,
      cell(get('direct')),
      cell(get('mitmproxy')),
      cell(get('sandcat')),
      ratio?.['sandcat/mitmproxy'] ? `${fmt(ratio['sandcat/mitmproxy'].median)}×` : '—',
      ratio?.['sandcat/direct'] ? `${fmt(ratio['sandcat/direct'].median)}×` : '—',
      target ? `${target.target} ${target.met ? 'MET' : 'MISSED'}` : '',
    ]);
  }
  const head = ['figure', 'path', 'unit', 'direct', 'mitmproxy', 'sandcat', 'sc/mitm', 'sc/direct', 'target'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r) => r.map((c, i) => (i < 3 || i === 8 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  process.stdout.write(`\nsandcat benchmark, ${result.meta.date} (median [min–max] of ${result.meta.sizes.rounds} interleaved rounds; ratios paired per round)\n\n`);
  process.stdout.write(line(head) + '\n' + widths.map((w) => '-'.repeat(w)).join('  ') + '\n');
  for (const r of rows) process.stdout.write(line(r) + '\n');
  if (result.meta.problems.length) {
    process.stdout.write('\nproblems:\n' + result.meta.problems.map((p) => `  - ${p}`).join('\n') + '\n');
  }
}
