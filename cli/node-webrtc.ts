/**
 * WebRTC and WebSocket for Node: peerjs looks for `RTCPeerConnection` and `WebSocket` on
 * `globalThis` when it loads, and mesh/ loads it lazily, so `bu proxy` and `bu volunteer` call
 * this before they start a Consumer or Volunteer. node-datachannel (libdatachannel) provides
 * the W3C-style polyfill; `ws` provides the WebSocket (Node 20 has none built in).
 */
export async function installNodeWebrtc(): Promise<void> {
  const [polyfill, ws] = await Promise.all([import('node-datachannel/polyfill'), import('ws')]);
  Object.assign(globalThis, {
    RTCPeerConnection: polyfill.RTCPeerConnection,
    RTCSessionDescription: polyfill.RTCSessionDescription,
    RTCIceCandidate: polyfill.RTCIceCandidate,
    WebSocket: ws.WebSocket,
  });
}

/**
 * Lets the process end once the command is done. libdatachannel keeps native threads that
 * can outlive every JavaScript handle (and its `cleanup()` can stall while peer connections
 * are still closing), so after a grace period for pending writes the process exits with the
 * exit code already set. The timer is unref'd: when nothing else is alive, Node exits first.
 */
export function exitWhenIdle(graceMs = 1_000): void {
  setTimeout(() => process.exit(), graceMs).unref();
}
