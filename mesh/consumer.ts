/**
 * The censored user's runtime, the same in the /browse/ hub and in
 * `bu proxy`: asks the signaling server for volunteers, opens a tunnel to an
 * egress through each of them, and spreads streams over the healthy tunnels.
 * When a volunteer goes away its tunnel is replaced through another one;
 * streams that were on it fail with a clear error. Tunnels go to the egresses
 * the signaling server lists, spread over the healthy ones (egress-choice.ts);
 * the list is read again every minute.
 */
import type { DataConnection, Peer } from 'peerjs';
import { base64urlToBytes } from '../protocol/bytes.ts';
import {
  MAX_HAVE,
  type EgressInfo,
  type NatProbeInfo,
  type NatType,
} from '../protocol/matchmaking.ts';
import { encodeHello } from '../protocol/tunnel-hello.ts';
import { EgressChoice, egressKey } from './egress-choice.ts';
import { Emitter } from './emitter.ts';
import { MeshError, TunnelRefusedError } from './errors.ts';
import { natToReport, type MappedAddressGatherer } from './nat-discovery.ts';
import { watchFailure } from './peer-connection-watch.ts';
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
  /** The ids of the egresses open tunnels go to, comma-separated; undefined with none open. */
  readonly egress: string | undefined;
  readonly streams: number;
  /** The last problem, while no tunnel is open. */
  readonly problem: string | undefined;
}

export interface ConsumerEvents {
  status: ConsumerStatus;
  error: { error: Error };
  /** What the server's NAT probe found for this consumer, before its first match. */
  nat: { nat: NatType };
}

export interface ConsumerOptions {
  /** The signaling server's base URL, e.g. `http://127.0.0.1:8080/signal/`. */
  readonly signaling: string | URL;
  /** Volunteers to keep tunnels through (default 2). */
  readonly volunteers?: number;
  /** Pin the egress by its public key (base64url): only that egress is used. */
  readonly egressKey?: string;
  /** The NAT type to report; absent: found with the server's NAT probe when it runs one. */
  readonly nat?: NatType;
  /** How NAT discovery finds mapped addresses; an RTCPeerConnection by default. */
  readonly natGatherer?: MappedAddressGatherer;
  readonly pool?: string;
  /** Overrides the ICE servers from the signaling server's config (tests use `[]`). */
  readonly iceServers?: RTCIceServer[];
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

/**
 * Waits after failed attempts, by how many failed in a row. The first retry is at once: the
 * usual failure is a peer connection libdatachannel lost at once (see ConnectionLostError).
 */
const RETRY_MS = [0, 500, 1_000, 2_000, 5_000, 10_000];
/** At most this often an egress a volunteer did not know makes us read the list again. */
const RECHECK_MS = 5_000;

interface Tunnel {
  readonly volunteer: string;
  readonly client: TunnelClient;
  readonly connection: DataConnection;
  readonly egress: EgressInfo;
  /** Set when this side closes it (stop, retired): its end says nothing about the egress. */
  closing: boolean;
}

/** A tunnel being opened through a volunteer. */
interface Pending {
  readonly egress: EgressInfo;
  /** Its data channel has taken longer than the open timeout: another volunteer is asked for. */
  slow: boolean;
}

export class Consumer extends Emitter<ConsumerEvents> {
  readonly #options: ConsumerOptions;
  readonly #signaling: SignalingClient;
  readonly #wanted: number;
  readonly #egresses: EgressChoice;
  readonly #token = randomToken();
  readonly #tunnels = new Map<string, Tunnel>();
  readonly #pending = new Map<string, Pending>();
  /** Tunnels no new stream goes to (their egress left the list, or one moved): closed when idle. */
  readonly #retiring = new Set<Tunnel>();
  #peer: Peer | undefined;
  #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #refresher: Promise<void> | undefined;
  #lastRefresh = 0;
  /** Wakes the maintain loop when an attempt turns slow (see Pending.slow). */
  #onSlow: (() => void) | undefined;
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
    const pinnedKey =
      options.egressKey === undefined ? undefined : base64urlToBytes(options.egressKey);
    if (pinnedKey !== undefined && pinnedKey.length !== 32) {
      throw new RangeError('egressKey: expected 32 bytes in base64url (43 characters)');
    }
    this.#egresses = new EgressChoice(pinnedKey === undefined ? {} : { pinnedKey });
    for (const [name, value] of [
      ['openTimeoutMs', options.openTimeoutMs],
      ['configRefreshMs', options.configRefreshMs],
      ['tunnelTimeoutMs', options.tunnelTimeoutMs],
    ] as const) {
      if (value !== undefined && !(Number.isInteger(value) && value > 0)) {
        throw new RangeError(`${name}: expected a positive integer of milliseconds, got ${value}`);
      }
    }
  }

