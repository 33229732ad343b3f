/**
 * NAT discovery end to end on real sockets: the signaling server's STUN responders, the Node
 * clients' UDP gatherer, `v1/nat-probe`, and what matchmaking makes of the evidence. On
 * loopback there is no NAT, so one socket is seen at both responders (`unrestricted`); a
 * symmetric NAT is played by asking each responder from a socket of its own, which is what such
 * a NAT does to one socket (a new public port per destination).
 */
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { gatherWithUdp } from '../nat-gather.ts';
import { iceServer } from '../signaling-options.ts';
import { encodeBindingRequest, parseBindingSuccess } from '../../protocol/stun.ts';
import type { SignalingOptions } from '../../signaling/config.ts';
import type { SignalingServer } from '../../signaling/server.ts';
import { connect, http, startTestServer, type RawPeer } from '../../signaling/test/helpers.ts';

const servers: SignalingServer[] = [];
const peers: RawPeer[] = [];
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
  const server = await startTestServer({
    egresses: [EGRESS],
    natProbePort: 0,
    natProbeBind: '127.0.0.1',
    allowSameIp: true,
    ...options,
  });
  servers.push(server);
  return server;
}

async function online(server: SignalingServer, id: string): Promise<void> {
  peers.push(await connect(server, id, `tok-${id}`));
}

async function probeUrls(server: SignalingServer): Promise<string[]> {
  const config = (await http(server, 'GET', 'v1/config')).json<{
    natProbe?: { urls: string[] };
  }>();
  return config.natProbe?.urls ?? [];
}

/** Asks one responder from a fresh socket: what a symmetric NAT makes of one socket. */
async function askAlone(url: string): Promise<string> {
  const [, host = '', port = ''] = /^stun:([^:]+):(\d+)$/.exec(url) ?? [];
  const socket = createSocket('udp4');
  try {
    const request = encodeBindingRequest(randomBytes(12));
    const answer = new Promise<Buffer>((resolve) => socket.once('message', resolve));
    socket.send(request, Number(port), host);
    const mapped = parseBindingSuccess(await answer);
    if (!mapped) throw new Error('no STUN answer');
    return `${mapped.ip}:${mapped.port}`;
  } finally {
    socket.close();
  }
}

function report(server: SignalingServer, id: string, mapped: string[]) {
  return http(server, 'POST', 'v1/nat-probe', { id, token: `tok-${id}`, mapped });
}

async function prove(server: SignalingServer, id: string, nat: 'unrestricted' | 'restricted') {
  const urls = await probeUrls(server);
  const mapped =
    nat === 'unrestricted'
      ? await gatherWithUdp(urls, new AbortController().signal)
      : await Promise.all(urls.map(askAlone));
  const reply = await report(server, id, mapped);
  expect(reply.json()).toEqual({ nat });
}

function poll(server: SignalingServer, id: string, nat = 'unknown') {
  return http(server, 'POST', 'v1/volunteer/poll', {
    id,
    token: `tok-${id}`,
    slots: 1,
    nat,
    kind: 'node',
  });
}

function match(server: SignalingServer, id: string, body: Record<string, unknown> = {}) {
  return http(server, 'POST', 'v1/consumer/match', {
    id,
    token: `tok-${id}`,
    count: 1,
    nat: 'unknown',
    ...body,
  });
}

