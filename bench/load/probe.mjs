// One verified request: trusts only the given CA file, and prints who issued the certificate the
// client saw, so the harness knows which program (if any) intercepted the connection.
// Usage: node probe.mjs <ip> <host> <ca.pem>
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { get } from './http-lite.mjs';

const [ip, host, caFile] = process.argv.slice(2);
const s = await new Promise((resolve, reject) => {
  const sock = tls.connect({ host: ip, port: 443, servername: host, ca: readFileSync(caFile) });
  sock.once('secureConnect', () => resolve(sock));
  sock.once('error', reject);
});
const issuer = s.getPeerCertificate().issuer?.CN ?? '';
const status = await get(s, host);
s.destroy();
process.stdout.write(JSON.stringify({ issuer, status, authorized: s.authorized }) + '\n');
