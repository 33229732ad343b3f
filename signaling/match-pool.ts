/**
 * The in-memory MatchStore (store.ts): registered volunteers, NAT types the probe proved,
 * pairs that failed lately, and the ledger of outstanding introductions (match-ledger.ts).
 * Every method changes the tables when called and returns a settled promise, so a claim is
 * checked and recorded in one step; `view` hands out the live tables, not a copy.
 */
import type { NatType, VolunteerKind } from '../protocol/matchmaking.ts';
import { MatchLedger, SIDES, type Hold } from './match-ledger.ts';
import type { VolunteerView } from './metrics.ts';
import type { HoldCaps, MatchStore, PoolView, VolunteerClaim, VolunteerRecord } from './store.ts';

/** Failed pairs remembered at most (the oldest are forgotten first). */
const MAX_FAILED_PAIRS = 100_000;

/**
 * A registered volunteer. A class, not an object literal with a getter: the choosing policy
 * reads these fields for every volunteer on every match, and one shape for all of them keeps
 * those reads fast (a literal with an accessor after a spread ran the matching burst at half
 * the speed).
 */
class Volunteer implements VolunteerRecord {
  readonly id: string;
  ip: string;
  group: string;
  kind: VolunteerKind;
  nat: NatType;
  country: string;
  slots: number;
  pool: string;
  lastSeen: number;
  lastMatched = 0;
  polling = false;

  constructor(claim: VolunteerClaim) {
    this.id = claim.id;
    this.ip = claim.ip;
    this.group = claim.group;
    this.kind = claim.kind;
    this.nat = claim.nat;
    this.country = claim.country;
    this.slots = claim.slots;
    this.pool = claim.pool;
    this.lastSeen = claim.lastSeen;
  }

  /** Takes a newer poll's claim (same id; the fields exist already, so the shape stays). */
  update(claim: VolunteerClaim): void {
    Object.assign(this, claim);
  }

  get available(): boolean {
    return this.polling && this.slots > 0;
  }
}

export class MemoryMatchStore implements MatchStore {
  readonly #volunteers = new Map<string, Volunteer>();
  readonly #ledger: MatchLedger;
  /** NAT types the probe established (nat-probe.ts), by PeerJS id. */
  readonly #proven = new Map<string, NatType>();
  /** Pairs whose connection failed lately ("consumer volunteer" → until), not tried again. */
  readonly #failed = new Map<string, number>();
  /** The live tables as the policy reads them. */
  readonly #view: PoolView = {
    volunteers: () => this.#volunteers.values(),
    volunteer: (id) => this.#volunteers.get(id),
    holds: (side, key) => this.#ledger.count(side, key),
    introduced: (consumer, volunteer, have) => this.#ledger.has(consumer, volunteer, have),
    failed: (consumer, volunteer) => this.#failed.has(`${consumer} ${volunteer}`),
  };

  /** `holdMs`: how long an introduction counts against the shares (what a volunteer waits). */
  constructor(holdMs: number) {
    this.#ledger = new MatchLedger(holdMs);
  }

  view(now: number): Promise<PoolView> {
    this.#ledger.expire(now);
    return Promise.resolve(this.#view);
  }

  provenNat(id: string): Promise<NatType | undefined> {
    return Promise.resolve(this.#proven.get(id));
  }

  prove(id: string, nat: NatType): Promise<void> {
    this.#proven.set(id, nat);
    const volunteer = this.#volunteers.get(id);
    if (volunteer !== undefined) volunteer.nat = nat;
    return Promise.resolve();
  }

  register(claim: VolunteerClaim): Promise<void> {
    const volunteer = this.#volunteers.get(claim.id);
    if (volunteer === undefined) this.#volunteers.set(claim.id, new Volunteer(claim));
    else volunteer.update(claim);
    return Promise.resolve();
  }

  setPolling(id: string, polling: boolean, now: number): Promise<void> {
    const volunteer = this.#volunteers.get(id);
    if (volunteer !== undefined) {
      volunteer.polling = polling;
      if (!polling) volunteer.lastSeen = now;
    }
    return Promise.resolve();
  }

  reportFailed(
    consumer: string,
    volunteers: readonly string[],
    now: number,
    until: number,
  ): Promise<void> {
    for (const [pair, end] of this.#failed) {
      if (end > now) break;
      this.#failed.delete(pair);
    }
    for (const volunteer of volunteers) {
      if (!this.#volunteers.has(volunteer)) continue;
      const pair = `${consumer} ${volunteer}`;
      // Re-inserted, so the map stays in expiry order (every entry lasts equally long).
      this.#failed.delete(pair);
      this.#failed.set(pair, until);
      if (this.#failed.size > MAX_FAILED_PAIRS) {
        for (const oldest of this.#failed.keys()) {
          this.#failed.delete(oldest);
          break;
        }
      }
    }
    return Promise.resolve();
  }

  claim(hold: Hold, caps: HoldCaps, now: number, takePoll: boolean): Promise<boolean> {
    const volunteer = this.#volunteers.get(hold.volunteer);
    const granted =
      volunteer !== undefined &&
      (!takePoll || (volunteer.polling && volunteer.slots > 0)) &&
      !this.#ledger.held(hold.consumer, hold.volunteer) &&
      SIDES.every((side) => this.#ledger.count(side, hold[side]) < caps[side]);
    if (granted) {
      this.#ledger.add(hold, now);
      volunteer.lastMatched = now;
      if (takePoll) volunteer.polling = false;
    }
    return Promise.resolve(granted);
  }

  answered(consumer: string, volunteer: string, now: number): Promise<void> {
    this.#ledger.release(consumer, volunteer, now);
    return Promise.resolve();
  }

  forget(id: string): Promise<void> {
    if (this.#volunteers.delete(id)) this.#ledger.forgetVolunteer(id);
    this.#proven.delete(id);
    return Promise.resolve();
  }

  sweep(deadline: number, now: number): Promise<void> {
    this.#ledger.expire(now);
    for (const [id, volunteer] of this.#volunteers) {
      if (!volunteer.polling && volunteer.lastSeen < deadline) {
        this.#volunteers.delete(id);
        this.#ledger.forgetVolunteer(id);
      }
    }
    return Promise.resolve();
  }

  volunteers(): Promise<Iterable<VolunteerView>> {
    return Promise.resolve(this.#volunteers.values());
  }

  outstanding(): Promise<number> {
    return Promise.resolve(this.#ledger.size);
  }

  clear(): Promise<void> {
    this.#volunteers.clear();
    this.#ledger.clear();
    this.#proven.clear();
    this.#failed.clear();
    return Promise.resolve();
  }
}
