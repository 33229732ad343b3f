/**
 * Joins a client's TCP socket to a tunnel stream (web streams), both ways, with backpressure:
 * the socket is paused while a write into the tunnel waits for the egress's credit, and the
 * tunnel is not read while the socket's buffer is full. An idle timeout covers both
 * directions. A stream that fails resets the socket, so the client sees an error, not a hang.
 */
import type { Socket } from 'node:net';
import type { TunnelStream } from '../mesh/tunnel-client.ts';

export interface BridgeOptions {
  /** Bytes the client sent after the proxy's handshake, to go first. */
  readonly first?: Uint8Array;
  /** No traffic either way for this long closes both sides. */
  readonly idleTimeoutMs: number;
  readonly onBytes?: (up: number, down: number) => void;
  /** The stream failed (after or before bytes came back). */
  readonly onError?: (error: unknown) => void;
  /**
   * When the stream fails before any byte came back, the text to answer with instead of a
   * reset (an HTTP error response for absolute-form requests); undefined resets.
   */
  readonly failureResponse?: (error: unknown) => string | undefined;
}

export type BridgeEnd = 'closed' | 'failed' | 'idle';

export function bridge(
  socket: Socket,
  stream: TunnelStream,
  options: BridgeOptions,
): Promise<BridgeEnd> {
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  let end: BridgeEnd | undefined;
  let downBytes = 0;
  let resolveEnded!: (end: BridgeEnd) => void;
  const ended = new Promise<BridgeEnd>((resolve) => (resolveEnded = resolve));

  const finish = (how: BridgeEnd): void => {
    if (end !== undefined) return;
    end = how;
    reader.cancel().catch(() => undefined);
    writer.abort().catch(() => undefined);
    if (how !== 'closed') socket.destroy();
  };
  socket.once('close', () => {
    finish('closed');
    resolveEnded(end ?? 'closed');
  });
  socket.on('error', () => finish('failed'));
  socket.setTimeout(options.idleTimeoutMs, () => finish('idle'));

  const up = (chunk: Uint8Array): void => {
    if (chunk.length === 0 || end !== undefined) return;
    socket.pause();
    writer.write(chunk).then(
      () => {
        options.onBytes?.(chunk.length, 0);
        if (end === undefined) socket.resume();
      },
      () => finish('failed'),
    );
  };
  if (options.first !== undefined) up(options.first);
  socket.on('data', (chunk: Buffer) =>
    up(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length)),
  );
  // The tunnel has no half-close: after the client's FIN the answer may still come, so keep
  // reading until the egress ends the stream or the idle timeout fires.

  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (end !== undefined) return;
        downBytes += value.length;
        options.onBytes?.(0, value.length);
        if (!socket.write(value)) {
          await new Promise<void>((resolve) => {
            const go = (): void => {
              socket.off('drain', go);
              socket.off('close', go);
              resolve();
            };
            socket.on('drain', go);
            socket.on('close', go);
          });
        }
      }
      if (end === undefined) socket.end();
    } catch (err) {
      if (end !== undefined) return;
      options.onError?.(err);
      const response = downBytes === 0 ? options.failureResponse?.(err) : undefined;
      if (response !== undefined) {
        end = 'failed';
        writer.abort().catch(() => undefined);
        socket.end(response);
        return;
      }
      finish('failed');
    }
  })();
  return ended;
}
