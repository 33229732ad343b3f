/**
 * One start → stop session of a `Consumer` (consumer.ts): asks the signaling server for
 * volunteers, opens a tunnel to an egress through each of them, and keeps as many open as
 * wanted, replacing those that die. Tunnels go to the egresses the signaling server lists,
 * spread over the healthy ones (egress-choice.ts); the list is read again every minute.
 */
import { AdmissionError } from '../protocol/errors.ts';
import type { DataConnection, Peer } from 'peerjs';
import { base64urlToBytes } from '../protocol/bytes.ts';
import { MAX_HAVE, type EgressInfo, type NatProbeInfo } from '../protocol/matchmaking.ts';
import { encodeHello } from '../protocol/tunnel-hello.ts';
import type { ConsumerEvents, ConsumerOptions, ConsumerStatus } from './consumer.ts';
import { egressKey, type EgressChoice } from './egress-choice.ts';
import { MeshError, TunnelRefusedError, type MeshErrorCode } from './errors.ts';
import { Backoff, PeerSession } from './lifecycle.ts';
import { watchFailure } from './peer-connection-watch.ts';
import { consumerMatch, type SignalingClient } from './signaling-client.ts';
import { TunnelClient } from './tunnel-client.ts';

/** What a session needs of its Consumer: a way to report. */
export interface ConsumerHost {
  report<K extends keyof ConsumerEvents>(type: K, detail: ConsumerEvents[K]): void;
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

export class ConsumerRun extends PeerSession {
  readonly #options: ConsumerOptions;
  readonly #wanted: number;
  readonly #egresses: EgressChoice;
  readonly #host: ConsumerHost;
  readonly #tunnels = new Map<string, Tunnel>();
  readonly #pending = new Map<string, Pending>();
  /** Tunnels no new stream goes to (their egress left the list, or one moved): closed when idle. */
  readonly #retiring = new Set<Tunnel>();
  #loop: Promise<void> | undefined;
  #refresher: Promise<void> | undefined;
  #lastRefresh = 0;
  /** Wakes the maintain loop when an attempt turns slow (see Pending.slow). */
  #onSlow: (() => void) | undefined;
  #waiters: Array<() => void> = [];
  #problem: string | undefined;

