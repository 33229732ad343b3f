/**
 * Which egress a consumer's next tunnel goes to, among those the signaling server lists (or
 * only the pinned one). The policy, in docs/architecture.md "Several egresses": an egress that
 * failed is set aside for a while (backoff doubling from 2 s to 60 s, reset by a tunnel that
 * opens); among the others, the one carrying the fewest of this consumer's tunnels, ties broken
 * at random. Spreading one consumer's tunnels over egresses means that when one egress dies the
 * consumer still has a tunnel through another, and many consumers spread their load. Latency is
 * not measured: through a volunteer, a handshake's time says more about the volunteer's path
 * than about the egress.
 */
import { base64urlToBytes, constantTimeEqual } from '../protocol/bytes.ts';
import type { EgressInfo } from '../protocol/matchmaking.ts';
import { MeshError } from './errors.ts';

export interface EgressChoiceOptions {
  /** Only the egress with this public key is ever chosen. */
  readonly pinnedKey?: Uint8Array;
  /** First and longest time an egress that failed is set aside (2 s, 60 s). */
  readonly backoffMs?: { readonly min: number; readonly max: number };
  /** In [0, 1); Math.random by default (tests pass their own). */
  readonly random?: () => number;
}

interface Health {
  /** Failures since the last tunnel that opened. */
  failures: number;
  /** Not chosen before this time (ms since the epoch) while another egress is available. */
  until: number;
}

const DEFAULT_BACKOFF = { min: 2_000, max: 60_000 };

/** One egress as the consumer knows it: its id with its key (a new key is a new egress). */
export function egressKey(egress: EgressInfo): string {
  return `${egress.id} ${egress.publicKey}`;
}

export class EgressChoice {
  readonly #pinned: Uint8Array | undefined;
  readonly #backoff: { readonly min: number; readonly max: number };
  readonly #random: () => number;
  #listed: readonly EgressInfo[] = [];
  /** Whether any list came yet, so that "empty" and "not known yet" read differently. */
  #known = false;
  readonly #health = new Map<string, Health>();

  constructor(options: EgressChoiceOptions = {}) {
    this.#pinned = options.pinnedKey;
    this.#backoff = options.backoffMs ?? DEFAULT_BACKOFF;
    this.#random = options.random ?? Math.random;
  }

  /** The egresses this consumer may use: the signaling server's list, or the pinned one in it. */
  get listed(): readonly EgressInfo[] {
    return this.#listed;
  }

  /**
   * Takes a new list from the signaling server (its config or a match answer). Health is kept
   * for egresses still listed and forgotten for the others.
   */
  update(egresses: readonly EgressInfo[]): void {
    const pinned = this.#pinned;
    this.#listed =
      pinned === undefined
        ? egresses
        : egresses.filter((e) => constantTimeEqual(base64urlToBytes(e.publicKey), pinned));
    this.#known = true;
    const keys = new Set(this.#listed.map(egressKey));
    for (const key of this.#health.keys()) if (!keys.has(key)) this.#health.delete(key);
  }

  isListed(egress: EgressInfo): boolean {
    const key = egressKey(egress);
    return this.#listed.some((e) => egressKey(e) === key);
  }

  /** Throws `ERR_UNKNOWN_EGRESS` when no egress may be used (an empty list, or no pinned one). */
  assertUsable(): void {
    if (this.#listed.length > 0) return;
    throw new MeshError(
      'ERR_UNKNOWN_EGRESS',
      this.#pinned !== undefined && this.#known
        ? 'the pinned egress key is not in the egress list'
        : 'the egress list is empty',
    );
  }

  /** Whether `egress` failed since it was listed or since a tunnel to it last opened. */
  hasFailed(egress: EgressInfo): boolean {
    return this.#health.has(egressKey(egress));
  }

  /** Whether `egress` may be chosen at `now`: it has not failed lately. */
  isHealthy(egress: EgressInfo, now = Date.now()): boolean {
    return (this.#health.get(egressKey(egress))?.until ?? 0) <= now;
  }

  /**
   * The egress for the next tunnel. `load` tells how many of this consumer's tunnels (open or
   * opening) go to an egress. When every egress is set aside, the one whose time is up first:
   * a tunnel to an egress that may be down beats no tunnel at all.
   */
  pick(load: (egress: EgressInfo) => number, now = Date.now()): EgressInfo {
    this.assertUsable();
    let candidates = this.#listed.filter((e) => this.isHealthy(e, now));
    if (candidates.length === 0) {
      const soonest = Math.min(...this.#listed.map((e) => this.#until(e)));
      candidates = this.#listed.filter((e) => this.#until(e) === soonest);
    }
    const loads = candidates.map(load);
    const least = Math.min(...loads);
    const lightest = candidates.filter((_, i) => loads[i] === least);
    const index = Math.min(lightest.length - 1, Math.floor(this.#random() * lightest.length));
    const chosen = lightest[index];
    if (chosen === undefined) throw new Error('unreachable: no egress among candidates');
    return chosen;
  }

  /** A tunnel to `egress` could not be opened, or died: set it aside, for longer each time. */
  failed(egress: EgressInfo, now = Date.now()): void {
    if (!this.isListed(egress)) return;
    const key = egressKey(egress);
    const health = this.#health.get(key) ?? { failures: 0, until: 0 };
    health.failures += 1;
    const wait = Math.min(this.#backoff.max, this.#backoff.min * 2 ** (health.failures - 1));
    health.until = now + wait;
    this.#health.set(key, health);
  }

  /** A tunnel to `egress` opened: it is healthy again. */
  succeeded(egress: EgressInfo): void {
    this.#health.delete(egressKey(egress));
  }

  #until(egress: EgressInfo): number {
    return this.#health.get(egressKey(egress))?.until ?? 0;
  }
}
