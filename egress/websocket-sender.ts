/**
 * Sends binary messages on a WebSocket while counting the bytes not yet handed to the kernel.
 * Above the high-water mark the connection is "congested" and every stream stops reading its
 * source, so a client that stops reading costs us at most that much plus the stream windows.
 */
import type { WebSocket } from 'ws';

export class WebSocketSender {
  readonly #ws: WebSocket;
  readonly #highWater: number;
  readonly #onDrain: () => void;
  #pending = 0;
  #congested = false;

  constructor(ws: WebSocket, highWaterBytes: number, onDrain: () => void) {
    this.#ws = ws;
    this.#highWater = highWaterBytes;
    this.#onDrain = onDrain;
  }

  get congested(): boolean {
    return this.#congested;
  }

  get pendingBytes(): number {
    return this.#pending;
  }

  send(bytes: Uint8Array): void {
    if (this.#ws.readyState !== this.#ws.OPEN) return;
    const length = bytes.length;
    this.#pending += length;
    if (this.#pending > this.#highWater) this.#congested = true;
    this.#ws.send(bytes, { binary: true }, () => {
      this.#pending -= length;
      // Hysteresis: resume at half the mark, so streams do not flap on every message.
      if (this.#congested && this.#pending <= this.#highWater / 2) {
        this.#congested = false;
        this.#onDrain();
      }
    });
  }
}
