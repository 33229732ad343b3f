import { createHash } from 'node:crypto';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WISP_CLOSE_REASONS } from '../../protocol/wisp-types.ts';
import { fetchThrough, header } from './fetch-client.ts';
import { connectTunnel, connectWisp, startTestEgress, type TestEgress } from './harness.ts';
import { patternBytes, startHttpOrigin, type Origin } from './origins.ts';

const TEXT = 'The quick brown fox jumps over the lazy dog. '.repeat(2000);
let origin: Origin;
let egress: TestEgress;
let base: string;

beforeAll(async () => {
  origin = await startHttpOrigin((req, res) => {
    const path = req.url ?? '/';
    if (path === '/hello') {
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('x-seen-host', req.headers.host ?? '');
      res.setHeader('x-seen-connection-header', String(req.headers['x-drop-me'] ?? 'absent'));
      res.end('hello world');
    } else if (path === '/upload' && req.method === 'POST') {
      const hash = createHash('sha256');
      let length = 0;
      req.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        length += chunk.length;
      });
      req.on('end', () => res.end(`${length} ${hash.digest('hex')}`));
    } else if (path === '/redirect') {
      res.writeHead(302, { location: '/hello' }).end();
    } else if (path === '/gzip') {
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' });
      res.end(gzipSync(TEXT));
    } else if (path === '/br') {
      res.writeHead(200, { 'content-encoding': 'br' });
      res.end(brotliCompressSync(TEXT));
    } else {
      res.writeHead(404, 'Nope').end();
    }
  });
  egress = await startTestEgress({ allow: [`127.0.0.1:${origin.port}`] });
  base = `http://127.0.0.1:${origin.port}`;
});

afterAll(async () => {
  await egress.close();
  await origin.close();
});

async function tunnel() {
  return connectTunnel(egress.wsUrl('tunnel/'), egress.key.publicKey, { downlinkWindow: 16 });
}

describe('fetch streams through /tunnel/', () => {
  it('performs a GET and returns the head, repeated headers and body; hop-by-hop stripped', async () => {
    const { client, ws } = await tunnel();
    const res = await fetchThrough(client, {
      url: `${base}/hello`,
      headers: [
        ['Connection', 'x-drop-me'],
        ['X-Drop-Me', 'secret'],
        ['Accept', '*/*'],
      ],
    });
    expect(res.reason).toBe(WISP_CLOSE_REASONS.voluntary);
    expect(res.head?.status).toBe(200);
    expect(header(res.head, 'set-cookie')).toEqual(['a=1', 'b=2']);
    expect(header(res.head, 'x-seen-host')).toEqual([`127.0.0.1:${origin.port}`]);
    expect(header(res.head, 'x-seen-connection-header')).toEqual(['absent']);
    expect(header(res.head, 'connection')).toEqual([]);
    expect(header(res.head, 'keep-alive')).toEqual([]);
    expect(Buffer.from(res.body).toString()).toBe('hello world');
    const missing = await fetchThrough(client, { url: `${base}/missing` });
    expect([missing.head?.status, missing.head?.statusText]).toEqual([404, 'Nope']);
    ws.close();
  });

  it('streams a 5 MiB POST body', async () => {
    const { client, ws } = await tunnel();
    const body = patternBytes(5 * 1024 * 1024, 5);
    const res = await fetchThrough(client, {
      method: 'POST',
      url: `${base}/upload`,
      headers: [['content-type', 'application/octet-stream']],
      body,
    });
    const expected = `${body.length} ${createHash('sha256').update(body).digest('hex')}`;
    expect(Buffer.from(res.body).toString()).toBe(expected);
    ws.close();
  });

  it('returns a redirect instead of following it', async () => {
    const { client, ws } = await tunnel();
    const res = await fetchThrough(client, { url: `${base}/redirect` });
    expect(res.head?.status).toBe(302);
    expect(header(res.head, 'location')).toEqual(['/hello']);
    expect(res.reason).toBe(WISP_CLOSE_REASONS.voluntary);
    ws.close();
  });

  it('decodes gzip and brotli bodies and drops the encoding headers', async () => {
    const { client, ws } = await tunnel();
    for (const path of ['/gzip', '/br']) {
      const res = await fetchThrough(client, { url: `${base}${path}` });
      expect(Buffer.from(res.body).toString(), path).toBe(TEXT);
      expect(header(res.head, 'content-encoding')).toEqual([]);
      expect(header(res.head, 'content-length')).toEqual([]);
    }
    ws.close();
  });

  it('refuses a URL that does not match the stream destination, and fetch on /wisp/', async () => {
    const { client, ws } = await tunnel();
    const res = await fetchThrough(
      client,
      { url: `http://origin.test:${origin.port}/hello` },
      { host: '127.0.0.1', port: origin.port },
    );
    expect(res.reason).toBe(WISP_CLOSE_REASONS.invalid);
    ws.close();
    const wisp = await connectWisp(egress.wsUrl('wisp/'));
    const stream = wisp.client.open('127.0.0.1', origin.port, 'fetch');
    expect(await stream.closed).toBe(WISP_CLOSE_REASONS.invalid);
    const udp = wisp.client.open('127.0.0.1', origin.port, 'udp');
    expect(await udp.closed).toBe(WISP_CLOSE_REASONS.invalid);
    wisp.ws.close();
  });
});
