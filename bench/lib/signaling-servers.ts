/**
 * The two PeerJS servers the signaling benches compare, each in its own process so that its
 * CPU time and memory can be read from /proc: ours as `bu signaling` from dist/ (npm run
 * build), and the stock `peer` package through bench/servers/peer-server.mjs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bytesToBase64url } from '../../protocol/bytes.ts';
import { generateKeyPair } from '../../protocol/noise/crypto-suite.ts';
import { BENCH_DIR, REPO_DIR } from './args.ts';
import { startChild, type Child } from './proc.ts';

export type SignalingSubject = 'ours' | 'peer';

export interface RunningSignaling {
  readonly subject: SignalingSubject;
  readonly child: Child;
  /** `ws://127.0.0.1:PORT/peerjs` */
  readonly wsUrl: string;
  /** `http://127.0.0.1:PORT/` */
  readonly httpUrl: string;
}

/**
 * Flags that lift our per-address limits: every bench client shares 127.0.0.1, and our server
 * (unlike `peer`) rate-limits connections and requests per address. Geoip is off because
 * `peer` has none (it would add about the same fixed memory to every run of ours).
 */
export const OUR_BENCH_FLAGS = [
  '--no-geoip',
  '--log-level',
  'warn',
  '--rate-burst',
  '1000000',
  '--rate-per-second',
  '1000000',
  '--concurrent-limit',
  '100000',
  // Every bench client is 127.0.0.1, so the per-address fair shares are lifted too; the checks
  // still run on every message and match, so their cost is measured.
  '--max-ids-per-address',
  '100000',
  '--max-matches-per-address',
  '1000000',
  '--address-share',
  '100',
  '--relay-messages-per-second',
  '1000000000',
  '--relay-bytes-per-second',
  '1000000000000',
] as const;

export async function startSignaling(
  subject: SignalingSubject,
  extraFlags: readonly string[] = [],
): Promise<RunningSignaling> {
  if (subject === 'ours') {
    const child = await startChild(
      process.execPath,
      [
        join(REPO_DIR, 'dist/cli/bu.js'),
        'signaling',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        ...OUR_BENCH_FLAGS,
        // As deployed: one egress listed, so every match signs an admission token for it
        // (nothing dials it), with the key kept out of the working directory.
        '--egress',
        `bench=ws://127.0.0.1:9/#${bytesToBase64url(generateKeyPair().publicKey)}`,
        '--admission-key-file',
        join(mkdtempSync(join(tmpdir(), 'bu-bench-admission-')), 'admission-key.json'),
        ...extraFlags,
      ],
      { ready: /listening on http:\/\/127\.0\.0\.1:(\d+)\// },
    );
    return urls(subject, child);
  }
  const child = await startChild(
    process.execPath,
    [join(BENCH_DIR, 'servers/peer-server.mjs'), '100000'],
    { ready: /peer listening on (\d+)/ },
  );
  return urls(subject, child);
}

function urls(subject: SignalingSubject, child: Child): RunningSignaling {
  const port = child.ready[1] ?? '';
  return {
    subject,
    child,
    wsUrl: `ws://127.0.0.1:${port}/peerjs`,
    httpUrl: `http://127.0.0.1:${port}/`,
  };
}
