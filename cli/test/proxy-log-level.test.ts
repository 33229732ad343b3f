/**
 * `bu proxy --log-level` with the built CLI as a process: requests it cannot carry (its
 * signaling server is not there, so there is no volunteer) must leave no trace of where they
 * were going on stdout or stderr, unless the user asked for `debug`. Real sockets: an HTTP
 * absolute-form request, a CONNECT and a SOCKS5 CONNECT with a domain name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BU = new URL('../../dist/cli/bu.js', import.meta.url).pathname;
const HTTP_HOST = 'secret-http-host-5d1f.example';
const CONNECT_HOST = 'secret-connect-host-8a2c.example';
const SOCKS_HOST = 'secret-socks-host-3e9b.example';
const PATH = '/secret-path-77c4';
const PORTS = { http: 8123, connect: 8443, socks: 9443 } as const;
const SECRETS = [
  HTTP_HOST,
  CONNECT_HOST,
  SOCKS_HOST,
  PATH,
  `:${PORTS.http}`,
  `:${PORTS.connect}`,
  `:${PORTS.socks}`,
];

/** A signaling URL where nothing listens: the proxy can never have a volunteer. */
let signaling: string;

beforeAll(async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  signaling = `http://127.0.0.1:${port}/signal/`;
});

interface Run {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly stderr: () => string;
  readonly lines: () => Record<string, unknown>[];
  readonly http: { host: string; port: number };
  readonly socks: { host: string; port: number };
  readonly exited: Promise<number | null>;
}

const running: ChildProcess[] = [];

afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
});

async function startProxy(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const child = spawn(
    process.execPath,
    [
      BU,
      'proxy',
      '--signaling',
      signaling,
      '--http',
      '127.0.0.1:0',
      '--socks',
      '127.0.0.1:0',
      ...args,
    ],
    {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  running.push(child);
  let output = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const parsed: Record<string, unknown>[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    if (stream) {
      createInterface({ input: stream }).on('line', (line) => {
        try {
          parsed.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // not a JSON line
        }
      });
    }
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const listening = await waitFor(
    () => parsed.find((e) => e['event'] === 'listening'),
    () => output,
  );
  const address = (url: unknown): { host: string; port: number } => {
    const parsedUrl = new URL(String(url));
    return { host: parsedUrl.hostname, port: Number(parsedUrl.port) };
  };
  return {
    child,
    output: () => output,
    stderr: () => stderr,
    lines: () => parsed,
    http: address(listening['http']),
    socks: address(listening['socks']),
    exited,
  };
}

async function waitFor<T>(
  find: () => T | undefined,
  output: () => string,
  ms = 20_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out; output so far:\n${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Sends `bytes` on a fresh connection and returns everything the proxy answers. */
function exchange(at: { host: string; port: number }, bytes: Uint8Array[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(at.port, at.host);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(received)));
    socket.on('error', reject);
    for (const part of bytes) socket.write(part);
  });
}

/** The three requests, each to its own secret destination; all three fail (no volunteer). */
async function failingRequests(run: Run): Promise<void> {
  const absolute = await exchange(run.http, [
    Buffer.from(
      `GET http://${HTTP_HOST}:${PORTS.http}${PATH}?q=1 HTTP/1.1\r\nHost: ${HTTP_HOST}\r\n\r\n`,
    ),
  ]);
  expect(absolute.toString('latin1')).toMatch(/^HTTP\/1\.1 503 /);
  const tunnel = await exchange(run.http, [
    Buffer.from(`CONNECT ${CONNECT_HOST}:${PORTS.connect} HTTP/1.1\r\n\r\n`),
  ]);
  expect(tunnel.toString('latin1')).toMatch(/^HTTP\/1\.1 503 /);
  const name = Buffer.from(SOCKS_HOST);
  const socks = await exchange(run.socks, [
    Uint8Array.of(5, 1, 0),
    Uint8Array.of(5, 1, 0, 3, name.length, ...name, PORTS.socks >> 8, PORTS.socks & 0xff),
  ]);
  // Method reply, then "network unreachable".
  expect([...socks.subarray(0, 4)]).toEqual([5, 0, 5, 3]);
  await waitFor(
    () => (run.lines().filter((e) => e['event'] === 'failure').length >= 3 ? true : undefined),
    run.output,
  );
}

async function stop(run: Run): Promise<void> {
  run.child.kill('SIGTERM');
  expect(await run.exited).toBe(0);
}

describe('bu proxy --log-level (built CLI)', () => {
  it('by default, failures are logged by code only: no host, port or path anywhere', async () => {
    const run = await startProxy([]);
    await failingRequests(run);
    const failures = run.lines().filter((e) => e['event'] === 'failure');
    expect(failures).toHaveLength(3);
    for (const { time, ...failure } of failures) {
      expect(String(time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      expect(failure).toEqual({
        level: 'info',
        event: 'failure',
        stage: 'dial',
        code: 'ERR_NO_VOLUNTEERS',
      });
    }
    // The status line is there at the default level.
    expect(run.lines().some((e) => e['event'] === 'status')).toBe(true);
    await stop(run);
    for (const secret of SECRETS) expect(run.output()).not.toContain(secret);
  });

  it('--log-level debug names each destination', async () => {
    const run = await startProxy(['--log-level', 'debug']);
    await failingRequests(run);
    await stop(run);
    const destinations = run
      .lines()
      .filter((e) => e['event'] === 'failure')
      .map((e) => e['destination']);
    expect(destinations).toEqual([
      `${HTTP_HOST}:${PORTS.http}`,
      `${CONNECT_HOST}:${PORTS.connect}`,
      `${SOCKS_HOST}:${PORTS.socks}`,
    ]);
    expect(run.output()).toContain('no volunteer is connected');
  });

  it('BU_LOG_LEVEL=debug does the same; a flag wins over it', async () => {
    const fromEnv = await startProxy([], { BU_LOG_LEVEL: 'debug' });
    await failingRequests(fromEnv);
    await stop(fromEnv);
    expect(fromEnv.output()).toContain(`${SOCKS_HOST}:${PORTS.socks}`);
    const flagWins = await startProxy(['--log-level', 'info'], { BU_LOG_LEVEL: 'debug' });
    await failingRequests(flagWins);
    await stop(flagWins);
    for (const secret of SECRETS) expect(flagWins.output()).not.toContain(secret);
  });

  it('--log-level silent writes nothing on stderr; the listening line stays on stdout', async () => {
    const run = await startProxy(['--log-level', 'silent']);
    const absolute = await exchange(run.http, [
      Buffer.from(`GET http://${HTTP_HOST}:${PORTS.http}${PATH} HTTP/1.1\r\n\r\n`),
    ]);
    expect(absolute.toString('latin1')).toMatch(/^HTTP\/1\.1 503 /);
    await stop(run);
    expect(run.stderr()).toBe('');
    expect(run.lines().map((e) => e['event'])).toEqual(['listening']);
  });

  it('refuses an unknown level with exit code 2', async () => {
    const child = spawn(
      process.execPath,
      [BU, 'proxy', '--signaling', signaling, '--log-level', 'loud'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toContain('--log-level must be one of debug, info, warn, error, silent');
  });

  it('documents the flag and its variable in --help', async () => {
    const child = spawn(process.execPath, [BU, 'proxy', '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await new Promise((resolve) => child.once('exit', resolve));
    expect(stdout).toContain('--log-level LEVEL');
    expect(stdout).toContain('[BU_LOG_LEVEL]');
  });
});
