/**
 * What every store (signaling/store.ts) must do, as a suite any implementation can run:
 * `storeContract('redis', (settings) => createRedisStore(url, settings))`. Each store is made
 * fresh for each test and closed after it. The races are started together with Promise.all,
 * which a networked store really interleaves; the in-memory store must meet them too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { QueuedMessage } from '../message-queue.ts';
import type { OfflineQueue, PeerClaim, SignalingStore, StoreSettings } from '../store.ts';
import { matchStoreContract } from './match-store-contract.ts';

export type MakeStore = (settings: StoreSettings) => SignalingStore | Promise<SignalingStore>;

/** Small limits, so that every one of them is reached. */
export const CONTRACT_SETTINGS: StoreSettings = {
  maxQueuedPerDestination: 3,
  maxQueuedBytes: 100,
  maxQueuedBytesPerSender: 40,
  matchHoldMs: 1000,
};

const LIMITS = { perGroup: 2, total: 4 };

const peer = (id: string, token = `tok-${id}`, group = `g-${id}`): PeerClaim => ({
  id,
  token,
  ip: '192.0.2.1',
  group,
});

/** A queued OFFER from `src` (in group `ip-src`) to `dst`, made at `at`, of `bytes` bytes. */
export const message = (src: string, dst: string, at: number, bytes = 10): QueuedMessage => ({
  type: 'OFFER',
  src,
  group: `ip-${src}`,
  dst,
  text: `${src}->${dst}@${at}`,
  bytes,
  at,
});

/** Pushes one 10-byte message per (src, dst, at), one after the other. */
async function pushAll(
  queue: OfflineQueue,
  ...messages: readonly (readonly [string, string, number])[]
): Promise<void> {
  for (const [src, dst, at] of messages) await queue.push(message(src, dst, at));
}

