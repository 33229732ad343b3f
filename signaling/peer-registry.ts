/**
 * The PeerJS ids connected to this process, with the socket speaking for each: the per-process
 * half of the peer table (the shared half, who holds which id, is the store's PeerDirectory).
 * A peer's `link` is swapped when the same id and token reconnect, and every removal names the
 * link it expects, so a stale socket closing late cannot evict the peer that replaced it.
 * Relaying to a peer connected here reads this table only: no store round trip.
 */
import { timingSafeEqual } from 'node:crypto';
import type { RelayBudget } from './relay-budget.ts';

/** What the registry needs of a socket; narrow so the relay logic is testable without one. */
export interface PeerLink {
  /** Sends one text message; false when it could not be sent (closed, or too far behind). */
  send(text: string): boolean;
  close(code: number, reason: string): void;
  /** Holds what `send` is given from now on, until `unhold` (while queued messages load). */
  hold?(): void;
  /** Stops holding and returns what was held, oldest first, for the caller to send. */
  unhold?(): string[];
}

export interface Peer {
  readonly id: string;
  readonly token: string;
  readonly ip: string;
  /** The address group its ids are counted in (server-kit/client-address.ts). */
  readonly group: string;
  link: PeerLink;
  lastSeen: number;
  /** Names the directory's claim on the id (store.ts ClaimResult): what releases it. */
  epoch: number;
  /** What it may still send to be relayed; made on its first relayed message. */
  budget?: RelayBudget;
}

export class PeerRegistry {
  readonly #peers = new Map<string, Peer>();
  readonly #onRemove: (peer: Peer) => void;

  constructor(onRemove: (peer: Peer) => void = () => undefined) {
    this.#onRemove = onRemove;
  }

  get size(): number {
    return this.#peers.size;
  }

  get(id: string): Peer | undefined {
    return this.#peers.get(id);
  }

  add(peer: Peer): void {
    this.#peers.set(peer.id, peer);
  }

  /** Removes `id` if `link` still speaks for it; true when something was removed. */
  remove(id: string, link: PeerLink): boolean {
    const peer = this.#peers.get(id);
    if (peer === undefined || peer.link !== link) return false;
    this.#peers.delete(id);
    this.#onRemove(peer);
    return true;
  }

  /** Peers silent since before `deadline` (a `Date.now()` value). */
  silentSince(deadline: number): Peer[] {
    return [...this.#peers.values()].filter((peer) => peer.lastSeen < deadline);
  }

  ids(): IterableIterator<string> {
    return this.#peers.keys();
  }

  peers(): IterableIterator<Peer> {
    return this.#peers.values();
  }
}

export function sameToken(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
