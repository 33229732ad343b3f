/**
 * The censored user's runtime, the same in the /browse/ hub and in
 * `bu proxy`: asks the signaling server for volunteers, opens a tunnel to an
 * egress through each of them, and spreads streams over the healthy tunnels.
 * When a volunteer goes away its tunnel is replaced through another one;
 * streams that were on it fail with a clear error.
 */
import type { DataConnection, Peer } from 'peerjs';
import { base64urlToBytes, constantTimeEqual } from '../protocol/bytes.ts';
import { MAX_HAVE, type EgressInfo, type NatType } from '../protocol/matchmaking.ts';
import { encodeHello } from '../protocol/tunnel-hello.ts';
import { Emitter } from './emitter.ts';
import { MeshError } from './errors.ts';
import { openPeer } from './peerjs-module.ts';
import { randomToken, SignalingClient } from './signaling-client.ts';
import {
  TunnelClient,
  type HttpExchangeRequest,
  type HttpExchangeResponse,
  type TunnelStream,
} from './tunnel-client.ts';
import type { TunnelWebSocket, TunnelWebSocketOptions } from './tunnel-websocket.ts';

export interface ConsumerStatus {
  /** Volunteers with an open tunnel. */
  readonly volunteers: number;
  /** The egress in use, once one is known. */
  readonly egress: string | undefined;
  readonly streams: number;
  /** The last problem, while no tunnel is open. */
  readonly problem: string | undefined;
}

export interface ConsumerEvents {
  status: ConsumerStatus;
  error: { error: Error };
}

export interface ConsumerOptions {
  /** The signaling server's base URL, e.g. `http://127.0.0.1:8080/signal/`. */
  readonly signaling: string | URL;
  /** Volunteers to keep tunnels through (default 2). */
  readonly volunteers?: number;
  /** Pin the egress by its public key (base64url): only that egress is used. */
  readonly egressKey?: string;
  readonly nat?: NatType;
  readonly pool?: string;
  /** Overrides the ICE servers from the signaling server's config (tests use `[]`). */
  readonly iceServers?: RTCIceServer[];
  readonly key?: string;
  /** How long a new tunnel may take from PeerJS connect to the end of the handshake. */
  readonly tunnelTimeoutMs?: number;
}

const RETRY_MS = [500, 1_000, 2_000, 5_000, 10_000];

interface Tunnel {
  readonly volunteer: string;
  readonly client: TunnelClient;
  readonly connection: DataConnection;
}

export class Consumer extends Emitter<ConsumerEvents> {
  readonly #options: ConsumerOptions;
  readonly #signaling: SignalingClient;
  readonly #wanted: number;
  readonly #pinnedKey: Uint8Array | undefined;
  readonly #token = randomToken();
  readonly #tunnels = new Map<string, Tunnel>();
  readonly #pending = new Set<string>();
  #peer: Peer | undefined;
  #egress: EgressInfo | undefined;
  #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #waiters: Array<() => void> = [];
  #problem: string | undefined;

  constructor(options: ConsumerOptions) {
    super();
    this.#options = options;
    this.#signaling = new SignalingClient(
      options.signaling,
      options.key ? { key: options.key } : {},
    );
    this.#wanted = options.volunteers ?? 2;
    if (!Number.isInteger(this.#wanted) || this.#wanted < 1 || this.#wanted > 8) {
      throw new RangeError(`volunteers: expected an integer in 1..8, got ${this.#wanted}`);
    }
    this.#pinnedKey =
      options.egressKey === undefined ? undefined : base64urlToBytes(options.egressKey);
    if (this.#pinnedKey !== undefined && this.#pinnedKey.length !== 32) {
      throw new RangeError('egressKey: expected 32 bytes in base64url (43 characters)');
    }
  }

