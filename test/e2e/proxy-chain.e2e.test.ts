/**
 * `bu serve` + `bu volunteer` + `bu proxy` as processes, with real curl: the whole chain as a
 * newcomer runs it (docs/running.md), inside scripts/netns-run.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  curl,
  startChain,
  startVolunteer,
  waitForVolunteers,
  type BuProcess,
  type Chain,
  type Origins,
  type Proxy,
  type Serve,
} from './chain-harness.ts';
import { transferTests } from './curl-transfers.ts';

let chain: Chain;
let origins: Origins;
let serve: Serve;
let proxy: Proxy;
let volunteer: BuProcess | undefined;
const timings = new Map<string, number>();

beforeAll(async () => {
  // The proxy starts before any volunteer exists: it must say so, and keep trying.
  chain = await startChain({
    allow: (o) => [`127.0.0.1:${o.httpPort}`, `127.0.0.1:${o.httpsPort}`],
    volunteers: 0,
    proxyArgs: ['--volunteers', '1'],
  });
  ({ origins, serve, proxy } = chain);
});

afterAll(async () => {
  console.log(JSON.stringify(Object.fromEntries(timings)));
  expect(await chain.stop(volunteer)).toBe(0);
});

function socksReply(request: Uint8Array): Promise<number[]> {
  const [host = '', portText = ''] = proxy.socks.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect(Number(portText), host);
    const received: number[] = [];
    socket.on('data', (chunk: Buffer) => received.push(...chunk));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    socket.write(Uint8Array.of(5, 1, 0));
    socket.write(request);
  });
}

describe('bu serve + bu volunteer + bu proxy (processes), real curl', () => {
  it('without a volunteer: HTTP 503 with an explanation, SOCKS reply 0x03', async () => {
    const page = await curl('http', proxy, `http://127.0.0.1:${origins.httpPort}/bytes/10`);
    expect(page.status).toBe('503');
    expect(page.text).toContain('no volunteer is connected right now');
    const port = origins.httpPort;
    const reply = await socksReply(Uint8Array.of(5, 1, 0, 1, 127, 0, 0, 1, port >> 8, port & 0xff));
    expect(reply).toEqual([5, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0]);
    expect(proxy.process.lastStatus()?.['volunteers']).toBe(0);
  });

  it('serves the endpoints on one port, with merged metrics', async () => {
    const page = await fetch(serve.url);
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).toContain('The site is not built');
    expect(text).toContain(`npx bu proxy --signaling ${serve.signaling}`);
    const metrics = await (await fetch(`${serve.url}metrics`)).text();
    expect(metrics).toContain('bu_signaling_peers_connected');
    expect(metrics).toContain('bu_egress_connections_total');
    const config = (await (await fetch(`${serve.signaling}v1/config`)).json()) as {
      egresses: { id: string; url: string }[];
    };
    expect(config.egresses).toEqual([
      expect.objectContaining({ id: 'local', url: serve.url.replace(/^http/, 'ws') }),
    ]);
  });

  it('picks up a volunteer that starts later, and carries requests', async () => {
    volunteer = await startVolunteer(serve.signaling);
    await waitForVolunteers(proxy, 1);
    const result = await curl('http', proxy, `http://127.0.0.1:${origins.httpPort}/bytes/1000`);
    expect(result.code).toBe(0);
    expect(result.size).toBe(1000);
    await volunteer.waitFor(
      (e) => e['event'] === 'status' && typeof e['down'] === 'number' && e['down'] > 1000,
      'the volunteer to count the bytes it relayed',
    );
  });

  transferTests(() => ({ proxy, origins, timings }));
});
