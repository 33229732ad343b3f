/**
 * Matchmaking over real HTTP: volunteers long-poll, consumers ask for volunteers. Callers get
 * distinct addresses by binding to 127.0.0.2, 127.0.0.3… (all loopback on Linux).
 */
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SignalingOptions } from '../config.ts';
import type { SignalingServer } from '../server.ts';
import { connect, eventually, http, startTestServer, type HttpReply } from './helpers.ts';
import type { RawPeer } from './helpers.ts';

const servers: SignalingServer[] = [];
const peers: RawPeer[] = [];
const POOL_P = 'a'.repeat(64);
const POOL_Q = 'b'.repeat(64);
const EGRESS = {
  id: 'local',
  url: 'ws://127.0.0.1:9/',
  publicKey: 'pOCSkrZRwni5dyxWn1-puxPZBrRqtoyd-dwrRAn4ogk',
};

afterEach(async () => {
  for (const p of peers.splice(0)) p.ws.terminate();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(options: SignalingOptions = {}): Promise<SignalingServer> {
  const server = await startTestServer({ egresses: [EGRESS], ...options });
  servers.push(server);
  return server;
}

async function online(server: SignalingServer, id: string): Promise<RawPeer> {
  const p = await connect(server, id, `tok-${id}`);
  peers.push(p);
  return p;
}

interface PollBody {
  slots?: number;
  nat?: string;
  kind?: string;
  pool?: string;
}

function poll(
  server: SignalingServer,
  id: string,
  from: string,
  body: PollBody = {},
): Promise<HttpReply> {
  return http(
    server,
    'POST',
    'v1/volunteer/poll',
    { id, token: `tok-${id}`, slots: 1, nat: 'unrestricted', kind: 'browser', ...body },
    { localAddress: from },
  );
}

function match(
  server: SignalingServer,
  id: string,
  from: string,
  body: { count?: number; nat?: string; pool?: string } = {},
): Promise<HttpReply> {
  return http(
    server,
    'POST',
    'v1/consumer/match',
    { id, token: `tok-${id}`, count: 1, nat: 'unrestricted', ...body },
    { localAddress: from },
  );
}

async function waitingVolunteers(server: SignalingServer): Promise<number> {
  const text = (await http(server, 'GET', 'metrics')).text;
  return text
    .split('\n')
    .filter((l) => l.startsWith('bu_signaling_volunteers_available{'))
    .reduce((sum, l) => sum + Number(l.split(' ')[1]), 0);
}

/** Starts polls and waits until the server holds all of them. */
interface Pending {
  readonly reply: Promise<HttpReply>;
}

async function polling(
  server: SignalingServer,
  polls: (() => Promise<HttpReply>)[],
): Promise<Pending[]> {
  const before = await waitingVolunteers(server);
  const started = polls.map((p) => ({ reply: p() }));
  await eventually(async () => (await waitingVolunteers(server)) >= before + polls.length);
  return started;
}

describe('matching', () => {
  it('introduces a consumer to a polling volunteer, with the egress list', async () => {
    const server = await start();
    await online(server, 'vol');
    await online(server, 'con');
    const [volunteerPoll] = await polling(server, [() => poll(server, 'vol', '127.0.0.2')]);
    const reply = await match(server, 'con', '127.0.0.3');
    expect(reply.status).toBe(200);
    expect(reply.json()).toEqual({ volunteers: [{ id: 'vol' }], egresses: [EGRESS] });
    expect((await volunteerPoll!.reply).json()).toEqual({ match: { consumer: 'con', cc: '??' } });
  });

  it('lets a consumer wait for a volunteer that comes later', async () => {
    const server = await start();
    await online(server, 'vol');
    await online(server, 'con');
    const waiting = match(server, 'con', '127.0.0.3');
    await eventually(async () =>
      (await http(server, 'GET', 'metrics')).text.includes('bu_signaling_consumers_waiting 1'),
    );
    const volunteerPoll = await poll(server, 'vol', '127.0.0.2');
    expect(volunteerPoll.json()).toEqual({ match: { consumer: 'con', cc: '??' } });
    expect((await waiting).json().volunteers).toEqual([{ id: 'vol' }]);
  });

  it('answers an empty poll with {match: null} and a lonely consumer with 503', async () => {
    const server = await start({ pollTimeoutMs: 20, matchTimeoutMs: 20 });
    await online(server, 'vol');
    await online(server, 'con');
    expect((await poll(server, 'vol', '127.0.0.2')).json()).toEqual({ match: null });
    const lonely = await match(server, 'con', '127.0.0.3');
    expect(lonely.status).toBe(503);
    expect(lonely.json()).toMatchObject({ error: 'no-volunteers' });
    expect((await http(server, 'GET', 'metrics')).text).toContain(
      'bu_signaling_match_denials_total{reason="no-volunteers"} 1',
    );
  });

  it('gives up to count distinct volunteers, least loaded first', async () => {
    const server = await start();
    for (const id of ['v1', 'v5', 'v3', 'c']) await online(server, id);
    const polls = await polling(server, [
      () => poll(server, 'v1', '127.0.0.2', { slots: 1 }),
      () => poll(server, 'v5', '127.0.0.4', { slots: 5 }),
      () => poll(server, 'v3', '127.0.0.5', { slots: 3 }),
    ]);
    const reply = await match(server, 'c', '127.0.0.3', { count: 2 });
    expect(reply.json().volunteers).toEqual([{ id: 'v5' }, { id: 'v3' }]);
    const answers = await Promise.all(polls.slice(1).map((p) => p.reply));
    expect(answers.map((a) => a.json().match?.consumer)).toEqual(['c', 'c']);
  });

  it('never matches a volunteer without free slots, nor one already matched on this poll', async () => {
    const server = await start({ matchTimeoutMs: 30 });
    for (const id of ['full', 'one', 'c1', 'c2']) await online(server, id);
    const [fullPoll] = await polling(server, [
      () => poll(server, 'one', '127.0.0.2', { slots: 1 }),
    ]);
    const zero = poll(server, 'full', '127.0.0.4', { slots: 0 });
    expect((await match(server, 'c1', '127.0.0.3')).json().volunteers).toEqual([{ id: 'one' }]);
    await fullPoll!.reply;
    // `one` has not polled again and `full` has no slot: nobody is left.
    expect((await match(server, 'c2', '127.0.0.5')).status).toBe(503);
    void zero;
  });
});

describe('matching rules', () => {
  // A claim of `unrestricted` is not believed without evidence (it counts as `unknown`); a
  // claim of `restricted` is, since it only narrows whom the claimant is matched with.
  it.each([
    ['restricted', 'restricted', false],
    ['restricted', 'unknown', true],
    ['unknown', 'restricted', true],
    ['unknown', 'unknown', true],
    ['restricted', 'unrestricted', true],
    ['unknown', 'unrestricted', true],
    ['unrestricted', 'restricted', true],
    ['unrestricted', 'unknown', true],
  ])('a %s consumer and a %s volunteer match: %s', async (consumerNat, volunteerNat, ok) => {
    const server = await start({ matchTimeoutMs: 30 });
    await online(server, 'vol');
    await online(server, 'con');
    await polling(server, [() => poll(server, 'vol', '127.0.0.2', { nat: volunteerNat })]);
    const reply = await match(server, 'con', '127.0.0.3', { nat: consumerNat });
    expect(reply.status).toBe(ok ? 200 : 503);
  });

  it.each([
    ['restricted', 'restricted'],
    ['unknown', 'unknown'],
    ['unknown', 'restricted'],
  ])(
    'with ignoreNat, a %s consumer and a %s volunteer match (one machine)',
    async (consumerNat, volunteerNat) => {
      const server = await start({ matchTimeoutMs: 30, ignoreNat: true });
      await online(server, 'vol');
      await online(server, 'con');
      await polling(server, [() => poll(server, 'vol', '127.0.0.2', { nat: volunteerNat })]);
      const reply = await match(server, 'con', '127.0.0.3', { nat: consumerNat });
      expect(reply.status).toBe(200);
      expect(reply.json().volunteers).toEqual([{ id: 'vol' }]);
    },
  );

  it('keeps the pool, address and own-id rules with ignoreNat', async () => {
    const server = await start({ matchTimeoutMs: 30, ignoreNat: true });
    await online(server, 'vol');
    await online(server, 'con');
    await polling(server, [
      () => poll(server, 'vol', '127.0.0.2', { nat: 'unknown', pool: POOL_P }),
    ]);
    expect((await match(server, 'con', '127.0.0.3', { nat: 'unknown' })).status).toBe(503);
    expect((await match(server, 'con', '127.0.0.2', { nat: 'unknown', pool: POOL_P })).status).toBe(
      503,
    );
  });

  it('gives a volunteer that claims unrestricted NAT and many slots no head start', async () => {
    const server = await start();
    for (const id of ['boast', 'plain', 'con']) await online(server, id);
    await polling(server, [
      () => poll(server, 'boast', '127.0.0.2', { nat: 'unrestricted', slots: 64 }),
      () => poll(server, 'plain', '127.0.0.4', { nat: 'unknown', slots: 8 }),
    ]);
    // Both count as 8 slots of unknown NAT; the one matched longest ago (never) is first.
    const reply = await match(server, 'con', '127.0.0.3', { nat: 'restricted', count: 2 });
    expect(reply.json().volunteers).toHaveLength(2);
  });

  it('never matches a consumer with a volunteer at its own address, unless allowed', async () => {
    const strict = await start({ matchTimeoutMs: 30 });
    await online(strict, 'vol');
    await online(strict, 'con');
    await polling(strict, [() => poll(strict, 'vol', '127.0.0.2')]);
    expect((await match(strict, 'con', '127.0.0.2')).status).toBe(503);

    const lax = await start({ allowSameIp: true });
    await online(lax, 'vol');
    await online(lax, 'con');
    await polling(lax, [() => poll(lax, 'vol', '127.0.0.2')]);
    expect((await match(lax, 'con', '127.0.0.2')).status).toBe(200);
  });

  it('keeps pools apart', async () => {
    const server = await start({ matchTimeoutMs: 30 });
    for (const id of ['vp', 'cpub', 'cq', 'cp']) await online(server, id);
    await polling(server, [() => poll(server, 'vp', '127.0.0.2', { pool: POOL_P })]);
    expect((await match(server, 'cpub', '127.0.0.3')).status).toBe(503);
    expect((await match(server, 'cq', '127.0.0.3', { pool: POOL_Q })).status).toBe(503);
    expect((await match(server, 'cp', '127.0.0.3', { pool: POOL_P })).json().volunteers).toEqual([
      { id: 'vp' },
    ]);
  });
});

describe('registry', () => {
  it('a volunteer whose PeerJS socket closes is gone at once, its poll answered', async () => {
    const server = await start({ matchTimeoutMs: 30 });
    const vol = await online(server, 'vol');
    await online(server, 'con');
    const [volunteerPoll] = await polling(server, [() => poll(server, 'vol', '127.0.0.2')]);
    await vol.close();
    expect((await volunteerPoll!.reply).json()).toEqual({ match: null });
    expect((await match(server, 'con', '127.0.0.3')).status).toBe(503);
  });

  it('a volunteer that stops polling expires from the registry', async () => {
    const server = await start({ pollTimeoutMs: 10, volunteerTimeoutMs: 300 });
    await online(server, 'vol');
    await poll(server, 'vol', '127.0.0.2');
    expect((await http(server, 'GET', 'metrics')).text).toContain('bu_signaling_volunteer_ips 1');
    await eventually(async () =>
      (await http(server, 'GET', 'metrics')).text.includes('bu_signaling_volunteer_ips 0'),
    );
  });

  it('a newer poll from the same id answers the older one', async () => {
    const server = await start();
    await online(server, 'vol');
    await online(server, 'con');
    const [first] = await polling(server, [() => poll(server, 'vol', '127.0.0.2')]);
    const second = poll(server, 'vol', '127.0.0.2');
    expect((await first!.reply).json()).toEqual({ match: null });
    expect((await match(server, 'con', '127.0.0.3')).status).toBe(200);
    expect((await second).json().match?.consumer).toBe('con');
  });

  it('bounds the requests held open at once', async () => {
    const server = await start({ maxWaiting: 1 });
    await online(server, 'v1');
    await online(server, 'v2');
    await polling(server, [() => poll(server, 'v1', '127.0.0.2')]);
    const refused = await poll(server, 'v2', '127.0.0.4');
    expect(refused.status).toBe(429);
    expect(refused.json()).toMatchObject({ error: 'rate-limited' });
    expect((await http(server, 'GET', 'metrics')).text).toContain(
      'bu_signaling_rejected_inputs_total{reason="too-many-waiting"} 1',
    );
  });
});

describe('bad requests', () => {
  const base = { id: 'vol', token: 'tok-vol', slots: 1, nat: 'unrestricted', kind: 'browser' };
  it.each([
    ['not JSON', '{nope', 400, 'bad-request'],
    ['an array', '[]', 400, 'bad-request'],
    ['a wrong type', { ...base, slots: '1' }, 400, 'bad-request'],
    ['too many slots', { ...base, slots: 65 }, 400, 'bad-request'],
    ['a bad NAT', { ...base, nat: 'open' }, 400, 'bad-request'],
    ['a bad pool', { ...base, pool: 'A'.repeat(64) }, 400, 'bad-request'],
    ['no token', { ...base, token: undefined }, 400, 'bad-request'],
    ['a wrong token', { ...base, token: 'guess' }, 401, 'unauthorized'],
    ['an unknown id', { ...base, id: 'nobody' }, 401, 'unauthorized'],
    ['a huge body', { ...base, junk: 'x'.repeat(70_000) }, 413, 'too-large'],
  ])('a poll with %s is refused with a JSON error', async (_what, body, status, code) => {
    const server = await start();
    await online(server, 'vol');
    const reply = await http(server, 'POST', 'v1/volunteer/poll', body);
    expect(reply.status).toBe(status);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.json()).toMatchObject({ error: code });
    expect(reply.text).not.toContain('tok-vol');
    expect((await http(server, 'GET', '')).status).toBe(200);
  });

  it('refuses a bad match request, and a body that streams past the limit', async () => {
    const server = await start();
    await online(server, 'con');
    const bad = await http(server, 'POST', 'v1/consumer/match', {
      id: 'con',
      token: 'tok-con',
      count: 9,
      nat: 'unknown',
    });
    expect(bad.json()).toMatchObject({ error: 'bad-request' });
    const chunked = await http(server, 'POST', 'v1/consumer/match', 'x'.repeat(200_000), {
      headers: { 'transfer-encoding': 'chunked' },
    });
    expect(chunked.status).toBe(413);
    const text = (await http(server, 'GET', 'metrics')).text;
    expect(text).toContain('bu_signaling_match_denials_total{reason="bad-request"} 2');
  });

  it('rate-limits matchmaking requests per address', async () => {
    const server = await start({ rateLimit: { burst: 2, perSecond: 1 } });
    const replies = await Promise.all(
      Array.from({ length: 6 }, () => http(server, 'POST', 'v1/consumer/match', '{}')),
    );
    expect(replies.some((r) => r.status === 429)).toBe(true);
  });
});

describe('GET v1/config', () => {
  it('gives ICE servers, egresses, limits and the caller’s country', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bu-geoip-'));
    const v4 = join(dir, 'geoip');
    // 127.0.0.2 and 127.0.0.3 as integers: Tor's format.
    await writeFile(v4, '# test\n2130706434,2130706434,AQ\n2130706435,2130706435,BV\n');
    const v6 = join(dir, 'geoip6');
    await writeFile(v6, '::1,::1,NO\n');
    const server = await start({
      geoip: { ipv4: v4, ipv6: v6 },
      iceServers: [{ urls: 'stun:127.0.0.1:3478' }],
      aliveTimeoutMs: 1234,
    });
    const reply = await http(server, 'GET', 'v1/config', undefined, { localAddress: '127.0.0.2' });
    expect(reply.json()).toEqual({
      iceServers: [{ urls: 'stun:127.0.0.1:3478' }],
      egresses: [EGRESS],
      limits: {
        maxTunnelMessageBytes: 16384,
        maxSignalingMessageBytes: 65536,
        maxConsumerVolunteers: 8,
        maxVolunteerSlots: 8,
        pollTimeoutMs: 10000,
        matchTimeoutMs: 10000,
        aliveTimeoutMs: 1234,
      },
      country: 'AQ',
    });
    const other = await http(server, 'GET', 'v1/config', undefined, { localAddress: '127.0.0.9' });
    expect(other.json().country).toBe('??');
    // The consumer's country travels to the volunteer with the match.
    await online(server, 'vol');
    await online(server, 'con');
    const [volunteerPoll] = await polling(server, [() => poll(server, 'vol', '127.0.0.2')]);
    await match(server, 'con', '127.0.0.3');
    expect((await volunteerPoll!.reply).json().match).toEqual({ consumer: 'con', cc: 'BV' });
    const metrics = (await http(server, 'GET', 'metrics')).text;
    expect(metrics).toContain('bu_signaling_volunteer_ips_by_country{country="AQ"} 1');
  });
});
