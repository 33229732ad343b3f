/**
 * Loads the `peerjs` client lazily, so that a page or process that never shares or
 * proxies does not pay for it, and so that Node can install WebRTC globals first.
 * peerjs ships CommonJS for Node: a bundler exposes its exports as named exports,
 * Node's ESM loader as properties of `default`; both shapes are accepted.
 */
import type { Peer, PeerOptions } from 'peerjs';
import { MeshError } from './errors.ts';

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

/**
 * Connects a PeerJS peer to the signaling server with our token (the secret that
 * ties our HTTP calls to it), waits until it is open, and keeps it reconnecting
 * until `signal` aborts. Failures are `ERR_PEERJS`.
 */
export async function openPeer(options: {
  readonly server: Omit<PeerOptions, 'token' | 'config' | 'debug'>;
  readonly token: string;
  readonly iceServers: RTCIceServer[];
  readonly signal: AbortSignal;
}): Promise<Peer> {
  const PeerClass = await loadPeer();
  const peer = new PeerClass({
    ...options.server,
    token: options.token,
    config: { iceServers: options.iceServers },
    debug: 0,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      peer.once('open', () => resolve());
      // PeerJS's own message is empty for some failures (a refused key: its log says why).
      peer.once('error', (err) => {
        const why = err.message ? `${err.type}: ${err.message}` : err.type;
        reject(new MeshError('ERR_PEERJS', `the PeerJS connection failed (${why})`));
      });
      options.signal.addEventListener('abort', () =>
        reject(new MeshError('ERR_PEERJS', 'stopped while starting')),
      );
    });
  } catch (err) {
    peer.destroy();
    throw err;
  }
  peer.on('disconnected', () => {
    if (!options.signal.aborted) peer.reconnect();
  });
  return peer;
}
