/**
 * The origin witness names the process behind each connection from /proc (test/e2e/
 * socket-owner.ts). Real sockets and real processes: this test process, a spawned `node`, `curl`
 * directly and `curl` below a shell (a grandchild, as Chromium's network service is).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  assertOnlyFromEgress,
  classifyConnection,
  startWitnessOrigins,
  type WitnessedConnection,
  type WitnessOrigins,
} from './e2e/origin-witness.ts';
import { addressKey, findChromiumBrowser, processInfo } from './e2e/socket-owner.ts';

const CURL = '/usr/bin/curl';
const HAS_IPV6 = Object.values(networkInterfaces()).some((addresses) =>
  addresses?.some((address) => address.family === 'IPv6' && address.internal),
);

let witness: WitnessOrigins;
let files: string;

beforeAll(async () => {
  files = await mkdtemp(join(tmpdir(), 'bu-witness-files-'));
  await writeFile(join(files, 'index.html'), '<!doctype html><p>index</p>');
  await writeFile(join(files, 'media.bin'), Buffer.from('0123456789'));
  witness = await startWitnessOrigins({
    content: {
      routes: {
        '/': { headers: { 'content-type': 'text/plain' }, body: 'root\n' },
        '/form': (request) => ({
          headers: { 'Content-Type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] },
          body: `${request.method} ${request.body.toString('utf8')}`,
        }),
      },
      mounts: { '/files/': files },
    },
    sites: { other: { routes: { '/': { body: 'other origin\n' } } } },
  });
});

afterAll(async () => {
  await witness?.close();
  await rm(files, { recursive: true, force: true });
});

interface Exit {
  readonly pid: number;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function runChild(command: string, args: string[]): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ pid: child.pid ?? -1, code, stdout, stderr }));
  });
}

/** The connections recorded since `before` (they are numbered in accept order). */
function since(before: number): WitnessedConnection[] {
  return witness.connections().filter((connection) => connection.id > before);
}

function lastId(): number {
  return witness.connections().at(-1)?.id ?? 0;
}

