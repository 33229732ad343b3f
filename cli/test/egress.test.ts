import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { base64urlToBytes, bytesToBase64url } from '../../protocol/bytes.ts';
import { createAdmissionKey } from '../../server-kit/admission-keys.ts';
import { parseEgressKeyFile } from '../../protocol/egress-key.ts';
import { connectWisp } from '../../egress/test/harness.ts';
import { startEchoOrigin } from '../../egress/test/origins.ts';
import { loadOrCreateKey } from '../egress-options.ts';

const BU = new URL('../../dist/cli/bu.js', import.meta.url).pathname;

describe('bu egress (built CLI)', () => {
  it('creates its key, prints a listening line for --port 0, serves, and stops on SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bu-egress-'));
    const keyFile = join(dir, 'keys', 'egress.json');
    const echo = await startEchoOrigin();
    const child = spawn(
      process.execPath,
      [
        BU,
        'egress',
        '--port',
        '0',
        '--key',
        keyFile,
        '--allow',
        `127.0.0.1:${echo.port}`,
        '--no-admission',
      ],
      { env: { ...process.env, BU_LOG_LEVEL: 'silent' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const firstLine = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', () => reject(new Error(`exited early: ${stderr}`)));
      });
      const started = JSON.parse(firstLine) as {
        event: string;
        url: string;
        wisp: string;
        publicKey: string;
      };
      expect(started.event).toBe('listening');
      expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      const key = parseEgressKeyFile(await readFile(keyFile, 'utf8'));
      expect(base64urlToBytes(started.publicKey)).toEqual(key.publicKey);
      expect(stderr).toContain(`public key: ${started.publicKey}`);

      const { client, ws } = await connectWisp(started.wisp);
      const stream = client.open('127.0.0.1', echo.port);
      await stream.send(new Uint8Array([1, 2, 3, 4]));
      expect(Array.from(await stream.receivedBytes(4))).toEqual([1, 2, 3, 4]);
      const blocked = client.open('169.254.169.254', 80);
      expect(await blocked.closed).toBe(0x48);
      ws.close();
      const metrics = await (await fetch(`${started.url}metrics`)).text();
      expect(metrics).toContain(
        'bu_egress_policy_refusals_total{endpoint="wisp",reason="link-local"} 1',
      );
    } finally {
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      await echo.close();
    }
  });

  it('documents its flags and refuses bad ones', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, [BU, 'egress', ...args]);
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.once('exit', (code) => resolve({ code, out, err }));
      });
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    for (const flag of [
      '--host',
      '--port',
      '--key',
      '--allow',
      '--allow-private',
      '--max-streams',
      '--admission-key',
      '--no-admission',
    ]) {
      expect(help.out).toContain(flag);
    }
    // Admission: one of the two flags, keys well formed, at most two.
    const key = bytesToBase64url(createAdmissionKey().publicKey);
    const base = [
      '--port',
      '0',
      '--key',
      join(await mkdtemp(join(tmpdir(), 'bu-egress-')), 'k.json'),
    ];
    for (const [args, message] of [
      [[], /needs --admission-key KEY .* or --no-admission/],
      [['--admission-key', key, '--no-admission'], /exclude each other/],
      [['--admission-key', 'short'], /not 32 bytes in unpadded base64url/],
      [['--admission-key', key, '--admission-key', key, '--admission-key', key], /at most two/],
    ] as const) {
      const refused = await run([...base, ...args]);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.err).toMatch(message);
    }
    expect((await run(['--port', 'x'])).code).toBe(2);
    const keyFile = join(await mkdtemp(join(tmpdir(), 'bu-egress-')), 'never-created.json');
    const badAllow = await run(['--port', '0', '--allow', 'nope', '--key', keyFile]);
    expect(badAllow.code).toBe(2);
    await expect(stat(keyFile)).rejects.toThrow(/ENOENT/);
    expect(badAllow.err).toMatch(/allow entry/);
  });
});

describe('the egress key file', () => {
  it('is ERR_EGRESS_KEY, naming the file, when it cannot be read or parsed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bu-key-'));
    const malformed = join(dir, 'malformed.json');
    await writeFile(malformed, '{"not":"a key"}');
    // A directory where the file should be: reading it fails with EISDIR.
    const unreadable = join(dir, 'a-directory');
    await mkdir(unreadable);
    for (const [file, text] of [
      [malformed, 'is not an egress key file'],
      [unreadable, 'cannot read'],
    ] as const) {
      await expect(loadOrCreateKey(file)).rejects.toMatchObject({
        name: 'CliError',
        code: 'ERR_EGRESS_KEY',
        exitCode: 1,
        message: expect.stringContaining(text) as unknown,
      });
    }
    const created = await loadOrCreateKey(join(dir, 'fresh', 'egress-key.json'));
    expect(created.created).toBe(true);
    expect(created.key.publicKey).toHaveLength(32);
  });
});
