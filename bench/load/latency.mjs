// Latency of one small HTTPS request on a warm keep-alive connection: sequential requests on a
// single connection; prints p50/p99 in ms. Usage: node latency.mjs <ip> <host> <samples> <warmup>
import { connect, get } from './http-lite.mjs';

const [ip, host, samples = '2000', warmup = '200'] = process.argv.slice(2);
const s = await connect(ip, 443, host);
for (let i = 0; i < Number(warmup); i++) await get(s, host);
const times = new Float64Array(Number(samples));
for (let i = 0; i < times.length; i++) {
  const t0 = process.hrtime.bigint();
  const status = await get(s, host);
  times[i] = Number(process.hrtime.bigint() - t0) / 1e6;
  if (status !== 200) throw new Error(`status ${status}`);
}
s.destroy();
times.sort();
const pct = (p) => times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))];
process.stdout.write(JSON.stringify({ p50: pct(50), p99: pct(99), n: times.length }) + '\n');