  get status(): ConsumerStatus {
    let streams = 0;
    for (const tunnel of this.#tunnels.values()) streams += tunnel.client.streamCount;
    const egresses = new Set([...this.#tunnels.values()].map((tunnel) => tunnel.egress.id));
    return {
      volunteers: this.#tunnels.size,
      egress: egresses.size > 0 ? [...egresses].join(',') : undefined,
      streams,
      problem: this.#tunnels.size > 0 ? undefined : this.#problem,
    };
  }

  /** Connects to the signaling server and starts keeping tunnels open. */
  async start(): Promise<void> {
    if (this.#peer) return;
    this.#abort = new AbortController();
    const config = await this.#signaling.config(this.#abort.signal);
    this.#egresses.update(config.egresses);
    this.#lastRefresh = Date.now();
    this.#probe = config.natProbe;
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
    this.#refresher = this.#refreshEvery(this.#options.configRefreshMs ?? 60_000);
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    for (const wake of this.#waiters.splice(0)) wake();
    for (const tunnel of [...this.#tunnels.values(), ...this.#retiring]) {
      tunnel.closing = true;
      tunnel.client.close();
    }
    this.#tunnels.clear();
    this.#retiring.clear();
    await Promise.all([this.#loop, this.#refresher]);
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

  /** The NAT type this consumer reports: found by the server's probe, or as configured. */
  get nat(): NatType {
    return this.#nat;
  }

  #nat: NatType = 'unknown';
  #probe: NatProbeInfo | undefined;
  /** Volunteers we could not connect through since the last match request (told to it). */
  readonly #failed = new Set<string>();

  async #discoverNat(peer: Peer): Promise<void> {
    this.#nat = await natToReport(this.#options, {
      signaling: this.#signaling,
      probe: this.#probe,
      id: peer.id,
      token: this.#token,
      signal: this.#abort.signal,
    });
    this.emit('nat', { nat: this.#nat });
  }

  #takeFailed(): string[] {
    const failed = [...this.#failed].slice(-MAX_HAVE);
    this.#failed.clear();
    return failed;
  }

  async #maintain(): Promise<void> {
    let failures = 0;
    if (this.#peer) await this.#discoverNat(this.#peer);
    while (!this.#abort.signal.aborted) {
      this.#closeIdle();
      let opening = 0;
      for (const pending of this.#pending.values()) opening += pending.slow ? 0 : 1;
      const missing = this.#wanted - this.#tunnels.size - opening;
      const peer = this.#peer;
      if (missing <= 0 || peer === undefined || peer.disconnected) {
        await this.#sleep(1_000);
        continue;
      }
      try {
        this.#egresses.assertUsable();
        const answer = await this.#signaling.consumerMatch(
          {
            id: peer.id,
            token: this.#token,
            count: missing,
            nat: this.#nat,
            ...(this.#options.pool ? { pool: this.#options.pool } : {}),
            have: [...this.#tunnels.keys(), ...this.#pending.keys()].slice(0, MAX_HAVE),
            failed: this.#takeFailed(),
          },
          this.#abort.signal,
        );
        this.#takeEgresses(answer.egresses);
        const fresh = answer.volunteers.filter(
          (v) => !this.#tunnels.has(v.id) && !this.#pending.has(v.id),
        );
        const attempts = Promise.all(fresh.map((v) => this.#open(peer, v.id)));
        // A data channel that takes long to open does not hold up the others: the loop asks
        // for another volunteer while it goes on trying (see ConsumerOptions.openTimeoutMs).
        const outcome = await Promise.race([
          attempts.then((opened) => (opened.some(Boolean) ? 'opened' : 'failed')),
          new Promise<'slow'>((resolve) => (this.#onSlow = () => resolve('slow'))),
        ]);
        this.#onSlow = undefined;
        if (outcome === 'opened') failures = 0;
        else if (outcome === 'failed') {
          await this.#sleep(RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)] ?? 10_000);
        }
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        this.#setProblem(errorText(err), err);
        await this.#sleep(RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)] ?? 10_000);
      }
    }
  }

  /** This consumer's tunnels, open or opening, to `egress`. */
  #load(egress: EgressInfo): number {
    const key = egressKey(egress);
    let load = 0;
    for (const tunnel of this.#tunnels.values()) load += egressKey(tunnel.egress) === key ? 1 : 0;
    for (const pending of this.#pending.values()) load += egressKey(pending.egress) === key ? 1 : 0;
    return load;
  }

  /**
   * Takes the signaling server's egress list. Tunnels to an egress no longer listed are
   * retired; and when a listed egress that has not failed has none of our tunnels while
   * another has two or more, one of those is retired, so that its replacement goes to the
   * egress left out (an egress the operator just added is used without waiting for a tunnel
   * to die). An egress that failed is not courted this way: it gets tunnels again only when
   * one is needed anyway and its backoff is over.
   */
  #takeEgresses(egresses: readonly EgressInfo[]): void {
    this.#egresses.update(egresses);
    for (const tunnel of [...this.#tunnels.values()]) {
      if (!this.#egresses.isListed(tunnel.egress)) this.#retire(tunnel);
    }
    const unused = this.#egresses.listed.some(
      (e) => !this.#egresses.hasFailed(e) && this.#load(e) === 0,
    );
    if (!unused) return;
    let crowded: Tunnel | undefined;
    for (const tunnel of this.#tunnels.values()) {
      if (this.#load(tunnel.egress) < 2) continue;
      if (crowded === undefined || tunnel.client.streamCount < crowded.client.streamCount) {
        crowded = tunnel;
      }
    }
    if (crowded !== undefined) this.#retire(crowded);
  }

  /** No new stream goes to `tunnel`; it is closed once its streams are done (#closeIdle). */
  #retire(tunnel: Tunnel): void {
    if (this.#tunnels.get(tunnel.volunteer) !== tunnel) return;
    this.#tunnels.delete(tunnel.volunteer);
    this.#retiring.add(tunnel);
    this.#closeIdle();
    this.#emitStatus();
    this.#wake?.();
  }

  #closeIdle(): void {
    for (const tunnel of this.#retiring) {
      if (tunnel.client.isOpen && tunnel.client.streamCount > 0) continue;
      this.#retiring.delete(tunnel);
      tunnel.closing = true;
      tunnel.client.close();
    }
  }

  /** Reads the egress list again every `ms` (and closes idle retired tunnels meanwhile). */
  async #refreshEvery(ms: number): Promise<void> {
    while (!this.#abort.signal.aborted) {
      const due = this.#lastRefresh + ms;
      while (!this.#abort.signal.aborted && Date.now() < due) {
        await delay(Math.min(1_000, due - Date.now()), this.#abort.signal);
        this.#closeIdle();
      }
      if (!this.#abort.signal.aborted) await this.#refresh();
    }
  }

  async #refresh(): Promise<void> {
    this.#lastRefresh = Date.now();
    try {
      const config = await this.#signaling.config(this.#abort.signal);
      this.#takeEgresses(config.egresses);
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#setProblem(errorText(err), err);
    }
  }

  /** One tunnel through one volunteer; resolves false if it could not be opened. */
  async #open(peer: Peer, volunteer: string): Promise<boolean> {
    let egress: EgressInfo;
    try {
      egress = this.#egresses.pick((e) => this.#load(e));
    } catch (err) {
      this.#setProblem(errorText(err), err);
      return false;
    }
    const pending: Pending = { egress, slow: false };
    this.#pending.set(volunteer, pending);
    const timeoutMs = this.#options.tunnelTimeoutMs ?? 15_000;
    const connection = peer.connect(volunteer, { serialization: 'raw', reliable: true });
    let client: TunnelClient | undefined;
    let channelOpen = false;
    const slowTimer = setTimeout(() => {
      pending.slow = true;
      this.#onSlow?.();
    }, this.#options.openTimeoutMs ?? 3_000);
    try {
      try {
        await withTimeout(
          channelOpened(connection),
          timeoutMs,
          `volunteer ${volunteer} did not answer`,
          this.#abort.signal,
        );
      } finally {
        clearTimeout(slowTimer);
      }
      channelOpen = true;
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
        timeoutMs,
        `the egress did not answer through volunteer ${volunteer}`,
        this.#abort.signal,
      );
      if (this.#abort.signal.aborted) {
        tunnelClient.close();
        return false;
      }
      this.#egresses.succeeded(egress);
      const tunnel: Tunnel = {
        volunteer,
        client: tunnelClient,
        connection,
        egress,
        closing: false,
      };
      this.#tunnels.set(volunteer, tunnel);
      tunnelClient.onclose = () => {
        if (this.#tunnels.get(volunteer) === tunnel) this.#tunnels.delete(volunteer);
        this.#retiring.delete(tunnel);
        // A tunnel that dies under us may have lost its egress (the relay closes the channel
        // when the egress goes): the next tunnel prefers another egress for a while.
        if (!tunnel.closing && !this.#abort.signal.aborted) this.#egresses.failed(egress);
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
      if (this.#abort.signal.aborted) return false;
      if (err instanceof TunnelRefusedError && err.reason === 'unknown-egress') {
        // The volunteer's list or ours is out of date: read ours again (the volunteer does).
        if (Date.now() - this.#lastRefresh >= RECHECK_MS) void this.#refresh();
      } else if (channelOpen && blamesEgress(err)) {
        // The volunteer answered, so the egress failed: unreachable from the volunteer, or
        // no handshake from it in time.
        this.#egresses.failed(egress);
      }
      // Only a data channel that never opened says the pair may not connect (NAT); a
      // connection libdatachannel lost at once is tried again through the same volunteer.
      if (!channelOpen && !(err instanceof ConnectionLostError)) this.#failed.add(volunteer);
      this.#setProblem(errorText(err), err);
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

/**
 * A peer connection that failed or closed before its data channel opened. With
 * node-datachannel on both ends this happens to about one connection in five to fifteen: the
 * answerer's DTLS handshake reaches the offerer together with the answer, and libdatachannel
 * checks the certificate before it has taken the answer's fingerprint, so the handshake fails
 * ("certificate verify failed") within milliseconds. PeerJS reports nothing; waiting for the
 * data channel was the 16 s first-tunnel stall. A new connection right away opens in
 * milliseconds (docs/architecture.md, "The first tunnel").
 */
class ConnectionLostError extends MeshError {
  override name = 'ConnectionLostError';
  constructor() {
    super('ERR_TUNNEL_CLOSED', 'the peer connection failed before its data channel opened');
  }
}

/** Resolves when the data channel opens; rejects when it closes, errs or its connection fails. */
function channelOpened(connection: DataConnection): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    connection.once('open', () => resolve());
    connection.once('error', (err) => reject(err));
    connection.once('close', () => reject(new MeshError('ERR_TUNNEL_CLOSED', 'refused')));
    watchFailure(connection, () => reject(new ConnectionLostError()));
  });
}

/** Whether a failure after the data channel opened is the egress's: all but refusals for other reasons. */
function blamesEgress(err: unknown): boolean {
  return !(err instanceof TunnelRefusedError) || err.reason === 'egress-unreachable';
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Waits `ms`, or less when `signal` aborts. */
function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
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