  get status(): ConsumerStatus {
    let streams = 0;
    for (const tunnel of this.#tunnels.values()) streams += tunnel.client.streamCount;
    return {
      volunteers: this.#tunnels.size,
      egress: this.#egress?.id,
      streams,
      problem: this.#tunnels.size > 0 ? undefined : this.#problem,
    };
  }

  /** Connects to the signaling server and starts keeping tunnels open. */
  async start(): Promise<void> {
    if (this.#peer) return;
    this.#abort = new AbortController();
    const config = await this.#signaling.config(this.#abort.signal);
    const peer = await openPeer({
      server: this.#signaling.peerServer,
      token: this.#token,
      iceServers: this.#options.iceServers ?? config.iceServers,
      signal: this.#abort.signal,
    });
    this.#peer = peer;
    // Volunteers never call us; anything that does is refused.
    peer.on('connection', (connection) => connection.close());
    this.#loop = this.#maintain();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    for (const wake of this.#waiters.splice(0)) wake();
    for (const tunnel of this.#tunnels.values()) tunnel.client.close();
    this.#tunnels.clear();
    await this.#loop;
    this.#peer?.destroy();
    this.#peer = undefined;
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

  async #tunnel(timeoutMs: number): Promise<TunnelClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // The least busy open tunnel, preferring one that is not waiting on a
      // liveness probe: a tunnel whose volunteer just vanished looks idle.
      let best: TunnelClient | undefined;
      for (const { client } of this.#tunnels.values()) {
        if (!client.isOpen) continue;
        if (
          best === undefined ||
          (client.responsive && !best.responsive) ||
          (client.responsive === best.responsive && client.streamCount < best.streamCount)
        ) {
          best = client;
        }
      }
      if (best) return best;
      const left = deadline - Date.now();
      if (left <= 0 || this.#abort.signal.aborted || this.#peer === undefined) {
        throw new MeshError(
          'ERR_NO_VOLUNTEERS',
          `no volunteer is connected${this.#problem ? ` (${this.#problem})` : ''}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async #maintain(): Promise<void> {
    let failures = 0;
    while (!this.#abort.signal.aborted) {
      const missing = this.#wanted - this.#tunnels.size - this.#pending.size;
      const peer = this.#peer;
      if (missing <= 0 || peer === undefined || peer.disconnected) {
        await this.#sleep(1_000);
        continue;
      }
      try {
        const answer = await this.#signaling.consumerMatch(
          {
            id: peer.id,
            token: this.#token,
            count: missing,
            nat: this.#options.nat ?? 'unknown',
            ...(this.#options.pool ? { pool: this.#options.pool } : {}),
            have: [...this.#tunnels.keys(), ...this.#pending].slice(0, MAX_HAVE),
          },
          this.#abort.signal,
        );
        const egress = this.#pickEgress(answer.egresses);
        const fresh = answer.volunteers.filter(
          (v) => !this.#tunnels.has(v.id) && !this.#pending.has(v.id),
        );
        const opened = await Promise.all(fresh.map((v) => this.#open(peer, v.id, egress)));
        if (opened.some(Boolean)) failures = 0;
        else await this.#sleep(RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)] ?? 10_000);
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        this.#setProblem(err instanceof Error ? err.message : String(err));
        await this.#sleep(RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)] ?? 10_000);
      }
    }
  }

  #pickEgress(egresses: readonly EgressInfo[]): EgressInfo {
    const pinned = this.#pinnedKey;
    const egress =
      pinned === undefined
        ? egresses[0]
        : egresses.find((e) => constantTimeEqual(base64urlToBytes(e.publicKey), pinned));
    if (egress === undefined) {
      throw new MeshError(
        'ERR_UNKNOWN_EGRESS',
        pinned ? 'the pinned egress key is not in the egress list' : 'the egress list is empty',
      );
    }
    this.#egress = egress;
    return egress;
  }

  /** One tunnel through one volunteer; resolves false if it could not be opened. */
  async #open(peer: Peer, volunteer: string, egress: EgressInfo): Promise<boolean> {
    this.#pending.add(volunteer);
    const connection = peer.connect(volunteer, { serialization: 'raw', reliable: true });
    let client: TunnelClient | undefined;
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          connection.once('open', () => resolve());
          connection.once('error', (err) => reject(err));
          connection.once('close', () => reject(new MeshError('ERR_TUNNEL_CLOSED', 'refused')));
        }),
        this.#options.tunnelTimeoutMs ?? 15_000,
        `volunteer ${volunteer} did not answer`,
        this.#abort.signal,
      );
      const channel = connection.dataChannel;
      channel.binaryType = 'arraybuffer';
      try {
        channel.send(encodeHello(egress.id));
      } catch {
        // Closing already; the client below learns why (REFUSED, or the close).
      }
      const tunnelClient = new TunnelClient(
        {
          send: (message) => channel.send(message),
          close: () => connection.close(),
        },
        { egressPublicKey: base64urlToBytes(egress.publicKey) },
      );
      client = tunnelClient;
      connection.on('data', (data) => {
        if (data instanceof ArrayBuffer) tunnelClient.receive(new Uint8Array(data));
      });
      connection.on('close', () => tunnelClient.transportClosed());
      await withTimeout(
        tunnelClient.ready,
        this.#options.tunnelTimeoutMs ?? 15_000,
        `the egress did not answer through volunteer ${volunteer}`,
        this.#abort.signal,
      );
      if (this.#abort.signal.aborted) {
        tunnelClient.close();
        return false;
      }
      this.#tunnels.set(volunteer, { volunteer, client: tunnelClient, connection });
      tunnelClient.onclose = () => {
        this.#tunnels.delete(volunteer);
        this.#emitStatus();
        this.#wake?.();
      };
      this.#emitStatus();
      for (const wake of this.#waiters.splice(0)) wake();
      return true;
    } catch (err) {
      // A refusal (ERR_TUNNEL_REFUSED, with its reason) is one more failed volunteer: the
      // loop asks the signaling server again, and the match goes to another when there is one.
      client?.close();
      connection.close();
      this.#setProblem(err instanceof Error ? err.message : String(err), err);
      return false;
    } finally {
      this.#pending.delete(volunteer);
    }
  }

  /** Records the last problem; `cause` keeps its own code when it is one of ours. */
  #setProblem(problem: string, cause?: unknown): void {
    this.#problem = problem;
    const error = cause instanceof MeshError ? cause : new MeshError('ERR_SIGNALING', problem);
    this.emit('error', { error });
    this.#emitStatus();
  }

  #emitStatus(): void {
    this.emit('status', this.status);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}

/** `promise`, or a rejection after `ms`, or at once when `signal` aborts (the consumer stops). */
function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  message: string,
  signal: AbortSignal,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = (): void => {
      clearTimeout(timer);
      reject(new MeshError('ERR_TUNNEL_CLOSED', 'the consumer stopped'));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      reject(new MeshError('ERR_TUNNEL_CLOSED', message));
    }, ms);
    if (signal.aborted) return stop();
    signal.addEventListener('abort', stop, { once: true });
    promise.then(
      (value) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', stop);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        signal.removeEventListener('abort', stop);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
