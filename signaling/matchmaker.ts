/**
 * Matchmaking between consumers and volunteers.
 *
 * A volunteer long-polls, announcing its free slots, NAT type, kind and pool; a poll is
 * answered with at most one consumer, after which the volunteer polls again with its new slot
 * count. A consumer asks for up to N volunteers: it gets at once every suitable volunteer that
 * is polling right now (up to N), or, if there is none, the first one to start polling before
 * its wait runs out. Only volunteers with an open poll are ever matched, and each is checked to
 * still be connected, so nothing stale is handed out.
 *
 * Rules: free slots only; pools never mix; never the consumer's own address group (unless
 * allowed); never two peers that both say they are behind a restricted NAT (unless NAT is
 * ignored). What a peer says about itself is believed only where it cannot gain by lying: a
 * claim of `restricted` narrows whom it is matched with and is taken as said, a claim of
 * `unrestricted` is treated as `unknown` until the server has evidence for it, and claimed
 * slots are capped.
 *
 * Fair shares, measured in outstanding introductions (match-ledger.ts: made, and not yet
 * answered by the volunteer): a consumer id, a consumer address group, a volunteer id and a
 * volunteer address group may each hold only so many at once, so that no one address can
 * reserve every volunteer or be shown every consumer.
 * Among the suitable volunteers the least introduced come first, from distinct addresses
 * where possible, then the one with the most free slots, then the one matched longest ago.
 * A consumer is not introduced again to a volunteer it has an introduction with, or was
 * connected with in the last hold period: asking for more volunteers brings new ones.
 */
import type {
  ConsumerMatchRequest,
  NatType,
  VolunteerKind,
  VolunteerMatch,
  VolunteerPollRequest,
} from '../protocol/matchmaking.ts';
import { HttpError } from './errors.ts';
import { MatchLedger } from './match-ledger.ts';
import type { VolunteerView } from './metrics.ts';

export interface Caller {
  readonly ip: string;
  /** The address group per-address shares are counted in (client-address.ts). */
  readonly group: string;
  readonly country: string;
}

/** The fair-share limits, in outstanding introductions (see docs/signaling.md). */
export interface FairShares {
  /** Introductions one consumer id may hold. */
  readonly perConsumer: number;
  /** Most introductions one address group may hold, as consumer or as volunteer. */
  readonly perAddress: number;
  /**
   * An address group's share of its pool, in percent of what the pool's other addresses offer;
   * never less than one peer's allowance (`perConsumer`, or `volunteerSlots` for volunteers),
   * never more than `perAddress`.
   */
  readonly addressPercent: number;
  /** Slots a volunteer may claim, and introductions it may hold at once. */
  readonly volunteerSlots: number;
}

export interface MatchmakerOptions {
  readonly pollTimeoutMs: number;
  readonly matchTimeoutMs: number;
  readonly volunteerTimeoutMs: number;
  /** How long an introduction counts against the shares (what a volunteer waits). */
  readonly holdMs: number;
  readonly shares: FairShares;
  readonly allowSameIp: boolean;
  /** Skip the NAT rule (everything on one machine, as in `bu serve`). */
  readonly ignoreNat?: boolean;
  /** A TURN relay is configured: two `restricted` peers can connect through it. */
  readonly relay?: boolean;
  /** Polls and matches held open at once, over all callers. */
  readonly maxWaiting: number;
  /** Whether a PeerJS id is still connected; a volunteer that is not is never matched. */
  isOnline(id: string): boolean;
}

interface PendingPoll {
  readonly resolve: (match: VolunteerMatch | null) => void;
}

interface Volunteer extends VolunteerView {
  readonly id: string;
  ip: string;
  group: string;
  kind: VolunteerKind;
  nat: NatType;
  country: string;
  /** Free slots as claimed at the last poll, capped at `shares.volunteerSlots`. */
  slots: number;
  pool: string;
  lastSeen: number;
  lastMatched: number;
  poll: PendingPoll | undefined;
  readonly available: boolean;
}

interface Consumer {
  readonly id: string;
  readonly ip: string;
  readonly group: string;
  readonly country: string;
  readonly nat: NatType;
  readonly pool: string;
  /** The volunteers it says it is connected to (ConsumerMatchRequest.have). */
  readonly have: ReadonlySet<string> | undefined;
}

interface PendingMatch extends Consumer {
  readonly resolve: (volunteers: readonly string[] | null) => void;
}

/** Slots a pool's volunteers offer, in all and per address group. */
interface PoolCapacity {
  total: number;
  readonly byGroup: Map<string, number>;
}

/** How long a pair that failed to connect is not introduced again. */
const FAILED_PAIR_MS = 10_000;
/** Failed pairs remembered at most (the oldest are forgotten first). */
const MAX_FAILED_PAIRS = 100_000;

