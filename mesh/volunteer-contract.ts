/**
 * What a volunteer runtime promises the code that drives it (the widget, `bu volunteer`):
 * its states, the events it emits and the methods a switch needs. Type-only. mesh's
 * `Volunteer` implements it; the widget's `MockVolunteer` implements the same, and one
 * contract suite (components/test/volunteer-contract.browser.test.ts) runs against both.
 */
import type { RelayEnd } from './relay.ts';

/** Sharing state: off → starting → on → stopping → off. */
export type VolunteerState = 'off' | 'starting' | 'on' | 'stopping';

export interface VolunteerContractEvents {
  state: { state: VolunteerState };
  /**
   * One consumer arrived (`open`) or left: once each per consumer however many data channels
   * it has. `peer` is an opaque key, stable for one start → stop session (never the consumer's
   * id or address); `country` is ISO 3166-1 alpha-2, upper case, or `??` when unknown.
   */
  connection: { peer: string; country: string; open: boolean; reason?: RelayEnd };
  /** Bytes relayed per second, both directions together, four times a second while on. */
  throughput: { bytesPerSecond: number };
  /** Totals since the last start, consumer → egress (`up`) and egress → consumer (`down`). */
  bytes: { up: number; down: number };
  error: { error: Error };
  /** A stop has fully quiesced: every connection and timer is gone. */
  ready: Record<string, never>;
  /**
   * Where the signaling server places this volunteer (`??` when unknown), and whether that
   * country is on its censored list; a volunteer there does not share.
   */
  location: { country: string; censored: boolean };
}

export interface VolunteerContract {
  readonly state: VolunteerState;
  /** Consumers served at once; may change while on. */
  slots: number;
  /**
   * Starts sharing; safe in any state and any number of times (calls while starting share
   * one start; while stopping it waits for the stop). Resolves once on; rejects, after an
   * `error` event, when it could not start (it is then off again).
   */
  start(): Promise<void>;
  /** Stops sharing; safe in any state. Resolves after `ready` (at once when off). */
  stop(): Promise<void>;
  /** Adds a listener; returns the function that removes it. */
  on<K extends keyof VolunteerContractEvents>(
    type: K,
    listener: (detail: VolunteerContractEvents[K]) => void,
  ): () => void;
}
