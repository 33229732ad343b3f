/**
 * How the widget gets a volunteer runtime. The runtime itself is mesh's contract
 * (mesh/volunteer-contract.ts), which mesh's `Volunteer` and `MockVolunteer` both implement;
 * only the factory and the widget's own public event shape live here.
 */
import type { VolunteerContract } from '../mesh/volunteer-contract.ts';

export type {
  VolunteerContractEvents as VolunteerEventMap,
  VolunteerState,
} from '../mesh/volunteer-contract.ts';

export type VolunteerRuntime = VolunteerContract;

/**
 * The detail of the widget's `bu-connection` event: one consumer arrived or left. `peerKey`
 * is opaque (never an address); `country` is null when unknown.
 */
export interface ConnectionChange {
  readonly peerKey: string;
  readonly country: string | null;
  readonly open: boolean;
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

/** A country code from the runtime (`??` when unknown) as the widget shows it. */
export const knownCountry = (country: string): string | null => (country === '??' ? null : country);
