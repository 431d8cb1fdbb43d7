// Reads the .cpuprofile files `node --cpu-prof` wrote and returns the frames with the most self
// time, so a missed target points at its largest cost.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function summarizeProfiles(dir, top = 25) {
  let files;
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  } catch {
    return [];
  }
  const self = new Map();
  let total = 0;
  for (const f of files) {
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    const deltas = prof.timeDeltas ?? [];
    (prof.samples ?? []).forEach((id, i) => {
      const n = byId.get(id);
      const { functionName, url, lineNumber } = n.callFrame;
      const where = url ? `${url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/')}:${lineNumber + 1}` : '';
      const key = `${functionName || '(anonymous)'} ${where}`.trim();
      const dt = deltas[i] ?? 0;
      self.set(key, (self.get(key) ?? 0) + dt);
      total += dt;
    });
  }
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([frame, us]) => ({ frame, ms: us / 1000, percent: total ? (100 * us) / total : 0 }));
}