/** `pool` absent means the public pool, which no private tag (64 hex digits) can equal. */
const PUBLIC_POOL = '';

/**
 * How likely a pair is to connect, lower first: both proven and compatible; one side
 * unknown; both unknown, or two restricted peers that need the TURN relay.
 */
function pairRank(a: NatType, b: NatType): number {
  if (a === 'restricted' && b === 'restricted') return 2;
  return (a === 'unknown' ? 1 : 0) + (b === 'unknown' ? 1 : 0);
}

export class Matchmaker {
  readonly #options: MatchmakerOptions;
  readonly #volunteers = new Map<string, Volunteer>();
  /** Waiting consumers in arrival order: the first to come is the first served. */
  readonly #consumers = new Map<string, PendingMatch>();
  readonly #ledger: MatchLedger;
  /** NAT types the probe established (nat-probe.ts), by PeerJS id. */
  readonly #proven = new Map<string, NatType>();
  /** Pairs whose connection failed lately ("consumer volunteer" → until), not tried again. */
  readonly #failed = new Map<string, number>();
  /** Pool capacities, computed once per poll or match (see #groupCap). */
  readonly #capacity = new Map<string, PoolCapacity>();
  #polls = 0;

  constructor(options: MatchmakerOptions) {
    this.#options = options;
    this.#ledger = new MatchLedger(options.holdMs);
  }

  get waitingConsumers(): number {
    return this.#consumers.size;
  }

  get waitingVolunteers(): number {
    return this.#polls;
  }

  /** Introductions still counting against the shares. */
  get outstanding(): number {
    return this.#ledger.size;
  }

  volunteers(): IterableIterator<VolunteerView> {
    return this.#volunteers.values();
  }

  /** The NAT probe established `id`'s NAT type: it replaces whatever the peer says. */
  proven(id: string, nat: NatType): void {
    this.#proven.set(id, nat);
    const volunteer = this.#volunteers.get(id);
    if (volunteer !== undefined) volunteer.nat = nat;
  }

