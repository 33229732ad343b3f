/**
 * The censored user's runtime, the same in the /browse/ hub and in
 * `bu proxy`: asks the signaling server for volunteers, opens a tunnel to an
 * egress through each of them, and spreads streams over the healthy tunnels.
 * When a volunteer goes away its tunnel is replaced through another one;
 * streams that were on it fail with a clear error. Starting and stopping go
 * through the same lifecycle as the volunteer's (lifecycle.ts); each start is
 * a `ConsumerRun` (consumer-run.ts), which keeps the tunnels.
 */
import { base64urlToBytes } from '../protocol/bytes.ts';
import type { NatType } from '../protocol/matchmaking.ts';
import { ConsumerRun } from './consumer-run.ts';
import { EgressChoice } from './egress-choice.ts';
import { Emitter } from './emitter.ts';
import { MeshError } from './errors.ts';
import { Lifecycle, type PeerSessionOptions, type RuntimeState } from './lifecycle.ts';
import { SignalingClient } from './signaling-client.ts';
import type {
  HttpExchangeRequest,
  HttpExchangeResponse,
  TunnelClient,
  TunnelStream,
} from './tunnel-client.ts';
import type { TunnelWebSocket, TunnelWebSocketOptions } from './tunnel-websocket.ts';

export interface ConsumerStatus {
  /** Volunteers with an open tunnel. */
  readonly volunteers: number;
  /** The ids of the egresses open tunnels go to, comma-separated; undefined with none open. */
  readonly egress: string | undefined;
  readonly streams: number;
  /** The last problem, while no tunnel is open. */
  readonly problem: string | undefined;
}

export interface ConsumerEvents {
  /** off → starting → on → stopping → off; on means the PeerJS peer is open. */
  state: { state: RuntimeState };
  status: ConsumerStatus;
  /** A problem, coded by the step that failed (ERR_SIGNALING, ERR_PEERJS, ERR_TUNNEL_*, …). */
  error: { error: Error };
  /** A stop has fully quiesced: every tunnel, connection and timer is gone. */
  ready: Record<string, never>;
  /** What the server's NAT probe found for this consumer, before its first match. */
  nat: { nat: NatType };
}

export interface ConsumerOptions extends PeerSessionOptions {
  /** The signaling server's base URL, e.g. `http://127.0.0.1:8080/signal/`. */
  readonly signaling: string | URL;
  /** Volunteers to keep tunnels through (default 2). */
  readonly volunteers?: number;
  /** Pin the egress by its public key (base64url): only that egress is used. */
  readonly egressKey?: string;
  readonly pool?: string;
  readonly key?: string;
  /**
   * How long a new tunnel may take to open its data channel, and then again to finish the
   * handshake with the egress (15 s each).
   */
  readonly tunnelTimeoutMs?: number;
  /**
   * How long a volunteer's data channel may take to open before the consumer asks for another
   * volunteer in parallel (3 s); the first keeps trying until `tunnelTimeoutMs`. This bounds
   * the time to the first tunnel when one connection hangs (docs/architecture.md, "The first
   * tunnel").
   */
  readonly openTimeoutMs?: number;
  /** How often the egress list is read again from `v1/config` (60 s). */
  readonly configRefreshMs?: number;
}

export class Consumer extends Emitter<ConsumerEvents> {
  readonly #life: Lifecycle<ConsumerRun>;
  #nat: NatType = 'unknown';

  constructor(options: ConsumerOptions) {
    super();
    const signaling = new SignalingClient(
      options.signaling,
      options.key ? { key: options.key } : {},
    );
    const wanted = options.volunteers ?? 2;
    if (!Number.isInteger(wanted) || wanted < 1 || wanted > 8) {
      throw new RangeError(`volunteers: expected an integer in 1..8, got ${wanted}`);
    }
    const pinnedKey =
      options.egressKey === undefined ? undefined : base64urlToBytes(options.egressKey);
    if (pinnedKey !== undefined && pinnedKey.length !== 32) {
      throw new RangeError('egressKey: expected 32 bytes in base64url (43 characters)');
    }
    // One choice for the consumer's life: an egress that failed stays avoided across restarts.
    const egresses = new EgressChoice(pinnedKey === undefined ? {} : { pinnedKey });
    for (const [name, value] of [
      ['openTimeoutMs', options.openTimeoutMs],
      ['configRefreshMs', options.configRefreshMs],
      ['tunnelTimeoutMs', options.tunnelTimeoutMs],
    ] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
        throw new RangeError(`${name}: expected a positive integer of milliseconds, got ${value}`);
      }
    }
    this.#life = new Lifecycle({
      create: () =>
        new ConsumerRun(options, signaling, egresses, {
          report: (type, detail) => this.emit(type, detail),
        }),
      state: (state) => this.emit('state', { state }),
      error: (error) => this.emit('error', { error }),
      ready: () => this.emit('ready', {}),
    });
    this.on('nat', ({ nat }) => (this.#nat = nat));
  }

  get state(): RuntimeState {
    return this.#life.state;
  }

  get status(): ConsumerStatus {
    return (
      this.#life.session?.status ?? {
        volunteers: 0,
        egress: undefined,
        streams: 0,
        problem: undefined,
      }
    );
  }

  /** The NAT type this consumer reports: found by the server's probe, or as configured. */
  get nat(): NatType {
    return this.#nat;
  }

  /**
   * Connects to the signaling server and starts keeping tunnels open. Safe to call at any
   * time: calls while starting share one start; while stopping, it waits for the stop.
   * Rejects, after an `error` event, when the server's config cannot be read
   * (`ERR_SIGNALING`) or the PeerJS connection fails (`ERR_PEERJS`).
   */
  start(): Promise<void> {
    return this.#life.start();
  }

  /** Closes every tunnel and disconnects. Safe to call at any time. */
  stop(): Promise<void> {
    return this.#life.stop();
  }

  /** Opens a TCP stream to `host:port` through the least busy tunnel. */
  async connect(host: string, port: number, timeoutMs = 10_000): Promise<TunnelStream> {
    return (await this.#tunnel(timeoutMs)).openStream(host, port);
  }

  /** Performs `request` at the egress through the least busy tunnel. */
  async fetch(request: Request, timeoutMs = 10_000): Promise<Response> {
    return (await this.#tunnel(timeoutMs)).fetch(request);
  }

  /**
   * One HTTP exchange with heads as lists of pairs (see `TunnelClient.exchange`):
   * what the browser hub uses, since a page's Request hides `Cookie` and its
   * Response hides `Set-Cookie`.
   */
  async exchange(request: HttpExchangeRequest, timeoutMs = 10_000): Promise<HttpExchangeResponse> {
    return (await this.#tunnel(timeoutMs)).exchange(request);
  }

  /**
   * Opens a WebSocket connection at the egress through the least busy tunnel (see
   * `TunnelClient.openWebSocket`).
   */
  async openWebSocket(
    options: TunnelWebSocketOptions,
    timeoutMs = 10_000,
  ): Promise<TunnelWebSocket> {
    return (await this.#tunnel(timeoutMs)).openWebSocket(options);
  }

  #tunnel(timeoutMs: number): Promise<TunnelClient> {
    const run = this.#life.session;
    if (run === undefined) {
      return Promise.reject(
        new MeshError('ERR_NO_VOLUNTEERS', 'no volunteer is connected (the consumer is off)'),
      );
    }
    return run.tunnel(timeoutMs);
  }
}
