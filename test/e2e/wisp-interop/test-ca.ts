/**
 * A throwaway test CA and a server certificate it signs for 127.0.0.1, made with openssl.
 * egress/test/tls-certificate.ts makes a self-signed certificate that is its own CA; rustls
 * (epoxy-tls) refuses a CA certificate as the server's own (`CaUsedAsEndEntity`), so the
 * WASM clients need a real chain: root CA → leaf.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCa {
  /** PEM of the root CA: what a client is told to trust. */
  readonly caPem: string;
  /** PEM private key of the server certificate. */
  readonly key: string;
  /** PEM server certificate (leaf only; the CA is the trust anchor). */
  readonly cert: string;
}

/** A P-256 root CA and a leaf for `localhost` and 127.0.0.1, valid for one day. */
export async function makeTestCa(): Promise<TestCa> {
  const dir = await mkdtemp(join(tmpdir(), 'bu-wisp-interop-ca-'));
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await run('openssl', [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=Browsers Unbounded Wisp interop test CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', [
      'req',
      '-new',
      ...ec,
      '-keyout',
      file('leaf.key'),
      '-out',
      file('leaf.csr'),
      '-subj',
      '/CN=127.0.0.1',
    ]);
    await writeFile(
      file('leaf.ext'),
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature',
        'extendedKeyUsage=serverAuth',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '',
      ].join('\n'),
    );
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      file('leaf.csr'),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      file('leaf.pem'),
      '-days',
      '1',
      '-extfile',
      file('leaf.ext'),
    ]);
    return {
      caPem: await readFile(file('ca.pem'), 'utf8'),
      key: await readFile(file('leaf.key'), 'utf8'),
      cert: await readFile(file('leaf.pem'), 'utf8'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
