import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuardedServer } from '../../server-kit/http-boundary.ts';
import { createStaticSite, isPublicPath, sitePath } from '../static-site.ts';

let root: string;
let server: Server;
let base: string;

beforeAll(async () => {
  const parent = await mkdtemp(join(tmpdir(), 'bu-site-'));
  root = join(parent, 'site');
  await mkdir(join(root, 'browse'), { recursive: true });
  await writeFile(join(root, 'index.html'), '<h1>home</h1>');
  await writeFile(join(root, 'browse', 'index.html'), '<h1>browse</h1>');
  await writeFile(join(root, 'app.js'), 'export {}');
  await mkdir(join(root, 'widget', 'chunks'), { recursive: true });
  await writeFile(join(root, 'widget', 'browsers-unbounded.js'), 'export {}');
  await writeFile(join(root, 'widget', 'chunks', 'globe-x.js'), 'export {}');
  await writeFile(join(root, 'config.json'), '{"signaling":"/signal/"}');
  await writeFile(join(root, '.secret'), 'no');
  await writeFile(join(parent, 'outside.txt'), 'no');
  const site = createStaticSite(root);
  server = createGuardedServer({
    async request(req, res, url) {
      if (!(await site.handle(req, res, url))) res.writeHead(404).end('not ours');
    },
    upgrade: (_req, socket) => socket.destroy(),
    fault: () => undefined,
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => server.close());

describe('static site', () => {
  it('serves files and directory indexes with types, and redirects to the slash', async () => {
    const home = await fetch(`${base}/`);
    expect(home.headers.get('content-type')).toMatch(/text\/html/);
    expect(await home.text()).toBe('<h1>home</h1>');
    expect(await (await fetch(`${base}/browse/`)).text()).toBe('<h1>browse</h1>');
    const js = await fetch(`${base}/app.js`);
    expect(js.headers.get('content-type')).toMatch(/text\/javascript/);
    const redirect = await fetch(`${base}/browse?x=1`, { redirect: 'manual' });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get('location')).toBe('/browse/?x=1');
  });

  it.each([
    '/../outside.txt',
    '/%2e%2e/outside.txt',
    '/.secret',
    '/browse/..%2f..%2foutside.txt',
    '/%00',
    '/a%5c..%5coutside.txt',
    '/missing',
  ])('does not serve %s', async (path) => {
    const response = await fetch(`${base}${path}`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('not ours');
  });

  it('never sees a malformed escape: the server boundary answers /%zz with 400', async () => {
    const response = await fetch(`${base}/%zz`);
    expect(response.status).toBe(400);
  });

  it('serves the widget, its chunks and config.json to any origin, and nothing else', async () => {
    const origin = { origin: 'https://embedder.example' };
    for (const path of [
      '/widget/browsers-unbounded.js',
      '/widget/chunks/globe-x.js',
      '/config.json',
    ]) {
      const response = await fetch(`${base}${path}`, { headers: origin });
      expect(response.status, path).toBe(200);
      expect(response.headers.get('access-control-allow-origin'), path).toBe('*');
      expect(response.headers.get('access-control-allow-credentials'), path).toBeNull();
      expect(response.headers.get('cross-origin-resource-policy'), path).toBe('cross-origin');
    }
    expect((await fetch(`${base}/config.json`)).headers.get('cache-control')).toBe('no-cache');
    for (const path of ['/', '/app.js', '/browse/']) {
      const response = await fetch(`${base}${path}`, { headers: origin });
      expect(response.headers.get('access-control-allow-origin'), path).toBeNull();
      expect(response.headers.get('cross-origin-resource-policy'), path).toBeNull();
    }
    expect(isPublicPath('/widget/x.js')).toBe(true);
    expect(isPublicPath('/widgets/x.js')).toBe(false);
    expect(isPublicPath('/config.json/')).toBe(false);
  });

  it('keeps every resolved path inside the root', () => {
    expect(sitePath('/srv/site', '/a/b.html')).toBe('/srv/site/a/b.html');
    expect(sitePath('/srv/site', '/a/%2e%2e/%2e%2e/etc/passwd')).toBeUndefined();
    expect(sitePath('/srv/site', '/.well-known/security.txt')).toBe(
      '/srv/site/.well-known/security.txt',
    );
  });
});
