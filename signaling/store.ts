/**
 * The seam between the signaling server and the state it shares across instances. Everything a
 * second instance behind the same load balancer would need to see lives behind these
 * interfaces: who holds which PeerJS id, the messages waiting for offline ids, and the
 * matchmaking pool with its ledger of introductions. The in-memory implementations
 * (memory-store.ts) are the default; a networked store (Redis) implements the same interfaces.
 *
 * What stays per process and synchronous, outside the store: the live WebSocket of a peer
 * connected here (peer-registry.ts) and what is relayed to it, the long polls and waiting
 * matches this process holds open (matchmaker.ts), relay budgets, the per-address rate
 * limiters, timers, and the netstate page's consumer table.
 *
 * Every method that a remote store would answer over the network returns a Promise. Calls made
 * by one process must take effect in the order they were made (one connection, pipelined, does
 * that), and each method is atomic on its own: the doc comments say what must not interleave.
 * The in-memory implementations apply every change when called and return a settled promise,
 * so an instance alone behaves as if the state were its own.
 */
import type { NatType, VolunteerKind } from '../protocol/matchmaking.ts';
import type { SignalingSettings } from './config.ts';
import type { Hold, HoldSide } from './match-ledger.ts';
import type { VolunteerView } from './metrics.ts';
import type { QueuedMessage, EnqueueResult, ExpiredPair } from './message-queue.ts';

/** An id's claim as the directory keeps it: no socket, only what another instance may need. */
export interface PeerClaim {
  readonly id: string;
  readonly token: string;
  readonly ip: string;
  /** The address group its ids are counted in (server-kit/client-address.ts). */
  readonly group: string;
}

/** A claim with the epoch that names it, as a sweep finds it. */
export interface HeldClaim extends PeerClaim {
  readonly epoch: number;
}

/** Limits a claim of a new id is checked against, in the same atomic step. */
export interface ClaimLimits {
  /** Ids one address group may hold (`--max-ids-per-address`). */
  readonly perGroup: number;
  /** Ids held in all (`--concurrent-limit`). */
  readonly total: number;
}

export type ClaimRefusal = 'taken' | 'ids-per-address' | 'concurrent-limit';

export type ClaimResult =
  | {
      /** `claimed`: a new id; `reconnected`: the id was held with the same token. */
      readonly outcome: 'claimed' | 'reconnected';
      /** Names this claim: only a release with it can end the claim. */
      readonly epoch: number;
    }
  | { readonly outcome: ClaimRefusal };

/**
 * Which PeerJS ids are held, by which token, from which address.
 *
 * Atomicity: `claim` checks and takes in one step: two claims of one id with different tokens
 * never both succeed, and the per-group and total limits cannot be overrun by claims racing
 * each other. `release` ends a claim only if it is still the one named by `epoch`, so a stale
 * socket closing late (after its id reconnected, here or elsewhere) frees nothing.
 */
export interface PeerDirectory {
  /**
   * Takes `claim.id` for `claim.token`. An id held with another token is `taken`; with the same
   * token it is a reconnect and is never refused by the limits; a new id is refused when its
   * group holds `limits.perGroup` ids or `limits.total` are held.
   */
  claim(claim: PeerClaim, limits: ClaimLimits): Promise<ClaimResult>;
  /** The claim when `id` is held with exactly `token` (compared in constant time). */
  authenticate(id: string, token: string): Promise<PeerClaim | undefined>;
  /** The claim on `id`, if any: whether and from where the peer is connected. */
  lookup(id: string): Promise<PeerClaim | undefined>;
  /** Ends the claim on `id` if `epoch` still names it; true when something was released. */
  release(id: string, epoch: number): Promise<boolean>;
  /** The instance saw `ids` alive at `now` (one batched call per sweep, not per message). */
  refresh(ids: readonly string[], now: number): Promise<void>;
  /** Claims not refreshed since `deadline`: what an instance that died left behind. */
  silentSince(deadline: number): Promise<HeldClaim[]>;
  /** Ids held now. */
  size(): Promise<number>;
  ids(): Promise<string[]>;
}

/** Sizes of the offline queue, for the metrics. */
export interface QueueStats {
  readonly messages: number;
  readonly bytes: number;
}

/**
 * Messages waiting for offline ids (message-queue.ts says which limits and why).
 *
 * Atomicity: `push` checks every limit and appends in one step, so racing senders cannot
 * overrun a limit, and messages to one destination stay in the order they were pushed. `take`
 * removes and returns a destination's messages in one step: each message is delivered once,
 * and a push that lands after a take waits for the next one. `expire` drops a sender's
 * messages to a destination together with the one that ran out.
 */
export interface OfflineQueue {
  push(message: QueuedMessage): Promise<EnqueueResult>;
  /** Whether `src` has something queued for `dst`. */
  has(src: string, dst: string): Promise<boolean>;
  /** Removes and returns everything waiting for `dst`, oldest first. */
  take(dst: string): Promise<QueuedMessage[]>;
  /** Drops what has waited since before `deadline`; one pair per sender and destination. */
  expire(deadline: number): Promise<ExpiredPair[]>;
  /** Bytes queued by senders in `group`. */
  bytesFrom(group: string): Promise<number>;
  stats(): Promise<QueueStats>;
  clear(): Promise<void>;
}

