// Reads the .cpuprofile files `node --cpu-prof` wrote and returns where the busy time went:
// the frames with the most self time, and sandcat's own functions (dist/) with the most total
// (inclusive) time, both as a share of non-idle samples, so a missed target points at its cost.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const label = (cf) => {
  const where = cf.url ? `${cf.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')}:${cf.lineNumber + 1}` : '';
  return `${cf.functionName || '(anonymous)'} ${where}`.trim();
};

export function summarizeProfiles(dir, top = 25) {
  let files;
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return { self: [], inclusive: [] };
  }
  const self = new Map();
  const incl = new Map();
  let busy = 0;
  for (const f of files) {
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const parent = new Map();
    for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const deltas = prof.timeDeltas ?? [];
    (prof.samples ?? []).forEach((id, i) => {
      const n = byId.get(id);
      if (n.callFrame.functionName === '(idle)') return;
      const dt = deltas[i + 1] ?? deltas[i] ?? 0; // a sample's time is the gap to the next one
      busy += dt;
      const key = label(n.callFrame);
      self.set(key, (self.get(key) ?? 0) + dt);
      const seen = new Set();
      for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
        const cf = byId.get(cur).callFrame;
        if (!cf.url.includes('/dist/')) continue;
        const k = label(cf);
        if (seen.has(k)) continue; // recursion counts once
        seen.add(k);
        incl.set(k, (incl.get(k) ?? 0) + dt);
      }
    });
  }
  const rank = (m) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([frame, us]) => ({ frame, ms: Math.round(us / 1000), percent: busy ? (100 * us) / busy : 0 }));
  return { busyMs: Math.round(busy / 1000), self: rank(self), inclusive: rank(incl) };
}
