// HTTPS requests/s on keep-alive connections: opens `conns` connections first (not timed, so a
// slow handshake storm does not count against steady state), runs one request after another on
// each, warms up, then counts completed 200s for `seconds`.
// Usage: node keepalive.mjs <ip> <host> <conns> <seconds> [warmupSeconds]
import { connect, get } from './http-lite.mjs';

const [ip, host, conns = '16', seconds = '5', warmup = '1'] = process.argv.slice(2);
const sockets = [];
for (let i = 0; i < Number(conns); i += 32) {
  const batch = Array.from({ length: Math.min(32, Number(conns) - i) }, () => connect(ip, 443, host));
  sockets.push(...(await Promise.all(batch)));
}
let counting = false;
let stopping = false;
let ok = 0;
let bad = 0;
let firstError = '';
const loops = sockets.map(async (s) => {
  while (!stopping) {
    try {
      const status = await get(s, host);
      if (counting) status === 200 ? ok++ : bad++;
    } catch (e) {
      bad++;
      firstError ||= e.message;
      return;
    }
  }
});
await new Promise((r) => setTimeout(r, Number(warmup) * 1000));
counting = true;
process.stdout.write('counting\n'); // the harness reads the interceptor's CPU time here…
const t0 = performance.now();
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
counting = false;
process.stdout.write('stopped\n'); // …and here
const secs = (performance.now() - t0) / 1000;
stopping = true;
await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 2000))]);
for (const s of sockets) s.destroy();
process.stdout.write(JSON.stringify({ ok, bad, firstError, seconds: secs, rate: ok / secs }) + '\n');
