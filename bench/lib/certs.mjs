// The upstream's test CA and one ECDSA P-256 leaf covering every bench host name (openssl CLI).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh } from './exec.mjs';

export function makeUpstreamCerts(dir, ip) {
  const ca = { key: join(dir, 'up-ca.key'), cert: join(dir, 'up-ca.pem') };
  const leaf = { key: join(dir, 'up-leaf.key'), csr: join(dir, 'up-leaf.csr'), cert: join(dir, 'up-leaf.pem') };
  sh('openssl', [
    'req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-keyout', ca.key, '-out', ca.cert, '-days', '30', '-subj', '/CN=sandcat bench upstream CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  sh('openssl', [
    'req', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-keyout', leaf.key, '-out', leaf.csr, '-subj', '/CN=bench.test',
  ]);
  const ext = join(dir, 'up-leaf.ext');
  writeFileSync(
    ext,
    [
      'basicConstraints=CA:FALSE',
      'keyUsage=critical,digitalSignature',
      'extendedKeyUsage=serverAuth',
      'subjectKeyIdentifier=hash',
      'authorityKeyIdentifier=keyid',
      `subjectAltName=DNS:*.bench.test,DNS:bench.test,IP:${ip}`,
      '',
    ].join('\n'),
  );
  sh('openssl', [
    'x509', '-req', '-in', leaf.csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial',
    '-out', leaf.cert, '-days', '30', '-extfile', ext,
  ]);
  return { caCert: ca.cert, leafCert: leaf.cert, leafKey: leaf.key };
}
