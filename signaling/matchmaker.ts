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
 *
 * The pool and the ledger live in the store (store.ts MatchStore, shared across instances);
 * the choosing is match-policy.ts. What this class holds itself is per process: the polls and
 * matches waiting here, and the bound on how many there may be.
 */
import type {
  ConsumerMatchRequest,
  NatType,
  VolunteerMatch,
  VolunteerPollRequest,
} from '../protocol/matchmaking.ts';
import { HttpError } from './errors.ts';
import {
  believedNat,
  holdOf,
  MatchPolicy,
  type Consumer,
  type PolicyOptions,
} from './match-policy.ts';
import type { VolunteerView } from './metrics.ts';
import type { MatchStore } from './store.ts';

export type { FairShares } from './match-policy.ts';

export interface Caller {
  readonly ip: string;
  /** The address group per-address shares are counted in (client-address.ts). */
  readonly group: string;
  readonly country: string;
}

export interface MatchmakerOptions extends PolicyOptions {
  readonly pollTimeoutMs: number;
  readonly matchTimeoutMs: number;
  readonly volunteerTimeoutMs: number;
  /** How long an introduction counts against the shares (what a volunteer waits). */
  readonly holdMs: number;
  /** Polls and matches held open at once by this process, over all callers. */
  readonly maxWaiting: number;
  /** Store work nobody waits for (a poll ending); its failure is reported, not thrown. */
  background(work: Promise<unknown>): void;
}

interface PendingPoll {
  readonly resolve: (match: VolunteerMatch | null) => void;
}

interface PendingMatch extends Consumer {
  readonly resolve: (volunteers: readonly string[] | null) => void;
}

/** How long a pair that failed to connect is not introduced again. */
const FAILED_PAIR_MS = 10_000;

/** `pool` absent means the public pool, which no private tag (64 hex digits) can equal. */
const PUBLIC_POOL = '';

export class Matchmaker {
  readonly #options: MatchmakerOptions;
  readonly #store: MatchStore;
  /** Volunteers' polls held open by this process, by id. */
  readonly #polls = new Map<string, PendingPoll>();
  /** Waiting consumers in arrival order: the first to come is the first served. */
  readonly #consumers = new Map<string, PendingMatch>();

  constructor(options: MatchmakerOptions, store: MatchStore) {
    this.#options = options;
    this.#store = store;
  }

  get waitingConsumers(): number {
    return this.#consumers.size;
  }

  get waitingVolunteers(): number {
    return this.#polls.size;
  }

  /** Introductions still counting against the shares. */
  outstanding(): Promise<number> {
    return this.#store.outstanding();
  }

  volunteers(): Promise<Iterable<VolunteerView>> {
    return this.#store.volunteers();
  }

  /** The NAT probe established `id`'s NAT type: it replaces whatever the peer says. */
  proven(id: string, nat: NatType): Promise<void> {
    return this.#store.prove(id, nat);
  }

