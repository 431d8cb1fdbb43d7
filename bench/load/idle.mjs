// Opens N TLS connections, makes one request on each (so both legs of a proxy exist), and holds
// them open idle. Prints one JSON line when all are open, then waits for SIGTERM.
// Usage: node idle.mjs <ip> <count> <concurrency>
import { connect, get } from './http-lite.mjs';
import { HOSTS } from '../lib/hosts.mjs';

const [ip, count = '1000', concurrency = '64'] = process.argv.slice(2);
const sockets = [];
let next = 0;
let failed = 0;
let firstError = '';
async function worker() {
  while (next < Number(count)) {
    const host = HOSTS[next++ % HOSTS.length];
    try {
      const s = await connect(ip, 443, host);
      s.on('error', () => {});
      const status = await get(s, host);
      if (status !== 200) throw new Error(`status ${status}`);
      sockets.push(s);
    } catch (e) {
      failed++;
      firstError ||= e.message;
    }
  }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
const open = sockets.filter((s) => !s.destroyed).length;
process.stdout.write(JSON.stringify({ open, failed, firstError, seconds: (performance.now() - t0) / 1000 }) + '\n');
process.on('SIGTERM', () => {
  for (const s of sockets) s.destroy();
  process.exit(0);
});
setInterval(() => {}, 1 << 30);
