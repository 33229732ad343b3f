/** `bu serve` as a process (no WebRTC needed): one port for site, signaling, egress, metrics. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseEgressKeyFile } from '../../protocol/egress-key.ts';
import { bytesToBase64url } from '../../protocol/bytes.ts';

const BU = new URL('../../dist/cli/bu.js', import.meta.url).pathname;
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Started {
  readonly child: ChildProcess;
  readonly listening: Record<string, unknown>;
  readonly stdout: string[];
}

function start(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, [BU, 'serve', '--port', '0', '--no-geoip', ...args], {
    env: { ...process.env, BU_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const stdout: string[] = [];
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      stdout.push(line);
      if (stdout.length === 1)
        resolve({ child, listening: JSON.parse(line) as Record<string, unknown>, stdout });
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', resolve);
  });
}

async function dirs(): Promise<{ data: string; site: string }> {
  const root = await mkdtemp(join(tmpdir(), 'bu-serve-test-'));
  const site = join(root, 'site');
  await mkdir(join(site, 'browse'), { recursive: true });
  await writeFile(join(site, 'index.html'), '<h1>the site</h1>');
  await writeFile(join(site, 'browse', 'index.html'), '<h1>browse</h1>');
  return { data: join(root, 'data'), site };
}

describe('bu serve (process)', () => {
  it('serves the site, signaling under /signal/, the egress and merged metrics on one port', async () => {
    const { data, site } = await dirs();
    const { child, listening, stdout } = await start(['--data-dir', data, '--site', site]);
    const url = String(listening['url']);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(listening['signaling']).toBe(`${url}signal/`);
    expect(listening['site']).toBe(url);

    // The key is created with mode 0600 and is the one published in the egress list.
    const keyFile = join(data, 'egress-key.json');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const key = parseEgressKeyFile(await readFile(keyFile, 'utf8'));
    const config = (await (await fetch(`${url}signal/v1/config`)).json()) as {
      egresses: unknown[];
    };
    expect(config.egresses).toEqual([
      { id: 'local', url: url.replace(/^http/, 'ws'), publicKey: bytesToBase64url(key.publicKey) },
    ]);

    expect(await (await fetch(url)).text()).toBe('<h1>the site</h1>');
    expect(await (await fetch(`${url}browse/`)).text()).toBe('<h1>browse</h1>');
    expect((await fetch(`${url}../../etc/passwd`)).status).toBe(404);
    expect((await fetch(`${url}wisp/`)).status).toBe(426);
    expect((await fetch(`${url}signal/wrong-key/id`)).status).toBe(401);
    expect((await fetch(`${url}signal/peerjs/id`)).status).toBe(200);
    const metrics = await (await fetch(`${url}metrics`)).text();
    expect(metrics).toContain('bu_signaling_matches_total');
    expect(metrics).toContain('bu_egress_bytes_total');

    // A WebSocket on the egress's /wisp/ gets the Wisp greeting (CONTINUE on stream 0).
    const first = await new Promise<Buffer>((resolve, reject) => {
      const ws = new WebSocket(`${url.replace(/^http/, 'ws')}wisp/`);
      ws.once('message', (data: Buffer) => {
        resolve(data);
        ws.close();
      });
      ws.once('error', reject);
    });
    expect(first[0]).toBe(0x03);

    // It says what to run next.
    const text = stdout.join('\n');
    expect(text).toContain(`npx bu volunteer --signaling ${url}signal/`);
    expect(text).toContain(`npx bu proxy --signaling ${url}signal/`);

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);

    // A second run keeps the key.
    const again = await start(['--data-dir', data, '--site', site]);
    expect((again.listening['egress'] as { publicKey: string }).publicKey).toBe(
      bytesToBase64url(key.publicKey),
    );
    again.child.kill('SIGINT');
    expect(await exited(again.child)).toBe(0);
  });

  it('answers / with an honest page when the site is not built', async () => {
    const { data } = await dirs();
    const empty = await mkdtemp(join(tmpdir(), 'bu-empty-site-'));
    const { child, listening } = await start(['--data-dir', data, '--site', empty]);
    expect(listening['site']).toBeNull();
    const page = await fetch(String(listening['url']));
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('The site is not built');
    expect(text).toContain('/signal/');
    expect((await fetch(`${String(listening['url'])}nothing-here`)).status).toBe(404);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('documents its flags and refuses bad ones with exit code 2', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, [BU, 'serve', ...args]);
        let out = '';
        let err = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.once('exit', (code) => resolve({ code, out, err }));
      });
    const help = await run(['--help']);
    for (const flag of [
      '--host',
      '--port',
      '--data-dir',
      '--allow',
      '--allow-private',
      '--ignore-nat',
      '--allow-same-ip',
      '--match-timeout',
    ]) {
      expect(help.out).toContain(flag);
    }
    const { data } = await dirs();
    expect((await run(['--port', 'x', '--data-dir', data])).code).toBe(2);
    const bad = await run(['--allow', 'nope', '--data-dir', data]);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/allow/);
    await expect(stat(join(data, 'egress-key.json'))).rejects.toThrow(/ENOENT/);
  });
});