describe('the NAT probe', () => {
  it('publishes two STUN responders at the host the client used, or the one configured', async () => {
    const server = await start();
    const urls = await probeUrls(server);
    expect(urls).toHaveLength(2);
    for (const url of urls) expect(url).toMatch(/^stun:127\.0\.0\.1:\d+$/);
    expect(new Set(urls).size).toBe(2);
    const named = await start({ natProbeHost: 'probe.example.org' });
    expect(await probeUrls(named)).toEqual([
      expect.stringMatching(/^stun:probe\.example\.org:\d+$/),
      expect.stringMatching(/^stun:probe\.example\.org:\d+$/),
    ]);
    const none = await startTestServer({ egresses: [EGRESS] });
    servers.push(none);
    expect(await probeUrls(none)).toEqual([]);
  });

  it('finds one public port for both responders unrestricted, one per responder restricted', async () => {
    const server = await start();
    await online(server, 'open');
    await online(server, 'symmetric');
    const urls = await probeUrls(server);
    const one = await gatherWithUdp(urls, new AbortController().signal);
    expect(one).toHaveLength(1);
    expect((await report(server, 'open', one)).json()).toEqual({ nat: 'unrestricted' });
    const two = await Promise.all(urls.map(askAlone));
    expect(new Set(two).size).toBe(2);
    expect((await report(server, 'symmetric', two)).json()).toEqual({ nat: 'restricted' });
    const metrics = (await http(server, 'GET', 'metrics')).text;
    expect(metrics).toMatch(/bu_signaling_nat_probes_total\{nat="unrestricted"\} 1/);
    expect(metrics).toMatch(/bu_signaling_nat_probes_total\{nat="restricted"\} 1/);
  });

  it('goes by what it saw, not by what the client says', async () => {
    const server = await start();
    await online(server, 'liar');
    // Addresses the responders never saw, and another host's: no evidence.
    expect((await report(server, 'liar', ['127.0.0.1:9', '192.0.2.7:4000'])).json()).toEqual({
      nat: 'unknown',
    });
    // A real mapping, claimed from another address than the one it was seen from.
    const [mapped = ''] = await gatherWithUdp(
      await probeUrls(server),
      new AbortController().signal,
    );
    const elsewhere = await http(
      server,
      'POST',
      'v1/nat-probe',
      { id: 'liar', token: 'tok-liar', mapped: [mapped] },
      { localAddress: '127.0.0.2' },
    );
    expect(elsewhere.json()).toEqual({ nat: 'unknown' });
    // Only a connected peer may report, and a malformed report is refused with its field.
    expect((await report(server, 'nobody', [mapped])).status).toBe(401);
    const bad = await http(server, 'POST', 'v1/nat-probe', {
      id: 'liar',
      token: 'tok-liar',
      mapped: ['x'],
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toMatch(/mapped\[0\]/);
  });
});

describe('matching on the evidence', () => {
  it('never pairs two restricted peers, and pairs a restricted one with an unrestricted one', async () => {
    const server = await start({ matchTimeoutMs: 200, pollTimeoutMs: 2_000 });
    for (const id of ['v-restricted', 'v-open', 'c-restricted']) await online(server, id);
    await prove(server, 'v-restricted', 'restricted');
    await prove(server, 'c-restricted', 'restricted');
    // It says unrestricted, but the probe found otherwise; the probe wins.
    const polling = poll(server, 'v-restricted', 'unrestricted');
    expect((await match(server, 'c-restricted', { nat: 'unrestricted' })).status).toBe(503);
    await prove(server, 'v-open', 'unrestricted');
    const open = poll(server, 'v-open');
    const reply = await match(server, 'c-restricted');
    expect(reply.status).toBe(200);
    expect(reply.json().volunteers).toEqual([{ id: 'v-open' }]);
    await Promise.all([polling, open]);
  });

  it('pairs two restricted peers when a TURN relay is configured', async () => {
    const server = await start({
      matchTimeoutMs: 500,
      pollTimeoutMs: 2_000,
      iceServers: [iceServer('turn:127.0.0.1:3478?transport=udp,user,secret')],
    });
    for (const id of ['v', 'c']) await online(server, id);
    await prove(server, 'v', 'restricted');
    await prove(server, 'c', 'restricted');
    const polling = poll(server, 'v');
    const reply = await match(server, 'c');
    expect(reply.json().volunteers).toEqual([{ id: 'v' }]);
    await polling;
  });

  it('offers proven pairs before unknown ones, and not a pair that just failed', async () => {
    const server = await start({ matchTimeoutMs: 200, pollTimeoutMs: 3_000 });
    for (const id of ['v-unknown', 'v-open', 'c']) await online(server, id);
    await prove(server, 'v-open', 'unrestricted');
    await prove(server, 'c', 'unrestricted');
    const polls = [poll(server, 'v-unknown'), poll(server, 'v-open')];
    await new Promise((resolve) => setTimeout(resolve, 100));
    const first = await match(server, 'c');
    expect(first.json().volunteers).toEqual([{ id: 'v-open' }]);
    // The connection through v-open failed: the consumer says so, and gets the other one.
    const second = await match(server, 'c', { have: [], failed: ['v-open'] });
    expect(second.json().volunteers).toEqual([{ id: 'v-unknown' }]);
    await Promise.all(polls);
    // v-open polls again; the pair that failed is not offered again at once.
    const again = poll(server, 'v-open');
    expect((await match(server, 'c', { have: ['v-unknown'] })).status).toBe(503);
    await again;
  });
});

describe('--ice-server', () => {
  it('takes a TURN server with its username and credential', () => {
    expect(iceServer('stun:stun.example.org:3478')).toEqual({ urls: 'stun:stun.example.org:3478' });
    expect(iceServer('turn:turn.example.org:3478?transport=udp,alice,s3cret')).toEqual({
      urls: 'turn:turn.example.org:3478?transport=udp',
      username: 'alice',
      credential: 's3cret',
    });
    expect(() => iceServer('turn:turn.example.org:3478')).toThrow(
      /needs a username and a credential/,
    );
    expect(() => iceServer('turn:t.example.org,alice')).toThrow(/needs a username/);
    expect(() => iceServer('stun:s.example.org,alice,x')).toThrow(/only a TURN server/);
  });
});

describe('the STUN responders, to a stranger', () => {
  it('answer nothing but well-formed Binding requests, at most 20 a second per address', async () => {
    const server = await start();
    const [url = ''] = await probeUrls(server);
    const [, host = '', port = ''] = /^stun:([^:]+):(\d+)$/.exec(url) ?? [];
    const socket = createSocket('udp4');
    let answers = 0;
    socket.on('message', () => (answers += 1));
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    try {
      const valid = encodeBindingRequest(randomBytes(12));
      const junk = [
        Buffer.alloc(0),
        Buffer.from('GET / HTTP/1.1\r\n\r\n'),
        Buffer.concat([Buffer.from(valid), Buffer.alloc(3)]), // length field disagrees
        Buffer.from(valid).fill(0xff, 4, 8), // no magic cookie
        Buffer.alloc(60_000, 1), // huge
      ];
      for (const packet of junk) socket.send(packet, Number(port), host);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(answers).toBe(0);
      // A flood from one address: the answers stop at the per-second allowance.
      for (let i = 0; i < 200; i++)
        socket.send(encodeBindingRequest(randomBytes(12)), Number(port), host);
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(answers).toBeGreaterThan(0);
      expect(answers).toBeLessThanOrEqual(40); // 20 a second; the flood may straddle a second
    } finally {
      socket.close();
    }
  });
});
