// Bulk throughput over one HTTPS connection: `down` fetches /bulk?bytes=N, `up` POSTs N bytes to
// /sink (streamed with backpressure). Prints MiB/s. Usage: node bulk.mjs <ip> <host> <bytes> <down|up>
import https from 'node:https';
import { writeBytes } from '../lib/write-bytes.mjs';

const [ip, host, bytesArg, direction] = process.argv.slice(2);
const bytes = Number(bytesArg);
const CHUNK = Buffer.alloc(256 * 1024, 'u');
const opts = { host: ip, servername: host, port: 443, rejectUnauthorized: false, headers: { host }, agent: false };

const t0 = performance.now();
const got = await new Promise((resolve, reject) => {
  if (direction === 'down') {
    https
      .get({ ...opts, path: `/bulk?bytes=${bytes}` }, (res) => {
        let n = 0;
        res.on('data', (d) => (n += d.length));
        res.on('end', () => resolve(res.statusCode === 200 ? n : -res.statusCode));
        res.on('error', reject);
      })
      .on('error', reject);
    return;
  }
  const req = https.request({ ...opts, method: 'POST', path: '/sink', headers: { host, 'content-length': bytes } }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body).bytes) : resolve(-res.statusCode)));
  });
  req.on('error', reject);
  writeBytes(req, bytes, CHUNK);
});
const secs = (performance.now() - t0) / 1000;
if (got !== bytes) throw new Error(`${direction}: moved ${got} of ${bytes} bytes`);
process.stdout.write(JSON.stringify({ bytes, seconds: secs, mibps: bytes / 1048576 / secs }) + '\n');
