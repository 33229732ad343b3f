/**
 * WebSocket pings: a connection whose peer vanished without a FIN would otherwise hold its
 * streams and sockets forever.
 */
import type { WebSocket } from 'ws';

/** Pings every `intervalMs`; terminates when a pong is missing. Returns the stop function. */
export function keepAlive(ws: WebSocket, intervalMs: number): () => void {
  let alive = true;
  ws.on('pong', () => {
    alive = true;
  });
  const timer = setInterval(() => {
    if (!alive) {
      ws.terminate();
      return;
    }
    alive = false;
    ws.ping();
  }, intervalMs);
  timer.unref();
  const stop = (): void => clearInterval(timer);
  ws.once('close', stop);
  return stop;
}
