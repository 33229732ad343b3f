/** `GET {path}metrics`: Prometheus text from the service's own registry. */
import { afterEach, describe, expect, it } from 'vitest';
import { register as globalRegistry } from 'prom-client';
import type { SignalingServer } from '../server.ts';
import { connect, eventually, http, startTestServer, type RawPeer } from './helpers.ts';

const servers: SignalingServer[] = [];
const peers: RawPeer[] = [];

afterEach(async () => {
  for (const p of peers.splice(0)) p.ws.terminate();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function value(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

async function scrape(server: SignalingServer): Promise<string> {
  const reply = await http(server, 'GET', 'metrics');
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toMatch(/^text\/plain/);
  return reply.text;
}

describe('metrics', () => {
  it('counts a volunteer address once across kinds, and per kind and NAT type', async () => {
    const server = await startTestServer();
    servers.push(server);
    for (const id of ['browser1', 'node1', 'other']) peers.push(await connect(server, id));
    const poll = (id: string, kind: string, nat: string, from: string) =>
      void http(
        server,
        'POST',
        'v1/volunteer/poll',
        { id, token: `tok-${id}`, slots: 2, nat, kind },
        { localAddress: from },
      );
    // One address polling as a browser and as a node volunteer, and one more address.
    poll('browser1', 'browser', 'unrestricted', '127.0.0.2');
    poll('node1', 'node', 'restricted', '127.0.0.2');
    poll('other', 'browser', 'restricted', '127.0.0.3');
    await eventually(async () => value(await scrape(server), 'bu_signaling_volunteer_ips') === 2);
    const text = await scrape(server);
    expect(value(text, 'bu_signaling_volunteer_ips_by_kind{kind="browser"}')).toBe(2);
    expect(value(text, 'bu_signaling_volunteer_ips_by_kind{kind="node"}')).toBe(1);
    // NAT types as the server believes them: a claim of `unrestricted` counts as `unknown`.
    expect(value(text, 'bu_signaling_volunteer_ips_by_nat{nat="unrestricted"}')).toBe(0);
    expect(value(text, 'bu_signaling_volunteer_ips_by_nat{nat="restricted"}')).toBe(2);
    expect(value(text, 'bu_signaling_volunteer_ips_by_nat{nat="unknown"}')).toBe(1);
    expect(value(text, 'bu_signaling_volunteer_ips_by_country{country="??"}')).toBe(2);
    expect(value(text, 'bu_signaling_volunteers_available{nat="unknown",kind="browser"}')).toBe(1);
    expect(value(text, 'bu_signaling_volunteers_available{nat="restricted",kind="browser"}')).toBe(
      1,
    );
    expect(value(text, 'bu_signaling_volunteers_available{nat="restricted",kind="node"}')).toBe(1);
    expect(value(text, 'bu_signaling_peers_connected')).toBe(3);
  });

  it('counts matches, relayed messages and connections, in its own registry', async () => {
    const server = await startTestServer();
    servers.push(server);
    const vol = await connect(server, 'vol');
    const con = await connect(server, 'con');
    peers.push(vol, con);
    const pending = http(
      server,
      'POST',
      'v1/volunteer/poll',
      { id: 'vol', token: 'tok-vol', slots: 1, nat: 'unrestricted', kind: 'node' },
      { localAddress: '127.0.0.2' },
    );
    await eventually(
      async () =>
        value(
          await scrape(server),
          'bu_signaling_volunteers_available{nat="unknown",kind="node"}',
        ) === 1,
    );
    const matched = await http(
      server,
      'POST',
      'v1/consumer/match',
      { id: 'con', token: 'tok-con', count: 1, nat: 'restricted' },
      { localAddress: '127.0.0.3' },
    );
    expect(matched.status).toBe(200);
    await pending;
    con.send({ type: 'OFFER', dst: 'vol', payload: {} });
    con.send({ type: 'CANDIDATE', dst: 'vol', payload: {} });
    await vol.next();
    await vol.next();
    const text = await scrape(server);
    expect(value(text, 'bu_signaling_matches_total')).toBe(1);
    expect(value(text, 'bu_signaling_messages_relayed_total{type="OFFER"}')).toBe(1);
    expect(value(text, 'bu_signaling_messages_relayed_total{type="CANDIDATE"}')).toBe(1);
    expect(value(text, 'bu_signaling_peer_connections_total')).toBe(2);
    expect(await globalRegistry.metrics()).not.toContain('bu_signaling_');
    // Two services side by side do not collide: each has its own registry.
    const second = await startTestServer();
    servers.push(second);
    expect(value(await scrape(second), 'bu_signaling_matches_total')).toBe(0);
  });
});
