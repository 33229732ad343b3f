import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { defaultSiteConfig, loadSiteConfig, parseSiteConfig } from '../site-config.ts';

const FILE = 'https://bu.example.org/config.json';
const fallback = defaultSiteConfig('https://bu.example.org/');

describe('parseSiteConfig', () => {
  it('defaults to /signal/ of the site', () => {
    expect(fallback).toEqual({ signaling: 'https://bu.example.org/signal/' });
    expect(defaultSiteConfig('http://127.0.0.1:8080/widget/x.js').signaling).toBe(
      'http://127.0.0.1:8080/signal/',
    );
  });

  it('takes absolute and relative URLs, relative to the file, naming a directory', () => {
    const parse = (signaling: unknown) => parseSiteConfig({ signaling }, FILE, fallback).signaling;
    expect(parse('https://signal.example.org/')).toBe('https://signal.example.org/');
    expect(parse('https://signal.example.org/bu')).toBe('https://signal.example.org/bu/');
    expect(parse('/other/')).toBe('https://bu.example.org/other/');
    expect(parse('http://10.0.0.1:9000/')).toBe('http://10.0.0.1:9000/');
    expect(parseSiteConfig({}, FILE, fallback)).toBe(fallback);
    expect(parseSiteConfig({ other: 1 }, FILE, fallback)).toBe(fallback);
  });

  it.each([
    [null, /JSON object/],
    [[], /JSON object/],
    ['https://x/', /JSON object/],
    [{ signaling: 1 }, /"signaling" must be an http\(s\) URL/],
    [{ signaling: '' }, /"signaling" must be an http\(s\) URL/],
    [{ signaling: 'x'.repeat(3000) }, /at most 2048 characters/],
    [{ signaling: 'http://[bad' }, /"signaling" must be an http\(s\) URL/],
    [{ signaling: 'ftp://x/' }, /"signaling" must be an http\(s\) URL/],
    [{ signaling: 'javascript:alert(1)' }, /"signaling" must be an http\(s\) URL/],
    [{ signaling: 'https://user:pw@x/' }, /without credentials/],
  ])('refuses %j with a TypeError that names the field', (value, message) => {
    expect(() => parseSiteConfig(value, FILE, fallback)).toThrow(TypeError);
    expect(() => parseSiteConfig(value, FILE, fallback)).toThrow(message);
  });
});

describe('loadSiteConfig (a real HTTP server)', () => {
  let server: Server;
  let base = '';
  const bodies: Record<string, [number, string]> = {
    '/good/config.json': [200, '{"signaling":"http://signal.test:9000/"}'],
    '/relative/config.json': [200, '{"signaling":"../signal/"}'],
    '/broken/config.json': [200, '{"signaling":'],
    '/wrong/config.json': [200, '{"signaling":"ftp://x/"}'],
    '/failing/config.json': [500, 'oops'],
  };

  beforeAll(async () => {
    server = createServer((req, res) => {
      const [status, body] = bodies[req.url ?? ''] ?? [404, 'not found'];
      res.writeHead(status, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => server.close());

  it('reads the file, resolving a relative URL against it', async () => {
    expect(await loadSiteConfig(`${base}/good/config.json`, fallback)).toEqual({
      signaling: 'http://signal.test:9000/',
    });
    expect(await loadSiteConfig(`${base}/relative/config.json`, fallback)).toEqual({
      signaling: `${base}/signal/`,
    });
  });

  it('falls back quietly when there is no file', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(await loadSiteConfig(`${base}/none/config.json`, fallback)).toBe(fallback);
    expect(warn).not.toHaveBeenCalled();
    warn.mockRestore();
  });

  it.each(['broken', 'wrong', 'failing'])(
    'falls back with a warning when the file is %s',
    async (name) => {
      const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
      expect(await loadSiteConfig(`${base}/${name}/config.json`, fallback)).toBe(fallback);
      expect(warn).toHaveBeenCalledWith(expect.stringContaining(`ignoring ${base}/${name}/`));
      warn.mockRestore();
    },
  );

  it('falls back with a warning when the server cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/config.json`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    expect(await loadSiteConfig(url, fallback)).toBe(fallback);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining(`ignoring ${url}`));
    warn.mockRestore();
  });
});
