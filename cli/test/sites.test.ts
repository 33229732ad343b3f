/** `bu sites` as a process: the site origins of /browse/ alone, for a static deployment. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { siteLabel } from '../../protocol/site-origins.ts';

const BU = new URL('../../dist/cli/bu.js', import.meta.url).pathname;
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

async function siteDir(): Promise<string> {
  const site = join(await mkdtemp(join(tmpdir(), 'bu-sites-test-')), 'site');
  await mkdir(join(site, '_bu'), { recursive: true });
  for (const file of ['boot.js', 'sw.js', 'runtime.js']) {
    await writeFile(join(site, '_bu', file), `// ${file}\n`);
  }
  return site;
}

/** A port nobody listens on now (the template must name the port before the server starts). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

function run(args: string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [BU, 'sites', ...args], {
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return child;
}

function listening(child: ChildProcess): Promise<Record<string, unknown>> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    if (child.stdout === null) return reject(new Error('no stdout'));
    createInterface({ input: child.stdout }).once('line', (line) =>
      resolve(JSON.parse(line) as Record<string, unknown>),
    );
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
}

function exit(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** A request with the Host a browser would send for `host` (fetch cannot set Host). */
function get(port: number, host: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('bu sites (process)', () => {
  it('serves the boot page and scripts on site origins only, for the hubs it is told', async () => {
    const port = await freePort();
    const child = run([
      '--port',
      String(port),
      '--site',
      await siteDir(),
      '--sites-origin',
      `http://{label}.localhost:${port}`,
      '--hub',
      'http://127.0.0.1:8080',
      '--hub',
      'https://bu.example.org',
    ]);
    const { time, ...line } = await listening(child);
    expect(String(time)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(line).toEqual({
      level: 'info',
      event: 'listening',
      url: `http://127.0.0.1:${port}/`,
      sitesOrigin: `http://{label}.localhost:${port}`,
      hubs: ['http://127.0.0.1:8080', 'https://bu.example.org'],
    });
    const site = `${siteLabel('https://example.org')}.localhost:${port}`;

    const boot = await get(port, site, '/~bu/boot?u=https%3A%2F%2Fexample.org%2F');
    expect(boot.status).toBe(200);
    expect(boot.headers['content-type']).toMatch(/text\/html/);
    expect(boot.body).toContain(
      '<meta name="bu-hubs" content="http://127.0.0.1:8080 https://bu.example.org">',
    );
    expect(boot.headers['content-security-policy']).toContain(
      `frame-ancestors http://127.0.0.1:8080 https://bu.example.org http://*.localhost:${port}`,
    );
    // Any other path on a site origin is the boot page too (the worker was gone).
    expect((await get(port, site, '/some/page?x=1')).body).toContain('bu-boot-status');

    const worker = await get(port, site, '/~bu/sw.js?o=x');
    expect(worker.status).toBe(200);
    expect(worker.headers['service-worker-allowed']).toBe('/');
    expect(worker.body).toBe('// sw.js\n');

    // Not a site origin (the server's own address, another name): nothing.
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'evil.example']) {
      const other = await get(port, host, '/~bu/sw.js');
      expect(other.status, host).toBe(404);
    }

    child.kill('SIGTERM');
    expect((await exit(child)).code).toBe(0);
  });

  it('takes its settings from the environment', async () => {
    const port = await freePort();
    const child = run([], {
      BU_PORT: String(port),
      BU_SITE: await siteDir(),
      BU_SITES_ORIGIN: `http://{label}.localhost:${port}`,
      BU_HUB: 'http://127.0.0.1:1,http://localhost:1',
    });
    expect((await listening(child))['hubs']).toEqual(['http://127.0.0.1:1', 'http://localhost:1']);
  });

  it.each([
    [[], /--sites-origin is required/],
    [['--sites-origin', 'https://sites.example.org'], /--sites-origin must look like/],
    [['--sites-origin', 'https://{label}.s.example.org'], /--hub is required/],
    [
      [
        '--sites-origin',
        'https://{label}.s.example.org',
        '--hub',
        'https://bu.example.org/browse/',
      ],
      /--hub must be an origin/,
    ],
    [['--nope'], /nope/],
  ])('refuses bad usage %j with exit code 2', async (args, message) => {
    const { code, stderr } = await exit(run([...args, '--site', await siteDir()]));
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it('says so when the site is not built', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'bu-sites-empty-'));
    const { code, stderr } = await exit(
      run([
        '--site',
        empty,
        '--sites-origin',
        'https://{label}.s.example.org',
        '--hub',
        'https://bu.example.org',
      ]),
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/build the site first/);
  });
});
