/**
 * Whom matchmaking may introduce to whom, and in what order: the rules and the fair shares of
 * docs/signaling.md, as pure decisions over one read of the pool (store.ts PoolView). What the
 * pool holds and how an introduction is recorded is the store's business; this module only
 * chooses.
 */
import type { NatType } from '../protocol/matchmaking.ts';
import type { Hold } from './match-ledger.ts';
import type { HoldCaps, PoolView, VolunteerRecord } from './store.ts';

/** The fair-share limits, in outstanding introductions (see docs/signaling.md). */
export interface FairShares {
  /** Introductions one consumer id may hold. */
  readonly perConsumer: number;
  /** Most introductions one address group may hold, as consumer or as volunteer. */
  readonly perAddress: number;
  /**
   * An address group's share of its pool, in percent of what the pool's other addresses offer;
   * never less than one peer's allowance (`perConsumer`, or `volunteerSlots` for volunteers),
   * never more than `perAddress`.
   */
  readonly addressPercent: number;
  /** Slots a volunteer may claim, and introductions it may hold at once. */
  readonly volunteerSlots: number;
}

export interface PolicyOptions {
  readonly shares: FairShares;
  readonly allowSameIp: boolean;
  /** Skip the NAT rule (everything on one machine, as in `bu serve`). */
  readonly ignoreNat?: boolean;
  /** A TURN relay is configured: two `restricted` peers can connect through it. */
  readonly relay?: boolean;
  /** Whether a PeerJS id is still connected; a volunteer that is not is never matched. */
  isOnline(id: string): boolean;
}

export interface Consumer {
  readonly id: string;
  readonly ip: string;
  readonly group: string;
  readonly country: string;
  readonly nat: NatType;
  readonly pool: string;
  /** The volunteers it says it is connected to (ConsumerMatchRequest.have). */
  readonly have: ReadonlySet<string> | undefined;
}

/** Slots a pool's volunteers offer, in all and per address group. */
interface PoolCapacity {
  total: number;
  readonly byGroup: Map<string, number>;
}

/**
 * The NAT type the server goes by: the probe's finding; else a claim of `restricted`, which
 * only narrows whom the claimant is matched with; a claim of `unrestricted`, which would
 * open doors, counts as `unknown` until the probe has seen it.
 */
export function believedNat(proven: NatType | undefined, claimed: NatType): NatType {
  return proven ?? (claimed === 'restricted' ? 'restricted' : 'unknown');
}

/**
 * How likely a pair is to connect, lower first: both proven and compatible; one side
 * unknown; both unknown, or two restricted peers that need the TURN relay.
 */
function pairRank(a: NatType, b: NatType): number {
  if (a === 'restricted' && b === 'restricted') return 2;
  return (a === 'unknown' ? 1 : 0) + (b === 'unknown' ? 1 : 0);
}

export function holdOf(consumer: Consumer, volunteer: VolunteerRecord): Hold {
  return {
    consumer: consumer.id,
    consumerGroup: consumer.group,
    volunteer: volunteer.id,
    volunteerGroup: volunteer.group,
  };
}

/** The decisions of one poll or match, over the pool as it read it. */
export class MatchPolicy {
  readonly #view: PoolView;
  readonly #options: PolicyOptions;
  /** Pool capacities, computed once per poll or match (see #groupCap). */
  readonly #capacity = new Map<string, PoolCapacity>();

  constructor(view: PoolView, options: PolicyOptions) {
    this.#view = view;
    this.#options = options;
  }

