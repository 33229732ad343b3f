/** `bu signaling` as a process: the built CLI, started on port 0, talked to over real sockets. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

const BU = new URL('../../dist/cli/bu.js', import.meta.url).pathname;
const KEY = 'pOCSkrZRwni5dyxWn1-puxPZBrRqtoyd-dwrRAn4ogk';

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logs: Record<string, unknown>[];
  readonly stdout: string[];
}

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Starts the server and resolves once its "listening" log line names the URL. */
function startProcess(args: string[], env: Record<string, string> = {}): Promise<Running> {
  // Each its own admission key, kept out of the working directory.
  const keyFile = join(mkdtempSync(join(tmpdir(), 'bu-admission-')), 'admission-key.json');
  const child = spawn(
    process.execPath,
    [BU, 'signaling', '--port', '0', '--admission-key-file', keyFile, ...args],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  const logs: Record<string, unknown>[] = [];
  const stdout: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (entry['event'] === 'listening') {
        resolve({ child, url: String(entry['url']), logs, stdout });
      }
    });
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${JSON.stringify(logs)}`)));
  });
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // In a directory of its own: a run that gets as far as its key files makes them there.
    const child = spawn(process.execPath, [BU, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: mkdtempSync(join(tmpdir(), 'bu-run-')),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

function firstMessage(url: string): Promise<{ type: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('message', (data: Buffer) => {
      resolve(JSON.parse(data.toString()) as { type: string });
      ws.close();
    });
    ws.on('error', reject);
  });
}

describe('bu signaling (process)', () => {
  it('documents every flag and its environment variable', async () => {
    const help = await run(['signaling', '--help']);
    expect(help.code).toBe(0);
    for (const flag of [
      'host',
      'port',
      'path',
      'key',
      'egress',
      'egress-file',
      'allow-same-ip',
      'cors',
      'concurrent-limit',
      'alive-timeout',
      'expire-timeout',
      'geoip',
      'geoip6',
    ]) {
      expect(help.stdout).toContain(`--${flag}`);
      expect(help.stdout).toContain(`[BU_${flag.toUpperCase().replaceAll('-', '_')}]`);
    }
    expect((await run(['--help'])).stdout).toMatch(/signaling\s+run the signaling server/);
  });

  it('listens on port 0, says where, serves PeerJS and the config, and stops on SIGTERM', async () => {
    const server = await startProcess(['--no-geoip', '--egress', `local=ws://127.0.0.1:9/#${KEY}`]);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const id = await (await fetch(new URL('peerjs/id', server.url))).text();
    const ws = new URL(`peerjs?key=peerjs&id=${id}&token=abc`, server.url.replace('http', 'ws'));
    expect(await firstMessage(ws.href)).toEqual({ type: 'OPEN' });
    const config = (await (await fetch(new URL('v1/config', server.url))).json()) as {
      egresses: unknown[];
      country: string;
    };
    expect(config.egresses).toEqual([{ id: 'local', url: 'ws://127.0.0.1:9/', publicKey: KEY }]);
    expect(config.country).toBe('??');
    // It made its admission key on first run, and says the public key egresses must trust.
    const listening = server.logs.find((entry) => entry['event'] === 'listening');
    expect(listening?.['admissionKey']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(server.logs.some((entry) => entry['event'] === 'admission key created')).toBe(true);
    const exit = exited(server.child);
    server.child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(server.stdout).toContain(`bu signaling: listening on ${server.url}`);
  });

  it('reads BU_* variables, and flags win over them', async () => {
    const server = await startProcess(['--key', 'fromflag'], {
      BU_KEY: 'fromenv',
      BU_PATH: '/signal/',
      BU_NO_GEOIP: 'true',
      BU_ALLOW_DISCOVERY: '1',
    });
    expect(server.url).toMatch(/\/signal\/$/);
    expect((await fetch(new URL('fromflag/id', server.url))).status).toBe(200);
    expect((await fetch(new URL('fromenv/id', server.url))).status).toBe(401);
    expect((await fetch(new URL('fromflag/peers', server.url))).status).toBe(200);
  });

  it('logs JSON lines, and never the token', async () => {
    const server = await startProcess(['--no-geoip', '--log-level', 'debug']);
    const ws = new URL(
      'peerjs?key=peerjs&id=alice&token=s3cr3t-t0ken',
      server.url.replace('http', 'ws'),
    );
    await firstMessage(ws.href);
    const exit = exited(server.child);
    server.child.kill('SIGINT');
    expect(await exit).toBe(0);
    expect(server.logs.some((l) => l['event'] === 'peer connected' && l['peer'] === 'alice')).toBe(
      true,
    );
    for (const entry of server.logs) {
      expect(typeof entry['time']).toBe('string');
      expect(['debug', 'info', 'warn', 'error']).toContain(entry['level']);
    }
    expect(JSON.stringify(server.logs)).not.toContain('s3cr3t-t0ken');
  });

  it('reloads the geoip files on SIGHUP', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bu-geoip-'));
    const v4 = join(dir, 'geoip');
    const v6 = join(dir, 'geoip6');
    // 127.0.0.1 is 2130706433.
    await writeFile(v4, '2130706433,2130706433,AQ\n');
    await writeFile(v6, '# no IPv6 ranges\n');
    const server = await startProcess(['--geoip', v4, '--geoip6', v6]);
    const country = async () =>
      ((await (await fetch(new URL('v1/config', server.url))).json()) as { country: string })
        .country;
    expect(await country()).toBe('AQ');
    await writeFile(v4, '2130706433,2130706433,BV\n');
    const loads = server.logs.filter((l) => l['event'] === 'geoip loaded').length;
    server.child.kill('SIGHUP');
    while (server.logs.filter((l) => l['event'] === 'geoip loaded').length === loads) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await country()).toBe('BV');
  });

  it('reads --egress-file at start and again on SIGHUP; a bad file keeps the old list', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bu-egresses-'));
    const file = join(dir, 'egresses');
    const other = 'Hw2mX8Yl6zvdQf7n0jeFgUSVaRkoSRZx6sC1Fv9nL0M';
    await writeFile(file, `# the second egress\nb=ws://127.0.0.1:8002/#${other}\n`);
    const server = await startProcess([
      '--no-geoip',
      '--egress',
      `a=ws://127.0.0.1:8001/#${KEY}`,
      '--egress-file',
      file,
    ]);
    const ids = async () =>
      (
        (await (await fetch(new URL('v1/config', server.url))).json()) as {
          egresses: { id: string }[];
        }
      ).egresses.map((e) => e.id);
    expect(await ids()).toEqual(['a', 'b']);
    const reloaded = async (msg: string): Promise<void> => {
      const before = server.logs.filter((l) => l['event'] === msg).length;
      server.child.kill('SIGHUP');
      while (server.logs.filter((l) => l['event'] === msg).length === before) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await writeFile(file, `c=ws://127.0.0.1:8003/#${other}\n\nd=ws://127.0.0.1:8004/#${KEY}\n`);
    await reloaded('egress list changed');
    expect(await ids()).toEqual(['a', 'c', 'd']);
    await writeFile(file, `c=ws://127.0.0.1:8003/#${other}\nnot an egress\n`);
    await reloaded('egress list not reloaded');
    expect(server.logs.at(-1)?.['error']).toMatch(/egresses:2: egress: must be ID=URL#PUBLICKEY/);
    expect(await ids()).toEqual(['a', 'c', 'd']);
    await writeFile(file, `a=ws://127.0.0.1:8005/#${other}\n`);
    await reloaded('egress list not reloaded');
    expect(await ids()).toEqual(['a', 'c', 'd']);
  });

  it('refuses an --egress-file it cannot read or parse with exit code 2', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bu-egresses-'));
    const missing = await run(['signaling', '--egress-file', join(dir, 'none')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/--egress-file: .*ENOENT/);
    const file = join(dir, 'bad');
    await writeFile(file, 'a=http://x/#y\n');
    const bad = await run(['signaling', '--egress-file', file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad:1: egress/);
  });

  it.each([
    [['--port', 'x'], /--port must be a whole number/],
    [['--egress', 'nonsense'], /egress/],
    [['--path', 'nope'], /path/],
    [['--log-level', 'loud'], /--log-level/],
    [['--bogus'], /bogus/],
  ])('refuses %j with exit code 2', async (args, message) => {
    const result = await run(['signaling', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('exits 1 when the port is taken', async () => {
    const first = await startProcess(['--no-geoip']);
    const port = new URL(first.url).port;
    const second = await run(['signaling', '--no-geoip', '--port', port]);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });
});
