import type { ReactiveController, ReactiveControllerHost } from 'lit';
import {
  knownCountry,
  type ConnectionChange,
  type VolunteerRuntime,
  type VolunteerState,
} from './volunteer-runtime.ts';

/** Where the volunteer is, as the runtime says; country null when unknown. */
export interface VolunteerLocation {
  readonly country: string | null;
  readonly censored: boolean;
}

/** What the host does with the runtime's news (after this controller has noted it). */
export interface VolunteerHandlers {
  state(state: VolunteerState, previous: VolunteerState): void;
  connection(change: ConnectionChange): void;
  throughput(bytesPerSecond: number): void;
  /** Totals since the runtime's last start. */
  bytes(up: number, down: number): void;
  error(error: Error): void;
}

/** start() and stop() reject only after the runtime's `error` event has said why. */
const ignore = (): void => undefined;

/**
 * The widget's hold on its volunteer runtime (mesh/volunteer-contract.ts): its state, where it
 * is, its last error, and whether the switch must wait for a stop to finish. A widget taken off
 * the page stops sharing: nobody could see or stop it any more.
 */
export class VolunteerController implements ReactiveController {
  readonly #host: ReactiveControllerHost;
  readonly #handlers: VolunteerHandlers;
  #unsubscribe: (() => void)[] = [];
  runtime: VolunteerRuntime | null = null;
  state: VolunteerState = 'off';
  /** A stop has begun and the runtime is not quiet yet: the switch waits for `ready`. */
  awaitingReady = false;
  location: VolunteerLocation | null = null;
  /** The message of the last error since sharing last started. */
  error: string | null = null;

  constructor(host: ReactiveControllerHost, handlers: VolunteerHandlers) {
    this.#host = host;
    this.#handlers = handlers;
    host.addController(this);
  }

  hostDisconnected(): void {
    this.stop();
  }

  /** False when sharing cannot happen here: no runtime, or a censored country. */
  get available(): boolean {
    return this.runtime !== null && !(this.location?.censored ?? false);
  }

  get sharing(): boolean {
    return this.state === 'on' || this.state === 'starting';
  }

  start(): void {
    this.runtime?.start().catch(ignore);
  }

  stop(): void {
    this.runtime?.stop().catch(ignore);
  }

  attach(runtime: VolunteerRuntime): void {
    const handlers = this.#handlers;
    this.runtime = runtime;
    this.state = runtime.state;
    this.#unsubscribe = [
      runtime.on('state', ({ state }) => {
        const previous = this.state;
        this.state = state;
        if (state === 'stopping') this.awaitingReady = true;
        if (state === 'starting') this.error = null;
        handlers.state(state, previous);
      }),
      runtime.on('ready', () => {
        this.awaitingReady = false;
        this.#host.requestUpdate();
      }),
      runtime.on('connection', ({ peer, country, open }) =>
        handlers.connection({ peerKey: peer, country: knownCountry(country), open }),
      ),
      runtime.on('throughput', ({ bytesPerSecond }) => handlers.throughput(bytesPerSecond)),
      runtime.on('bytes', ({ up, down }) => handlers.bytes(up, down)),
      runtime.on('location', ({ country, censored }) => {
        this.location = { country: knownCountry(country), censored };
        this.#host.requestUpdate();
      }),
      runtime.on('error', ({ error }) => {
        this.error = error.message;
        handlers.error(error);
      }),
    ];
  }

  /** Stops and lets go of the runtime. */
  detach(): void {
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#unsubscribe = [];
    this.stop();
    this.runtime = null;
    this.state = 'off';
  }
}
