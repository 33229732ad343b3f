/**
 * The built `bu signaling`, `bu egress` and `bu serve` as child processes on 127.0.0.1, port
 * 0, with what a fuzz report needs: whether and how the process ended, and its stderr tail.
 *
 * signaling/test/process.ts starts `bu signaling` too, but parses every stderr line as JSON for
 * the life of the process: the stack trace of a crash is not JSON, so that parse would throw
 * inside the test runner exactly when this suite has something to report. Here every server
 * prints one JSON "listening" line (signaling on stderr, the others on stdout) and every other
 * line is only kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { base64urlToBytes } from '../../protocol/bytes.ts';

const BU = new URL('../../dist/cli/bu.js', import.meta.url).pathname;
const STARTUP_TIMEOUT_MS = 15_000;
const TAIL_BYTES = 8 * 1024;

export type ServerKind = 'signaling' | 'egress' | 'serve';

/** What a server offers, and where: the fuzz inputs and health checks follow this. */
export interface ServerSurface {
  readonly kind: ServerKind;
  /** Where the signaling routes start ('/' or '/signal/'); undefined without signaling. */
  readonly signalPath: string | undefined;
  /** True when `/wisp/` and `/tunnel/` are there. */
  readonly egress: boolean;
  /** True when a static site answers `GET /` (bu serve). */
  readonly site: boolean;
}

export interface ServerProcess extends ServerSurface {
  readonly child: ChildProcess;
  readonly port: number;
  /** The egress's static key, for real tunnel handshakes; undefined without an egress. */
  readonly egressPublicKey: Uint8Array | undefined;
  /** How the process ended, or undefined while it runs. */
  exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** The last few KiB the process wrote to stderr. */
  stderrTail(): string;
  stop(): Promise<void>;
}

export const SURFACES: Readonly<Record<ServerKind, ServerSurface>> = {
  signaling: { kind: 'signaling', signalPath: '/', egress: false, site: false },
  egress: { kind: 'egress', signalPath: undefined, egress: true, site: false },
  serve: { kind: 'serve', signalPath: '/signal/', egress: true, site: true },
};

// Limits that would otherwise refuse most fuzz connections before they reach any parser
// (all of them come from 127.0.0.1), and short timeouts so that timer paths (queued-message
// expiry, poll and match timeouts, the liveness sweep) run while the fuzzer is sending.
// Same-address matching lets fuzzed volunteers and consumers (all on 127.0.0.1) be matched.
const SIGNALING_FLAGS = [
  '--no-geoip',
  '--allow-same-ip',
  '--rate-burst',
  '1000000000',
  '--rate-per-second',
  '1000000000',
  '--concurrent-limit',
  '100000',
  '--expire-timeout',
  '150',
  '--poll-timeout',
  '300',
  '--match-timeout',
  '300',
  '--alive-timeout',
  '3000',
];
const EGRESS_FLAGS = ['--max-connections-per-ip', '1000000'];

function argsFor(kind: ServerKind, dir: string, allow: readonly string[]): string[] {
  const common = ['--host', '127.0.0.1', '--port', '0'];
  const egressFlags = [...EGRESS_FLAGS, ...allow.flatMap((entry) => ['--allow', entry])];
  switch (kind) {
    case 'signaling':
      // info: the listening line; signaling logs nothing per request at info.
      return [
        ...common,
        ...SIGNALING_FLAGS,
        '--admission-key-file',
        join(dir, 'admission-key.json'),
        '--log-level',
        'info',
      ];
    case 'egress':
      // warn: the egress logs every closed connection at info.
      return [
        ...common,
        ...egressFlags,
        // Without admission, so that fuzzed tunnels get past the handshake to the frames;
        // bu serve (below) checks admission, so its handshakes meet the refusal path.
        '--no-admission',
        '--key',
        join(dir, 'egress-key.json'),
        '--log-level',
        'warn',
      ];
    case 'serve':
      return [
        ...common,
        ...SIGNALING_FLAGS,
        ...egressFlags,
        '--data-dir',
        join(dir, 'data'),
        '--site',
        join(dir, 'site'),
        '--log-level',
        'warn',
      ];
  }
}

/** A tiny built site for `bu serve`: a page, a directory page, a script, a dot-file. */
async function writeSite(dir: string): Promise<void> {
  const site = join(dir, 'site');
  await mkdir(join(site, 'browse'), { recursive: true });
  await mkdir(join(site, '.well-known'), { recursive: true });
  await writeFile(join(site, 'index.html'), '<h1>fuzz site</h1>');
  await writeFile(join(site, 'browse', 'index.html'), '<h1>browse</h1>');
  await writeFile(join(site, 'app.js'), 'export {};\n');
  await writeFile(join(site, '.hidden'), 'secret\n');
  await writeFile(join(site, '.well-known', 'security.txt'), 'Contact: nobody\n');
}

interface ListeningLine {
  readonly url: string;
  readonly publicKey: string | undefined;
}

function listeningLine(line: string): ListeningLine | undefined {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof entry !== 'object' || entry === null) return undefined;
  const fields = entry as Record<string, unknown>;
  if (fields['event'] !== 'listening') return undefined;
  const url = fields['url'];
  if (typeof url !== 'string') return undefined;
  const key =
    fields['publicKey'] ?? (fields['egress'] as Record<string, unknown> | undefined)?.['publicKey'];
  return { url, publicKey: typeof key === 'string' ? key : undefined };
}

/**
 * Starts `bu {kind}` on 127.0.0.1, port 0. `allow` lists the only HOST:PORT destinations the
 * egress may dial (local test origins).
 */
export async function startServer(
  kind: ServerKind,
  allow: readonly string[] = [],
): Promise<ServerProcess> {
  const dir = await mkdtemp(join(tmpdir(), `bu-fuzz-${kind}-`));
  if (kind === 'serve') await writeSite(dir);
  const child = spawn(process.execPath, [BU, kind, ...argsFor(kind, dir, allow)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.stderr.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
  });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
  });

  const listening = await new Promise<ListeningLine>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`bu ${kind} did not say it listens within ${STARTUP_TIMEOUT_MS} ms`));
    }, STARTUP_TIMEOUT_MS);
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        const found = listeningLine(line);
        if (found === undefined) return;
        clearTimeout(timer);
        resolve(found);
      });
    }
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`bu ${kind} exited before listening (${JSON.stringify(exit)}):\n${tail}`));
    });
  });

  const port = Number(new URL(listening.url).port);
  return {
    ...SURFACES[kind],
    child,
    port,
    egressPublicKey:
      listening.publicKey === undefined ? undefined : base64urlToBytes(listening.publicKey),
    exit: () => exit,
    stderrTail: () => tail,
    async stop() {
      if (exit === undefined) {
        child.kill('SIGTERM');
        // A process that stopped answering does not run its SIGTERM handler either.
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
