/** The service mounted on a server it does not own, next to other routes, as `bu serve` will. */
import { createGuardedServer } from '../../server-kit/http-boundary.ts';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { Registry } from 'prom-client';
import { createSignalingService, type SignalingService } from '../service.ts';
import { quiet } from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

async function mounted(path: string): Promise<{ base: string; service: SignalingService }> {
  const service = createSignalingService({ path, geoip: false, logger: quiet });
  const server = createGuardedServer({
    request(req, res, url) {
      if (service.handleRequest(req, res, url)) return;
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('the site');
    },
    upgrade(req, socket, head, url) {
      if (!service.handleUpgrade(req, socket, head, url)) {
        socket.end('HTTP/1.1 404 Not Found\r\n\r\n');
      }
    },
    fault: (site, error) => service.fault(site, error),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  cleanups.push(async () => {
    await service.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return { base: `http://127.0.0.1:${address.port}`, service };
}

describe('createSignalingService', () => {
  it('handles only its own routes and upgrades under its path', async () => {
    const { base, service } = await mounted('/signal/');
    expect(await (await fetch(`${base}/about`)).text()).toBe('the site');
    expect(await (await fetch(`${base}/peerjs/id`)).text()).toBe('the site');
    expect((await fetch(`${base}/signal/peerjs/id`)).status).toBe(200);
    expect((await fetch(`${base}/signal/v1/config`)).status).toBe(200);
    expect((await fetch(`${base}/signal/metrics`)).status).toBe(200);
    const open = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(
        `${base.replace('http', 'ws')}/signal/peerjs?key=peerjs&id=a&token=t`,
      );
      ws.on('message', (data: Buffer) => {
        resolve(data.toString());
        ws.close();
      });
      ws.on('error', reject);
    });
    expect(open).toBe('{"type":"OPEN"}');
    const refused = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`${base.replace('http', 'ws')}/elsewhere`);
      ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      ws.on('error', () => resolve('error'));
    });
    expect(refused).toBe('404');
    // Its metrics are in a registry of its own, ready to be merged with others.
    expect(service.metrics).toBeInstanceOf(Registry);
    const merged = Registry.merge([service.metrics, new Registry()]);
    expect(await merged.metrics()).toContain('bu_signaling_peers_connected');
  });

  it('closes its sockets and answers waiting polls on close', async () => {
    const { base, service } = await mounted('/');
    const ws = new WebSocket(`${base.replace('http', 'ws')}/peerjs?key=peerjs&id=v&token=t`);
    await new Promise((resolve) => ws.once('message', resolve));
    const poll = fetch(`${base}/v1/volunteer/poll`, {
      method: 'POST',
      body: JSON.stringify({ id: 'v', token: 't', slots: 1, nat: 'unknown', kind: 'node' }),
    });
    // The poll is held; wait until the server has it, then close the service.
    for (;;) {
      const text = await (await fetch(`${base}/metrics`)).text();
      if (text.includes('bu_signaling_volunteers_available{nat="unknown",kind="node"} 1')) break;
    }
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await service.close();
    expect(await closed).toBe(1001);
    expect(await (await poll).json()).toEqual({ match: null });
  });
});
