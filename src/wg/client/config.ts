/**
 * Parser for the wg-quick client config the daemon writes to `<wg>/client.conf`.
 *
 * Pure: text in, a typed config out, or a SandcatError naming the line. Hook keys (PreUp, PostUp,
 * PreDown, PostDown, SaveConfig) are refused, not ignored: `sandcat wg-client` never runs commands
 * from a file, and a config asking for them was not written by sandcat.
 */
import { isIP } from 'node:net';
import { SandcatError } from '../../errors.js';

export interface ClientPeer {
  publicKey: string;
  presharedKey?: string;
  /** `host:port` or `[v6]:port` exactly as written. */
  endpoint: string;
  allowedIps: string[];
  persistentKeepalive?: number;
}

export interface ClientConfig {
  privateKey: string;
  /** CIDRs as written, e.g. ['10.77.0.2/32', 'fd00:77::2/128']. */
  addresses: string[];
  /** Name server addresses from `DNS =` (IP entries). */
  dns: string[];
  /** Non-IP `DNS =` entries are search domains, as in wg-quick. */
  dnsSearch: string[];
  mtu?: number;
  peer: ClientPeer;
}

const REFUSED_KEYS = new Set(['preup', 'postup', 'predown', 'postdown', 'saveconfig']);
const KEY_SHAPE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

function fail(source: string, line: number, problem: string, hint?: string): never {
  throw new SandcatError('E_WG_CONFIG', `${source}:${line}: ${problem}`, { hint: hint ?? 'the daemon writes this file; restart the proxy to regenerate it' });
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function isCidr(text: string): boolean {
  const [addr, len, extra] = text.split('/');
  if (extra !== undefined || !addr) return false;
  const fam = isIP(addr);
  if (!fam) return false;
  if (len === undefined) return true;
  const n = Number(len);
  return /^\d+$/.test(len) && n >= 0 && n <= (fam === 4 ? 32 : 128);
}

export function parseClientConfig(text: string, source = 'client.conf'): ClientConfig {
  let section: 'interface' | 'peer' | null = null;
  let peers = 0;
  const iface: Partial<ClientConfig> & { addresses: string[]; dns: string[]; dnsSearch: string[] } = { addresses: [], dns: [], dnsSearch: [] };
  const peer: Partial<ClientPeer> & { allowedIps: string[] } = { allowedIps: [] };

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = lines[i].replace(/#.*$/, '').trim();
    if (!line) continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) {
      const name = header[1].toLowerCase();
      if (name === 'interface') section = 'interface';
      else if (name === 'peer') {
        section = 'peer';
        if (++peers > 1) fail(source, lineNo, 'more than one [Peer]; a sandcat client has exactly one (the proxy)');
      } else fail(source, lineNo, `unknown section [${header[1]}]`);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) fail(source, lineNo, `expected "Key = Value", got "${line.slice(0, 40)}"`);
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    if (section === null) fail(source, lineNo, `"${key}" outside a section`);
    if (REFUSED_KEYS.has(key)) fail(source, lineNo, `"${line.slice(0, eq).trim()}" is not supported: sandcat wg-client never runs commands from a config file`);

    if (section === 'interface') {
      switch (key) {
        case 'privatekey':
          if (!KEY_SHAPE.test(value)) fail(source, lineNo, 'PrivateKey is not a WireGuard key');
          iface.privateKey = value;
          break;
        case 'address':
          for (const a of list(value)) {
            if (!isCidr(a)) fail(source, lineNo, `Address "${a}" is not an IP or CIDR`);
            iface.addresses.push(a.includes('/') ? a : `${a}/${isIP(a) === 4 ? 32 : 128}`);
          }
          break;
        case 'dns':
          for (const d of list(value)) (isIP(d) ? iface.dns : iface.dnsSearch).push(d);
          break;
        case 'mtu': {
          const n = Number(value);
          if (!/^\d+$/.test(value) || n < 1280 || n > 9000) fail(source, lineNo, `MTU "${value}" must be a whole number from 1280 to 9000`);
          iface.mtu = n;
          break;
        }
        // wg-quick keys whose job sandcat wg-client does itself (own table, own fwmark, no listen port needed).
        case 'table':
        case 'fwmark':
        case 'listenport':
          break;
        default:
          fail(source, lineNo, `unknown [Interface] key "${line.slice(0, eq).trim()}"`);
      }
    } else {
      switch (key) {
        case 'publickey':
          if (!KEY_SHAPE.test(value)) fail(source, lineNo, 'PublicKey is not a WireGuard key');
          peer.publicKey = value;
          break;
        case 'presharedkey':
          if (!KEY_SHAPE.test(value)) fail(source, lineNo, 'PresharedKey is not a WireGuard key');
          peer.presharedKey = value;
          break;
        case 'endpoint':
          splitEndpoint(value, `${source}:${lineNo}`);
          peer.endpoint = value;
          break;
        case 'allowedips':
          for (const a of list(value)) {
            if (!isCidr(a)) fail(source, lineNo, `AllowedIPs entry "${a}" is not a CIDR`);
            peer.allowedIps.push(a);
          }
          break;
        case 'persistentkeepalive': {
          if (value === 'off') break;
          const n = Number(value);
          if (!/^\d+$/.test(value) || n > 65535) fail(source, lineNo, `PersistentKeepalive "${value}" must be 0-65535 or off`);
          if (n > 0) peer.persistentKeepalive = n;
          break;
        }
        default:
          fail(source, lineNo, `unknown [Peer] key "${line.slice(0, eq).trim()}"`);
      }
    }
  }

  const last = lines.length;
  if (!iface.privateKey) fail(source, last, '[Interface] has no PrivateKey');
  if (iface.addresses.length === 0) fail(source, last, '[Interface] has no Address');
  if (peers === 0) fail(source, last, 'no [Peer] section');
  if (!peer.publicKey) fail(source, last, '[Peer] has no PublicKey');
  if (!peer.endpoint) fail(source, last, '[Peer] has no Endpoint');
  if (peer.allowedIps.length === 0) fail(source, last, '[Peer] has no AllowedIPs');
  return {
    privateKey: iface.privateKey,
    addresses: iface.addresses,
    dns: iface.dns,
    dnsSearch: iface.dnsSearch,
    ...(iface.mtu !== undefined ? { mtu: iface.mtu } : {}),
    peer: {
      publicKey: peer.publicKey,
      ...(peer.presharedKey ? { presharedKey: peer.presharedKey } : {}),
      endpoint: peer.endpoint,
      allowedIps: peer.allowedIps,
      ...(peer.persistentKeepalive ? { persistentKeepalive: peer.persistentKeepalive } : {}),
    },
  };
}

export interface EndpointParts {
  host: string;
  port: number;
}

/** `proxy:51820`, `10.0.0.1:51820` or `[fd00::1]:51820` → host and port. */
export function splitEndpoint(endpoint: string, where = 'endpoint'): EndpointParts {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(endpoint) ?? /^([^:[\]]+):(\d+)$/.exec(endpoint);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 1 && port <= 65535)) {
    throw new SandcatError('E_WG_CONFIG', `${where}: Endpoint "${endpoint}" is not host:port or [v6]:port`, { hint: 'set --wg-endpoint on the daemon to host:port, e.g. proxy:51820' });
  }
  return { host: m[1], port };
}
