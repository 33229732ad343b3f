/**
 * The PeerJS server protocol, black box over real sockets, one block per behaviour of issue 3
 * (PeerJS compatibility 1–8), with raw `ws` clients.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SignalingServer } from '../server.ts';
import { RawPeer, connect, eventually, http, startTestServer, wsUrl } from './helpers.ts';

const servers: SignalingServer[] = [];
const peers: RawPeer[] = [];

async function start(
  options: Parameters<typeof startTestServer>[0] = {},
): Promise<SignalingServer> {
  const server = await startTestServer(options);
  servers.push(server);
  return server;
}

async function peer(server: SignalingServer, id: string, token?: string): Promise<RawPeer> {
  const p = await connect(server, id, token);
  peers.push(p);
  return p;
}

/** TCP connections the server still holds open (upgraded sockets included). */
function openConnections(server: SignalingServer): Promise<number> {
  return new Promise((resolve, reject) =>
    server.server.getConnections((err, count) => (err ? reject(err) : resolve(count))),
  );
}

function raw(server: SignalingServer, query: Record<string, string>, origin?: string): RawPeer {
  const p = new RawPeer(wsUrl(server, query), origin === undefined ? {} : { origin });
  peers.push(p);
  return p;
}

async function metric(server: SignalingServer, name: string): Promise<number> {
  const text = (await http(server, 'GET', 'metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

afterEach(async () => {
  for (const p of peers.splice(0)) p.ws.terminate();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const offer = (dst: string, n = 0) => ({ type: 'OFFER', dst, payload: { sdp: `sdp-${n}`, n } });

describe('1. HTTP routes', () => {
  it('describes itself at {path}', async () => {
    const server = await start();
    const reply = await http(server, 'GET', '');
    expect(reply.status).toBe(200);
    expect(reply.json()).toMatchObject({ peerjs: { path: '/', key: 'peerjs' } });
  });

  it('hands out fresh ids as plain text, and checks the key', async () => {
    const server = await start();
    const a = await http(server, 'GET', 'peerjs/id?ts=123&version=1.5.5');
    const b = await http(server, 'GET', 'peerjs/id');
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toMatch(/^text\/plain/);
    expect(a.text).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(a.text).not.toBe(b.text);
    const wrong = await http(server, 'GET', 'nope/id');
    expect(wrong.status).toBe(401);
    expect(wrong.json()).toMatchObject({ error: 'unauthorized' });
  });

  it('lists peers only when discovery is on', async () => {
    const closed = await start();
    expect((await http(closed, 'GET', 'peerjs/peers')).status).toBe(401);
    const open = await start({ allowDiscovery: true });
    await peer(open, 'alice');
    const list = await http(open, 'GET', 'peerjs/peers');
    expect(list.status).toBe(200);
    expect(list.json()).toEqual(['alice']);
    expect((await http(open, 'GET', 'other/peers')).status).toBe(401);
  });

  it('works under a custom path and key', async () => {
    const server = await start({ path: '/signal/', key: 'k1' });
    expect((await http(server, 'GET', 'k1/id')).status).toBe(200);
    const p = new RawPeer(wsUrl(server, { key: 'k1', id: 'x', token: 't' }));
    peers.push(p);
    expect((await p.next()).type).toBe('OPEN');
    expect(server.url).toMatch(/\/signal\/$/);
  });

  it('answers unknown routes, wrong methods and the bare socket path with JSON errors', async () => {
    const server = await start();
    expect((await http(server, 'GET', 'v1/nothing')).json()).toMatchObject({ error: 'not-found' });
    const wrong = await http(server, 'GET', 'v1/consumer/match');
    expect(wrong.status).toBe(405);
    expect(wrong.headers['allow']).toBe('POST');
    expect((await http(server, 'GET', 'peerjs')).status).toBe(400);
    expect((await http(server, 'GET', 'elsewhere/deep/path')).status).toBe(404);
  });
});

describe('2. WebSocket admission', () => {
  it.each([
    ['key', { id: 'a', token: 't' }],
    ['id', { key: 'peerjs', token: 't' }],
    ['token', { key: 'peerjs', id: 'a' }],
  ])('refuses a missing %s with ERROR, then closes', async (_missing, query) => {
    const server = await start();
    const p = raw(server, query);
    const message = await p.next();
    expect(message.type).toBe('ERROR');
    expect(message.payload?.['msg']).toMatch(/No id, token, or key/);
    expect((await p.closed).code).toBe(1008);
  });

  it('refuses a wrong key with ERROR', async () => {
    const server = await start();
    const p = raw(server, { key: 'wrong', id: 'a', token: 't' });
    expect(await p.next()).toMatchObject({
      type: 'ERROR',
      payload: { msg: 'Invalid key provided' },
    });
    await p.closed;
  });

  it('refuses ids outside the PeerJS pattern, and URL-decodes ids', async () => {
    const server = await start();
    for (const id of ['a!b', 'a  b', '-a', 'x'.repeat(65)]) {
      const p = raw(server, { key: 'peerjs', id, token: 't' });
      expect((await p.next()).type).toBe('ERROR');
      await p.closed;
    }
    const spaced = raw(server, { key: 'peerjs', id: 'ann lee', token: 't' });
    expect((await spaced.next()).type).toBe('OPEN');
    const bob = await peer(server, 'bob');
    bob.send(offer('ann lee'));
    expect(await spaced.next()).toMatchObject({ type: 'OFFER', src: 'bob', dst: 'ann lee' });
  });

  it('refuses a token with spaces or control characters', async () => {
    const server = await start();
    const p = raw(server, { key: 'peerjs', id: 'a', token: 'has space' });
    expect((await p.next()).type).toBe('ERROR');
  });
});

describe('3. ids: OPEN, ID-TAKEN, reconnect', () => {
  it('opens a new id, refuses it to another token, and all ten concurrent takeovers fail', async () => {
    const server = await start();
    const owner = await peer(server, 'alice', 'secret');
    const thieves = Array.from({ length: 10 }, (_, i) =>
      raw(server, { key: 'peerjs', id: 'alice', token: `other${i}` }),
    );
    const answers = await Promise.all(thieves.map((t) => t.next()));
    expect(answers.every((m) => m.type === 'ID-TAKEN')).toBe(true);
    await Promise.all(thieves.map((t) => t.closed));
    const bob = await peer(server, 'bob');
    bob.send(offer('alice'));
    expect(await owner.next()).toMatchObject({ type: 'OFFER', src: 'bob' });
  });

  it('accepts a reconnect with the same token: OPEN, the stale socket closed, messages follow', async () => {
    const server = await start();
    const first = await peer(server, 'alice', 'secret');
    const second = await peer(server, 'alice', 'secret');
    expect((await first.closed).code).toBe(1000);
    const bob = await peer(server, 'bob');
    bob.send(offer('alice', 1));
    expect(await second.next()).toMatchObject({ type: 'OFFER', src: 'bob', payload: { n: 1 } });
  });

  it('flushes what was queued for an id, in order, when it connects', async () => {
    const server = await start();
    const bob = await peer(server, 'bob');
    for (let n = 0; n < 5; n++)
      bob.send({ ...offer('alice', n), type: n === 0 ? 'OFFER' : 'CANDIDATE' });
    await eventually(async () => (await metric(server, 'bu_signaling_queued_messages')) === 5);
    const alice = await peer(server, 'alice');
    const got = [];
    for (let n = 0; n < 5; n++) got.push(await alice.next());
    expect(got.map((m) => m.payload?.['n'])).toEqual([0, 1, 2, 3, 4]);
    expect(got.map((m) => m.type)).toEqual([
      'OFFER',
      'CANDIDATE',
      'CANDIDATE',
      'CANDIDATE',
      'CANDIDATE',
    ]);
    expect(await metric(server, 'bu_signaling_queued_messages')).toBe(0);
  });
});

describe('4. relaying', () => {
  it.each(['OFFER', 'ANSWER', 'CANDIDATE', 'LEAVE', 'EXPIRE'])(
    'relays %s as {type, src, dst, payload} with src set by the server',
    async (type) => {
      const server = await start();
      const alice = await peer(server, 'alice');
      const bob = await peer(server, 'bob');
      alice.send({ type, src: 'mallory', dst: 'bob', payload: { x: [1, 'two', null] }, extra: 1 });
      const got = await bob.next();
      expect(got).toEqual({ type, src: 'alice', dst: 'bob', payload: { x: [1, 'two', null] } });
    },
  );

  it('ignores bad JSON, unknown types and invalid messages, counts them, and stays open', async () => {
    const server = await start();
    const alice = await peer(server, 'alice');
    const bob = await peer(server, 'bob');
    alice.send('{not json');
    alice.send({ type: 'HELLO', dst: 'bob', payload: {} });
    alice.send({ type: 'OPEN' });
    alice.send({ type: 'OFFER', dst: 'bob' });
    alice.send({ type: 'OFFER', dst: 'b!b', payload: {} });
    alice.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    alice.send(offer('bob', 7));
    expect(await bob.next()).toMatchObject({ type: 'OFFER', payload: { n: 7 } });
    expect(alice.ws.readyState).toBe(alice.ws.OPEN);
    const text = (await http(server, 'GET', 'metrics')).text;
    expect(text).toContain('bu_signaling_rejected_inputs_total{reason="bad-json"} 1');
    expect(text).toContain('bu_signaling_rejected_inputs_total{reason="unknown-type"} 2');
    expect(text).toContain('bu_signaling_rejected_inputs_total{reason="invalid-message"} 2');
    expect(text).toContain('bu_signaling_rejected_inputs_total{reason="binary-message"} 1');
    expect(text).toContain('bu_signaling_messages_relayed_total{type="OFFER"} 1');
  });
});

describe('5. queueing and expiry', () => {
  it('sends one EXPIRE per destination when queued messages are never delivered', async () => {
    const server = await start({ expireTimeoutMs: 30 });
    const alice = await peer(server, 'alice');
    alice.send(offer('ghost', 0));
    alice.send({ type: 'CANDIDATE', dst: 'ghost', payload: { n: 1 } });
    alice.send(offer('phantom', 2));
    const first = await alice.next();
    const second = await alice.next();
    expect([first, second].map((m) => m.type)).toEqual(['EXPIRE', 'EXPIRE']);
    expect([first.src, second.src].sort()).toEqual(['ghost', 'phantom']);
    expect(first.dst).toBe('alice');
    await eventually(async () => (await metric(server, 'bu_signaling_queued_messages')) === 0);
    // Nothing is left to deliver once expired.
    const ghost = await peer(server, 'ghost');
    alice.send(offer('ghost', 9));
    expect((await ghost.next()).payload?.['n']).toBe(9);
    expect(alice.pending).toEqual([]);
  });

  it('does not queue LEAVE or EXPIRE for an offline id', async () => {
    const server = await start();
    const alice = await peer(server, 'alice');
    alice.send({ type: 'LEAVE', dst: 'later' });
    alice.send({ type: 'EXPIRE', dst: 'later' });
    alice.send(offer('later', 1));
    await eventually(async () => (await metric(server, 'bu_signaling_queued_messages')) === 1);
    const later = await peer(server, 'later');
    expect(await later.next()).toMatchObject({ type: 'OFFER', payload: { n: 1 } });
  });

  it('bounds the queue per destination and tells the sender at once', async () => {
    const server = await start({ maxQueuedPerDestination: 2 });
    const alice = await peer(server, 'alice');
    const bob = await peer(server, 'bob');
    alice.send(offer('ghost', 0));
    alice.send(offer('ghost', 1));
    bob.send(offer('ghost', 2));
    expect(await bob.next()).toMatchObject({ type: 'EXPIRE', src: 'ghost', dst: 'bob' });
    expect(await metric(server, 'bu_signaling_queued_messages')).toBe(2);
  });

  it('bounds the bytes queued in total', async () => {
    const server = await start({ maxQueuedBytes: 200 });
    const alice = await peer(server, 'alice');
    alice.send({ ...offer('ghost'), payload: { sdp: 'x'.repeat(300) } });
    expect(await alice.next()).toMatchObject({ type: 'EXPIRE', src: 'ghost' });
  });
});

describe('6. liveness', () => {
  it('keeps a heartbeating peer and frees a silent one', async () => {
    const server = await start({ aliveTimeoutMs: 200, allowDiscovery: true });
    const talker = await peer(server, 'talker');
    const silent = await peer(server, 'silent');
    const beat = setInterval(() => talker.send({ type: 'HEARTBEAT' }), 20);
    try {
      expect((await silent.closed).code).toBe(1000);
      await eventually(
        async () =>
          !(await http(server, 'GET', 'peerjs/peers')).json<string[]>().includes('silent'),
      );
      const ids = (await http(server, 'GET', 'peerjs/peers')).json<string[]>();
      expect(ids).toEqual(['talker']);
      const thief = raw(server, { key: 'peerjs', id: 'talker', token: 'other' });
      expect((await thief.next()).type).toBe('ID-TAKEN');
      const again = await peer(server, 'silent', 'a-new-token');
      expect(again.ws.readyState).toBe(again.ws.OPEN);
    } finally {
      clearInterval(beat);
    }
  });

  it('frees an id when its socket closes, but a stale socket closing does not evict the live one', async () => {
    const server = await start({ allowDiscovery: true });
    const first = await peer(server, 'alice', 'secret');
    const second = await peer(server, 'alice', 'secret');
    await first.closed;
    // The server has seen the stale socket close once only the live one is left.
    await eventually(async () => (await openConnections(server)) === 1);
    expect((await http(server, 'GET', 'peerjs/peers')).json()).toEqual(['alice']);
    const bob = await peer(server, 'bob');
    bob.send(offer('alice'));
    expect((await second.next()).type).toBe('OFFER');
    await second.close();
    await eventually(
      async () => (await http(server, 'GET', 'peerjs/peers')).json<string[]>().length === 1,
    );
    expect(await connect(server, 'alice', 'someone-else')).toBeDefined();
  });
});

describe('7. limits', () => {
  it('enforces the concurrent limit and frees the slot on disconnect', async () => {
    const server = await start({ concurrentLimit: 2 });
    const a = await peer(server, 'a');
    await peer(server, 'b');
    const c = raw(server, { key: 'peerjs', id: 'c', token: 't' });
    expect(await c.next()).toMatchObject({
      type: 'ERROR',
      payload: { msg: 'Server has reached its concurrent user limit' },
    });
    await c.closed;
    await a.close();
    await eventually(async () => (await metric(server, 'bu_signaling_peers_connected')) === 1);
    expect(await peer(server, 'c')).toBeDefined();
  });

  it('answers a message over 64 KiB with ERROR and closes; a huge frame is cut off', async () => {
    const server = await start();
    const alice = await peer(server, 'alice');
    alice.send({ type: 'OFFER', dst: 'bob', payload: { sdp: 'x'.repeat(70_000) } });
    expect(await alice.next()).toMatchObject({
      type: 'ERROR',
      payload: { msg: 'Message too large' },
    });
    expect((await alice.closed).code).toBe(1009);
    const bob = await peer(server, 'bob');
    bob.send('x'.repeat(1_000_000));
    expect((await bob.closed).code).toBe(1009);
    expect((await http(server, 'GET', '')).status).toBe(200);
  });

  it('refuses a message that fits as sent but not once relayed, and relays nothing of it', async () => {
    const server = await start();
    const alice = await peer(server, 'alice');
    const bob = await peer(server, 'bob');
    // 10,000 × `5e20` is 50 KB as sent and over 210 KB as JSON.stringify prints it.
    const numbers = Array(10_000).fill('5e20').join(',');
    alice.send(`{"type":"OFFER","dst":"bob","payload":{"n":[${numbers}]}}`);
    expect(await alice.next()).toMatchObject({
      type: 'ERROR',
      payload: { msg: 'Message too large' },
    });
    expect((await alice.closed).code).toBe(1009);
    // bob stays connected and got nothing: the next thing he hears is a relay from carol.
    const carol = await peer(server, 'carol');
    carol.send({ type: 'OFFER', dst: 'bob', payload: { sdp: 'small' } });
    expect(await bob.next()).toMatchObject({ type: 'OFFER', src: 'carol' });
    expect(await metric(server, 'bu_signaling_rejected_inputs_total{reason="too-large"}')).toBe(1);
  });

  it('limits connections per address', async () => {
    const server = await start({ rateLimit: { burst: 3, perSecond: 1 } });
    const tries = Array.from({ length: 8 }, (_, i) =>
      raw(server, { key: 'peerjs', id: `p${i}`, token: 't' }),
    );
    const first = await Promise.all(tries.map((t) => t.next()));
    const refused = first.filter((m) => m.type === 'ERROR');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]?.payload?.['msg']).toMatch(/Too many connections/);
  });
});

describe('8. CORS', () => {
  it('echoes any origin by default', async () => {
    const server = await start();
    const reply = await http(server, 'GET', 'peerjs/id', undefined, {
      headers: { origin: 'https://anywhere.example' },
    });
    expect(reply.headers['access-control-allow-origin']).toBe('https://anywhere.example');
  });

  it('with an allow-list, only listed origins are served or get sockets', async () => {
    const server = await start({ cors: ['https://good.example'] });
    const good = await http(server, 'GET', 'peerjs/id', undefined, {
      headers: { origin: 'https://good.example' },
    });
    expect(good.status).toBe(200);
    expect(good.headers['access-control-allow-origin']).toBe('https://good.example');
    const config = await http(server, 'GET', 'v1/config', undefined, {
      headers: { origin: 'https://good.example' },
    });
    expect(config.status).toBe(200);
    // Another origin is refused before any route runs, with an answer its page can read.
    for (const [method, route] of [
      ['GET', 'peerjs/id'],
      ['GET', 'v1/config'],
      ['POST', 'v1/consumer/match'],
      ['OPTIONS', 'v1/consumer/match'],
    ] as const) {
      const bad = await http(server, method, route, method === 'POST' ? {} : undefined, {
        headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
      });
      expect(bad.status, `${method} ${route}`).toBe(403);
      expect(bad.json<{ error: string; message: string }>()).toEqual({
        error: 'origin-not-allowed',
        message: expect.stringContaining('--cors') as string,
      });
      expect(bad.headers['access-control-allow-origin']).toBe('https://evil.example');
      expect(bad.headers['access-control-allow-methods']).toBeUndefined();
    }
    expect(await metric(server, 'bu_signaling_rejected_inputs_total{reason="origin"}')).toBe(4);
    // Without Origin (not a page): served.
    expect((await http(server, 'GET', 'v1/config')).status).toBe(200);
    const preflight = await http(server, 'OPTIONS', 'v1/consumer/match', undefined, {
      headers: { origin: 'https://good.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers['access-control-allow-methods']).toContain('POST');
    const refused = raw(server, { key: 'peerjs', id: 'a', token: 't' }, 'https://evil.example');
    expect(await refused.next()).toMatchObject({
      type: 'ERROR',
      payload: { msg: 'Origin not allowed' },
    });
    const allowed = raw(server, { key: 'peerjs', id: 'b', token: 't' }, 'https://good.example');
    expect((await allowed.next()).type).toBe('OPEN');
  });
});
