/**
 * Loads the `peerjs` client lazily, so that a page or process that never shares or
 * proxies does not pay for it, and so that Node can install WebRTC globals first.
 * peerjs ships CommonJS for Node: a bundler exposes its exports as named exports,
 * Node's ESM loader as properties of `default`; both shapes are accepted.
 */
import type { Peer } from 'peerjs';

export type PeerClass = typeof Peer;

export async function loadPeer(): Promise<PeerClass> {
  const loaded: unknown = await import('peerjs');
  const found = peerOf(loaded) ?? peerOf(propertyOf(loaded, 'default'));
  if (found === undefined) throw new TypeError('peerjs: the module has no Peer export');
  return found;
}

function propertyOf(value: unknown, name: string): unknown {
  return (typeof value === 'object' || typeof value === 'function') && value !== null
    ? (Reflect.get(value, name) as unknown)
    : undefined;
}

function peerOf(module: unknown): PeerClass | undefined {
  const candidate = propertyOf(module, 'Peer');
  // A class is a function; the module is ours to trust once it has the export.
  return typeof candidate === 'function' ? (candidate as PeerClass) : undefined;
}
