// DNS queries/s over UDP: keeps `inflight` queries outstanding against one server, rotating over
// the given names; a query unanswered after 1 s is counted lost and re-sent under a new id.
// Usage: node dns.mjs <server> <port> <seconds> <inflight> <allowed|denied>
import dgram from 'node:dgram';
import dnsPacket from 'dns-packet';
import { HOSTS } from '../lib/hosts.mjs';

const [server, port, seconds = '5', inflight = '64', kind = 'allowed'] = process.argv.slice(2);
const names = kind === 'allowed' ? HOSTS : Array.from({ length: 1000 }, (_, i) => `r${i}.denied.test`);
const sock = dgram.createSocket('udp4');
await new Promise((r) => sock.bind(0, r));

const pending = new Map(); // id -> sent time
let nextId = 1;
let nameIdx = 0;
let answered = 0;
let lost = 0;
const rcodes = {};
let measuring = false;
const packets = names.map((name) => dnsPacket.encode({ type: 'query', id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name }] }));

function send() {
  const id = nextId;
  nextId = (nextId % 65535) + 1;
  const pkt = packets[nameIdx++ % packets.length];
  pkt.writeUInt16BE(id, 0);
  pending.set(id, performance.now());
  sock.send(pkt, Number(port), server);
}
sock.on('message', (msg) => {
  const id = msg.readUInt16BE(0);
  if (!pending.delete(id)) return;
  if (measuring) {
    answered++;
    const rcode = msg[3] & 0x0f;
    rcodes[rcode] = (rcodes[rcode] ?? 0) + 1;
  }
  send();
});
const sweep = setInterval(() => {
  const now = performance.now();
  for (const [id, t] of pending) {
    if (now - t > 1000) {
      pending.delete(id);
      if (measuring) lost++;
      send();
    }
  }
}, 200);

// Warm-up: one second (the daemon's cache fills with the allowed names).
for (let i = 0; i < Number(inflight); i++) send();
await new Promise((r) => setTimeout(r, 1000));
measuring = true;
const t0 = performance.now();
await new Promise((r) => setTimeout(r, Number(seconds) * 1000));
measuring = false;
const secs = (performance.now() - t0) / 1000;
clearInterval(sweep);
sock.close();
process.stdout.write(JSON.stringify({ answered, lost, rcodes, seconds: secs, rate: answered / secs }) + '\n');
