/**
 * JSON for people: the outer two levels are spread over lines, anything deeper that fits on one
 * line stays on one line, so each network rule reads as one line like in sandcat's own examples.
 */
export function readableJson(value: unknown, width = 100): string {
  return render(value, 0, width) + '\n';
}

function inline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${inline(v)}`).join(', ')}}`;
  }
  return JSON.stringify(value);
}

function render(value: unknown, depth: number, width: number): string {
  const pad = '  '.repeat(depth);
  const one = inline(value);
  if (value === null || typeof value !== 'object') return one;
  if (depth >= 2 && pad.length + one.length <= width) return one;
  const inner = '  '.repeat(depth + 1);
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => inner + render(v, depth + 1, width)).join(',\n')}\n${pad}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  return `{\n${entries.map(([k, v]) => `${inner}${JSON.stringify(k)}: ${render(v, depth + 1, width)}`).join(',\n')}\n${pad}}`;
}
