/**
 * The public picture of the network for the site's /netstate/ page (`GET {path}v1/netstate`):
 * how many volunteers and consumers are connected, from which countries, and which country
 * pairs matchmaking has joined. Counts and country codes only: no address, id or token ever
 * reaches the answer, because none is copied into the tables it is built from.
 *
 * The signaling server does not see WebRTC connections, so "links" are matched pairs whose two
 * ends are both still connected to this server (`matchedPairs`), not proven data channels. A
 * pair whose connection failed while both ends stayed online still counts; to bound that (and
 * the memory), each consumer keeps only its newest pairs, as many as one match may ask for.
 * The answer's shape is `NetstateBody` in protocol/netstate.ts, which the page reads.
 */
import { MAX_MATCH_COUNT, NAT_TYPES, VOLUNTEER_KINDS } from '../protocol/matchmaking.ts';
import {
  NETSTATE_UNKNOWN_COUNTRY,
  type CountryCount,
  type NetstateBody,
} from '../protocol/netstate.ts';
import type { VolunteerView } from './metrics.ts';

/** How long one computed answer is reused, so a flood of requests costs one computation a second. */
export const NETSTATE_CACHE_MS = 1000;

export interface NetstateSources {
  /** The matchmaker's volunteer table (entries leave it when their id disconnects). */
  volunteers(): Iterable<VolunteerView> | Promise<Iterable<VolunteerView>>;
  /** Whether a PeerJS id is still connected. */
  isOnline(id: string): boolean;
}

interface ConsumerEntry {
  readonly country: string;
  /** Volunteer id → that volunteer's country, oldest match first. */
  readonly pairs: Map<string, string>;
}

export class NetworkState {
  readonly #sources: NetstateSources;
  readonly #cacheMs: number;
  /** Keyed by PeerJS id, which stays in here and never goes into an answer. */
  readonly #consumers = new Map<string, ConsumerEntry>();
  /** The answer being computed or computed last, shared by every request in its period. */
  #cached: { readonly at: number; readonly text: Promise<string> } | undefined;

  constructor(sources: NetstateSources, cacheMs = NETSTATE_CACHE_MS) {
    this.#sources = sources;
    this.#cacheMs = cacheMs;
  }

  /** A connected consumer asked for volunteers (whether or not it gets any). */
  consumer(id: string, country: string): void {
    const entry = this.#consumers.get(id);
    const code = publicCountry(country);
    if (entry === undefined) this.#consumers.set(id, { country: code, pairs: new Map() });
    else if (entry.country !== code) this.#consumers.set(id, { country: code, pairs: entry.pairs });
  }

  /** Matchmaking gave `volunteers` to consumer `id`. */
  matched(
    id: string,
    country: string,
    volunteers: readonly { readonly id: string; readonly country: string }[],
  ): void {
    this.consumer(id, country);
    const pairs = this.#consumers.get(id)?.pairs;
    if (pairs === undefined) return;
    for (const volunteer of volunteers) {
      // Re-inserting moves a repeated pair to the newest end.
      pairs.delete(volunteer.id);
      pairs.set(volunteer.id, publicCountry(volunteer.country));
    }
    for (const oldest of pairs.keys()) {
      if (pairs.size <= MAX_MATCH_COUNT) break;
      pairs.delete(oldest);
    }
  }

  /** The PeerJS id left: it is no longer a consumer (pairs naming it as volunteer lapse too). */
  forget(id: string): void {
    this.#consumers.delete(id);
  }

  /** The answer as JSON text, recomputed at most once per `cacheMs`. */
  text(now = Date.now()): Promise<string> {
    const cached = this.#cached;
    if (cached !== undefined && now - cached.at < this.#cacheMs && now >= cached.at) {
      return cached.text;
    }
    const text = this.snapshot(now).then((body) => JSON.stringify(body));
    this.#cached = { at: now, text };
    // A failed read is not served again for the rest of its period.
    text.catch(() => {
      if (this.#cached?.text === text) this.#cached = undefined;
    });
    return text;
  }

  async snapshot(now = Date.now()): Promise<NetstateBody> {
    return this.#build(now, await this.#sources.volunteers());
  }

  #build(now: number, volunteerTable: Iterable<VolunteerView>): NetstateBody {
    const volunteerCountries = new Map<string, number>();
    const byNat = countsOf(NAT_TYPES);
    const byKind = countsOf(VOLUNTEER_KINDS);
    let volunteers = 0;
    let available = 0;
    for (const volunteer of volunteerTable) {
      volunteers += 1;
      if (volunteer.available) available += 1;
      increment(volunteerCountries, publicCountry(volunteer.country));
      byNat[volunteer.nat] += 1;
      byKind[volunteer.kind] += 1;
    }

    const consumerCountries = new Map<string, number>();
    const pairCounts = new Map<string, number>();
    let pairs = 0;
    for (const [id, consumer] of this.#consumers) {
      // A missed removal must not keep a consumer alive in the numbers.
      if (!this.#sources.isOnline(id)) {
        this.#consumers.delete(id);
        continue;
      }
      increment(consumerCountries, consumer.country);
      for (const [volunteerId, volunteerCountry] of consumer.pairs) {
        if (!this.#sources.isOnline(volunteerId)) {
          consumer.pairs.delete(volunteerId);
          continue;
        }
        pairs += 1;
        increment(pairCounts, `${volunteerCountry}>${consumer.country}`);
      }
    }

    return {
      version: 1,
      generatedAt: new Date(now).toISOString(),
      unknownCountry: NETSTATE_UNKNOWN_COUNTRY,
      volunteers: {
        total: volunteers,
        available,
        byCountry: countryList(volunteerCountries),
        byNat,
        byKind,
      },
      consumers: { total: this.#consumers.size, byCountry: countryList(consumerCountries) },
      matchedPairs: {
        total: pairs,
        byCountryPair: [...pairCounts]
          .map(([key, count]) => {
            const [volunteer = '', consumer = ''] = key.split('>');
            return { volunteer, consumer, count };
          })
          .sort(
            (a, b) =>
              b.count - a.count ||
              compare(a.volunteer, b.volunteer) ||
              compare(a.consumer, b.consumer),
          ),
      },
    };
  }
}

/** The geoip's `??` (not known), and anything else that is not two letters, becomes `ZZ`. */
export function publicCountry(country: string): string {
  return /^[A-Z]{2}$/.test(country) ? country : NETSTATE_UNKNOWN_COUNTRY;
}

function countsOf<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function countryList(map: ReadonlyMap<string, number>): CountryCount[] {
  return [...map]
    .map(([country, count]) => ({ country, count }))
    .sort((a, b) => b.count - a.count || compare(a.country, b.country));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
