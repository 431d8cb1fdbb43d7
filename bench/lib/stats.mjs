// Summaries of interleaved samples: median/min/max per figure, ratios paired by round.

export function median(xs) {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarize(values) {
  const finite = values.filter((x) => Number.isFinite(x));
  return { median: median(finite), min: finite.length ? Math.min(...finite) : NaN, max: finite.length ? Math.max(...finite) : NaN, n: finite.length };
}

/**
 * Ratio a/b per round, then the median: runs of A and B in the same round were taken moments
 * apart, so the pairing cancels most of the machine's drift.
 */
export function pairedRatio(samples, figure, path, a, b) {
  const byRound = (config) => new Map(samples.filter((s) => s.figure === figure && s.path === path && s.config === config).map((s) => [s.round, s.value]));
  const A = byRound(a);
  const B = byRound(b);
  const ratios = [];
  for (const [round, va] of A) if (B.has(round) && B.get(round) !== 0) ratios.push(va / B.get(round));
  return ratios.length ? summarize(ratios) : null;
}

export function fmt(x, digits) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  const d = digits ?? (Math.abs(x) >= 100 ? 0 : Math.abs(x) >= 10 ? 1 : 2);
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}
