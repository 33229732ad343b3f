import type { ConnectionChange } from './volunteer-runtime.ts';

export interface Consumer {
  readonly peerKey: string;
  readonly country: string | null;
}

/**
 * Counts consumers, not data channels: a consumer with three channels open is one
 * connection now, and counts once in the total however often it reconnects.
 */
export class ConnectionTracker {
  readonly #channels = new Map<string, { country: string | null; open: number }>();
  readonly #seen = new Set<string>();

  /** Applies one change; returns "arrived"/"left" when a consumer came or went, else null. */
  apply(change: ConnectionChange): 'arrived' | 'left' | 'new' | null {
    const entry = this.#channels.get(change.peerKey);
    if (change.open) {
      if (entry) {
        entry.open++;
        if (entry.country === null && change.country !== null) entry.country = change.country;
        return null;
      }
      this.#channels.set(change.peerKey, { country: change.country, open: 1 });
      if (this.#seen.has(change.peerKey)) return 'arrived';
      this.#seen.add(change.peerKey);
      return 'new';
    }
    if (!entry) return null;
    entry.open--;
    if (entry.open > 0) return null;
    this.#channels.delete(change.peerKey);
    return 'left';
  }

  /** Consumers connected now. */
  get now(): number {
    return this.#channels.size;
  }

  /** Distinct consumers since this tracker was made. */
  get total(): number {
    return this.#seen.size;
  }

  get consumers(): Consumer[] {
    return [...this.#channels].map(([peerKey, { country }]) => ({ peerKey, country }));
  }

  /** Everyone left (the runtime stopped); the total stays. */
  closeAll(): void {
    this.#channels.clear();
  }
}
