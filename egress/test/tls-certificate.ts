/** A throwaway self-signed certificate for local TLS origins in tests, made with openssl. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestCertificate {
  /** PEM private key. */
  readonly key: string;
  /** PEM certificate; it is its own CA, so trusting it trusts exactly this origin. */
  readonly cert: string;
}

/** A P-256 certificate valid for one day for the given DNS names and IP addresses. */
export async function selfSignedCertificate(
  names: readonly string[],
  addresses: readonly string[],
): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'bu-test-cert-'));
  try {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const san = [...names.map((n) => `DNS:${n}`), ...addresses.map((a) => `IP:${a}`)].join(',');
    await run('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '1',
      '-subj',
      `/CN=${names[0] ?? addresses[0] ?? 'test'}`,
      '-addext',
      `subjectAltName=${san}`,
    ]);
    return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
