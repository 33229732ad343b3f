/**
 * The in-memory PeerDirectory (store.ts): the claims on PeerJS ids held by one instance, with
 * per-address-group counts for `--max-ids-per-address`. Every method changes the tables when
 * called, so claims are atomic by construction.
 */
import { sameToken } from './peer-registry.ts';
import type { ClaimLimits, ClaimResult, HeldClaim, PeerClaim, PeerDirectory } from './store.ts';

interface Entry {
  readonly claim: PeerClaim;
  epoch: number;
  /** When an instance last said the peer was alive. */
  refreshed: number;
}

export class MemoryPeerDirectory implements PeerDirectory {
  readonly #entries = new Map<string, Entry>();
  readonly #perGroup = new Map<string, number>();
  #epochs = 0;

  claim(claim: PeerClaim, limits: ClaimLimits): Promise<ClaimResult> {
    const entry = this.#entries.get(claim.id);
    const now = Date.now();
    if (entry !== undefined) {
      if (!sameToken(entry.claim.token, claim.token)) return Promise.resolve({ outcome: 'taken' });
      entry.epoch = ++this.#epochs;
      entry.refreshed = now;
      return Promise.resolve({ outcome: 'reconnected', epoch: entry.epoch });
    }
    const inGroup = this.#perGroup.get(claim.group) ?? 0;
    if (inGroup >= limits.perGroup) return Promise.resolve({ outcome: 'ids-per-address' });
    if (this.#entries.size >= limits.total) return Promise.resolve({ outcome: 'concurrent-limit' });
    const epoch = ++this.#epochs;
    this.#entries.set(claim.id, { claim, epoch, refreshed: now });
    this.#perGroup.set(claim.group, inGroup + 1);
    return Promise.resolve({ outcome: 'claimed', epoch });
  }

  authenticate(id: string, token: string): Promise<PeerClaim | undefined> {
    const entry = this.#entries.get(id);
    return Promise.resolve(
      entry !== undefined && sameToken(entry.claim.token, token) ? entry.claim : undefined,
    );
  }

  lookup(id: string): Promise<PeerClaim | undefined> {
    return Promise.resolve(this.#entries.get(id)?.claim);
  }

  release(id: string, epoch: number): Promise<boolean> {
    const entry = this.#entries.get(id);
    if (entry === undefined || entry.epoch !== epoch) return Promise.resolve(false);
    this.#entries.delete(id);
    const left = (this.#perGroup.get(entry.claim.group) ?? 0) - 1;
    if (left > 0) this.#perGroup.set(entry.claim.group, left);
    else this.#perGroup.delete(entry.claim.group);
    return Promise.resolve(true);
  }

  refresh(ids: readonly string[], now: number): Promise<void> {
    for (const id of ids) {
      const entry = this.#entries.get(id);
      if (entry !== undefined) entry.refreshed = Math.max(entry.refreshed, now);
    }
    return Promise.resolve();
  }

  silentSince(deadline: number): Promise<HeldClaim[]> {
    const silent: HeldClaim[] = [];
    for (const entry of this.#entries.values()) {
      if (entry.refreshed < deadline) silent.push({ ...entry.claim, epoch: entry.epoch });
    }
    return Promise.resolve(silent);
  }

  size(): Promise<number> {
    return Promise.resolve(this.#entries.size);
  }

  ids(): Promise<string[]> {
    return Promise.resolve([...this.#entries.keys()]);
  }
}