describe('socket owners', () => {
  it('attributes a connection from this process to this process', async () => {
    const before = lastId();
    const response = await fetch(`${witness.http}/`);
    expect(await response.text()).toBe('root\n');
    const [connection, ...more] = since(before);
    expect(more).toEqual([]);
    expect(connection?.attributionError).toBeUndefined();
    const holder = connection?.owner?.holders[0];
    expect(holder?.process.pid).toBe(process.pid);
    expect(holder?.process.executable).toBe('node');
    expect(connection?.owner?.holders).toHaveLength(1);
    const requests = witness.requests().filter((r) => r.connection.id === connection?.id);
    expect(requests.map((r) => [r.method, r.path, r.host])).toEqual([
      ['GET', '/', witness.http.replace('http://', '')],
    ]);
  });

  it('attributes a spawned node to the child, with this process as its parent', async () => {
    const before = lastId();
    const child = await runChild(process.execPath, [
      '-e',
      'fetch(process.argv[1]).then((r) => r.text()).then((t) => process.stdout.write(t))',
      `${witness.http}/files/`,
    ]);
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe('<!doctype html><p>index</p>');
    const [connection, ...more] = since(before);
    expect(more).toEqual([]);
    const holder = connection?.owner?.holders[0];
    expect(holder?.process.pid).toBe(child.pid);
    expect(holder?.process.pid).not.toBe(process.pid);
    expect(holder?.process.executable).toBe('node');
    expect(holder?.process.argv).toContain(`${witness.http}/files/`);
    expect(holder?.ancestors[0]?.pid).toBe(process.pid);
    expect(witness.fromProcess(child.pid).map((r) => r.path)).toEqual(['/files/']);
    expect(witness.fromProcess(process.pid, { descendants: false })).not.toContainEqual(
      expect.objectContaining({ path: '/files/' }),
    );
  });

  it('attributes curl to curl, over HTTP and HTTPS (with the TLS server name)', async () => {
    const before = lastId();
    const plain = await runChild(CURL, ['-sS', `${witness.http}/files/media.bin`]);
    expect(plain.stdout).toBe('0123456789');
    const port = new URL(witness.https).port;
    const secure = await runChild(CURL, [
      '-sS',
      '-k',
      '--resolve',
      `localhost:${port}:127.0.0.1`,
      `https://localhost:${port}/form`,
      '--data',
      'a=1',
    ]);
    expect(secure.stderr).toBe('');
    expect(secure.stdout).toBe('POST a=1');
    const connections = since(before);
    expect(connections.map((c) => [c.scheme, c.owner?.holders[0]?.process.pid])).toEqual([
      ['http', plain.pid],
      ['https', secure.pid],
    ]);
    for (const connection of connections) {
      expect(connection.owner?.holders[0]?.process.executable).toBe('curl');
      expect(connection.owner?.holders[0]?.process.comm).toBe('curl');
    }
    expect(connections[1]?.servername).toBe('localhost');
    expect(witness.fromProcess(secure.pid)).toEqual([
      expect.objectContaining({ method: 'POST', path: '/form', scheme: 'https' }),
    ]);
  });

  it('places a grandchild below its grandparent: descendants count unless asked not to', async () => {
    const before = lastId();
    const shell = await runChild('/bin/sh', [
      '-c',
      // `; true` keeps sh from exec'ing curl in its own place, so curl is sh's child.
      `${CURL} -sS ${witness.http}/ -o /dev/null; true`,
    ]);
    expect(shell.code).toBe(0);
    const [connection] = since(before);
    const holder = connection?.owner?.holders[0];
    expect(holder?.process.executable).toBe('curl');
    expect(holder?.process.pid).not.toBe(shell.pid);
    expect(holder?.ancestors.map((a) => a.pid).slice(0, 2)).toEqual([shell.pid, process.pid]);
    expect(witness.connectionsFrom(shell.pid).map((c) => c.id)).toEqual([connection?.id]);
    expect(witness.connectionsFrom(shell.pid, { descendants: false })).toEqual([]);
    expect(classifyConnection(connection!, { egress: process.pid, browser: shell.pid })).toBe(
      'browser',
    );
    expect(classifyConnection(connection!, { egress: holder!.process.pid, browser: 1 << 30 })).toBe(
      'egress',
    );
  });

  it('attributes WebSocket echo and event-stream connections on another origin', async () => {
    const before = lastId();
    const other = witness.origins['other']!;
    expect(await (await fetch(`${other.http}/`)).text()).toBe('other origin\n');
    const ws = new WebSocket(other.ws);
    const echoed = await new Promise<string>((resolve, reject) => {
      ws.once('open', () => ws.send('ping'));
      ws.once('message', (data: Buffer) => resolve(data.toString()));
      ws.once('error', reject);
    });
    ws.close();
    expect(echoed).toBe('ping');
    const events = await fetch(`${other.events}?count=2&interval=5`);
    expect(events.headers.get('content-type')).toBe('text/event-stream');
    const reader = events.body!.getReader();
    let text = '';
    while (!text.includes('data: event 2')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString();
    }
    await reader.cancel();
    expect(text).toContain('data: event 1');
    const requests = witness.requests().filter((r) => r.connection.id > before);
    expect(requests.map((r) => [r.origin, r.kind])).toEqual([
      ['other', 'http'],
      ['other', 'websocket'],
      ['other', 'event-stream'],
    ]);
    for (const request of requests) {
      expect(request.connection.owner?.holders[0]?.process.pid).toBe(process.pid);
    }
  });

  it.skipIf(!HAS_IPV6)('sees through IPv4-mapped addresses on a dual-stack listener', async () => {
    const dual = await startWitnessOrigins({ host: '::' });
    try {
      const port = new URL(dual.http).port;
      const child = await runChild(CURL, ['-sS', `http://127.0.0.1:${port}/`, '-o', '/dev/null']);
      const [connection] = dual.connections();
      expect(connection?.client.address).toBe('::ffff:127.0.0.1');
      expect(connection?.owner?.holders[0]?.process.pid).toBe(child.pid);
    } finally {
      await dual.close();
    }
  });
});

