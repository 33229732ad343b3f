/**
 * `GET v1/netstate` over real HTTP and WebSockets: its shape, counts that follow peers as they
 * connect, poll, match and leave, and a body that never carries an address, id or token.
 * Callers get distinct addresses (and so countries) by binding to 127.0.0.2, 127.0.0.3…
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseNetstateBody, type NetstateBody } from '../../protocol/netstate.ts';
import { NETSTATE_CACHE_MS, NetworkState, publicCountry } from '../netstate.ts';
import type { VolunteerView } from '../metrics.ts';
import type { SignalingServer } from '../server.ts';
import { connect, eventually, http, startTestServer, type RawPeer } from './helpers.ts';

const servers: SignalingServer[] = [];
const peers: RawPeer[] = [];

afterEach(async () => {
  for (const p of peers.splice(0)) p.ws.terminate();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** 127.0.0.2 is in AQ, 127.0.0.3 in BV; every other address is unknown. */
async function start(): Promise<SignalingServer> {
  const dir = await mkdtemp(join(tmpdir(), 'bu-netstate-'));
  const v4 = join(dir, 'geoip');
  await writeFile(v4, '2130706434,2130706434,AQ\n2130706435,2130706435,BV\n');
  const v6 = join(dir, 'geoip6');
  await writeFile(v6, '');
  const server = await startTestServer({ geoip: { ipv4: v4, ipv6: v6 } });
  servers.push(server);
  return server;
}

/** Ids and tokens distinctive enough that finding one in a body cannot be a coincidence. */
const tokenOf = (id: string): string => `secret-token-of-${id}`;

async function online(server: SignalingServer, id: string, from: string): Promise<RawPeer> {
  const peer = await connect(server, id, tokenOf(id), { localAddress: from });
  peers.push(peer);
  return peer;
}

function poll(
  server: SignalingServer,
  id: string,
  from: string,
  body: { nat?: string; kind?: string; slots?: number } = {},
): void {
  held(
    http(
      server,
      'POST',
      'v1/volunteer/poll',
      { id, token: tokenOf(id), slots: 2, nat: 'unrestricted', kind: 'browser', ...body },
      { localAddress: from },
    ),
  );
}

/** A request left waiting: the server's close at the end of the test cuts it off. */
function held(reply: Promise<unknown>): void {
  reply.catch(() => undefined);
}

function match(server: SignalingServer, id: string, from: string, count = 1): Promise<unknown> {
  return http(
    server,
    'POST',
    'v1/consumer/match',
    { id, token: tokenOf(id), count, nat: 'unrestricted' },
    { localAddress: from },
  );
}

async function netstate(server: SignalingServer): Promise<{ text: string; body: NetstateBody }> {
  const reply = await http(server, 'GET', 'v1/netstate');
  expect(reply.status).toBe(200);
  expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
  // The page's own check (protocol/netstate.ts) must accept every answer the server writes.
  return { text: reply.text, body: parseNetstateBody(reply.json<unknown>()) };
}

/** Reads until `check` holds; answers are cached for a second, so this may take that long. */
async function until(
  server: SignalingServer,
  check: (body: NetstateBody) => boolean,
): Promise<{ text: string; body: NetstateBody }> {
  let last: { text: string; body: NetstateBody } | undefined;
  await eventually(async () => {
    last = await netstate(server);
    return check(last.body);
  });
  return last!;
}

