/** The boundary over real sockets: bad targets, throwing handlers, and a server that goes on. */
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createGuardedServer, type FaultSite } from '../http-boundary.ts';

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

interface Started {
  readonly port: number;
  readonly faults: FaultSite[];
  readonly refusals: string[];
  readonly urls: string[];
}

async function start(): Promise<Started> {
  const faults: FaultSite[] = [];
  const refusals: string[] = [];
  const urls: string[] = [];
  const server = createGuardedServer({
    request(_req, res, url) {
      urls.push(url.pathname);
      if (url.pathname === '/throw') throw new Error('sync bug');
      if (url.pathname === '/reject') return Promise.reject(new Error('async bug'));
      if (url.pathname === '/late') {
        res.writeHead(200, { 'content-length': '10' });
        res.write('half');
        throw new Error('bug after the head');
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`ok ${url.pathname}`);
      return undefined;
    },
    upgrade(_req, socket, _head, url) {
      if (url.pathname === '/throw') throw new Error('upgrade bug');
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    },
    fault: (site) => faults.push(site),
    refused: (reason) => refusals.push(reason),
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, faults, refusals, urls };
}

/** Sends raw bytes and returns everything the server wrote until it closed. */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.end(text, 'latin1');
  });
}

const request = (target: string): string => `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`;
const upgrade = (target: string): string =>
  `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;

describe('createGuardedServer', () => {
  it.each([
    '//[',
    '//%',
    '/a%zz',
    '/%',
    '/a#b',
    'http://[',
    'http://a:b@[::1',
    '*',
    'h.example:443',
  ])('answers 400 to the request target %s, as a request and as an upgrade', async (target) => {
    const server = await start();
    expect(await raw(server.port, request(target))).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(server.port, upgrade(target))).toMatch(/^HTTP\/1\.1 400 /);
    // Node's own parser refuses some of these first (bad-http); the boundary the rest.
    expect(server.refusals).toHaveLength(2);
    expect(server.urls).toEqual([]);
    expect(await raw(server.port, request('/'))).toContain('ok /');
  });

  it('reads //host/x and //a:b as paths, never as another host', async () => {
    const server = await start();
    expect(await raw(server.port, request('//evil.example/x?y'))).toContain('ok //evil.example/x');
    expect(await raw(server.port, request('//a:b'))).toContain('ok //a:b');
    expect(await raw(server.port, request('/q?a[]=1&b=|^'))).toContain('ok /q');
  });

  it('turns a throwing or rejecting handler into a 500 for that client and a fault', async () => {
    const server = await start();
    expect(await raw(server.port, request('/throw'))).toMatch(/^HTTP\/1\.1 500 /);
    expect(await raw(server.port, request('/reject'))).toMatch(/^HTTP\/1\.1 500 /);
    // After the head has gone out, the only clean answer left is to cut the connection.
    expect(await raw(server.port, request('/late'))).not.toContain('internal error');
    expect(await raw(server.port, upgrade('/throw'))).toMatch(/^HTTP\/1\.1 500 /);
    expect(server.faults).toEqual(['request', 'request', 'request', 'upgrade']);
    expect(await raw(server.port, request('/fine'))).toContain('ok /fine');
  });

  it('answers what the HTTP parser refuses with 400 and counts it', async () => {
    const server = await start();
    expect(await raw(server.port, 'NOT HTTP AT ALL\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    const folded = 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n';
    expect(await raw(server.port, folded)).toMatch(/^HTTP\/1\.1 400 /);
    expect(server.refusals).toEqual(['bad-http', 'bad-http']);
  });
});
