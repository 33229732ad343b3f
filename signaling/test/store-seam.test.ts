/**
 * The service over a store that answers late, as a networked one does: a socket's messages
 * still reach their destination in the order they were sent, what is relayed to a peer while
 * its queued messages are read comes after them, and what a client sends before its admission
 * completes is not lost. (With the in-memory store every answer is immediate, so only a slow
 * store can show these.)
 */
import { afterEach, describe, expect, it } from 'vitest';
import { CLOSE_CODES, REFUSAL_TEXT } from '../errors.ts';
import { createMemoryStore } from '../memory-store.ts';
import type { SignalingServer } from '../server.ts';
import type { OfflineQueue, PeerDirectory, SignalingStore, StoreSettings } from '../store.ts';
import { connect, eventually, RawPeer, sleep, startTestServer, wsUrl } from './helpers.ts';

interface Delays {
  /** Delay of the n-th push (0-based). */
  push?: (n: number) => number;
  take?: number;
  claim?: number;
}

interface SlowStore {
  readonly make: (settings: StoreSettings) => SignalingStore;
  readonly pushed: () => number;
}

function slowStore(delays: Delays): SlowStore {
  let pushes = 0;
  let pushed = 0;
  const make = (settings: StoreSettings): SignalingStore => {
    const inner = createMemoryStore(settings);
    const q = inner.queue;
    const queue: OfflineQueue = {
      push: async (message) => {
        await sleep(delays.push?.(pushes++) ?? 0);
        const result = await q.push(message);
        pushed += 1;
        return result;
      },
      take: async (dst) => {
        await sleep(delays.take ?? 0);
        return q.take(dst);
      },
      has: (src, dst) => q.has(src, dst),
      expire: (deadline) => q.expire(deadline),
      bytesFrom: (group) => q.bytesFrom(group),
      stats: () => q.stats(),
      clear: () => q.clear(),
    };
    const p = inner.peers;
    const peers: PeerDirectory = {
      claim: async (claim, limits) => {
        await sleep(delays.claim ?? 0);
        return p.claim(claim, limits);
      },
      authenticate: (id, token) => p.authenticate(id, token),
      lookup: (id) => p.lookup(id),
      release: (id, epoch) => p.release(id, epoch),
      refresh: (ids, now) => p.refresh(ids, now),
      silentSince: (deadline) => p.silentSince(deadline),
      size: () => p.size(),
      ids: () => p.ids(),
    };
    return { ...inner, queue, peers };
  };
  return { make, pushed: () => pushed };
}

const servers: SignalingServer[] = [];
const peers: RawPeer[] = [];

afterEach(async () => {
  for (const p of peers.splice(0)) p.ws.terminate();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(store: SlowStore): Promise<SignalingServer> {
  const server = await startTestServer({ store: store.make });
  servers.push(server);
  return server;
}

async function online(server: SignalingServer, id: string): Promise<RawPeer> {
  const peer = await connect(server, id);
  peers.push(peer);
  return peer;
}

const candidate = (dst: string, n: number) => ({
  type: 'CANDIDATE',
  dst,
  payload: { candidate: { candidate: `c${n}` } },
});

const order = (messages: readonly { payload?: Record<string, unknown> }[]): unknown[] =>
  messages.map((m) => (m.payload?.['candidate'] as { candidate?: unknown } | undefined)?.candidate);

describe('a slow store', () => {
  it('keeps a socket’s messages in the order they were sent', async () => {
    // Later pushes answer sooner: unless the socket waits for each, they would overtake.
    const store = slowStore({ push: (n) => Math.max(0, 60 - n * 20) });
    const server = await start(store);
    const alice = await online(server, 'alice');
    const bob = await online(server, 'bob');
    for (let n = 0; n < 4; n++) alice.send(candidate('xavier', n));
    alice.send(candidate('bob', 99));
    expect(order([await bob.next()])).toEqual(['c99']);
    expect(store.pushed()).toBe(4);
    const xavier = await online(server, 'xavier');
    const got = [
      await xavier.next(),
      await xavier.next(),
      await xavier.next(),
      await xavier.next(),
    ];
    expect(order(got)).toEqual(['c0', 'c1', 'c2', 'c3']);
    expect(got.every((m) => m.src === 'alice')).toBe(true);
  });

  it('delivers what was queued before what is relayed while the queue is read', async () => {
    const store = slowStore({ take: 150 });
    const server = await start(store);
    const alice = await online(server, 'alice');
    alice.send(candidate('xavier', 1));
    await eventually(() => store.pushed() === 1);
    const xavier = await online(server, 'xavier');
    alice.send(candidate('xavier', 2));
    expect(order([await xavier.next(), await xavier.next()])).toEqual(['c1', 'c2']);
  });

  it('keeps what a client sends before its admission completes', async () => {
    const store = slowStore({ claim: 100 });
    const server = await start(store);
    const bob = await online(server, 'bob');
    const alice = new RawPeer(wsUrl(server, { key: 'peerjs', id: 'alice', token: 't' }));
    peers.push(alice);
    await alice.opened();
    alice.send(candidate('bob', 7));
    expect((await alice.next()).type).toBe('OPEN');
    const got = await bob.next();
    expect([got.src, ...order([got])]).toEqual(['alice', 'c7']);
  });

  it('closes a socket that sends hundreds of messages while the store is busy', async () => {
    const store = slowStore({ claim: 300 });
    const server = await start(store);
    const alice = new RawPeer(wsUrl(server, { key: 'peerjs', id: 'alice', token: 't' }));
    peers.push(alice);
    await alice.opened();
    for (let n = 0; n < 300; n++) alice.send(candidate('bob', n));
    const refusal = await alice.next();
    expect(refusal).toMatchObject({ type: 'ERROR', payload: { msg: REFUSAL_TEXT.backlog } });
    expect((await alice.closed).code).toBe(CLOSE_CODES.policy);
  });
});
