/**
 * Outstanding matches: who was introduced to whom in the last `holdMs`. A volunteer keeps a
 * slot for every consumer it is told about until that consumer connects or the hold runs out,
 * so an introduction costs the network a slot whether or not the consumer ever shows up. The
 * ledger counts them per consumer id, per consumer address group, per volunteer id and per
 * volunteer address group, which is what the fair shares in the matchmaker are measured in.
 *
 * A hold ends when the volunteer answers the consumer's offer (the volunteer has stopped
 * waiting: the slot is now a connection or nothing), when the volunteer leaves, or after
 * `holdMs`. It does not end when its consumer disconnects: the volunteer still waits, and an
 * attacker could otherwise hand in a fresh id for every match. So a consumer that uses its
 * introductions holds almost none for long; one that only collects them runs into its share.
 */

export interface Hold {
  readonly consumer: string;
  readonly consumerGroup: string;
  readonly volunteer: string;
  readonly volunteerGroup: string;
}

interface Entry extends Hold {
  readonly until: number;
}

export type HoldSide = keyof Hold;

export class MatchLedger {
  readonly #holdMs: number;
  /** In insertion order, and every hold lasts `holdMs`: oldest expiry first. */
  readonly #entries = new Map<string, Entry>();
  /** Pairs the volunteer answered, until when they count as connected (insertion order). */
  readonly #paired = new Map<string, number>();
  readonly #counts: { readonly [S in HoldSide]: Map<string, number> } = {
    consumer: new Map(),
    consumerGroup: new Map(),
    volunteer: new Map(),
    volunteerGroup: new Map(),
  };

  constructor(holdMs: number) {
    this.#holdMs = holdMs;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Records an introduction; the same pair again only renews its hold. */
  add(hold: Hold, now: number): void {
    const key = pairKey(hold.consumer, hold.volunteer);
    const previous = this.#entries.get(key);
    if (previous !== undefined) this.#remove(key, previous);
    const entry: Entry = { ...hold, until: now + this.#holdMs };
    this.#entries.set(key, entry);
    for (const side of SIDES) bump(this.#counts[side], entry[side], 1);
  }

  /** Outstanding holds with `key` on `side` (call `expire` first). */
  count(side: HoldSide, key: string): number {
    return this.#counts[side].get(key) ?? 0;
  }

  /**
   * The volunteer answered the consumer: it is no longer holding a slot for it. The pair is
   * remembered for `holdMs` as connected, so that a consumer asking for more volunteers is
   * not introduced again to one it already has (the volunteer would hold a slot for a
   * connection that never comes).
   */
  release(consumer: string, volunteer: string, now: number): void {
    const key = pairKey(consumer, volunteer);
    const entry = this.#entries.get(key);
    if (entry !== undefined) this.#remove(key, entry);
    this.#paired.delete(key);
    this.#paired.set(key, now + this.#holdMs);
  }

  /** Whether the pair has an introduction outstanding (call `expire` first). */
  held(consumer: string, volunteer: string): boolean {
    return this.#entries.has(pairKey(consumer, volunteer));
  }

  /**
   * Whether the pair has an introduction outstanding, or was connected lately (unless the
   * consumer said whom it is connected to: then `have` decides instead).
   */
  has(consumer: string, volunteer: string, have?: ReadonlySet<string>): boolean {
    const key = pairKey(consumer, volunteer);
    if (this.#entries.has(key)) return true;
    return have === undefined ? this.#paired.has(key) : have.has(volunteer);
  }

  /** Drops holds that ran out by `now`. */
  expire(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (entry.until > now) break;
      this.#remove(key, entry);
    }
    for (const [key, until] of this.#paired) {
      if (until > now) break;
      this.#paired.delete(key);
    }
  }

  /** The volunteer left: nobody is waiting for its consumers any more. */
  forgetVolunteer(volunteer: string): void {
    for (const [key, entry] of this.#entries) {
      if (entry.volunteer === volunteer) this.#remove(key, entry);
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#paired.clear();
    for (const side of SIDES) this.#counts[side].clear();
  }

  #remove(key: string, entry: Entry): void {
    this.#entries.delete(key);
    for (const side of SIDES) bump(this.#counts[side], entry[side], -1);
  }
}

export const SIDES: readonly HoldSide[] = [
  'consumer',
  'consumerGroup',
  'volunteer',
  'volunteerGroup',
];

/** Ids are 1–64 characters without NUL, so the pair key is unambiguous. */
function pairKey(consumer: string, volunteer: string): string {
  return `${consumer}\0${volunteer}`;
}

function bump(counts: Map<string, number>, key: string, by: number): void {
  const next = (counts.get(key) ?? 0) + by;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}
