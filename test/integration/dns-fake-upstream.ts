/**
 * An in-process upstream DNS server on loopback (UDP and TCP, same port) that records every query
 * it receives, so tests can prove what reached (or never reached) the upstream.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import dnsPacket from 'dns-packet';

export interface FakeZoneEntry {
  A?: string[];
  AAAA?: string[];
  /** Answer with a CNAME to this name first (the target's records must be in the zone). */
  CNAME?: string;
  TXT?: string[];
  ttl?: number;
}

export interface SeenQuery {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
}

export interface FakeUpstreamOptions {
  zone: Record<string, FakeZoneEntry>;
  /** Names for which UDP queries are never answered (timeouts). */
  silent?: string[];
  /** Names whose UDP answer is truncated (TC, no records), so the client must retry over TCP. */
  truncateUdp?: string[];
}

export interface FakeUpstream {
  port: number;
  queries: SeenQuery[];
  countFor(name: string): number;
  close(): Promise<void>;
}

function answerFor(query: dnsPacket.Packet, opts: FakeUpstreamOptions, transport: 'udp' | 'tcp'): Buffer | null {
  const q = query.questions![0]!;
  const name = q.name.toLowerCase();
  if (transport === 'udp' && opts.silent?.includes(name)) return null;
  const base = { id: query.id, type: 'response' as const, flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE, questions: query.questions };
  if (transport === 'udp' && opts.truncateUdp?.includes(name)) {
    return dnsPacket.encode({ ...base, flags: base.flags | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
  }
  const answers: dnsPacket.Answer[] = [];
  let current = name;
  let entry = opts.zone[current];
  if (!entry) {
    return dnsPacket.encode({
      ...base,
      flags: base.flags | 3, // NXDOMAIN
      authorities: [{ type: 'SOA', name: 'test', ttl: 30, data: { mname: 'ns.test', rname: 'root.test', serial: 1, refresh: 60, retry: 60, expire: 600, minimum: 20 } }],
    } as dnsPacket.Packet);
  }
  if (entry.CNAME) {
    answers.push({ type: 'CNAME', name: q.name, ttl: entry.ttl ?? 300, data: entry.CNAME } as dnsPacket.Answer);
    current = entry.CNAME;
    entry = opts.zone[current] ?? {};
  }
  const ttl = entry.ttl ?? 300;
  if (q.type === 'A') for (const ip of entry.A ?? []) answers.push({ type: 'A', name: current, ttl, data: ip });
  if (q.type === 'AAAA') for (const ip of entry.AAAA ?? []) answers.push({ type: 'AAAA', name: current, ttl, data: ip });
  if (q.type === 'TXT') for (const t of entry.TXT ?? []) answers.push({ type: 'TXT', name: current, ttl, data: t } as dnsPacket.Answer);
  return dnsPacket.encode({ ...base, answers });
}

export async function startFakeUpstream(opts: FakeUpstreamOptions): Promise<FakeUpstream> {
  const queries: SeenQuery[] = [];
  const udp: UdpSocket = createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const query = dnsPacket.decode(msg);
    const q = query.questions![0]!;
    queries.push({ name: q.name.toLowerCase(), type: q.type, transport: 'udp' });
    const resp = answerFor(query, opts, 'udp');
    if (resp) udp.send(resp, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', resolve));
  const port = udp.address().port;
  const sockets = new Set<Socket>();
  const tcp: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    let pending = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const len = pending.readUInt16BE(0);
        const query = dnsPacket.decode(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
        const q = query.questions![0]!;
        queries.push({ name: q.name.toLowerCase(), type: q.type, transport: 'tcp' });
        const resp = answerFor(query, opts, 'tcp')!;
        const frame = Buffer.alloc(2 + resp.length);
        frame.writeUInt16BE(resp.length, 0);
        resp.copy(frame, 2);
        sock.write(frame);
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port,
    queries,
    countFor: (name) => queries.filter((q) => q.name === name).length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        udp.close(() => tcp.close(() => resolve()));
      }),
  };
}