  /**
   * The NAT type the server goes by: the probe's finding; else a claim of `restricted`, which
   * only narrows whom the claimant is matched with; a claim of `unrestricted`, which would
   * open doors, counts as `unknown` until the probe has seen it.
   */
  #nat(id: string, claimed: NatType): NatType {
    return this.#proven.get(id) ?? (claimed === 'restricted' ? 'restricted' : 'unknown');
  }

  /**
   * A volunteer's long poll: resolves with a consumer, or `null` when the poll times out, is
   * replaced by a newer poll from the same id, or `signal` aborts (the caller went away).
   */
  poll(
    request: VolunteerPollRequest,
    caller: Caller,
    signal: AbortSignal,
  ): Promise<VolunteerMatch | null> {
    const now = Date.now();
    this.#ledger.expire(now);
    this.#capacity.clear();
    let volunteer = this.#volunteers.get(request.id);
    // One open poll per id: the older one is answered now, so a client cannot pile them up.
    volunteer?.poll?.resolve(null);
    if (this.#waiting() >= this.#options.maxWaiting) {
      throw new HttpError(
        'rate-limited',
        'too many requests are waiting; poll again later',
        'too-many-waiting',
      );
    }
    const claim = {
      ip: caller.ip,
      group: caller.group,
      kind: request.kind,
      nat: this.#nat(request.id, request.nat),
      country: caller.country,
      slots: Math.min(request.slots, this.#options.shares.volunteerSlots),
      pool: request.pool ?? PUBLIC_POOL,
      lastSeen: now,
    };
    if (volunteer === undefined) {
      volunteer = {
        id: request.id,
        ...claim,
        lastMatched: 0,
        poll: undefined,
        get available() {
          return this.poll !== undefined && this.slots > 0;
        },
      };
      this.#volunteers.set(request.id, volunteer);
    } else {
      Object.assign(volunteer, claim);
    }
    const entry = volunteer;
    if (entry.slots > 0) {
      for (const consumer of this.#consumers.values()) {
        if (!this.#suits(entry, consumer) || this.#allowance(consumer) <= 0) continue;
        this.#introduce(consumer, entry, now);
        consumer.resolve([entry.id]);
        return Promise.resolve({ consumer: consumer.id, cc: consumer.country });
      }
    }
    return new Promise((resolve) => {
      const finish = (match: VolunteerMatch | null): void => {
        if (entry.poll !== poll) return;
        entry.poll = undefined;
        entry.lastSeen = Date.now();
        this.#polls -= 1;
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
        resolve(match);
      };
      const abort = (): void => finish(null);
      const poll: PendingPoll = { resolve: finish };
      entry.poll = poll;
      this.#polls += 1;
      const timer = setTimeout(abort, this.#options.pollTimeoutMs);
      timer.unref();
      signal.addEventListener('abort', abort);
      if (signal.aborted) abort();
    });
  }

  /**
   * A consumer's request: resolves with 1 to `count` volunteer ids, or throws `HttpError`
   * `no-volunteers` when none came in time (or a newer request from the same id replaced it),
   * `fair-share` when the id or its address holds all the introductions it may.
   */
  async match(
    request: ConsumerMatchRequest,
    caller: Caller,
    signal: AbortSignal,
  ): Promise<readonly string[]> {
    const now = Date.now();
    this.#ledger.expire(now);
    this.#capacity.clear();
    this.#consumers.get(request.id)?.resolve(null);
    for (const [pair, until] of this.#failed) {
      if (until > now) break;
      this.#failed.delete(pair);
    }
    for (const volunteer of request.failed ?? []) {
      if (!this.#volunteers.has(volunteer)) continue;
      const pair = `${request.id} ${volunteer}`;
      this.#failed.delete(pair);
      this.#failed.set(pair, now + Math.min(FAILED_PAIR_MS, this.#options.holdMs));
      if (this.#failed.size > MAX_FAILED_PAIRS) {
        for (const oldest of this.#failed.keys()) {
          this.#failed.delete(oldest);
          break;
        }
      }
    }
    const consumer: Consumer = {
      id: request.id,
      ip: caller.ip,
      group: caller.group,
      country: caller.country,
      nat: this.#nat(request.id, request.nat),
      pool: request.pool ?? PUBLIC_POOL,
      have: request.have === undefined ? undefined : new Set(request.have),
    };
    const allowance = this.#allowance(consumer);
    if (allowance <= 0) {
      const byId = this.#ledger.count('consumer', consumer.id) >= this.#options.shares.perConsumer;
      throw new HttpError(
        'fair-share',
        byId
          ? `this id already holds ${this.#options.shares.perConsumer} introductions; ` +
              `they expire ${this.#options.holdMs / 1000} s after they were made`
          : `your address already holds its share of introductions; ` +
              `they expire ${this.#options.holdMs / 1000} s after they were made`,
        byId ? 'share-per-consumer' : 'share-per-address',
      );
    }
    const chosen = this.#choose(consumer, Math.min(request.count, allowance));
    if (chosen.length > 0) {
      for (const volunteer of chosen) {
        this.#introduce(consumer, volunteer, now);
        volunteer.poll?.resolve({ consumer: consumer.id, cc: consumer.country });
      }
      return chosen.map((volunteer) => volunteer.id);
    }
    if (this.#waiting() >= this.#options.maxWaiting) {
      throw new HttpError(
        'rate-limited',
        'too many requests are waiting; try again later',
        'too-many-waiting',
      );
    }
    const found = await new Promise<readonly string[] | null>((resolve) => {
      const finish = (volunteers: readonly string[] | null): void => {
        if (this.#consumers.get(consumer.id) !== pending) return;
        this.#consumers.delete(consumer.id);
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
        resolve(volunteers);
      };
      const abort = (): void => finish(null);
      const pending: PendingMatch = { ...consumer, resolve: finish };
      this.#consumers.set(consumer.id, pending);
      const timer = setTimeout(abort, this.#options.matchTimeoutMs);
      timer.unref();
      signal.addEventListener('abort', abort);
      if (signal.aborted) abort();
    });
    if (found === null) throw new HttpError('no-volunteers', 'no volunteer is available now');
    return found;
  }

  /** `volunteer` answered `consumer`'s offer: the introduction was used, its hold ends. */
  answered(volunteer: string, consumer: string): void {
    this.#ledger.release(consumer, volunteer, Date.now());
  }

  /** The PeerJS id left: its volunteer entry, its introductions and any waiting request go. */
  forget(id: string): void {
    const volunteer = this.#volunteers.get(id);
    if (volunteer !== undefined) {
      volunteer.poll?.resolve(null);
      this.#volunteers.delete(id);
      this.#ledger.forgetVolunteer(id);
    }
    this.#consumers.get(id)?.resolve(null);
    this.#proven.delete(id);
  }

  /** Drops volunteers that have neither an open poll nor polled since `deadline`. */
  sweep(deadline: number): void {
    this.#ledger.expire(Date.now());
    for (const [id, volunteer] of this.#volunteers) {
      if (volunteer.poll === undefined && volunteer.lastSeen < deadline) {
        this.#volunteers.delete(id);
        this.#ledger.forgetVolunteer(id);
      }
    }
  }

  /** Answers everything still waiting (polls with no match, matches with none). */
  close(): void {
    for (const volunteer of this.#volunteers.values()) volunteer.poll?.resolve(null);
    for (const consumer of this.#consumers.values()) consumer.resolve(null);
    this.#volunteers.clear();
    this.#ledger.clear();
    this.#proven.clear();
    this.#failed.clear();
  }

  #waiting(): number {
    return this.#polls + this.#consumers.size;
  }

  #introduce(consumer: Consumer, volunteer: Volunteer, now: number): void {
    volunteer.lastMatched = now;
    this.#ledger.add(
      {
        consumer: consumer.id,
        consumerGroup: consumer.group,
        volunteer: volunteer.id,
        volunteerGroup: volunteer.group,
      },
      now,
    );
  }

  /** Up to `count` polling volunteers for `consumer`, spread over addresses, least used first. */
  #choose(consumer: Consumer, count: number): Volunteer[] {
    const ledger = this.#ledger;
    const suitable = [...this.#volunteers.values()]
      .filter((volunteer) => volunteer.poll !== undefined && this.#suits(volunteer, consumer))
      .sort(
        (a, b) =>
          pairRank(a.nat, consumer.nat) - pairRank(b.nat, consumer.nat) ||
          ledger.count('volunteer', a.id) - ledger.count('volunteer', b.id) ||
          b.slots - a.slots ||
          a.lastMatched - b.lastMatched,
      );
    const chosen: Volunteer[] = [];
    const groups = new Set<string>();
    for (const volunteer of suitable) {
      if (chosen.length === count) break;
      if (groups.has(volunteer.group)) continue;
      groups.add(volunteer.group);
      chosen.push(volunteer);
    }
    // Several from one address only when there are not enough addresses; the group's share
    // still bounds how many it gets in all.
    for (const volunteer of suitable) {
      if (chosen.length === count) break;
      if (chosen.includes(volunteer)) continue;
      const inGroup = chosen.filter((other) => other.group === volunteer.group).length;
      if (
        ledger.count('volunteerGroup', volunteer.group) + inGroup >=
        this.#groupCap(volunteer.pool, volunteer.group, 'volunteer')
      ) {
        continue;
      }
      chosen.push(volunteer);
    }
    return chosen;
  }

  /** How many more introductions `consumer` may get now. */
  #allowance(consumer: Consumer): number {
    const { perConsumer } = this.#options.shares;
    return Math.min(
      perConsumer - this.#ledger.count('consumer', consumer.id),
      this.#groupCap(consumer.pool, consumer.group, 'consumer') -
        this.#ledger.count('consumerGroup', consumer.group),
    );
  }

  /**
   * The most introductions one address group may hold in `pool`: its percentage of the free
   * slots the pool's *other* addresses offer (as last claimed, each capped), so that neither
   * volunteers of one's own nor slots one already holds can raise one's share; at least one
   * peer's own allowance, at most `perAddress`.
   */
  #groupCap(pool: string, group: string, side: 'consumer' | 'volunteer'): number {
    const { perConsumer, perAddress, addressPercent, volunteerSlots } = this.#options.shares;
    const capacity = this.#poolCapacity(pool);
    const others = capacity.total - (capacity.byGroup.get(group) ?? 0);
    const floor = side === 'consumer' ? perConsumer : volunteerSlots;
    return Math.min(perAddress, Math.max(floor, Math.ceil((others * addressPercent) / 100)));
  }

  #poolCapacity(pool: string): PoolCapacity {
    let capacity = this.#capacity.get(pool);
    if (capacity !== undefined) return capacity;
    capacity = { total: 0, byGroup: new Map() };
    const { volunteerSlots } = this.#options.shares;
    for (const volunteer of this.#volunteers.values()) {
      if (volunteer.pool !== pool) continue;
      const slots = Math.min(volunteerSlots, volunteer.slots);
      capacity.total += slots;
      capacity.byGroup.set(volunteer.group, (capacity.byGroup.get(volunteer.group) ?? 0) + slots);
    }
    this.#capacity.set(pool, capacity);
    return capacity;
  }

  /** Whether `volunteer` may serve `consumer`; whether it is polling is the caller's check. */
  #suits(volunteer: Volunteer, consumer: Consumer): boolean {
    const ledger = this.#ledger;
    return (
      volunteer.slots > 0 &&
      volunteer.pool === consumer.pool &&
      volunteer.id !== consumer.id &&
      (this.#options.allowSameIp || volunteer.group !== consumer.group) &&
      (this.#options.ignoreNat === true ||
        this.#options.relay === true ||
        volunteer.nat !== 'restricted' ||
        consumer.nat !== 'restricted') &&
      !ledger.has(consumer.id, volunteer.id, consumer.have) &&
      !this.#failed.has(`${consumer.id} ${volunteer.id}`) &&
      ledger.count('volunteer', volunteer.id) < this.#options.shares.volunteerSlots &&
      ledger.count('volunteerGroup', volunteer.group) <
        this.#groupCap(volunteer.pool, volunteer.group, 'volunteer') &&
      this.#options.isOnline(volunteer.id)
    );
  }
}
