/**
 * Connected PeerJS ids. A peer's `link` is the socket currently speaking for the id; it is
 * swapped when the same id and token reconnect, and every removal names the link it expects,
 * so a stale socket closing late cannot evict the peer that replaced it.
 */
import { timingSafeEqual } from 'node:crypto';
import type { RelayBudget } from './relay-budget.ts';

/** What the registry needs of a socket; narrow so the relay logic is testable without one. */
export interface PeerLink {
  /** Sends one text message; false when it could not be sent (closed, or too far behind). */
  send(text: string): boolean;
  close(code: number, reason: string): void;
}

export interface Peer {
  readonly id: string;
  readonly token: string;
  readonly ip: string;
  /** The address group its ids are counted in (server-kit/client-address.ts). */
  readonly group: string;
  link: PeerLink;
  lastSeen: number;
  /** What it may still send to be relayed; made on its first relayed message. */
  budget?: RelayBudget;
}

export class PeerRegistry {
  readonly #peers = new Map<string, Peer>();
  readonly #perGroup = new Map<string, number>();
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

  /** True when `id` is connected with exactly `token`; compared in constant time. */
  authenticate(id: string, token: string): Peer | undefined {
    const peer = this.#peers.get(id);
    return peer !== undefined && sameToken(peer.token, token) ? peer : undefined;
  }

  /** Ids connected from `group` now. */
  inGroup(group: string): number {
    return this.#perGroup.get(group) ?? 0;
  }

  add(peer: Peer): void {
    this.#peers.set(peer.id, peer);
    this.#perGroup.set(peer.group, this.inGroup(peer.group) + 1);
  }

  /** Removes `id` if `link` still speaks for it; true when something was removed. */
  remove(id: string, link: PeerLink): boolean {
    const peer = this.#peers.get(id);
    if (peer === undefined || peer.link !== link) return false;
    this.#peers.delete(id);
    const left = this.inGroup(peer.group) - 1;
    if (left > 0) this.#perGroup.set(peer.group, left);
    else this.#perGroup.delete(peer.group);
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