describe('assertOnlyFromEgress', () => {
  it('passes when only the egress connected, and names every other process when not', async () => {
    const fresh = await startWitnessOrigins();
    try {
      expect(() => assertOnlyFromEgress(fresh, { egress: process.pid, browser: 1 << 30 })).toThrow(
        /only 0 connection/,
      );
      await (await fetch(`${fresh.http}/`)).text();
      expect(assertOnlyFromEgress(fresh, { egress: process.pid, browser: 1 << 30 })).toEqual({
        connections: 1,
        requests: 1,
      });
      const shell = await runChild('/bin/sh', [
        '-c',
        `${CURL} -sS ${fresh.http}/from-the-browser -o /dev/null; true`,
      ]);
      expect(() =>
        assertOnlyFromEgress(fresh, { egress: process.pid, browser: shell.pid }),
      ).toThrow(
        /browser: #\d+ http:\/\/main from 127\.0\.0\.1:\d+ by \d+ curl .*GET \/from-the-browser/,
      );
      const stranger = await runChild(CURL, ['-sS', `${fresh.http}/stranger`, '-o', '/dev/null']);
      fresh.clear();
      await runChild(CURL, ['-sS', `${fresh.http}/stranger`, '-o', '/dev/null']);
      expect(() => assertOnlyFromEgress(fresh, { egress: process.pid, browser: 1 << 30 })).toThrow(
        /other: .* curl .*GET \/stranger/,
      );
      expect(stranger.code).toBe(0);
    } finally {
      await fresh.close();
    }
  });
});

describe('helpers', () => {
  it('reads this process from /proc', () => {
    const self = processInfo(process.pid);
    expect(self?.executable).toBe('node');
    expect(self?.ppid).toBe(process.ppid);
    expect(processInfo(2 ** 30)).toBeUndefined();
  });

  it('keys IPv4 and its mapped form alike', () => {
    expect(addressKey('127.0.0.1')).toBe(addressKey('::ffff:127.0.0.1'));
    expect(addressKey('::1')).toBe(1n);
    expect(addressKey('not an address')).toBeNull();
  });

  it('finds no Chromium where none was launched', () => {
    expect(() => findChromiumBrowser()).toThrow(/found 0/);
  });
});

describe('content', () => {
  it('answers routes with their status and headers, lists sent once per value', async () => {
    const cookies = await fetch(`${witness.http}/form`, { method: 'POST', body: 'x' });
    expect(await cookies.text()).toBe('POST x');
    expect(cookies.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(cookies.headers.get('content-type')).toBe('text/plain');
    expect(cookies.headers.get('cache-control')).toBe('no-store');
  });

  it('serves mounts, byte ranges and 404s, and refuses paths outside a directory', async () => {
    const range = await fetch(`${witness.http}/files/media.bin`, {
      headers: { range: 'bytes=2-4' },
    });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toBe('bytes 2-4/10');
    expect(await range.text()).toBe('234');
    const past = await fetch(`${witness.http}/files/media.bin`, {
      headers: { range: 'bytes=20-' },
    });
    expect(past.status).toBe(416);
    expect((await fetch(`${witness.http}/missing`)).status).toBe(404);
    const bare = await fetch(`${witness.http}/files?x=1`, { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([301, '/files/?x=1']);
    const escape = await runChild(CURL, [
      '-sS',
      '--path-as-is',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      `${witness.http}/files/../../../etc/passwd`,
    ]);
    expect(escape.stdout).toBe('404');
    const encoded = await fetch(`${witness.http}/files/%2e%2e%2f%2e%2e%2fetc%2fpasswd`);
    expect(encoded.status).toBe(404);
  });
});