export function storeContract(name: string, make: MakeStore): void {
  const open: SignalingStore[] = [];
  const fresh = async (): Promise<SignalingStore> => {
    const store = await make(CONTRACT_SETTINGS);
    open.push(store);
    return store;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((store) => store.close()));
  });

  describe(`${name} store: peer directory`, () => {
    it('claims an id once: another token is refused, the same token reconnects', async () => {
      const { peers } = await fresh();
      const first = await peers.claim(peer('a'), LIMITS);
      expect(first.outcome).toBe('claimed');
      expect(await peers.claim(peer('a', 'other'), LIMITS)).toEqual({ outcome: 'taken' });
      const again = await peers.claim(peer('a'), LIMITS);
      expect(again.outcome).toBe('reconnected');
      expect('epoch' in again && 'epoch' in first && again.epoch !== first.epoch).toBe(true);
      expect(await peers.size()).toBe(1);
      expect(await peers.lookup('a')).toEqual(peer('a'));
      expect(await peers.lookup('b')).toBeUndefined();
    });

    it('authenticates only the exact token', async () => {
      const { peers } = await fresh();
      await peers.claim(peer('a', 'secret'), LIMITS);
      expect(await peers.authenticate('a', 'secret')).toEqual(peer('a', 'secret'));
      expect(await peers.authenticate('a', 'secreT')).toBeUndefined();
      expect(await peers.authenticate('a', 'secret2')).toBeUndefined();
      expect(await peers.authenticate('a', '')).toBeUndefined();
      expect(await peers.authenticate('b', 'secret')).toBeUndefined();
    });

    it('refuses new ids over the group and total limits, never a reconnect', async () => {
      const { peers } = await fresh();
      expect((await peers.claim(peer('a', 't', 'g'), LIMITS)).outcome).toBe('claimed');
      expect((await peers.claim(peer('b', 't', 'g'), LIMITS)).outcome).toBe('claimed');
      expect(await peers.claim(peer('c', 't', 'g'), LIMITS)).toEqual({
        outcome: 'ids-per-address',
      });
      expect((await peers.claim(peer('a', 't', 'g'), LIMITS)).outcome).toBe('reconnected');
      expect((await peers.claim(peer('d'), LIMITS)).outcome).toBe('claimed');
      expect((await peers.claim(peer('e'), LIMITS)).outcome).toBe('claimed');
      expect(await peers.claim(peer('f'), LIMITS)).toEqual({ outcome: 'concurrent-limit' });
      expect(await peers.lookup('c')).toBeUndefined();
      expect(await peers.lookup('f')).toBeUndefined();
      expect((await peers.ids()).sort()).toEqual(['a', 'b', 'd', 'e']);
    });

    it('lets racing claims of one id and of one group through only within the limits', async () => {
      const { peers } = await fresh();
      const one = await Promise.all(
        ['t1', 't2', 't3'].map((token) => peers.claim(peer('x', token), LIMITS)),
      );
      expect(one.filter((r) => r.outcome === 'claimed')).toHaveLength(1);
      expect(one.filter((r) => r.outcome === 'taken')).toHaveLength(2);
      const group = await Promise.all(
        ['p', 'q', 'r'].map((id) => peers.claim(peer(id, 't', 'shared'), LIMITS)),
      );
      expect(group.filter((r) => r.outcome === 'claimed')).toHaveLength(2);
      expect(group.filter((r) => r.outcome === 'ids-per-address')).toHaveLength(1);
    });

    it('releases a claim only with the epoch that names it, and frees its group place', async () => {
      const { peers } = await fresh();
      const first = await peers.claim(peer('a', 't', 'g'), LIMITS);
      const second = await peers.claim(peer('a', 't', 'g'), LIMITS);
      if (!('epoch' in first) || !('epoch' in second)) throw new Error('not claimed');
      expect(await peers.release('a', first.epoch)).toBe(false);
      expect(await peers.lookup('a')).toBeDefined();
      await peers.claim(peer('b', 't', 'g'), LIMITS);
      expect((await peers.claim(peer('c', 't', 'g'), LIMITS)).outcome).toBe('ids-per-address');
      expect(await peers.release('a', second.epoch)).toBe(true);
      expect(await peers.release('a', second.epoch)).toBe(false);
      expect(await peers.lookup('a')).toBeUndefined();
      expect((await peers.claim(peer('c', 't', 'g'), LIMITS)).outcome).toBe('claimed');
      expect(await peers.size()).toBe(2);
    });

    it('finds the claims nobody refreshed since a deadline', async () => {
      const { peers } = await fresh();
      await peers.claim(peer('a'), LIMITS);
      const b = await peers.claim(peer('b'), LIMITS);
      const later = Date.now() + 60_000;
      await peers.refresh(['a', 'unknown'], later);
      const silent = await peers.silentSince(later - 1);
      expect(silent).toEqual([{ ...peer('b'), epoch: 'epoch' in b ? b.epoch : -1 }]);
      expect(await peers.silentSince(Date.now() - 60_000)).toEqual([]);
    });
  });

  describe(`${name} store: offline queue`, () => {
    it('keeps order per destination, across senders, and hands each message out once', async () => {
      const { queue } = await fresh();
      await pushAll(queue, ['a', 'x', 1], ['b', 'x', 2], ['a', 'y', 3], ['a', 'x', 4]);
      expect(await queue.has('a', 'x')).toBe(true);
      expect(await queue.has('b', 'y')).toBe(false);
      expect((await queue.take('x')).map((m) => m.text)).toEqual(['a->x@1', 'b->x@2', 'a->x@4']);
      expect(await queue.take('x')).toEqual([]);
      expect(await queue.has('a', 'x')).toBe(false);
      expect(await queue.stats()).toEqual({ messages: 1, bytes: 10 });
    });

    it('refuses a message over the per-destination limit, and keeps racing pushes in order', async () => {
      const { queue } = await fresh();
      const results = await Promise.all(
        [1, 2, 3, 4, 5].map((at) => queue.push({ ...message('a', 'x', at, 1), group: `g${at}` })),
      );
      expect(results).toEqual([
        'queued',
        'queued',
        'queued',
        'destination-full',
        'destination-full',
      ]);
      expect((await queue.take('x')).map((m) => m.at)).toEqual([1, 2, 3]);
    });

    it('keeps each sender group within its share and everything within the total', async () => {
      const { queue } = await fresh();
      for (const dst of ['x', 'y', 'z'])
        expect(await queue.push(message('a', dst, 1))).toBe('queued');
      expect(await queue.push(message('a', 'w', 2, 11))).toBe('sender-full');
      expect(await queue.bytesFrom('ip-a')).toBe(30);
      expect(await queue.push(message('a', 'w', 2, 10))).toBe('queued');
      expect(await queue.push(message('b', 'w', 3, 40))).toBe('queued');
      expect(await queue.push(message('c', 'v', 4, 25))).toBe('total-full');
      expect(await queue.stats()).toEqual({ messages: 5, bytes: 80 });
      await queue.take('x');
      expect(await queue.bytesFrom('ip-a')).toBe(30);
      expect(await queue.push(message('c', 'v', 4, 20))).toBe('queued');
    });

    it('expires per sender and destination, with the rest of that sender’s messages there', async () => {
      const { queue } = await fresh();
      await pushAll(
        queue,
        ['a', 'x', 1],
        ['b', 'x', 5],
        ['a', 'x', 6],
        ['a', 'y', 2],
        ['c', 'z', 9],
      );
      const expired = await queue.expire(3);
      expect(expired).toHaveLength(2);
      expect(expired).toEqual(
        expect.arrayContaining([
          { src: 'a', dst: 'x' },
          { src: 'a', dst: 'y' },
        ]),
      );
      expect(await queue.expire(3)).toEqual([]);
      expect((await queue.take('x')).map((m) => m.src)).toEqual(['b']);
      expect(await queue.take('y')).toEqual([]);
      expect(await queue.bytesFrom('ip-a')).toBe(0);
      expect(await queue.stats()).toEqual({ messages: 1, bytes: 10 });
    });

    it('clears everything', async () => {
      const { queue } = await fresh();
      await queue.push(message('a', 'x', 1));
      await queue.clear();
      expect(await queue.stats()).toEqual({ messages: 0, bytes: 0 });
      expect(await queue.take('x')).toEqual([]);
    });
  });

  matchStoreContract(name, fresh);
}
