/**
 * The consumer's egress policy (mesh/egress-choice.ts): spread over healthy egresses, set a
 * failed one aside with a growing backoff, never refuse when every egress failed, pinned means
 * only that one. Times are passed in, so nothing here waits.
 */
import { describe, expect, it } from 'vitest';
import { EgressChoice } from '../egress-choice.ts';
import { MeshError } from '../errors.ts';
import { base64urlToBytes } from '../../protocol/bytes.ts';
import type { EgressInfo } from '../../protocol/matchmaking.ts';

const KEY_A = 'pOCSkrZRwni5dyxWn1-puxPZBrRqtoyd-dwrRAn4ogk';
const KEY_B = 'Hw2mX8Yl6zvdQf7n0jeFgUSVaRkoSRZx6sC1Fv9nL0M';
const KEY_C = 'a1Jt8dwZx0QwqfX3m6PC9yVd2Kk7u5NbL4sR2eTqH1o';

const a: EgressInfo = { id: 'a', url: 'ws://127.0.0.1:8001/', publicKey: KEY_A };
const b: EgressInfo = { id: 'b', url: 'ws://127.0.0.1:8002/', publicKey: KEY_B };
const c: EgressInfo = { id: 'c', url: 'ws://127.0.0.1:8003/', publicKey: KEY_C };

/** Loads by egress id. */
function loads(byId: Record<string, number>): (egress: EgressInfo) => number {
  return (egress) => byId[egress.id] ?? 0;
}

describe('EgressChoice', () => {
  it('takes the egress with the fewest of our tunnels, ties at random', () => {
    const picks: string[] = [];
    for (const random of [0, 0.49, 0.5, 0.99]) {
      const choice = new EgressChoice({ random: () => random });
      choice.update([a, b, c]);
      expect(choice.pick(loads({ a: 1, b: 0, c: 2 })).id).toBe('b');
      picks.push(choice.pick(loads({ a: 1, b: 1, c: 0 })).id);
      const tie = choice.pick(loads({ a: 0, b: 0, c: 1 })).id;
      expect(tie).toBe(random < 0.5 ? 'a' : 'b');
    }
    expect(picks).toEqual(['c', 'c', 'c', 'c']);
  });

  it('sets a failed egress aside for 2 s, doubling up to 60 s, until a tunnel to it opens', () => {
    const choice = new EgressChoice({ random: () => 0 });
    choice.update([a, b]);
    const t = 1_000_000;
    choice.failed(a, t);
    expect(choice.isHealthy(a, t + 1_999)).toBe(false);
    expect(choice.pick(loads({ b: 5 }), t + 1_000).id).toBe('b');
    expect(choice.isHealthy(a, t + 2_000)).toBe(true);
    choice.failed(a, t + 2_000);
    expect(choice.isHealthy(a, t + 5_999)).toBe(false);
    expect(choice.isHealthy(a, t + 6_000)).toBe(true);
    for (let i = 0; i < 10; i++) choice.failed(a, t);
    expect(choice.isHealthy(a, t + 59_999)).toBe(false);
    expect(choice.isHealthy(a, t + 60_000)).toBe(true);
    expect(choice.hasFailed(a)).toBe(true);
    expect(choice.hasFailed(b)).toBe(false);
    choice.succeeded(a);
    expect(choice.hasFailed(a)).toBe(false);
    expect(choice.isHealthy(a, t)).toBe(true);
    choice.failed(a, t);
    expect(choice.isHealthy(a, t + 2_000)).toBe(true);
  });

  it('when every egress failed, takes the one whose time is up first rather than none', () => {
    const choice = new EgressChoice({ random: () => 0 });
    choice.update([a, b]);
    const t = 1_000_000;
    choice.failed(a, t);
    choice.failed(a, t);
    choice.failed(b, t + 100);
    expect(choice.pick(loads({}), t + 200).id).toBe('b');
  });

  it('forgets egresses that leave the list and what it knew of them', () => {
    const choice = new EgressChoice({ random: () => 0 });
    choice.update([a, b]);
    choice.failed(b, 0);
    choice.update([b, c]);
    expect(choice.isListed(a)).toBe(false);
    expect(choice.isListed(c)).toBe(true);
    expect(choice.pick(loads({}), 1).id).toBe('c');
    choice.update([c]);
    choice.update([b, c]);
    // b came back: its failure was forgotten with it.
    expect(choice.isHealthy(b, 1)).toBe(true);
    // The same id with another key is another egress.
    expect(choice.isListed({ ...b, publicKey: KEY_A })).toBe(false);
    choice.failed({ ...b, publicKey: KEY_A }, 1);
    expect(choice.isHealthy(b, 1)).toBe(true);
  });

  it('with a pinned key, only that egress, and a clear error while the list lacks it', () => {
    const choice = new EgressChoice({ pinnedKey: base64urlToBytes(KEY_B) });
    expect(() => choice.pick(loads({}))).toThrow('the egress list is empty');
    choice.update([a, c]);
    expect(() => choice.pick(loads({}))).toThrow(MeshError);
    expect(() => choice.assertUsable()).toThrow('the pinned egress key is not in the egress list');
    choice.update([a, b, c]);
    expect(choice.listed).toEqual([b]);
    choice.failed(b, 0);
    expect(choice.pick(loads({ b: 3 }), 1).id).toBe('b');
  });

  it('an empty list is ERR_UNKNOWN_EGRESS', () => {
    const choice = new EgressChoice();
    choice.update([]);
    try {
      choice.pick(loads({}));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(MeshError);
      expect((err as MeshError).code).toBe('ERR_UNKNOWN_EGRESS');
    }
  });
});