/** What a volunteer says about itself at a poll, with the NAT type the server goes by. */
export interface VolunteerClaim {
  readonly id: string;
  readonly ip: string;
  readonly group: string;
  readonly kind: VolunteerKind;
  readonly nat: NatType;
  readonly country: string;
  /** Free slots, already capped at the fair-share maximum. */
  readonly slots: number;
  /** '' for the public pool, else the private tag. */
  readonly pool: string;
  readonly lastSeen: number;
}

/** A registered volunteer as the pool keeps it. */
export interface VolunteerRecord extends VolunteerClaim, VolunteerView {
  /** When it was last introduced to a consumer (0: never). */
  readonly lastMatched: number;
  /** It has a poll open (somewhere) that a consumer can be handed to. */
  readonly polling: boolean;
}

/** The most holds each side may have for a claim to be granted (the fair shares). */
export type HoldCaps = { readonly [S in HoldSide]: number };

/**
 * The pool as one poll or match sees it, read once and then consulted synchronously by the
 * choosing policy (match-policy.ts). A networked store may answer it from a snapshot.
 */
export interface PoolView {
  /** Registered volunteers, polling or not, in the order they first registered. */
  volunteers(): Iterable<VolunteerRecord>;
  volunteer(id: string): VolunteerRecord | undefined;
  /** Outstanding introductions with `key` on `side`. */
  holds(side: HoldSide, key: string): number;
  /**
   * Whether the pair has an introduction outstanding, or was connected lately (unless the
   * consumer said whom it is connected to: then `have` decides instead).
   */
  introduced(consumer: string, volunteer: string, have?: ReadonlySet<string>): boolean;
  /**
   * The consumer reported lately that it could not connect through the volunteer. Pairs past
   * their time are dropped by the next `reportFailed` (any consumer's), as they always were.
   */
  failed(consumer: string, volunteer: string): boolean;
}

/**
 * Matchmaking state: registered volunteers and their slots, NAT types the probe proved,
 * pairs that failed, and the ledger of outstanding introductions (match-ledger.ts).
 *
 * Atomicity: `claim` is the one write the fair shares rest on. It checks the caps and that
 * the pair is not already introduced, records the introduction, and (with `takePoll`)
 * requires the volunteer to be polling with a free slot and ends that poll, all in one step:
 * a volunteer's poll is never handed to two consumers (no double booking), and racing claims
 * never take a side past its cap. `forget` removes an id's entry and its introductions
 * together; `sweep` never drops a volunteer whose poll is open.
 */
export interface MatchStore {
  /** Drops introductions that ran out by `now`, then reads the pool. */
  view(now: number): Promise<PoolView>;
  /** The NAT type the probe established for `id`, if it did. */
  provenNat(id: string): Promise<NatType | undefined>;
  /** The probe established `id`'s NAT type; a registered volunteer's entry follows. */
  prove(id: string, nat: NatType): Promise<void>;
  /** A volunteer polled: registers it, or updates its entry (its poll state unchanged). */
  register(claim: VolunteerClaim): Promise<void>;
  /**
   * The volunteer's poll opened (true), or was answered or ended (false: it was last seen at
   * `now`). Nothing happens if it is not registered.
   */
  setPolling(id: string, polling: boolean, now: number): Promise<void>;
  /**
   * `consumer` could not connect through `volunteers` (those registered): not introduced again
   * until `until`. The store may bound how many pairs it keeps, forgetting the oldest first.
   */
  reportFailed(
    consumer: string,
    volunteers: readonly string[],
    now: number,
    until: number,
  ): Promise<void>;
  /** Records the introduction `hold` if it is within `caps` (see the interface); true if so. */
  claim(hold: Hold, caps: HoldCaps, now: number, takePoll: boolean): Promise<boolean>;
  /** The volunteer answered the consumer's offer: the introduction's hold ends. */
  answered(consumer: string, volunteer: string, now: number): Promise<void>;
  /** The id left: its volunteer entry, its introductions as volunteer and its NAT finding go. */
  forget(id: string): Promise<void>;
  /** Drops volunteers with no open poll that have not polled since `deadline`. */
  sweep(deadline: number, now: number): Promise<void>;
  /** Every registered volunteer, for the metrics and the netstate page. */
  volunteers(): Promise<Iterable<VolunteerView>>;
  /** Introductions outstanding. */
  outstanding(): Promise<number>;
  clear(): Promise<void>;
}

/** The settings a store is made with: the queue's limits and how long introductions count. */
export type StoreSettings = Pick<
  SignalingSettings,
  'maxQueuedPerDestination' | 'maxQueuedBytes' | 'maxQueuedBytesPerSender' | 'matchHoldMs'
>;

/** The shared state of one signaling deployment. */
export interface SignalingStore {
  readonly peers: PeerDirectory;
  readonly queue: OfflineQueue;
  readonly matches: MatchStore;
  /** The service is closing: ends the store's connections (the in-memory one drops its tables). */
  close(): Promise<void>;
}