describe('GET v1/netstate', () => {
  it('answers an empty network with zeros, in a fixed shape', async () => {
    const server = await start();
    const { body } = await netstate(server);
    expect(body).toEqual({
      version: 1,
      generatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) as string,
      unknownCountry: 'ZZ',
      volunteers: {
        total: 0,
        available: 0,
        byCountry: [],
        byNat: { unrestricted: 0, restricted: 0, unknown: 0 },
        byKind: { browser: 0, node: 0 },
      },
      consumers: { total: 0, byCountry: [] },
      matchedPairs: { total: 0, byCountryPair: [] },
    });
  });

  it('follows the CORS policy, answers HEAD, refuses POST and is not rate limited', async () => {
    const server = await start();
    const cors = await http(server, 'GET', 'v1/netstate', undefined, {
      headers: { origin: 'https://embedder.example' },
    });
    expect(cors.headers['access-control-allow-origin']).toBe('https://embedder.example');
    const head = await http(server, 'HEAD', 'v1/netstate');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    const post = await http(server, 'POST', 'v1/netstate', '{}');
    expect(post.status).toBe(405);
    expect(post.headers['allow']).toBe('GET');
    // Far past the per-address burst (60): the cached answer is cheap, so it is not limited.
    const flood = await Promise.all(
      Array.from({ length: 150 }, () => http(server, 'GET', 'v1/netstate')),
    );
    expect(flood.every((reply) => reply.status === 200)).toBe(true);
  });

  it('counts volunteers, consumers and matched pairs by country as peers come and go', async () => {
    const server = await start();
    const volunteerA = await online(server, 'volunteer-aq-9d1f', '127.0.0.2');
    await online(server, 'volunteer-zz-4c7e', '127.0.0.4');
    poll(server, 'volunteer-aq-9d1f', '127.0.0.2');
    poll(server, 'volunteer-zz-4c7e', '127.0.0.4', { nat: 'restricted', kind: 'node' });

    const volunteers = await until(server, (b) => b.volunteers.available === 2);
    expect(volunteers.body.volunteers).toEqual({
      total: 2,
      available: 2,
      byCountry: [
        { country: 'AQ', count: 1 },
        { country: 'ZZ', count: 1 },
      ],
      // A claim of `unrestricted` counts as `unknown` until the server has evidence for it.
      byNat: { unrestricted: 0, restricted: 1, unknown: 1 },
      byKind: { browser: 1, node: 1 },
    });
    expect(volunteers.body.consumers.total).toBe(0);

    // A consumer in BV asks for two volunteers and gets both.
    const consumer = await online(server, 'consumer-bv-81aa', '127.0.0.3');
    await match(server, 'consumer-bv-81aa', '127.0.0.3', 2);
    const matched = await until(server, (b) => b.matchedPairs.total === 2);
    expect(matched.body.consumers).toEqual({
      total: 1,
      byCountry: [{ country: 'BV', count: 1 }],
    });
    expect(matched.body.matchedPairs.byCountryPair).toEqual([
      { volunteer: 'AQ', consumer: 'BV', count: 1 },
      { volunteer: 'ZZ', consumer: 'BV', count: 1 },
    ]);
    // Matched volunteers stay registered (they poll again) but are not polling right now.
    expect(matched.body.volunteers.total).toBe(2);
    expect(matched.body.volunteers.available).toBe(0);

    // A second consumer at an unknown address finds nobody polling and waits; it counts.
    await online(server, 'consumer-zz-05be', '127.0.0.5');
    held(match(server, 'consumer-zz-05be', '127.0.0.5'));
    await until(server, (b) => b.consumers.total === 2);

    // The AQ volunteer leaves: its entry and its pair go with it.
    await volunteerA.close();
    const left = await until(server, (b) => b.volunteers.total === 1);
    expect(left.body.matchedPairs).toEqual({
      total: 1,
      byCountryPair: [{ volunteer: 'ZZ', consumer: 'BV', count: 1 }],
    });
    expect(left.body.volunteers.byCountry).toEqual([{ country: 'ZZ', count: 1 }]);

    // The BV consumer leaves: it and its remaining pair are gone.
    await consumer.close();
    const gone = await until(server, (b) => b.consumers.total === 1);
    expect(gone.body.consumers.byCountry).toEqual([{ country: 'ZZ', count: 1 }]);
    expect(gone.body.matchedPairs).toEqual({ total: 0, byCountryPair: [] });
  });

  it('never carries an address, a PeerJS id or a token', async () => {
    const server = await start();
    const ids = ['volunteer-aq-9d1f', 'volunteer-zz-4c7e', 'consumer-bv-81aa'];
    await online(server, ids[0]!, '127.0.0.2');
    await online(server, ids[1]!, '127.0.0.4');
    await online(server, ids[2]!, '127.0.0.3');
    poll(server, ids[0]!, '127.0.0.2');
    poll(server, ids[1]!, '127.0.0.4');
    await until(server, (b) => b.volunteers.available === 2);
    await match(server, ids[2]!, '127.0.0.3', 2);
    const { text } = await until(server, (b) => b.matchedPairs.total === 2);
    for (const secret of [
      ...ids,
      ...ids.map(tokenOf),
      '127.0.0.1',
      '127.0.0.2',
      '127.0.0.3',
      '127.0.0.4',
      '::ffff:',
      '2130706434',
    ]) {
      expect(text, secret).not.toContain(secret);
    }
    // No IPv4 or IPv6 address of any kind, only counts, codes and the timestamp.
    expect(text).not.toMatch(/\d+\.\d+\.\d+\.\d+/);
    expect(text.replace(/"generatedAt":"[^"]*"/, '')).not.toMatch(/[0-9a-f]*:[0-9a-f]*:[0-9a-f]/i);
  });
});

describe('NetworkState', () => {
  const volunteer = (country: string): VolunteerView => ({
    ip: '192.0.2.1',
    kind: 'browser',
    nat: 'unknown',
    country,
    available: true,
  });

  it('computes an answer at most once per cache period', async () => {
    let reads = 0;
    const list = [volunteer('DE')];
    const state = new NetworkState({
      volunteers: () => {
        reads += 1;
        return list;
      },
      isOnline: () => true,
    });
    const first = await state.text(10_000);
    list.push(volunteer('FR'));
    for (let i = 0; i < 1000; i++) {
      expect(await state.text(10_000 + (i % NETSTATE_CACHE_MS))).toBe(first);
    }
    expect(reads).toBe(1);
    const next = parseNetstateBody(JSON.parse(await state.text(10_000 + NETSTATE_CACHE_MS)));
    expect(next.volunteers.total).toBe(2);
    expect(reads).toBe(2);
    // A clock that steps back does not pin an old answer.
    await state.text(5_000);
    expect(reads).toBe(3);
  });

  it('keeps only each consumer’s newest pairs, and drops consumers that went offline', async () => {
    const online = new Set(['c', ...Array.from({ length: 12 }, (_, i) => `v${i}`)]);
    const state = new NetworkState({ volunteers: () => [], isOnline: (id) => online.has(id) });
    for (let i = 0; i < 12; i++) state.matched('c', 'IR', [{ id: `v${i}`, country: 'DE' }]);
    expect((await state.snapshot()).matchedPairs).toEqual({
      total: 8,
      byCountryPair: [{ volunteer: 'DE', consumer: 'IR', count: 8 }],
    });
    online.delete('c');
    expect((await state.snapshot()).consumers.total).toBe(0);
    expect((await state.snapshot()).matchedPairs.total).toBe(0);
  });

  it('publishes unknown and malformed countries as ZZ', () => {
    expect(publicCountry('??')).toBe('ZZ');
    expect(publicCountry('')).toBe('ZZ');
    expect(publicCountry('de')).toBe('ZZ');
    expect(publicCountry('DE')).toBe('DE');
  });
});
