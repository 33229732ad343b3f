/**
 * Strangers who try to crash `bu signaling` or take what everyone shares, against the real
 * process over real sockets. Callers get distinct addresses by binding to 127.0.0.2, 127.0.0.3…
 * (all loopback on Linux). Each case failed on the server before its limit existed.
 */
import { connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { REFUSAL_TEXT } from '../errors.ts';
import { connect, eventually, http, RawPeer, sleep, wsUrl, type Reachable } from './helpers.ts';
import { startSignalingProcess, type SignalingProcess } from './process.ts';

const running: SignalingProcess[] = [];
const sockets: RawPeer[] = [];
const loops: VolunteerLoop[] = [];

afterEach(async () => {
  for (const loop of loops.splice(0)) loop.stop();
  for (const peer of sockets.splice(0)) peer.ws.terminate();
  await Promise.all(running.splice(0).map((server) => server.stop()));
});

async function start(args: string[] = []): Promise<SignalingProcess> {
  const server = await startSignalingProcess(['--no-geoip', ...args]);
  running.push(server);
  return server;
}

async function online(server: Reachable, id: string, from: string): Promise<RawPeer> {
  const peer = await connect(server, id, `tok-${id}`, { localAddress: from });
  sockets.push(peer);
  return peer;
}

async function metric(server: Reachable, line: string): Promise<number> {
  const text = (await http(server, 'GET', 'metrics')).text;
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? 0 : Number(found.split(' ')[1]);
}

function match(
  server: Reachable,
  id: string,
  from: string,
  count: number,
  nat = 'restricted',
  have?: string[],
) {
  return http(
    server,
    'POST',
    'v1/consumer/match',
    { id, token: `tok-${id}`, count, nat, ...(have ? { have } : {}) },
    { localAddress: from },
  );
}

/**
 * What a volunteer does (mesh/volunteer.ts): poll with its free slots, keep a slot for every
 * consumer it is told about, poll again; with no slot left, stop polling. A liar keeps
 * claiming the same slots however many consumers it was given.
 */
interface VolunteerLoop {
  readonly peer: RawPeer;
  readonly consumers: string[];
  stop(): void;
}

async function volunteer(
  server: Reachable,
  id: string,
  from: string,
  slots: number,
  options: { nat?: string; lies?: boolean } = {},
): Promise<VolunteerLoop> {
  const peer = await online(server, id, from);
  const consumers: string[] = [];
  let running = true;
  void (async () => {
    while (running) {
      const free = options.lies === true ? slots : slots - consumers.length;
      if (free <= 0) return;
      const reply = await http(
        server,
        'POST',
        'v1/volunteer/poll',
        { id, token: `tok-${id}`, slots: free, nat: options.nat ?? 'unknown', kind: 'browser' },
        { localAddress: from },
      ).catch(() => undefined);
      const consumer = reply?.json<{ match: { consumer: string } | null }>().match?.consumer;
      if (consumer !== undefined) consumers.push(consumer);
    }
  })();
  const loop = { peer, consumers, stop: () => void (running = false) };
  loops.push(loop);
  return loop;
}

async function available(server: Reachable, count: number): Promise<void> {
  await eventually(
    async () =>
      (await metric(server, 'bu_signaling_volunteers_available{nat="unknown",kind="browser"}')) >=
      count,
  );
}

/** Raw bytes in, the first line of the answer out. */
function statusLine(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer.split('\r\n')[0] ?? ''));
    socket.end(text, 'latin1');
  });
}

