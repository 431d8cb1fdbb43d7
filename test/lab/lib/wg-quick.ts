/** Just enough wg-quick parsing for the lab's agent side: split wg-quick keys from `wg setconf` keys. */
export interface WgQuickConfig {
  privateKey: string;
  addresses: string[];
  dns: string[];
  mtu: number | null;
  peer: { publicKey: string; endpoint: string; allowedIps: string[]; persistentKeepalive: number | null };
}

export function parseWgQuick(text: string): WgQuickConfig {
  const sections: Record<string, Record<string, string[]>> = {};
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) {
      current = sec[1].toLowerCase();
      sections[current] ??= {};
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    ((sections[current] ??= {})[key] ??= []).push(value);
  }
  const list = (v: string[] | undefined): string[] => (v ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
  const i = sections.interface ?? {};
  const p = sections.peer ?? {};
  if (!i.privatekey?.[0] || !p.publickey?.[0]) throw new Error('client.conf lacks [Interface] PrivateKey or [Peer] PublicKey');
  return {
    privateKey: i.privatekey[0],
    addresses: list(i.address),
    dns: list(i.dns),
    mtu: i.mtu ? Number(i.mtu[0]) : null,
    peer: {
      publicKey: p.publickey[0],
      endpoint: p.endpoint?.[0] ?? '',
      allowedIps: list(p.allowedips),
      persistentKeepalive: p.persistentkeepalive ? Number(p.persistentkeepalive[0]) : null,
    },
  };
}

/** The subset `wg setconf` accepts (no Address/DNS/MTU, which are wg-quick's). */
export function toWgSetconf(c: WgQuickConfig): string {
  return [
    '[Interface]',
    `PrivateKey = ${c.privateKey}`,
    '',
    '[Peer]',
    `PublicKey = ${c.peer.publicKey}`,
    `Endpoint = ${c.peer.endpoint}`,
    `AllowedIPs = ${c.peer.allowedIps.join(', ')}`,
    ...(c.peer.persistentKeepalive ? [`PersistentKeepalive = ${c.peer.persistentKeepalive}`] : []),
    '',
  ].join('\n');
}
