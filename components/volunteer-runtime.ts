/**
 * The narrow contract between the widget and a volunteer runtime: what the widget needs
 * from mesh's `Volunteer` (issue 5), and what `MockVolunteer` implements for mock mode.
 * The real `Volunteer` plugs in through `BrowsersUnbounded.volunteerFactory` (or the
 * element's `volunteerFactory` property) once it exists; an adapter is a few lines.
 */

/** Sharing state: off → starting → on → stopping → off. */
export type VolunteerState = 'off' | 'starting' | 'on' | 'stopping';

export const VOLUNTEER_STATES: readonly VolunteerState[] = ['off', 'starting', 'on', 'stopping'];

/** One consumer's connection opened or closed. Several data channels may share a peer key. */
export interface ConnectionChange {
  /** Opaque, stable per consumer for the runtime's lifetime; not an address. */
  readonly peerKey: string;
  /** ISO 3166-1 alpha-2 code of the consumer's country, upper case, or null if unknown. */
  readonly country: string | null;
  readonly open: boolean;
}

/** Where the volunteer itself is, as the signaling server's `/v1/config` says. */
export interface VolunteerLocation {
  readonly country: string | null;
  /** True when the volunteer's own country is on the censored list: do not share. */
  readonly censored: boolean;
}

export interface VolunteerEventMap {
  connection: ConnectionChange;
  /** Bytes relayed per second, both directions together; emitted at 4 Hz while on. */
  throughput: { readonly bytesPerSecond: number };
  /** Bytes relayed since the previous `bytes` event, both directions together. */
  bytes: { readonly bytes: number };
  state: { readonly state: VolunteerState };
  /** A stop has fully quiesced: every connection closed, nothing left in flight. */
  ready: Record<string, never>;
  location: VolunteerLocation;
  error: { readonly error: Error };
}

export type VolunteerEventType = keyof VolunteerEventMap;

export interface VolunteerRuntime {
  readonly state: VolunteerState;
  /** How many consumers may be served at once; may change while running. */
  slots: number;
  /** Safe in any state and any number of times; start while stopping waits. */
  start(): void;
  /** Safe in any state and any number of times; `ready` fires once quiesced. */
  stop(): void;
  /** Subscribes to one event; returns the function that unsubscribes. */
  on<K extends VolunteerEventType>(
    type: K,
    listener: (detail: VolunteerEventMap[K]) => void,
  ): () => void;
  /** Stops and releases everything; the runtime is not used again. */
  dispose(): void;
}

export interface VolunteerOptions {
  /** Absolute URL of the signaling server. */
  readonly signaling: string;
  /**
   * The root URL of the widget's own site, when the page did not name a signaling server: a
   * runtime that talks to signaling reads that site's `config.json` (site-config.ts) when it
   * first starts, and its `signaling` replaces the URL above.
   */
  readonly site?: string;
  readonly slots: number;
}

export type VolunteerFactory = (options: VolunteerOptions) => VolunteerRuntime;

/** A tiny typed emitter the runtimes share. */
export class VolunteerEvents {
  readonly #listeners = new Map<VolunteerEventType, Set<(detail: never) => void>>();

  on<K extends VolunteerEventType>(
    type: K,
    listener: (detail: VolunteerEventMap[K]) => void,
  ): () => void {
    let set = this.#listeners.get(type);
    if (!set) {
      set = new Set();
      this.#listeners.set(type, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends VolunteerEventType>(type: K, detail: VolunteerEventMap[K]): void {
    const set = this.#listeners.get(type) as
      Set<(detail: VolunteerEventMap[K]) => void> | undefined;
    for (const listener of [...(set ?? [])]) listener(detail);
  }

  clear(): void {
    this.#listeners.clear();
  }
}
