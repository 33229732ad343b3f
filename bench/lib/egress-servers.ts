/**
 * The egress-side processes of the egress and slow-reader benches: the local origin, our
 * egress (`bu egress` from dist/), and the wisp-js server, each its own process.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, REPO_DIR } from './args.ts';
import { startChild, type Child } from './proc.ts';

export interface Origin {
  readonly child: Child;
  readonly port: number;
}

export async function startOrigin(): Promise<Origin> {
  const child = await startChild(process.execPath, [join(BENCH_DIR, 'servers/source-origin.mjs')], {
    ready: /origin listening on (\d+)/,
  });
  return { child, port: Number(child.ready[1]) };
}

export interface OurEgress {
  readonly child: Child;
  /** `http://127.0.0.1:PORT/`; metrics at `${url}metrics`. */
  readonly url: string;
  readonly wisp: string;
  readonly tunnel: string;
  readonly publicKey: Uint8Array;
  stop(): Promise<void>;
}

/** Per-address limits lifted (every bench client is 127.0.0.1); the origin allow-listed. */
export function egressFlags(originPort: number): string[] {
  return [
    '--allow',
    `127.0.0.1:${originPort}`,
    '--max-connections-per-ip',
    '100000',
    '--log-level',
    'warn',
  ];
}

export async function startOurEgress(originPort: number): Promise<OurEgress> {
  const dir = mkdtempSync(join(tmpdir(), 'bu-bench-'));
  const child = await startChild(
    process.execPath,
    [
      join(REPO_DIR, 'dist/cli/bu.js'),
      'egress',
      // The bench's tunnel clients carry no admission token (a check costs one signature
      // verification per handshake, not per byte).
      '--no-admission',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--key',
      join(dir, 'egress-key.json'),
      ...egressFlags(originPort),
    ],
    { ready: /^(\{.*"event":"listening".*\})$/m },
  );
  const line: unknown = JSON.parse(child.ready[1] ?? '{}');
  if (typeof line !== 'object' || line === null) throw new Error('bad egress start line');
  const field = (name: string): string => {
    const value: unknown = Reflect.get(line, name);
    if (typeof value !== 'string') throw new Error(`egress start line has no ${name}`);
    return value;
  };
  return {
    child,
    url: field('url'),
    wisp: field('wisp'),
    tunnel: field('tunnel'),
    publicKey: new Uint8Array(Buffer.from(field('publicKey'), 'base64url')),
    async stop() {
      await child.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startWispJs(): Promise<{ child: Child; url: string }> {
  const child = await startChild(
    process.execPath,
    [join(BENCH_DIR, 'servers/wisp-js-server.mjs')],
    { ready: /wisp-js listening on (\d+)/ },
  );
  return { child, url: `ws://127.0.0.1:${child.ready[1]}/` };
}

/** The 4-byte request the origin reads first: how many bytes to send back. */
export function originRequest(bytes: number): Uint8Array {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, bytes, true);
  return head;
}

export const FLOOD = 0xffffffff;