  /**
   * A volunteer's long poll: resolves with a consumer, or `null` when the poll times out, is
   * replaced by a newer poll from the same id, or `signal` aborts (the caller went away).
   */
  async poll(
    request: VolunteerPollRequest,
    caller: Caller,
    signal: AbortSignal,
  ): Promise<VolunteerMatch | null> {
    const now = Date.now();
    const store = this.#store;
    // One open poll per id: the older one is answered now, so a client cannot pile them up.
    this.#polls.get(request.id)?.resolve(null);
    if (this.#waiting() >= this.#options.maxWaiting) {
      throw new HttpError(
        'rate-limited',
        'too many requests are waiting; poll again later',
        'too-many-waiting',
      );
    }
    await store.register({
      id: request.id,
      ip: caller.ip,
      group: caller.group,
      kind: request.kind,
      nat: believedNat(await store.provenNat(request.id), request.nat),
      country: caller.country,
      slots: Math.min(request.slots, this.#options.shares.volunteerSlots),
      pool: request.pool ?? PUBLIC_POOL,
      lastSeen: now,
    });
    const view = await store.view(now);
    const volunteer = view.volunteer(request.id);
    // Forgotten meanwhile (its id disconnected): nobody is left to answer.
    if (volunteer === undefined) return null;
    if (volunteer.slots > 0) {
      const policy = new MatchPolicy(view, this.#options);
      for (const consumer of this.#consumers.values()) {
        if (!policy.suits(volunteer, consumer) || policy.allowance(consumer) <= 0) continue;
        const caps = policy.caps(consumer, volunteer);
        if (!(await store.claim(holdOf(consumer, volunteer), caps, now, false))) continue;
        consumer.resolve([volunteer.id]);
        return { consumer: consumer.id, cc: consumer.country };
      }
    }
    return this.#openPoll(request.id, signal);
  }

  #openPoll(id: string, signal: AbortSignal): Promise<VolunteerMatch | null> {
    return new Promise((resolve) => {
      const finish = (match: VolunteerMatch | null): void => {
        if (this.#polls.get(id) !== poll) return;
        this.#polls.delete(id);
        this.#options.background(this.#store.setPolling(id, false, Date.now()));
        clearTimeout(timer);
        signal.removeEventListener('abort', abort);
        resolve(match);
      };
      const abort = (): void => finish(null);
      const poll: PendingPoll = { resolve: finish };
      this.#polls.get(id)?.resolve(null);
      this.#polls.set(id, poll);
      this.#options.background(this.#store.setPolling(id, true, Date.now()));
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
    const store = this.#store;
    const { holdMs, shares } = this.#options;
    this.#consumers.get(request.id)?.resolve(null);
    await store.reportFailed(
      request.id,
      request.failed ?? [],
      now,
      now + Math.min(FAILED_PAIR_MS, holdMs),
    );
    const consumer: Consumer = {
      id: request.id,
      ip: caller.ip,
      group: caller.group,
      country: caller.country,
      nat: believedNat(await store.provenNat(request.id), request.nat),
      pool: request.pool ?? PUBLIC_POOL,
      have: request.have === undefined ? undefined : new Set(request.have),
    };
    const view = await store.view(now);
    const policy = new MatchPolicy(view, this.#options);
    const allowance = policy.allowance(consumer);
    if (allowance <= 0) {
      const byId = view.holds('consumer', consumer.id) >= shares.perConsumer;
      throw new HttpError(
        'fair-share',
        byId
          ? `this id already holds ${shares.perConsumer} introductions; ` +
              `they expire ${holdMs / 1000} s after they were made`
          : `your address already holds its share of introductions; ` +
              `they expire ${holdMs / 1000} s after they were made`,
        byId ? 'share-per-consumer' : 'share-per-address',
      );
    }
    const introduced: string[] = [];
    for (const volunteer of policy.choose(consumer, Math.min(request.count, allowance))) {
      const caps = policy.caps(consumer, volunteer);
      // Another instance may have taken this poll since the pool was read: then skip it.
      if (!(await store.claim(holdOf(consumer, volunteer), caps, now, true))) continue;
      introduced.push(volunteer.id);
      this.#polls.get(volunteer.id)?.resolve({ consumer: consumer.id, cc: consumer.country });
    }
    if (introduced.length > 0) return introduced;
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
      this.#consumers.get(consumer.id)?.resolve(null);
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
  answered(volunteer: string, consumer: string): Promise<void> {
    return this.#store.answered(consumer, volunteer, Date.now());
  }

  /** The PeerJS id left: its volunteer entry, its introductions and any waiting request go. */
  forget(id: string): Promise<void> {
    this.#polls.get(id)?.resolve(null);
    this.#consumers.get(id)?.resolve(null);
    return this.#store.forget(id);
  }

  /** Drops volunteers that have neither an open poll nor polled since `deadline`. */
  sweep(deadline: number): Promise<void> {
    return this.#store.sweep(deadline, Date.now());
  }

  /** Answers everything waiting here (polls with no match, matches with none). */
  close(): void {
    for (const poll of this.#polls.values()) poll.resolve(null);
    for (const consumer of this.#consumers.values()) consumer.resolve(null);
  }

  #waiting(): number {
    return this.#polls.size + this.#consumers.size;
  }
}