describe('bu signaling against hostile clients', () => {
  it('answers request targets that are not paths with 400, as requests and upgrades, and lives', async () => {
    const server = await start();
    const upgrade = 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n';
    const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    for (const target of ['//[', '//%', 'http://[', '/peerjs?%zz', '/%']) {
      const plain = `GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`;
      const socket = `GET ${target} HTTP/1.1\r\nHost: x\r\n${upgrade}${key}\r\n`;
      expect(await statusLine(server.port, plain)).toBe('HTTP/1.1 400 Bad Request');
      expect(await statusLine(server.port, socket)).toBe('HTTP/1.1 400 Bad Request');
    }
    // `//a:b` is a path (of a route that does not exist), not a URL to choke on.
    expect(await statusLine(server.port, 'GET //a:b HTTP/1.1\r\nHost: x\r\n\r\n')).toMatch(/ 404 /);
    expect(server.child.exitCode).toBeNull();
    expect((await http(server, 'GET', 'peerjs/id')).status).toBe(200);
    expect(await metric(server, 'bu_signaling_rejected_inputs_total{reason="bad-target"}')).toBe(
      10,
    );
  });

  it('keeps one address from reserving every volunteer (ids × matches), at the default shares', async () => {
    const server = await start(['--match-timeout', '300', '--poll-timeout', '500']);
    const network = await Promise.all(
      ['2', '3', '4', '5'].map((n) => volunteer(server, `vol${n}`, `127.0.0.${n}`, 5)),
    );
    await available(server, 4);
    const attackers = ['a1', 'a2', 'a3', 'a4', 'a5'];
    for (const id of attackers) await online(server, id, '127.0.0.9');
    let taken = 0;
    const refusals = new Set<string>();
    for (let round = 0; round < 6; round++) {
      for (const id of attackers) {
        const reply = await match(server, id, '127.0.0.9', 8);
        if (reply.status === 200) taken += reply.json().volunteers?.length ?? 0;
        else refusals.add(reply.json().error ?? '');
      }
      await sleep(50);
    }
    // Others offer 20 free slots: the address's share is 25 % of what is free (5, then 4 as
    // the volunteers poll again with fewer).
    expect(taken).toBeGreaterThanOrEqual(4);
    expect(taken).toBeLessThanOrEqual(5);
    expect(refusals).toContain('fair-share');
    expect(
      await metric(server, 'bu_signaling_match_denials_total{reason="fair-share"}'),
    ).toBeGreaterThan(0);
    expect(
      await metric(server, 'bu_signaling_rejected_inputs_total{reason="share-per-address"}'),
    ).toBeGreaterThan(0);

    await online(server, 'honest', '127.0.0.10');
    const honest = await match(server, 'honest', '127.0.0.10', 2);
    expect(honest.status).toBe(200);
    expect(honest.json().volunteers).toHaveLength(2);
    // Spread over addresses: nobody holds more than its slots, and every volunteer got some.
    const counts = (): number[] => network.map((loop) => loop.consumers.length);
    await eventually(() => counts().reduce((a, b) => a + b, 0) === taken + 2);
    expect(Math.max(...counts())).toBeLessThanOrEqual(5);
  });

  it('keeps one consumer id within its own share, until its volunteers answer', async () => {
    const server = await start(['--match-timeout', '300', '--max-matches-per-consumer', '2']);
    const network = await Promise.all(
      ['2', '3', '4'].map((n) => volunteer(server, `v${n}`, `127.0.0.${n}`, 5)),
    );
    await available(server, 3);
    await online(server, 'greedy', '127.0.0.9');
    const first = await match(server, 'greedy', '127.0.0.9', 8);
    expect(first.json().volunteers).toHaveLength(2);
    const second = await match(server, 'greedy', '127.0.0.9', 1);
    expect(second.status).toBe(429);
    expect(second.json()).toMatchObject({ error: 'fair-share' });
    expect(second.json().message).toMatch(/this id already holds 2 introductions/);
    expect(await metric(server, 'bu_signaling_introductions_outstanding')).toBe(2);
    // A volunteer that answers the consumer's offer no longer holds a slot for it.
    await eventually(() => network.some((loop) => loop.consumers.includes('greedy')));
    const answering = network.find((loop) => loop.consumers.includes('greedy'));
    answering?.peer.send({ type: 'ANSWER', dst: 'greedy', payload: { sdp: 'answer' } });
    await eventually(
      async () => (await metric(server, 'bu_signaling_introductions_outstanding')) === 1,
    );
    expect((await match(server, 'greedy', '127.0.0.9', 1)).status).toBe(200);
  });

  it('does not introduce a consumer again to a volunteer it has: asking again brings new ones', async () => {
    const server = await start(['--match-timeout', '300']);
    const only = await volunteer(server, 'only', '127.0.0.2', 5);
    await available(server, 1);
    await online(server, 'asker', '127.0.0.9');
    expect((await match(server, 'asker', '127.0.0.9', 2)).json().volunteers).toEqual([
      { id: 'only' },
    ]);
    await eventually(() => only.consumers.includes('asker'));
    only.peer.send({ type: 'ANSWER', dst: 'asker', payload: { sdp: 'answer' } });
    await eventually(
      async () => (await metric(server, 'bu_signaling_introductions_outstanding')) === 0,
    );
    // It wants a second volunteer; the one it has is not handed out again, so the volunteer
    // keeps no slot for a connection that would never come.
    for (let i = 0; i < 3; i++) {
      expect((await match(server, 'asker', '127.0.0.9', 1)).status).toBe(503);
    }
    expect(only.consumers).toEqual(['asker']);
    expect(await metric(server, 'bu_signaling_introductions_outstanding')).toBe(0);
    // Saying so changes nothing while the consumer has it.
    expect((await match(server, 'asker', '127.0.0.9', 1, 'restricted', ['only'])).status).toBe(503);
    // A consumer that lost it (its data channel never opened) says so and gets it back at once.
    const again = await match(server, 'asker', '127.0.0.9', 1, 'restricted', []);
    expect(again.status).toBe(200);
    expect(again.json().volunteers).toEqual([{ id: 'only' }]);
    expect(await metric(server, 'bu_signaling_introductions_outstanding')).toBe(1);
    // And the new introduction is outstanding: not handed out a third time meanwhile.
    expect((await match(server, 'asker', '127.0.0.9', 1, 'restricted', [])).status).toBe(503);
  });

  it('keeps one address from holding every connected id', async () => {
    const server = await start(['--max-ids-per-address', '20', '--concurrent-limit', '25']);
    for (let i = 0; i < 20; i++) await online(server, `flood${i}`, '127.0.0.9');
    const extra = new RawPeer(wsUrl(server, { key: 'peerjs', id: 'flood20', token: 't' }), {
      localAddress: '127.0.0.9',
    });
    sockets.push(extra);
    expect(await extra.next()).toMatchObject({
      type: 'ERROR',
      payload: { msg: REFUSAL_TEXT.idsPerAddress },
    });
    expect((await extra.closed).code).toBe(1008);
    // Another address is not refused, and a reconnect of a held id takes no new place.
    await online(server, 'other', '127.0.0.10');
    await online(server, 'flood0', '127.0.0.9');
    expect(
      await metric(server, 'bu_signaling_rejected_inputs_total{reason="ids-per-address"}'),
    ).toBe(1);
  });

  it('does not hand every consumer to a volunteer that claims many slots and an open NAT', async () => {
    const server = await start(['--match-timeout', '300']);
    const liar = await volunteer(server, 'liar', '127.0.0.2', 64, {
      nat: 'unrestricted',
      lies: true,
    });
    const honest = await Promise.all(
      ['3', '4', '5'].map((n) => volunteer(server, `h${n}`, `127.0.0.${n}`, 5)),
    );
    await eventually(async () => (await metric(server, 'bu_signaling_volunteer_ips')) === 4);
    await sleep(100);
    let matched = 0;
    for (let i = 0; i < 20; i++) {
      const from = `127.0.1.${i + 1}`;
      await online(server, `c${i}`, from);
      const reply = await match(server, `c${i}`, from, 1);
      if (reply.status === 200) matched += 1;
      await sleep(20);
    }
    expect(liar.consumers.length).toBeLessThanOrEqual(8);
    expect(liar.consumers.length).toBeLessThan(matched);
    for (const loop of honest) expect(loop.consumers.length).toBeGreaterThan(0);
  });

  it('keeps one sender from filling the offline queue for everyone', async () => {
    const server = await start([
      '--relay-messages-per-second',
      '100000',
      '--relay-bytes-per-second',
      '100000000',
      '--expire-timeout',
      '3000',
    ]);
    const flooder = await online(server, 'flooder', '127.0.0.9');
    const sdp = 'x'.repeat(60 * 1024);
    for (let i = 0; i < 300; i++)
      flooder.send({ type: 'OFFER', dst: `ghost${i}`, payload: { sdp } });
    await eventually(
      async () =>
        (await metric(server, 'bu_signaling_rejected_inputs_total{reason="queue-share"}')) > 200,
    );
    expect(await metric(server, 'bu_signaling_queued_bytes')).toBeLessThanOrEqual(1024 * 1024);
    const polite = await online(server, 'polite', '127.0.0.10');
    const before = await metric(server, 'bu_signaling_queued_messages');
    polite.send({ type: 'OFFER', dst: 'later', payload: { sdp: 'y'.repeat(3000) } });
    await eventually(
      async () => (await metric(server, 'bu_signaling_queued_messages')) === before + 1,
    );
    const later = await online(server, 'later', '127.0.0.11');
    expect(await later.next()).toMatchObject({ type: 'OFFER', src: 'polite' });
    expect(polite.pending).toEqual([]);
  });

  it('keeps one sender from flooding a slow peer off the server', async () => {
    const server = await start();
    const slow = await online(server, 'slow', '127.0.0.2');
    const flooder = await online(server, 'flooder', '127.0.0.9');
    // The slow peer stops reading: everything sent to it piles up in the server.
    const raw = (slow.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    const candidate = 'c'.repeat(60 * 1024);
    for (let i = 0; i < 3000; i++) {
      flooder.send({ type: 'CANDIDATE', dst: 'slow', payload: { candidate } });
    }
    await eventually(
      async () =>
        (await metric(server, 'bu_signaling_rejected_inputs_total{reason="relay-rate"}')) > 2900,
    );
    expect(await flooder.next()).toMatchObject({
      type: 'ERROR',
      payload: { msg: REFUSAL_TEXT.relayRate },
    });
    // A warning when it goes over, not one per dropped message (a message passes again about
    // once a second here, and the next one over is warned again).
    await sleep(100);
    expect(flooder.pending.length).toBeLessThan(10);
    raw.resume();
    const first = await slow.next();
    expect(first).toMatchObject({ type: 'CANDIDATE', src: 'flooder' });
    // Still connected, still its id: a message from someone else reaches it.
    const friend = await online(server, 'friend', '127.0.0.3');
    friend.send({ type: 'OFFER', dst: 'slow', payload: { sdp: 'hello' } });
    for (;;) {
      const next = await slow.next();
      if (next.type === 'OFFER') {
        expect(next.src).toBe('friend');
        break;
      }
    }
    expect(slow.ws.readyState).toBe(slow.ws.OPEN);
  });
});
