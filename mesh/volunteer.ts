/**
 * The volunteer runtime, the same in a browser tab and in `bu volunteer`:
 * long-polls the signaling server for consumers, accepts PeerJS data
 * connections only from consumers it was matched with, and relays each one's
 * tunnel to the egress it names (see relay.ts).
 */
import type { NatType, VolunteerKind } from '../protocol/matchmaking.ts';
import {
  TUNNEL_REFUSAL_REASON_NAMES,
  type TunnelRefusalReason,
} from '../protocol/tunnel-refused.ts';
import { Emitter } from './emitter.ts';
import { Lifecycle, type PeerSessionOptions } from './lifecycle.ts';
import type { RelayEnd, RelaySocket } from './relay.ts';
import { SignalingClient } from './signaling-client.ts';
import { TokenBucket } from './token-bucket.ts';
import type { VolunteerContract, VolunteerState } from './volunteer-contract.ts';
import { VolunteerRun } from './volunteer-run.ts';

export type { VolunteerState };

export interface VolunteerEvents {
  state: { state: VolunteerState };
  /**
   * One per consumer: an opaque key (never the consumer's id), its country, open or closed;
   * a close says why its last relay ended.
   */
  connection: { peer: string; country: string; open: boolean; reason?: RelayEnd };
  /** Bytes per second relayed, both directions together, four times a second while on. */
  throughput: { bytesPerSecond: number };
  /** Totals since start, consumer → egress (`up`) and egress → consumer (`down`). */
  bytes: { up: number; down: number };
  /**
   * A data connection was refused with REFUSED (or closed, when it never opened), and why;
   * `counts` are the totals by reason since this Volunteer was made.
   */
  refused: { reason: TunnelRefusalReason; counts: Readonly<Record<TunnelRefusalReason, number>> };
  error: { error: Error };
  /** A stop has fully quiesced: every connection and timer is gone. */
  ready: Record<string, never>;
  /**
   * Where the signaling server places this volunteer, and whether that country is on its
   * censored list; a volunteer there does not share (it would draw attention to itself).
   */
  location: { country: string; censored: boolean };
  /**
   * The NAT type the signaling server's probe found for this volunteer before its first poll
   * (`unknown` when the server runs no probe, or discovery failed); see nat-discovery.ts.
   */
  nat: { nat: NatType };
}

export interface VolunteerOptions extends PeerSessionOptions {
  /** The signaling server's base URL, e.g. `http://127.0.0.1:8080/signal/`. */
  readonly signaling: string | URL;
  readonly kind: VolunteerKind;
  readonly slots?: number;
  /** Bytes per second for all relays together; 0 (the default) is unlimited. */
  readonly rate?: number;
  /**
   * Data connections (tunnels) one consumer may have through this volunteer at once, those
   * still opening included; more are refused with `too-many-tunnels`. Default 4: a consumer
   * keeps one tunnel per volunteer, and the rest is room for tunnels it has given up on that
   * this side has not seen close yet.
   */
  readonly maxTunnelsPerConsumer?: number;
  /** A private pool tag (64 hex digits); absent means the public pool. */
  readonly pool?: string;
  readonly key?: string;
  /** Opens the WebSocket to an egress; the global WebSocket by default. */
  readonly openSocket?: (url: string) => RelaySocket;
  /** How long a match waits for the consumer's connection. */
  readonly matchTimeoutMs?: number;
}

const MAX_SLOTS = 64;
const DEFAULT_MAX_TUNNELS_PER_CONSUMER = 4;
const MAX_TUNNELS_PER_CONSUMER = 64;

export class Volunteer extends Emitter<VolunteerEvents> implements VolunteerContract {
  readonly #signaling: SignalingClient;
  readonly #bucket: TokenBucket;
  #slots: number;
  #maxTunnelsPerConsumer: number;
  readonly #refusals = Object.fromEntries(
    TUNNEL_REFUSAL_REASON_NAMES.map((reason) => [reason, 0]),
  ) as Record<TunnelRefusalReason, number>;
  readonly #life: Lifecycle<VolunteerRun>;

  constructor(options: VolunteerOptions) {
    super();
    this.#signaling = new SignalingClient(
      options.signaling,
      options.key ? { key: options.key } : {},
    );
    this.#slots = checkSlots(options.slots ?? 5);
    this.#maxTunnelsPerConsumer = checkMaxTunnels(
      options.maxTunnelsPerConsumer ?? DEFAULT_MAX_TUNNELS_PER_CONSUMER,
    );
    this.#bucket = new TokenBucket(options.rate ?? 0);
    this.#life = new Lifecycle({
      create: () =>
        new VolunteerRun(options, this.#signaling, this.#bucket, {
          slots: () => this.#slots,
          maxTunnels: () => this.#maxTunnelsPerConsumer,
          report: (type, detail) => this.emit(type, detail),
          refused: (reason) => {
            this.#refusals[reason]++;
            this.emit('refused', { reason, counts: this.refusals });
          },
        }),
      state: (state) => this.emit('state', { state }),
      error: (error) => this.emit('error', { error }),
      ready: () => this.emit('ready', {}),
    });
  }

  get state(): VolunteerState {
    return this.#life.state;
  }

  /** Consumers served at once. Changing it while on takes effect at the next poll. */
  get slots(): number {
    return this.#slots;
  }

  set slots(slots: number) {
    this.#slots = checkSlots(slots);
  }

  /** The bandwidth limit in bytes per second (0: unlimited); changes apply at once. */
  get rate(): number {
    return this.#bucket.rate;
  }

  set rate(rate: number) {
    this.#bucket.rate = rate;
  }

  /**
   * Tunnels one consumer may have through this volunteer at once (1..64). A change applies to
   * the next data connection; tunnels already open are kept.
   */
  get maxTunnelsPerConsumer(): number {
    return this.#maxTunnelsPerConsumer;
  }

  set maxTunnelsPerConsumer(max: number) {
    this.#maxTunnelsPerConsumer = checkMaxTunnels(max);
  }

  /** Refused data connections by reason, since this Volunteer was made. */
  get refusals(): Readonly<Record<TunnelRefusalReason, number>> {
    return { ...this.#refusals };
  }

  /**
   * Starts sharing. Safe to call at any time: calls while starting share one start; while
   * stopping, it waits for the stop (see Lifecycle).
   */
  start(): Promise<void> {
    return this.#life.start();
  }

  /** Stops sharing and closes every connection. Safe to call at any time. */
  stop(): Promise<void> {
    return this.#life.stop();
  }
}

function checkMaxTunnels(max: number): number {
  if (!Number.isInteger(max) || max < 1 || max > MAX_TUNNELS_PER_CONSUMER) {
    throw new RangeError(
      `maxTunnelsPerConsumer: expected an integer in 1..${MAX_TUNNELS_PER_CONSUMER}, got ${max}`,
    );
  }
  return max;
}

function checkSlots(slots: number): number {
  if (!Number.isInteger(slots) || slots < 0 || slots > MAX_SLOTS) {
    throw new RangeError(`slots: expected an integer in 0..${MAX_SLOTS}, got ${slots}`);
  }
  return slots;
}
