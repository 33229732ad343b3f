/**
 * Notices a PeerJS data connection whose peer connection gives up before its data channel
 * opened. PeerJS says `close` only for a connection that was open, and not every failed
 * negotiation reaches it as `error`: with node-datachannel, a DTLS handshake that fails (see
 * docs/architecture.md, "The first tunnel") only moves the peer connection to `failed` or
 * `closed`, and the data connection would wait forever.
 */
import type { DataConnection } from 'peerjs';

/** Calls `failed` once if the connection's peer connection fails or closes before it opens. */
export function watchFailure(connection: DataConnection, failed: () => void): void {
  const pc = connection.peerConnection as RTCPeerConnection | null | undefined;
  if (pc === null || pc === undefined) return;
  const check = (): void => {
    if (connection.open) return pc.removeEventListener('connectionstatechange', check);
    if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
      pc.removeEventListener('connectionstatechange', check);
      failed();
    }
  };
  pc.addEventListener('connectionstatechange', check);
}

/**
 * Calls `ended` once when the connection's peer connection fails or closes after it opened,
 * e.g. the other side vanished and ICE consent ran out: Chromium then keeps its data channels
 * `open`, so without this a relay would hold its volunteer's slot for a consumer long gone.
 * Returns a function that stops watching.
 */
export function watchEnd(connection: DataConnection, ended: () => void): () => void {
  const pc = connection.peerConnection as RTCPeerConnection | null | undefined;
  if (pc === null || pc === undefined) return () => undefined;
  const check = (): void => {
    if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
      pc.removeEventListener('connectionstatechange', check);
      ended();
    }
  };
  pc.addEventListener('connectionstatechange', check);
  return () => pc.removeEventListener('connectionstatechange', check);
}