  /** Up to `count` polling volunteers for `consumer`, spread over addresses, least used first. */
  choose(consumer: Consumer, count: number): VolunteerRecord[] {
    const view = this.#view;
    const suitable = [...view.volunteers()]
      .filter((volunteer) => volunteer.polling && this.suits(volunteer, consumer))
      .sort(
        (a, b) =>
          pairRank(a.nat, consumer.nat) - pairRank(b.nat, consumer.nat) ||
          view.holds('volunteer', a.id) - view.holds('volunteer', b.id) ||
          b.slots - a.slots ||
          a.lastMatched - b.lastMatched,
      );
    const chosen: VolunteerRecord[] = [];
    const groups = new Set<string>();
    for (const volunteer of suitable) {
      if (chosen.length === count) break;
      if (groups.has(volunteer.group)) continue;
      groups.add(volunteer.group);
      chosen.push(volunteer);
    }
    // Several from one address only when there are not enough addresses; the group's share
    // still bounds how many it gets in all.
    for (const volunteer of suitable) {
      if (chosen.length === count) break;
      if (chosen.includes(volunteer)) continue;
      const inGroup = chosen.filter((other) => other.group === volunteer.group).length;
      if (
        view.holds('volunteerGroup', volunteer.group) + inGroup >=
        this.#groupCap(volunteer.pool, volunteer.group, 'volunteer')
      ) {
        continue;
      }
      chosen.push(volunteer);
    }
    return chosen;
  }

  /** How many more introductions `consumer` may get now. */
  allowance(consumer: Consumer): number {
    const { perConsumer } = this.#options.shares;
    return Math.min(
      perConsumer - this.#view.holds('consumer', consumer.id),
      this.#groupCap(consumer.pool, consumer.group, 'consumer') -
        this.#view.holds('consumerGroup', consumer.group),
    );
  }

  /** The most holds each side of the pair may have for its introduction to be recorded. */
  caps(consumer: Consumer, volunteer: VolunteerRecord): HoldCaps {
    const { perConsumer, volunteerSlots } = this.#options.shares;
    return {
      consumer: perConsumer,
      consumerGroup: this.#groupCap(consumer.pool, consumer.group, 'consumer'),
      volunteer: volunteerSlots,
      volunteerGroup: this.#groupCap(volunteer.pool, volunteer.group, 'volunteer'),
    };
  }

  /** Whether `volunteer` may serve `consumer`; whether it is polling is the caller's check. */
  suits(volunteer: VolunteerRecord, consumer: Consumer): boolean {
    const view = this.#view;
    const options = this.#options;
    return (
      volunteer.slots > 0 &&
      volunteer.pool === consumer.pool &&
      volunteer.id !== consumer.id &&
      (options.allowSameIp || volunteer.group !== consumer.group) &&
      (options.ignoreNat === true ||
        options.relay === true ||
        volunteer.nat !== 'restricted' ||
        consumer.nat !== 'restricted') &&
      !view.introduced(consumer.id, volunteer.id, consumer.have) &&
      !view.failed(consumer.id, volunteer.id) &&
      view.holds('volunteer', volunteer.id) < options.shares.volunteerSlots &&
      view.holds('volunteerGroup', volunteer.group) <
        this.#groupCap(volunteer.pool, volunteer.group, 'volunteer') &&
      options.isOnline(volunteer.id)
    );
  }

  /**
   * The most introductions one address group may hold in `pool`: its percentage of the free
   * slots the pool's *other* addresses offer (as last claimed, each capped), so that neither
   * volunteers of one's own nor slots one already holds can raise one's share; at least one
   * peer's own allowance, at most `perAddress`.
   */
  #groupCap(pool: string, group: string, side: 'consumer' | 'volunteer'): number {
    const { perConsumer, perAddress, addressPercent, volunteerSlots } = this.#options.shares;
    const capacity = this.#poolCapacity(pool);
    const others = capacity.total - (capacity.byGroup.get(group) ?? 0);
    const floor = side === 'consumer' ? perConsumer : volunteerSlots;
    return Math.min(perAddress, Math.max(floor, Math.ceil((others * addressPercent) / 100)));
  }

  #poolCapacity(pool: string): PoolCapacity {
    let capacity = this.#capacity.get(pool);
    if (capacity !== undefined) return capacity;
    capacity = { total: 0, byGroup: new Map() };
    const { volunteerSlots } = this.#options.shares;
    for (const volunteer of this.#view.volunteers()) {
      if (volunteer.pool !== pool) continue;
      const slots = Math.min(volunteerSlots, volunteer.slots);
      capacity.total += slots;
      capacity.byGroup.set(volunteer.group, (capacity.byGroup.get(volunteer.group) ?? 0) + slots);
    }
    this.#capacity.set(pool, capacity);
    return capacity;
  }
}
