/**
 * The MatchStore part of the store contract (store-contract.ts): registration and polls, the
 * atomic claim that the fair shares rest on, holds that end or expire, failed pairs, forgetting
 * and sweeping. Times are passed in, so nothing here waits.
 */
import { describe, expect, it } from 'vitest';
import type { Hold } from '../match-ledger.ts';
import type { HoldCaps, SignalingStore, VolunteerClaim } from '../store.ts';

const HOLD_MS = 1000; // CONTRACT_SETTINGS.matchHoldMs
const T = 1_000_000;
const WIDE: HoldCaps = { consumer: 10, consumerGroup: 10, volunteer: 10, volunteerGroup: 10 };

const volunteer = (id: string, extra: Partial<VolunteerClaim> = {}): VolunteerClaim => ({
  id,
  ip: '192.0.2.1',
  group: `g-${id}`,
  kind: 'browser',
  nat: 'unknown',
  country: 'DE',
  slots: 2,
  pool: '',
  lastSeen: T,
  ...extra,
});

const hold = (
  consumer: string,
  volunteerId: string,
  volunteerGroup = `g-${volunteerId}`,
): Hold => ({
  consumer,
  consumerGroup: `g-${consumer}`,
  volunteer: volunteerId,
  volunteerGroup,
});

export function matchStoreContract(name: string, fresh: () => Promise<SignalingStore>): void {
  describe(`${name} store: matchmaking`, () => {
    it('registers volunteers, and tracks whether their poll is open', async () => {
      const { matches } = await fresh();
      await matches.register(volunteer('v'));
      let view = await matches.view(T);
      expect(view.volunteer('v')).toMatchObject({ slots: 2, polling: false, available: false });
      await matches.setPolling('v', true, T + 1);
      view = await matches.view(T + 1);
      expect(view.volunteer('v')).toMatchObject({ polling: true, available: true, lastSeen: T });
      await matches.register(volunteer('v', { slots: 0, lastSeen: T + 2 }));
      view = await matches.view(T + 2);
      expect(view.volunteer('v')).toMatchObject({ polling: true, available: false, slots: 0 });
      await matches.setPolling('v', false, T + 5);
      view = await matches.view(T + 5);
      expect(view.volunteer('v')).toMatchObject({ polling: false, lastSeen: T + 5 });
      expect([...view.volunteers()].map((v) => v.id)).toEqual(['v']);
      expect([...(await matches.volunteers())]).toHaveLength(1);
      await matches.setPolling('nobody', true, T);
      expect((await matches.view(T)).volunteer('nobody')).toBeUndefined();
    });

    it('hands one poll to one consumer only: no double booking', async () => {
      const { matches } = await fresh();
      await matches.register(volunteer('v'));
      expect(await matches.claim(hold('c1', 'v'), WIDE, T, true)).toBe(false);
      await matches.setPolling('v', true, T);
      expect(await matches.claim(hold('c1', 'v'), WIDE, T, true)).toBe(true);
      expect(await matches.claim(hold('c2', 'v'), WIDE, T, true)).toBe(false);
      const view = await matches.view(T);
      expect(view.volunteer('v')).toMatchObject({ polling: false, lastMatched: T });
      expect(view.holds('volunteer', 'v')).toBe(1);
      expect(await matches.outstanding()).toBe(1);
    });

    it('lets exactly one of racing claims take a poll', async () => {
      const { matches } = await fresh();
      await matches.register(volunteer('v'));
      await matches.setPolling('v', true, T);
      const results = await Promise.all(
        ['c1', 'c2', 'c3', 'c4'].map((c) => matches.claim(hold(c, 'v'), WIDE, T, true)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await matches.outstanding()).toBe(1);
    });

    it('refuses a claim over any cap, or for a pair already introduced', async () => {
      const { matches } = await fresh();
      await matches.register(volunteer('v'));
      await matches.register(volunteer('w', { group: 'g-v' }));
      const w = (consumer: string): Hold => hold(consumer, 'w', 'g-v');
      expect(await matches.claim(hold('c', 'v'), WIDE, T, false)).toBe(true);
      expect(await matches.claim(hold('c', 'v'), WIDE, T, false)).toBe(false);
      expect(await matches.claim(hold('d', 'v'), { ...WIDE, volunteer: 1 }, T, false)).toBe(false);
      expect(await matches.claim(w('c'), { ...WIDE, consumer: 1 }, T, false)).toBe(false);
      expect(await matches.claim(w('e'), { ...WIDE, volunteerGroup: 1 }, T, false)).toBe(false);
      expect(
        await matches.claim(
          { ...w('e'), consumerGroup: 'g-c' },
          { ...WIDE, consumerGroup: 1 },
          T,
          false,
        ),
      ).toBe(false);
      expect(await matches.claim(hold('unknown', 'nobody'), WIDE, T, false)).toBe(false);
      const view = await matches.view(T);
      expect(view.holds('consumer', 'c')).toBe(1);
      expect(view.holds('consumerGroup', 'g-c')).toBe(1);
      expect(view.holds('volunteerGroup', 'g-v')).toBe(1);
      expect(await matches.claim(w('e'), { ...WIDE, volunteerGroup: 2 }, T, false)).toBe(true);
      expect((await matches.view(T)).holds('volunteerGroup', 'g-v')).toBe(2);
    });

    it('ends a hold when the volunteer answers, and remembers the pair as connected', async () => {
      const { matches } = await fresh();
      await matches.register(volunteer('v'));
      await matches.claim(hold('c', 'v'), WIDE, T, false);
      expect((await matches.view(T)).introduced('c', 'v')).toBe(true);
      await matches.answered('c', 'v', T + 10);
      const view = await matches.view(T + 10);
      expect(view.holds('consumer', 'c')).toBe(0);
      expect(view.introduced('c', 'v')).toBe(true);
      expect(view.introduced('c', 'v', new Set())).toBe(false);
      expect(view.introduced('c', 'v', new Set(['v']))).toBe(true);
      expect((await matches.view(T + 10 + HOLD_MS)).introduced('c', 'v')).toBe(false);
    });

    it('lets holds run out after the hold time', async () => {
      const { matches } = await fresh();
      await matches.register(volunteer('v'));
      await matches.claim(hold('c', 'v'), { ...WIDE, volunteer: 1 }, T, false);
      expect((await matches.view(T + HOLD_MS - 1)).holds('volunteer', 'v')).toBe(1);
      expect(await matches.claim(hold('d', 'v'), { ...WIDE, volunteer: 1 }, T, false)).toBe(false);
      const later = await matches.view(T + HOLD_MS);
      expect(later.holds('volunteer', 'v')).toBe(0);
      expect(later.introduced('c', 'v')).toBe(false);
      expect(await matches.outstanding()).toBe(0);
      expect(
        await matches.claim(hold('d', 'v'), { ...WIDE, volunteer: 1 }, T + HOLD_MS, false),
      ).toBe(true);
    });

    it('keeps NAT findings, and applies them to a registered volunteer', async () => {
      const { matches } = await fresh();
      await matches.register(volunteer('v'));
      await matches.prove('v', 'restricted');
      await matches.prove('c', 'unrestricted');
      expect(await matches.provenNat('v')).toBe('restricted');
      expect(await matches.provenNat('c')).toBe('unrestricted');
      expect(await matches.provenNat('x')).toBeUndefined();
      expect((await matches.view(T)).volunteer('v')?.nat).toBe('restricted');
    });

    it('remembers failed pairs with registered volunteers until they run out', async () => {
      const { matches } = await fresh();
      await matches.register(volunteer('v'));
      await matches.reportFailed('c', ['v', 'nobody'], T, T + 100);
      let view = await matches.view(T);
      expect(view.failed('c', 'v')).toBe(true);
      expect(view.failed('c', 'nobody')).toBe(false);
      expect(view.failed('d', 'v')).toBe(false);
      await matches.reportFailed('d', [], T + 100, T + 200);
      view = await matches.view(T + 100);
      expect(view.failed('c', 'v')).toBe(false);
    });

    it('forgets an id with its holds and findings, and sweeps only volunteers not polling', async () => {
      const { matches } = await fresh();
      await matches.register(volunteer('v'));
      await matches.register(volunteer('w', { lastSeen: T }));
      await matches.register(volunteer('p', { lastSeen: T }));
      await matches.setPolling('p', true, T);
      await matches.prove('v', 'restricted');
      await matches.claim(hold('c', 'v'), WIDE, T, false);
      await matches.claim(hold('c', 'w'), WIDE, T, false);
      await matches.forget('v');
      let view = await matches.view(T);
      expect(view.volunteer('v')).toBeUndefined();
      expect(view.holds('volunteer', 'v')).toBe(0);
      expect(view.holds('consumer', 'c')).toBe(1);
      expect(await matches.provenNat('v')).toBeUndefined();
      await matches.sweep(T, T);
      expect((await matches.view(T)).volunteer('w')).toBeDefined();
      await matches.sweep(T + 1, T + 1);
      view = await matches.view(T + 1);
      expect(view.volunteer('w')).toBeUndefined();
      expect(view.holds('consumer', 'c')).toBe(0);
      expect(view.volunteer('p')).toBeDefined();
    });

    it('clears everything', async () => {
      const { matches } = await fresh();
      await matches.register(volunteer('v'));
      await matches.claim(hold('c', 'v'), WIDE, T, false);
      await matches.clear();
      expect([...(await matches.volunteers())]).toEqual([]);
      expect(await matches.outstanding()).toBe(0);
    });
  });
}
