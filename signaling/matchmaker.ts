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
 * Rules: free slots only; pools never mix; never the consumer's own address (unless allowed);
 * a consumer behind a restricted or unknown NAT only gets unrestricted volunteers, and an
 * unrestricted consumer gets restricted ones first, saving the scarce unrestricted volunteers
 * for those who need them (as Snowflake's broker does); then the least loaded (most free
 * slots), then the one matched longest ago.
 */
import type {
  ConsumerMatchRequest,
  NatType,
  VolunteerKind,
  VolunteerMatch,
  VolunteerPollRequest,
} from '../protocol/matchmaking.ts';
import { HttpError } from './errors.ts';
import type { VolunteerView } from './metrics.ts';

export interface Caller {
  readonly ip: string;
  readonly country: string;
}

export interface MatchmakerOptions {
  readonly pollTimeoutMs: number;
  readonly matchTimeoutMs: number;
  readonly volunteerTimeoutMs: number;
  readonly allowSameIp: boolean;
  /** Skip the NAT rule (everything on one machine, as in `bu serve`). */
  readonly ignoreNat?: boolean;
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
  kind: VolunteerKind;
  nat: NatType;
  country: string;
  slots: number;
  pool: string;
  lastSeen: number;
  lastMatched: number;
  poll: PendingPoll | undefined;
  readonly available: boolean;
}

interface PendingMatch {
  readonly id: string;
  readonly ip: string;
  readonly country: string;
  readonly nat: NatType;
  readonly pool: string;
  readonly resolve: (volunteers: readonly string[] | null) => void;
}

/** `pool` absent means the public pool, which no private tag (64 hex digits) can equal. */
const PUBLIC_POOL = '';

export class Matchmaker {
  readonly #options: MatchmakerOptions;
  readonly #volunteers = new Map<string, Volunteer>();
  /** Waiting consumers in arrival order: the first to come is the first served. */
  readonly #consumers = new Map<string, PendingMatch>();
  #polls = 0;

  constructor(options: MatchmakerOptions) {
    this.#options = options;
  }

  get waitingConsumers(): number {
    return this.#consumers.size;
  }

  get waitingVolunteers(): number {
    return this.#polls;
  }

  volunteers(): IterableIterator<VolunteerView> {
    return this.#volunteers.values();
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
    if (volunteer === undefined) {
      volunteer = {
        id: request.id,
        ip: caller.ip,
        kind: request.kind,
        nat: request.nat,
        country: caller.country,
        slots: request.slots,
        pool: request.pool ?? PUBLIC_POOL,
        lastSeen: now,
        lastMatched: 0,
        poll: undefined,
        get available() {
          return this.poll !== undefined && this.slots > 0;
        },
      };
      this.#volunteers.set(request.id, volunteer);
    } else {
      Object.assign(volunteer, {
        ip: caller.ip,
        kind: request.kind,
        nat: request.nat,
        country: caller.country,
        slots: request.slots,
        pool: request.pool ?? PUBLIC_POOL,
        lastSeen: now,
      });
    }
    const entry = volunteer;
    if (entry.slots > 0) {
      for (const consumer of this.#consumers.values()) {
        if (!this.#suits(entry, consumer)) continue;
        entry.lastMatched = now;
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
   * `no-volunteers` when none came in time (or a newer request from the same id replaced it).
   */
  async match(
    request: ConsumerMatchRequest,
    caller: Caller,
    signal: AbortSignal,
  ): Promise<readonly string[]> {
    this.#consumers.get(request.id)?.resolve(null);
    const consumer = {
      id: request.id,
      ip: caller.ip,
      country: caller.country,
      nat: request.nat,
      pool: request.pool ?? PUBLIC_POOL,
    };
    const now = Date.now();
    const chosen = [...this.#volunteers.values()]
      .filter((volunteer) => volunteer.poll !== undefined && this.#suits(volunteer, consumer))
      .sort((a, b) => compareFor(consumer.nat, a, b))
      .slice(0, request.count);
    if (chosen.length > 0) {
      for (const volunteer of chosen) {
        volunteer.lastMatched = now;
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

  /** The PeerJS id left: its volunteer entry and any waiting request go at once. */
  forget(id: string): void {
    const volunteer = this.#volunteers.get(id);
    if (volunteer !== undefined) {
      volunteer.poll?.resolve(null);
      this.#volunteers.delete(id);
    }
    this.#consumers.get(id)?.resolve(null);
  }

  /** Drops volunteers that have neither an open poll nor polled since `deadline`. */
  sweep(deadline: number): void {
    for (const [id, volunteer] of this.#volunteers) {
      if (volunteer.poll === undefined && volunteer.lastSeen < deadline) {
        this.#volunteers.delete(id);
      }
    }
  }

  /** Answers everything still waiting (polls with no match, matches with none). */
  close(): void {
    for (const volunteer of this.#volunteers.values()) volunteer.poll?.resolve(null);
    for (const consumer of this.#consumers.values()) consumer.resolve(null);
    this.#volunteers.clear();
  }

  #waiting(): number {
    return this.#polls + this.#consumers.size;
  }

  /** Whether `volunteer` may serve `consumer`; whether it is polling is the caller's check. */
  #suits(
    volunteer: Volunteer,
    consumer: Pick<PendingMatch, 'id' | 'ip' | 'nat' | 'pool'>,
  ): boolean {
    return (
      volunteer.slots > 0 &&
      volunteer.pool === consumer.pool &&
      volunteer.id !== consumer.id &&
      (this.#options.allowSameIp || volunteer.ip !== consumer.ip) &&
      (this.#options.ignoreNat === true ||
        consumer.nat === 'unrestricted' ||
        volunteer.nat === 'unrestricted') &&
      this.#options.isOnline(volunteer.id)
    );
  }
}

function compareFor(consumerNat: NatType, a: Volunteer, b: Volunteer): number {
  if (consumerNat === 'unrestricted') {
    const rank = (v: Volunteer): number => (v.nat === 'unrestricted' ? 1 : 0);
    if (rank(a) !== rank(b)) return rank(a) - rank(b);
  }
  if (a.slots !== b.slots) return b.slots - a.slots;
  return a.lastMatched - b.lastMatched;
}
