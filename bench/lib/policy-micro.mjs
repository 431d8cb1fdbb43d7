// Figure 7: ns per policy decision with 1,000 rules, on the compiled policy from dist/.
// Half the rules are exact hosts, half globs; the last rule is a catch-all deny-free miss case.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

export function makeRules(n = 1000) {
  const rules = [];
  for (let i = 0; i < n; i++) {
    const action = i % 5 === 0 ? 'deny' : 'allow';
    let host;
    if (i % 2 === 0) host = `svc${i}.team${i % 37}.example.com`;
    else if (i % 4 === 1) host = `*.zone${i}.example.org`;
    else host = `api?.region${i}.example.net`;
    rules.push({ action, host, ...(i % 7 === 0 ? { method: 'GET' } : {}), layer: 'user', index: i });
  }
  return rules;
}

function time(policyMod, policy, hosts, iterations) {
  const { decide } = policyMod;
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const d = decide(policy, { host: hosts[i % hosts.length], method: 'GET', port: 443 });
    if (d.action === 'allow') sink++;
  }
  const ns = Number(process.hrtime.bigint() - t0) / iterations;
  return { ns, sink };
}

/** Returns per-round ns/decision for the mixed workload and for the no-match (default deny) case. */
export async function policyMicrobench(rounds = 5, targetMs = 500) {
  const mod = await import(pathToFileURL(join(ROOT, 'dist/policy/index.js')).href);
  const rules = makeRules(1000);
  const policy = mod.compilePolicy(rules, true);
  const exactHits = rules.filter((r) => !r.host.includes('*') && !r.host.includes('?')).map((r) => r.host);
  const globHits = rules
    .filter((r) => r.host.startsWith('*.'))
    .map((r, i) => `host${i}${r.host.slice(1)}`)
    .concat(rules.filter((r) => r.host.startsWith('api?')).map((r) => r.host.replace('?', '7')));
  const misses = Array.from({ length: 512 }, (_, i) => `nothing${i}.unmatched.test`);
  const mixed = [];
  for (let i = 0; i < 1536; i++) mixed.push([exactHits, globHits, misses][i % 3][(i * 7919) % 500]);
  // Warm-up (JIT), then size each timed loop to take about `targetMs`.
  const probe = time(mod, policy, mixed, 5_000).ns;
  const iterations = Math.max(10_000, Math.round((targetMs * 1e6) / probe));
  const out = { mixed: [], miss: [] };
  for (let r = 0; r < rounds; r++) {
    out.mixed.push(time(mod, policy, mixed, iterations).ns);
    out.miss.push(time(mod, policy, misses, iterations).ns);
  }
  return out;
}