  constructor(
    options: ConsumerOptions,
    signaling: SignalingClient,
    egresses: EgressChoice,
    host: ConsumerHost,
  ) {
    super(signaling, options);
    this.#options = options;
    this.#wanted = options.volunteers ?? 2;
    this.#egresses = egresses;
    this.#host = host;
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

  protected async open(): Promise<void> {
    const config = await this.readConfig();
    this.#egresses.update(config.egresses);
    this.#lastRefresh = Date.now();
    const peer = await this.joinPeer(config);
    // Volunteers never call us; anything that does is refused.
    peer.on('connection', (connection) => connection.close());
    this.#loop = this.#maintain(peer, config.natProbe);
    this.#refresher = this.#refreshEvery(this.#options.configRefreshMs ?? 60_000);
  }

  protected async close(): Promise<void> {
    for (const wake of this.#waiters.splice(0)) wake();
    for (const tunnel of [...this.#tunnels.values(), ...this.#retiring]) {
      tunnel.closing = true;
      tunnel.client.close();
    }
    this.#tunnels.clear();
    this.#retiring.clear();
    await Promise.all([this.#loop, this.#refresher]);
  }

  /**
   * The least busy open tunnel, preferring one that is not waiting on a liveness probe (a
   * tunnel whose volunteer just vanished looks idle); waits up to `timeoutMs` for one.
   */
  async tunnel(timeoutMs: number): Promise<TunnelClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
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
      if (left <= 0 || this.aborted) {
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

  /** Volunteers we could not connect through since the last match request (told to it). */
  readonly #failed = new Set<string>();

  #takeFailed(): string[] {
    const failed = [...this.#failed].slice(-MAX_HAVE);
    this.#failed.clear();
    return failed;
  }

  async #maintain(peer: Peer, probe: NatProbeInfo | undefined): Promise<void> {
    const backoff = new Backoff(RETRY_MS);
    const nat = await this.discoverNat(peer, probe);
    this.#host.report('nat', { nat });
    while (!this.aborted) {
      this.#closeIdle();
      let opening = 0;
      for (const pending of this.#pending.values()) opening += pending.slow ? 0 : 1;
      const missing = this.#wanted - this.#tunnels.size - opening;
      if (missing <= 0 || peer.disconnected) {
        await this.sleep(1_000);
        continue;
      }
      try {
        this.#egresses.assertUsable();
        const answer = await consumerMatch(
          this.signaling,
          {
            id: peer.id,
            token: this.token,
            count: missing,
            nat,
            ...(this.#options.pool ? { pool: this.#options.pool } : {}),
            have: [...this.#tunnels.keys(), ...this.#pending.keys()].slice(0, MAX_HAVE),
            failed: this.#takeFailed(),
          },
          this.signal,
        );
        this.#takeEgresses(answer.egresses);
        this.#takeAdmission(answer.egresses);
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
        if (outcome === 'opened') backoff.reset();
        else if (outcome === 'failed') await this.sleep(backoff.next());
      } catch (err) {
        if (this.aborted) return;
        this.#setProblem('ERR_SIGNALING', err);
        await this.sleep(backoff.next());
      }
    }
  }

  /** Admission tokens from the latest match, by egress (egressKey). */
  readonly #admission = new Map<string, Uint8Array>();

  #takeAdmission(egresses: readonly EgressInfo[]): void {
    this.#admission.clear();
    for (const egress of egresses) {
      if (egress.admission !== undefined) {
        this.#admission.set(egressKey(egress), base64urlToBytes(egress.admission));
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
    this.wake();
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
    while (!this.aborted) {
      const due = this.#lastRefresh + ms;
      while (!this.aborted && Date.now() < due) {
        await delay(Math.min(1_000, due - Date.now()), this.signal);
        this.#closeIdle();
      }
      if (!this.aborted) await this.#refresh();
    }
  }

  async #refresh(): Promise<void> {
    this.#lastRefresh = Date.now();
    try {
      const config = await this.readConfig();
      this.#takeEgresses(config.egresses);
    } catch (err) {
      if (!this.aborted) this.#setProblem('ERR_SIGNALING', err);
    }
  }

  /** One tunnel through one volunteer; resolves false if it could not be opened. */
  async #open(peer: Peer, volunteer: string): Promise<boolean> {
    let egress: EgressInfo;
    try {
      egress = this.#egresses.pick((e) => this.#load(e));
    } catch (err) {
      this.#setProblem('ERR_UNKNOWN_EGRESS', err);
      return false;
    }
    const admission = this.#admission.get(egressKey(egress));
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
          this.signal,
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
        {
          egressPublicKey: base64urlToBytes(egress.publicKey),
          ...(admission === undefined ? {} : { admission }),
        },
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
        this.signal,
      );
      if (this.aborted) {
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
        if (!tunnel.closing && !this.aborted) this.#egresses.failed(egress);
        this.#emitStatus();
        this.wake();
      };
      this.#emitStatus();
      for (const wake of this.#waiters.splice(0)) wake();
      return true;
    } catch (err) {
      // A refusal (ERR_TUNNEL_REFUSED, with its reason) is one more failed volunteer: the
      // loop asks the signaling server again, and the match goes to another when there is one.
      client?.close();
      connection.close();
      if (this.aborted) return false;
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
      this.#setProblem('ERR_TUNNEL_CLOSED', err);
      return false;
    } finally {
      this.#pending.delete(volunteer);
    }
  }

  /**
   * Records the last problem and reports it as an error: one of ours keeps its code, anything
   * else gets `code`, the code of the step that failed.
   */
  #setProblem(code: MeshErrorCode, cause: unknown): void {
    const problem = cause instanceof Error ? cause.message : String(cause);
    this.#problem = problem;
    const error =
      cause instanceof MeshError
        ? cause
        : new MeshError(cause instanceof AdmissionError ? cause.code : code, problem, { cause });
    this.#host.report('error', { error });
    this.#emitStatus();
  }

  #emitStatus(): void {
    this.#host.report('status', this.status);
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
