/**
 * Upstream failures, classified so the agent gets a status and a cause it can act on
 * (502 for refusals and verification failures, 504 for timeouts), never a hang.
 */
export interface UpstreamFailure {
  status: 502 | 504;
  kind: 'dns' | 'connect' | 'tls-verify' | 'tls' | 'timeout' | 'reset' | 'protocol';
  message: string;
}

const VERIFY_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
  'INVALID_CA',
]);

export class UpstreamTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(what: string) {
    super(what);
  }
}

export function classifyUpstreamError(err: unknown, host: string, port: number): UpstreamFailure {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = e?.code ?? '';
  const where = `${host}:${port}`;
  if (err instanceof UpstreamTimeoutError || code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return { status: 504, kind: 'timeout', message: `${where} did not answer in time (${e.message})` };
  }
  if (code === 'ESANDCATLOCAL') {
    return { status: 502, kind: 'connect', message: e.message };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ENODATA' || code === 'ESERVFAIL' || code === 'EAI_NONAME') {
    return { status: 502, kind: 'dns', message: `the proxy could not resolve ${host} (${code})` };
  }
  if (code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') {
    return { status: 502, kind: 'connect', message: `could not connect to ${where} (${code})` };
  }
  if (VERIFY_CODES.has(code)) {
    return {
      status: 502,
      kind: 'tls-verify',
      message:
        `the TLS certificate of ${where} failed verification (${code}: ${e.reason ?? e.message}). ` +
        'sandcat refuses unverified upstreams; if this host uses a private CA, add it with the "upstream_ca" setting',
    };
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS') || /ssl|tls/i.test(e?.message ?? '')) {
    return { status: 502, kind: 'tls', message: `TLS with ${where} failed (${code || e.message})` };
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || e?.message === 'socket hang up') {
    return { status: 502, kind: 'reset', message: `${where} closed the connection (${code || e.message})` };
  }
  return { status: 502, kind: 'protocol', message: `${where} failed: ${code ? code + ' ' : ''}${e?.message ?? String(err)}` };
}
