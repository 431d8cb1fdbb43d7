// New TLS connections/s: each worker connects, sends one request with Connection: close, reads the
// answer, closes; host names rotate over the 50 bench names (no TLS session reuse, so every
// connection is a full handshake). Usage: node new-conns.mjs <ip> <seconds> <concurrency>
import { connect, get } from './http-lite.mjs';
import { HOSTS } from '../lib/hosts.mjs';

const [ip, seconds = '5', concurrency = '16'] = process.argv.slice(2);
const end = Date.now() + Number(seconds) * 1000;
let ok = 0;
let failed = 0;
let next = 0;
let firstError = '';

async function worker() {
  while (Date.now() < end) {
    const host = HOSTS[next++ % HOSTS.length];
    try {
      const s = await connect(ip, 443, host);
      const status = await get(s, host, '/', true);
      s.destroy();
      if (status === 200) ok++;
      else {
        failed++;
        firstError ||= `status ${status}`;
      }
    } catch (e) {
      failed++;
      firstError ||= e.message;
    }
  }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
const secs = (performance.now() - t0) / 1000;
process.stdout.write(JSON.stringify({ ok, failed, firstError, seconds: secs, rate: ok / secs }) + '\n');
