/**
 * One path a tunnel runs over — a data channel through one volunteer, or a WebSocket — and
 * whether it is still alive (docs/protocol.md §1.5, liveness probes). It carries sealed
 * messages without reading them and knows nothing of the session or its streams: what a
 * probe contains is the owner's business, and a dead path is reported, not acted on, so the
 * owner may end the tunnel (as now) or, later, carry the session on over another path.
 */
import { MeshError } from './errors.ts';

/** Where tunnel messages go; the owner feeds what arrives into `TunnelClient.receive`. */
export interface TunnelTransport {
  send(message: Uint8Array<ArrayBuffer>): void;
  close(): void;
}

export interface KeepaliveOptions {
  /** Silence from the far end after which a probe goes out. */
  readonly idleMs: number;
  /** How long a probe may go unanswered before the path counts as dead. */
  readonly timeoutMs: number;
}

/** What probing needs from the owner. */
export interface PathProber {
  /** The probe to send over this path: an ack-only frame, sealed by the session. */
  probe(): Uint8Array<ArrayBuffer>;
  /** The path is dead: a probe went unanswered, or sending one failed. */
  lost(error: MeshError): void;
}

export const DEFAULT_KEEPALIVE: KeepaliveOptions = { idleMs: 1_000, timeoutMs: 4_000 };

export class TunnelPath {
  readonly #transport: TunnelTransport;
  readonly #keepalive: KeepaliveOptions;
  #timer: ReturnType<typeof setInterval> | undefined;
  #lastReceivedAt = Date.now();
  /** When the unanswered probe was sent; undefined while none is outstanding. */
  #probeSentAt: number | undefined;

  constructor(transport: TunnelTransport, keepalive: KeepaliveOptions = DEFAULT_KEEPALIVE) {
    const { idleMs, timeoutMs } = keepalive;
    if (!(idleMs > 0) || !(timeoutMs > 0)) {
      throw new RangeError(`keepalive: expected positive idleMs and timeoutMs`);
    }
    this.#transport = transport;
    this.#keepalive = keepalive;
  }

  /**
   * False while a liveness probe has gone unanswered for longer than the idle
   * time: the path may be dead, so new streams should prefer another one.
   */
  get responsive(): boolean {
    return (
      this.#probeSentAt === undefined || Date.now() - this.#probeSentAt < this.#keepalive.idleMs
    );
  }

  /** Sends one message; throws what the transport throws. */
  send(message: Uint8Array<ArrayBuffer>): void {
    this.#transport.send(message);
  }

  /** Notes that a message arrived over this path: anything at all answers a probe. */
  heard(): void {
    this.#lastReceivedAt = Date.now();
    this.#probeSentAt = undefined;
  }

  /**
   * Starts probing. Checks often enough to notice silence within a fraction of `idleMs`. The
   * probe's age, not the silence, decides death, so a throttled timer (a background tab may
   * run it once a minute) cannot declare a healthy path dead.
   */
  startProbing(prober: PathProber): void {
    const { idleMs, timeoutMs } = this.#keepalive;
    const timer = setInterval(
      () => {
        const now = Date.now();
        if (this.#probeSentAt !== undefined) {
          if (now - this.#probeSentAt >= timeoutMs) {
            prober.lost(
              new MeshError(
                'ERR_TUNNEL_TIMEOUT',
                `the tunnel went silent: no answer to a probe within ${timeoutMs} ms`,
              ),
            );
          }
          return;
        }
        if (now - this.#lastReceivedAt >= idleMs) {
          this.#probeSentAt = now;
          try {
            this.#transport.send(prober.probe());
          } catch (err) {
            prober.lost(new MeshError('ERR_TUNNEL_CLOSED', 'the tunnel closed', { cause: err }));
          }
        }
      },
      Math.max(50, Math.min(idleMs, timeoutMs) / 4),
    );
    // Node: a tunnel's timer alone must not keep a process alive.
    (timer as { unref?: () => void }).unref?.();
    this.#timer = timer;
  }

  /** Stops probing; the transport stays as it is. */
  stopProbing(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Stops probing and closes the transport. */
  close(): void {
    this.stopProbing();
    this.#transport.close();
  }
}
