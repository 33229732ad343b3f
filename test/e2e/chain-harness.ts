/**
 * Shared pieces of the end-to-end tests of the whole chain: local HTTP and HTTPS origins, the
 * built `bu serve`, `bu volunteer` and `bu proxy` as processes, and real curl through them.
 * Everything binds to 127.0.0.1 or 10.77.0.1 (inside scripts/netns-run); nothing leaves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { selfSignedCertificate } from '../../egress/test/tls-certificate.ts';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { bytesToBase64url } from '../../protocol/bytes.ts';
import { createAdmissionKey, encodeAdmissionKeyFile } from '../../server-kit/admission-keys.ts';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export const BU = new URL('../../dist/cli/bu.js', import.meta.url).pathname;
export const CURL = '/usr/bin/curl';
export const SERVE_HOST = '10.77.0.1';
export const MiB = 1024 * 1024;

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Bodies by size, made once: random bytes, so compression or caching cannot fake a match. */
const bodies = new Map<number, { bytes: Buffer; sha256: string }>();
export function body(size: number): { bytes: Buffer; sha256: string } {
  let entry = bodies.get(size);
  if (entry === undefined) {
    const bytes = randomBytes(size);
    entry = { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
    bodies.set(size, entry);
  }
  return entry;
}

/**
 * `GET /bytes/N` answers N random bytes (the same for the same N); `GET /marker/…` answers a
 * body with `marker` in it; `GET /slow` sends 16 KiB every 50 ms for 60 s (an in-flight
 * download to break).
 */
function handler(marker: string) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = new URL(req.url ?? '/', 'http://origin.invalid').pathname;
    const sized = /^\/bytes\/(\d+)$/.exec(path);
    if (sized) {
      const { bytes } = body(Number(sized[1]));
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': bytes.length,
      });
      res.end(bytes);
      return;
    }
    if (path.startsWith('/marker/')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`before ${marker} after\n`);
      return;
    }
    if (path === '/slow') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = randomBytes(16 * 1024);
      const timer = setInterval(() => res.write(chunk), 50);
      const stop = setTimeout(() => {
        clearInterval(timer);
        res.end();
      }, 60_000);
      res.on('close', () => {
        clearInterval(timer);
        clearTimeout(stop);
      });
      return;
    }
    res.writeHead(404).end();
  };
}

export interface Origins {
  readonly httpPort: number;
  readonly httpsPort: number;
  close(): void;
}

function listen(server: Server, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, host, () => resolve((server.address() as AddressInfo).port)),
  );
}

export async function startOrigins(marker = 'no-marker'): Promise<Origins> {
  const http = createHttpServer(handler(marker));
  const https = createHttpsServer(
    await selfSignedCertificate(['localhost'], ['127.0.0.1']),
    handler(marker),
  );
  const httpPort = await listen(http);
  const httpsPort = await listen(https);
  return {
    httpPort,
    httpsPort,
    close() {
      http.closeAllConnections();
      https.closeAllConnections();
      http.close();
      https.close();
    },
  };
}

