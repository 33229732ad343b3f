/**
 * The life of a peer runtime, one copy for the `Volunteer` and the `Consumer`: states
 * off → starting → on → stopping → off, with start and stop safe at any time (calls coalesce,
 * and the last one wins), and `PeerSession`, what one start → stop session of either runtime
 * begins with: the signaling server's config, the PeerJS peer, NAT discovery, and waits that a
 * stop cuts short. A failed step says which it was by its error's code: `ERR_SIGNALING` (an
 * HTTP call), `ERR_PEERJS` (the PeerJS connection), or the runtime's own.
 */
import type { Peer } from 'peerjs';
import type { NatProbeInfo, NatType } from '../protocol/matchmaking.ts';
import type { SignalingConfig } from '../protocol/signaling-config.ts';
import { natToReport, type MappedAddressGatherer } from './nat-discovery.ts';
import { openPeer } from './peerjs-module.ts';
import { randomToken, type SignalingClient } from './signaling-client.ts';

/** off → starting → on → stopping → off. */
export type RuntimeState = 'off' | 'starting' | 'on' | 'stopping';

/** One start → stop session. `end` may come while `begin` is still under way. */
export interface Session {
  begin(): Promise<void>;
  end(): Promise<void>;
}

export interface LifecycleHooks<S extends Session> {
  /** The session for a new start. */
  create(): S;
  state(state: RuntimeState): void;
  /** A start failed; the runtime goes off again (`state`, then `ready`). */
  error(error: Error): void;
  /** A stop has fully quiesced: the session's connections and timers are gone. */
  ready(): void;
}

export class Lifecycle<S extends Session> {
  readonly #hooks: LifecycleHooks<S>;
  #state: RuntimeState = 'off';
  #session: S | undefined;
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  /** Counts starts and stops: a start that is no longer the latest wish gives way. */
  #turn = 0;

  constructor(hooks: LifecycleHooks<S>) {
    this.#hooks = hooks;
  }

  get state(): RuntimeState {
    return this.#state;
  }

  /** The session of the start under way or done; undefined when off or stopping. */
  get session(): S | undefined {
    return this.#session;
  }

  /**
   * Starts. Calls while starting share one start; while stopping, the start waits for the stop.
   * Resolves once on, or once a later stop() has taken over; rejects, after the `error` hook,
   * when the session could not begin (the runtime is then off again).
   */
  start(): Promise<void> {
    if (this.#starting) return this.#starting;
    if (this.#state === 'on') return Promise.resolve();
    const starting = this.#start(++this.#turn);
    this.#starting = starting;
    return starting;
  }

  /** Stops, and with it any start under way. Resolves after the `ready` hook (at once when off). */
  stop(): Promise<void> {
    this.#turn++;
    this.#starting = undefined;
    if (this.#stopping) return this.#stopping;
    if (this.#session === undefined) return Promise.resolve();
    return this.#halt();
  }

  async #start(turn: number): Promise<void> {
    try {
      while (this.#stopping) await this.#stopping;
      if (turn !== this.#turn) return;
      this.#setState('starting');
      const session = this.#hooks.create();
      this.#session = session;
      try {
        await session.begin();
      } catch (err) {
        if (turn !== this.#turn) return;
        const error = err instanceof Error ? err : new Error(String(err));
        this.#hooks.error(error);
        await this.#halt();
        throw error;
      }
      if (turn === this.#turn) this.#setState('on');
    } finally {
      if (turn === this.#turn) this.#starting = undefined;
    }
  }

  #halt(): Promise<void> {
    const session = this.#session;
    this.#session = undefined;
    this.#setState('stopping');
    const stopping = (async () => {
      try {
        await session?.end();
      } finally {
        this.#stopping = undefined;
        this.#setState('off');
        this.#hooks.ready();
      }
    })();
    this.#stopping = stopping;
    return stopping;
  }

  #setState(state: RuntimeState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#hooks.state(state);
  }
}

/** What every session needs to know of its runtime's options. */
export interface PeerSessionOptions {
  /** Overrides the ICE servers from the signaling server's config (tests use `[]`). */
  readonly iceServers?: RTCIceServer[];
  /** The NAT type to report; absent: found with the server's NAT probe when it runs one. */
  readonly nat?: NatType;
  /** How NAT discovery finds mapped addresses; an RTCPeerConnection by default. */
  readonly natGatherer?: MappedAddressGatherer;
}

/**
 * One start → stop session's common ground: its token, its abort signal, its PeerJS peer and
 * the steps every session begins with. `end()` aborts, waits for `begin()` to settle, lets
 * the subclass close what it opened, and destroys the peer; nothing a session opened survives.
 */
export abstract class PeerSession implements Session {
  protected readonly signaling: SignalingClient;
  readonly #options: PeerSessionOptions;
  readonly #abort = new AbortController();
  readonly token = randomToken();
  #peer: Peer | undefined;
  #begun: Promise<void> | undefined;
  #wake: (() => void) | undefined;

  constructor(signaling: SignalingClient, options: PeerSessionOptions) {
    this.signaling = signaling;
    this.#options = options;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get aborted(): boolean {
    return this.#abort.signal.aborted;
  }

  /** The session's PeerJS peer, once it is open. */
  get peer(): Peer | undefined {
    return this.#peer;
  }

  begin(): Promise<void> {
    this.#begun ??= this.open();
    return this.#begun;
  }

  async end(): Promise<void> {
    this.#abort.abort();
    this.wake();
    await this.#begun?.catch(() => undefined);
    await this.close();
    this.#peer?.destroy();
    this.#peer = undefined;
  }

  /** The session's own steps (they call readConfig and joinPeer). */
  protected abstract open(): Promise<void>;

  /** Closes what the session opened; runs once, after `open` has settled. */
  protected abstract close(): Promise<void>;

  /** Step one: the signaling server's config (`ERR_SIGNALING` when it cannot be read). */
  protected readConfig(): Promise<SignalingConfig> {
    return this.signaling.config(this.signal);
  }

  /** Step two: the PeerJS peer (`ERR_PEERJS`); a stop meanwhile leaves no peer behind. */
  protected async joinPeer(config: SignalingConfig): Promise<Peer> {
    const peer = await openPeer({
      server: this.signaling.peerServer,
      token: this.token,
      iceServers: this.#options.iceServers ?? config.iceServers,
      signal: this.signal,
    });
    if (this.aborted) {
      peer.destroy();
      throw new Error('stopped while starting');
    }
    this.#peer = peer;
    return peer;
  }

  /** The NAT type to report: as configured, or what the server's probe finds (never throws). */
  protected discoverNat(peer: Peer, probe: NatProbeInfo | undefined): Promise<NatType> {
    return natToReport(this.#options, {
      signaling: this.signaling,
      probe,
      id: peer.id,
      token: this.token,
      signal: this.signal,
    });
  }

  /** Waits `ms`, or less when `wake()` is called or the session ends. */
  protected sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.aborted) return resolve();
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Cuts the current sleep short. */
  protected wake(): void {
    this.#wake?.();
  }
}

/** Waits after failures in a row: `steps` milliseconds, the last repeating. */
export class Backoff {
  readonly #steps: readonly number[];
  #failures = 0;

  constructor(steps: readonly number[]) {
    this.#steps = steps;
  }

  /** The wait after one more failure. */
  next(): number {
    const index = Math.min(this.#failures++, this.#steps.length - 1);
    return this.#steps[index] ?? 0;
  }

  reset(): void {
    this.#failures = 0;
  }
}
