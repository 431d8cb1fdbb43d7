export { startDnsServer, type DnsServer, type DnsServerOptions } from './server.js';
export { UpstreamResolver, type UpstreamResolverOptions, type ResolverStateSource, type ResolverStats } from './upstream-resolver.js';
export { NameAttribution, type NameAttributionOptions } from './attribution.js';
export { canonicalIp } from './ip.js';
export { parseServer, type ServerAddress } from './servers.js';
