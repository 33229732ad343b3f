/**
 * Raw PeerJS clients over the `ws` package: just the wire protocol (connect with key, id and
 * token; wait for OPEN; send JSON), so the client side costs as little CPU as possible and the
 * server is what gets measured.
 */
import { randomUUID } from 'node:crypto';
import { WebSocket } from 'ws';

export interface RawPeer {
  readonly id: string;
  readonly token: string;
  readonly ws: WebSocket;
}

/** Opens one PeerJS socket and resolves once the server said OPEN. */
export function connectPeer(wsUrl: string, id: string = randomUUID()): Promise<RawPeer> {
  const token = randomUUID().slice(0, 12);
  const url = `${wsUrl}?key=peerjs&id=${encodeURIComponent(id)}&token=${token}&version=1.5.5`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const fail = (err: Error): void => reject(err);
    ws.once('error', fail);
    ws.once('close', (code) => reject(new Error(`closed before OPEN (${code})`)));
    ws.once('message', (data: Buffer) => {
      const text = data.toString();
      if (!text.includes('"OPEN"')) {
        reject(new Error(`expected OPEN, got ${text.slice(0, 200)}`));
        return;
      }
      ws.off('error', fail);
      ws.removeAllListeners('close');
      ws.on('error', () => undefined);
      resolve({ id, token, ws });
    });
  });
}

/** Opens `count` peers, `parallel` handshakes at a time (the listen backlog is finite). */
export async function connectPeers(
  wsUrl: string,
  count: number,
  parallel = 100,
): Promise<RawPeer[]> {
  const peers: RawPeer[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      peers.push(await connectPeer(wsUrl));
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return peers;
}

export async function closePeers(peers: readonly RawPeer[]): Promise<void> {
  await Promise.all(
    peers.map(
      (peer) =>
        new Promise<void>((resolve) => {
          if (peer.ws.readyState === WebSocket.CLOSED) {
            resolve();
            return;
          }
          const timer = setTimeout(() => {
            peer.ws.terminate();
            resolve();
          }, 2_000);
          peer.ws.once('close', () => {
            clearTimeout(timer);
            resolve();
          });
          peer.ws.close();
        }),
    ),
  );
}

export const HEARTBEAT_TEXT = '{"type":"HEARTBEAT"}';

/**
 * Sends HEARTBEAT from every peer every `intervalMs` (the peerjs client's 5 s), spread evenly
 * over the interval as real clients would be. Returns a function that stops them.
 */
export function heartbeats(peers: readonly RawPeer[], intervalMs = 5_000): () => void {
  const timers: NodeJS.Timeout[] = [];
  peers.forEach((peer, i) => {
    const start = setTimeout(
      () => {
        const send = (): void => {
          if (peer.ws.readyState === WebSocket.OPEN) peer.ws.send(HEARTBEAT_TEXT);
        };
        send();
        timers.push(setInterval(send, intervalMs));
      },
      Math.floor((i / peers.length) * intervalMs),
    );
    timers.push(start);
  });
  return () => timers.forEach((timer) => clearTimeout(timer));
}