/** A `bu` child process whose stdout and stderr lines are kept and can be waited on. */
export class BuProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly exited: Promise<number | null>;
  readonly #waiters: Array<() => void> = [];

  /** `wrap` runs it through another command first, e.g. `nsenter -t PID -n --`. */
  constructor(args: string[], env: Record<string, string> = {}, wrap: readonly string[] = []) {
    const [command = process.execPath, ...rest] = [...wrap, process.execPath, BU, ...args];
    this.child = spawn(command, rest, {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: process.env['HOME'] ?? '/tmp',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on('line', (line) => {
        this.lines.push(line);
        for (const wake of this.#waiters.splice(0)) wake();
      });
    }
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        for (const wake of this.#waiters.splice(0)) wake();
        resolve(code);
      }),
    );
  }

  /** JSON objects printed so far (other lines are skipped). */
  json(): Record<string, unknown>[] {
    const out: Record<string, unknown>[] = [];
    for (const line of this.lines) {
      if (!line.startsWith('{')) continue;
      try {
        const value: unknown = JSON.parse(line);
        if (typeof value === 'object' && value !== null) out.push(value as Record<string, unknown>);
      } catch {
        // not JSON
      }
    }
    return out;
  }

  /** Waits until a JSON line satisfies `check`; fails if the process exits or time runs out. */
  async waitFor(
    check: (entry: Record<string, unknown>) => boolean,
    what: string,
    ms = 60_000,
  ): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.json().find(check);
      if (found) return found;
      if (this.child.exitCode !== null) {
        throw new Error(
          `${what}: the process exited (${this.child.exitCode}):\n${this.lines.join('\n')}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out waiting for ${what}:\n${this.lines.slice(-20).join('\n')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1_000));
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The newest status line. */
  lastStatus(): Record<string, unknown> | undefined {
    return this.json()
      .filter((entry) => entry['event'] === 'status')
      .at(-1);
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

/**
 * An admission key for a deployment of separate processes: `signaling` goes to `bu signaling`
 * (which signs with it), `egress` to each `bu egress` (which trusts it).
 */
export async function admissionFlags(
  dir: string,
): Promise<{ readonly signaling: string[]; readonly egress: string[] }> {
  const key = createAdmissionKey();
  const file = join(dir, 'admission-key.json');
  await writeFile(file, encodeAdmissionKeyFile(key), { mode: 0o600 });
  return {
    signaling: ['--admission-key-file', file],
    egress: ['--admission-key', bytesToBase64url(key.publicKey)],
  };
}

export interface Serve {
  readonly process: BuProcess;
  readonly signaling: string;
  readonly url: string;
  readonly dataDir: string;
}

export async function startServe(allow: string[], extra: string[] = []): Promise<Serve> {
  const logLevel = process.env['BU_E2E_LOG_LEVEL'] ?? 'warn';
  const dataDir = await tempDir('bu-serve-');
  // An empty site directory: these tests are about the chain, not about whether the site
  // happens to be built (cli/test/serve.test.ts covers serving it).
  const siteDir = await tempDir('bu-no-site-');
  const serveProcess = new BuProcess([
    'serve',
    '--host',
    SERVE_HOST,
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--no-geoip',
    '--site',
    siteDir,
    '--log-level',
    logLevel,
    ...allow.flatMap((entry) => ['--allow', entry]),
    ...extra,
  ]);
  const listening = await serveProcess.waitFor(
    (e) => e['event'] === 'listening',
    'bu serve to listen',
  );
  return {
    process: serveProcess,
    signaling: String(listening['signaling']),
    url: String(listening['url']),
    dataDir,
  };
}

export async function startVolunteer(signaling: string, extra: string[] = []): Promise<BuProcess> {
  const volunteer = new BuProcess(['volunteer', '--signaling', signaling, ...extra]);
  await volunteer.waitFor(
    (e) => e['event'] === 'status' && e['state'] === 'on',
    'the volunteer to be on',
  );
  return volunteer;
}

export interface Proxy {
  readonly process: BuProcess;
  readonly http: string;
  readonly socks: string;
}

export async function startProxy(signaling: string, extra: string[] = []): Promise<Proxy> {
  const proxy = new BuProcess([
    'proxy',
    '--signaling',
    signaling,
    '--http',
    '127.0.0.1:0',
    '--socks',
    '127.0.0.1:0',
    ...extra,
  ]);
  const listening = await proxy.waitFor((e) => e['event'] === 'listening', 'bu proxy to listen');
  const http = String(listening['http']);
  const socks = String(listening['socks']).replace(/^socks5h:\/\//, '');
  return { process: proxy, http, socks };
}

export async function waitForVolunteers(proxy: Proxy, count: number, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const status = proxy.process.lastStatus();
    if (typeof status?.['volunteers'] === 'number' && status['volunteers'] >= count) return;
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${count} volunteers:\n${proxy.process.lines.slice(-10).join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

export interface CurlResult {
  readonly code: number;
  readonly status: string;
  readonly stderr: string;
  readonly sha256: string;
  readonly size: number;
  readonly seconds: number;
  /** The body as text, when it is small (an error page). */
  readonly text: string;
}

/** Real curl through a proxy; the body goes to a file and comes back as its sha256 and size. */
export async function curl(
  via: 'http' | 'socks',
  proxy: Proxy,
  url: string,
  extra: string[] = [],
): Promise<CurlResult> {
  const dir = await tempDir('bu-curl-');
  const out = join(dir, 'body');
  const args = [
    '-sS',
    '-k',
    '--max-time',
    '300',
    '-o',
    out,
    '-w',
    '%{http_code}',
    ...(via === 'http' ? ['-x', proxy.http] : ['--socks5-hostname', proxy.socks]),
    ...extra,
    url,
  ];
  const started = Date.now();
  const result = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(CURL, args, {
      env: { PATH: '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
  const seconds = (Date.now() - started) / 1000;
  const hash = createHash('sha256');
  let size = 0;
  let text = '';
  try {
    for await (const chunk of createReadStream(out)) {
      const bytes = chunk as Buffer;
      size += bytes.length;
      hash.update(bytes);
      if (size <= 4096) text += bytes.toString('latin1');
    }
  } catch {
    // no body file: curl failed before writing
  }
  await rm(dir, { recursive: true, force: true });
  return {
    code: result.code,
    status: result.stdout,
    stderr: result.stderr,
    sha256: hash.digest('hex'),
    size,
    seconds,
    text: size <= 4096 ? text : '',
  };
}

export interface ChainOptions {
  /** Marker the origins print in their pages (startOrigins). */
  readonly marker?: string;
  /** `--allow` entries for `bu serve`; the HTTP origin by default. */
  readonly allow?: (origins: Origins) => string[];
  /** `bu volunteer` processes to start before the proxy (1 by default). */
  readonly volunteers?: number;
  /** Start a `bu proxy` and wait until it has every volunteer (true by default). */
  readonly proxy?: boolean;
  /** The proxy's flags; `--volunteers N` (N = volunteers) by default. */
  readonly proxyArgs?: string[];
}

/** The whole chain of processes: origins, `bu serve`, volunteers and (unless asked not to) a proxy. */
export interface Chain<P extends Proxy | undefined = Proxy> {
  readonly origins: Origins;
  readonly serve: Serve;
  readonly volunteers: BuProcess[];
  readonly proxy: P;
  /**
   * Stops `others` (processes the test started itself), the proxy and the volunteers, then
   * `bu serve`, and closes the origins. Resolves to `bu serve`'s exit code.
   */
  stop(...others: (BuProcess | undefined)[]): Promise<number | null>;
}

/** The preamble every chain test shares: origins, `bu serve`, volunteers, `bu proxy`. */
export async function startChain(
  options: ChainOptions & { proxy: false },
): Promise<Chain<undefined>>;
export async function startChain(options?: ChainOptions): Promise<Chain>;
export async function startChain(options: ChainOptions = {}): Promise<Chain<Proxy | undefined>> {
  const count = options.volunteers ?? 1;
  const origins = await startOrigins(options.marker);
  const serve = await startServe(options.allow?.(origins) ?? [`127.0.0.1:${origins.httpPort}`]);
  const volunteers: BuProcess[] = [];
  for (let i = 0; i < count; i++) volunteers.push(await startVolunteer(serve.signaling));
  let proxy: Proxy | undefined;
  if (options.proxy ?? true) {
    proxy = await startProxy(serve.signaling, options.proxyArgs ?? ['--volunteers', `${count}`]);
    if (count > 0) await waitForVolunteers(proxy, count);
  }
  return {
    origins,
    serve,
    volunteers,
    proxy,
    async stop(...others) {
      await Promise.all([
        ...others.map((other) => other?.stop()),
        proxy?.process.stop(),
        ...volunteers.map((volunteer) => volunteer.stop()),
      ]);
      const code = await serve.process.stop();
      origins.close();
      return code;
    },
  };
}

/** A download through `proxy`'s HTTP port that runs for a minute (the origin's /slow). */
export interface SlowDownload {
  readonly done: Promise<{ code: number; stderr: string; at: number }>;
  kill(): void;
}

export function slowDownload(proxy: Proxy, origins: Origins): SlowDownload {
  const child = spawn(
    CURL,
    [
      '-sS',
      '--max-time',
      '110',
      '-o',
      '/dev/null',
      '-x',
      proxy.http,
      `http://127.0.0.1:${origins.httpPort}/slow`,
    ],
    { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    done: new Promise((resolve) =>
      child.once('exit', (code) => resolve({ code: code ?? -1, stderr, at: Date.now() })),
    ),
    kill: () => child.kill('SIGKILL'),
  };
}
