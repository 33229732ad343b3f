/**
 * Prometheus metrics in this part's own registry (not prom-client's global one), so that
 * `bu serve` can merge the registries of signaling and egress. Hot-path counters use label
 * children bound once; everything that describes current state (peers, volunteers, unique
 * addresses, queue sizes) is computed from the live tables when scraped, so keeping it costs
 * nothing between scrapes. The shared tables are read through the store (store.ts), so a
 * source may answer with a promise.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { NAT_TYPES, VOLUNTEER_KINDS } from '../protocol/matchmaking.ts';
import type { NatType, VolunteerKind } from '../protocol/matchmaking.ts';
import { CLIENT_MESSAGE_TYPES, type ClientMessageType } from '../protocol/peerjs-messages.ts';
import { FAULT_SITES, type FaultSite } from '../server-kit/http-boundary.ts';
import { REJECT_REASONS, type RejectReason } from './errors.ts';

export interface VolunteerView {
  readonly ip: string;
  readonly kind: VolunteerKind;
  readonly nat: NatType;
  readonly country: string;
  /** Polling now with a free slot: it could be matched this instant. */
  readonly available: boolean;
}

type Read<T> = T | Promise<T>;

export interface MetricsSources {
  peers(): Read<number>;
  queuedMessages(): Read<number>;
  queuedBytes(): Read<number>;
  waitingConsumers(): Read<number>;
  introductions(): Read<number>;
  volunteers(): Read<Iterable<VolunteerView>>;
}

/** Why a consumer got no volunteer: the `reason` label of the denials counter. */
export const DENIAL_REASONS = [
  'no-volunteers',
  'unauthorized',
  'bad-request',
  'rate-limited',
  'fair-share',
] as const;
export type DenialReason = (typeof DENIAL_REASONS)[number];

const PREFIX = 'bu_signaling_';

export class SignalingMetrics {
  readonly registry = new Registry();
  readonly #relayed: ReadonlyMap<ClientMessageType, Counter.Internal>;
  readonly #rejected: ReadonlyMap<RejectReason, Counter.Internal>;
  readonly #denied: ReadonlyMap<DenialReason, Counter.Internal>;
  readonly #matches: Counter;
  readonly #natProbes: Counter;
  readonly #connections: Counter;
  readonly #faults: ReadonlyMap<FaultSite, Counter.Internal>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const relayed = new Counter({
      name: `${PREFIX}messages_relayed_total`,
      help: 'PeerJS messages delivered to their destination (at once or from the queue), by type',
      labelNames: ['type'],
      registers,
    });
    this.#relayed = bind(CLIENT_MESSAGE_TYPES, (type) => relayed.labels({ type }));
    const rejected = new Counter({
      name: `${PREFIX}rejected_inputs_total`,
      help: 'Inputs refused or ignored (bad messages, refused connections, bad requests), by reason',
      labelNames: ['reason'],
      registers,
    });
    this.#rejected = bind(REJECT_REASONS, (reason) => rejected.labels({ reason }));
    const denied = new Counter({
      name: `${PREFIX}match_denials_total`,
      help: 'Consumer match requests answered without volunteers, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.#denied = bind(DENIAL_REASONS, (reason) => denied.labels({ reason }));
    this.#matches = new Counter({
      name: `${PREFIX}matches_total`,
      help: 'Volunteers handed to consumers (one per consumer-volunteer pair)',
      registers,
    });
    const faults = new Counter({
      name: `${PREFIX}faults_total`,
      help: 'Unexpected exceptions caught at an entry point (each a bug), by where',
      labelNames: ['site'],
      registers,
    });
    this.#faults = bind(FAULT_SITES, (site) => faults.labels({ site }));
    this.#natProbes = new Counter({
      name: `${PREFIX}nat_probes_total`,
      help: 'NAT probe reports (v1/nat-probe), by what the server saw: unrestricted, restricted or unknown',
      labelNames: ['nat'],
      registers,
    });
    this.#connections = new Counter({
      name: `${PREFIX}peer_connections_total`,
      help: 'PeerJS WebSocket connections accepted (OPEN sent), reconnects included',
      registers,
    });

    new Gauge({
      name: `${PREFIX}peers_connected`,
      help: 'PeerJS ids connected now',
      registers,
      async collect() {
        this.set(await sources.peers());
      },
    });
    new Gauge({
      name: `${PREFIX}queued_messages`,
      help: 'Messages waiting for an offline destination',
      registers,
      async collect() {
        this.set(await sources.queuedMessages());
      },
    });
    new Gauge({
      name: `${PREFIX}queued_bytes`,
      help: 'Bytes of messages waiting for an offline destination',
      registers,
      async collect() {
        this.set(await sources.queuedBytes());
      },
    });
    new Gauge({
      name: `${PREFIX}consumers_waiting`,
      help: 'Consumer match requests waiting for a volunteer',
      registers,
      async collect() {
        this.set(await sources.waitingConsumers());
      },
    });
    new Gauge({
      name: `${PREFIX}introductions_outstanding`,
      help: 'Matches whose volunteer has not answered the consumer yet (what fair shares count)',
      registers,
      async collect() {
        this.set(await sources.introductions());
      },
    });
    new Gauge({
      name: `${PREFIX}volunteers_available`,
      help: 'Volunteers polling now with a free slot, by NAT type and kind',
      labelNames: ['nat', 'kind'],
      registers,
      async collect() {
        const counts = new Map<string, number>();
        for (const v of await sources.volunteers()) {
          if (v.available)
            counts.set(`${v.nat}/${v.kind}`, (counts.get(`${v.nat}/${v.kind}`) ?? 0) + 1);
        }
        for (const nat of NAT_TYPES) {
          for (const kind of VOLUNTEER_KINDS)
            this.set({ nat, kind }, counts.get(`${nat}/${kind}`) ?? 0);
        }
      },
    });
    new Gauge({
      name: `${PREFIX}volunteer_ips`,
      help: 'Distinct addresses of registered volunteers, each counted once whatever its kinds',
      registers,
      async collect() {
        this.set(new Set([...(await sources.volunteers())].map((v) => v.ip)).size);
      },
    });
    new Gauge({
      name: `${PREFIX}volunteer_ips_by_kind`,
      help: 'Distinct addresses of registered volunteers of each kind',
      labelNames: ['kind'],
      registers,
      async collect() {
        const sets = distinctIps(await sources.volunteers(), (v) => v.kind);
        for (const kind of VOLUNTEER_KINDS) this.set({ kind }, sets.get(kind)?.size ?? 0);
      },
    });
    new Gauge({
      name: `${PREFIX}volunteer_ips_by_nat`,
      help: 'Distinct addresses of registered volunteers of each NAT type',
      labelNames: ['nat'],
      registers,
      async collect() {
        const sets = distinctIps(await sources.volunteers(), (v) => v.nat);
        for (const nat of NAT_TYPES) this.set({ nat }, sets.get(nat)?.size ?? 0);
      },
    });
    new Gauge({
      name: `${PREFIX}volunteer_ips_by_country`,
      help: 'Distinct addresses of registered volunteers in each country (?? when unknown)',
      labelNames: ['country'],
      registers,
      async collect() {
        const volunteers = await sources.volunteers();
        // Countries come and go; reset so that one whose volunteers left drops out.
        this.reset();
        for (const [country, ips] of distinctIps(volunteers, (v) => v.country)) {
          this.set({ country }, ips.size);
        }
      },
    });
  }

  relayed(type: ClientMessageType): void {
    this.#relayed.get(type)?.inc();
  }

  rejected(reason: RejectReason): void {
    this.#rejected.get(reason)?.inc();
  }

  denied(reason: DenialReason): void {
    this.#denied.get(reason)?.inc();
  }

  matched(volunteers: number): void {
    this.#matches.inc(volunteers);
  }

  /** A NAT probe report, and what the server made of it. */
  natProbed(nat: NatType): void {
    this.#natProbes.labels({ nat }).inc();
  }

  connected(): void {
    this.#connections.inc();
  }

  fault(site: FaultSite): void {
    this.#faults.get(site)?.inc();
  }
}

function bind<K extends string, V>(keys: readonly K[], make: (key: K) => V): ReadonlyMap<K, V> {
  return new Map(keys.map((key) => [key, make(key)]));
}

function distinctIps(
  volunteers: Iterable<VolunteerView>,
  group: (volunteer: VolunteerView) => string,
): Map<string, Set<string>> {
  const sets = new Map<string, Set<string>>();
  for (const volunteer of volunteers) {
    const key = group(volunteer);
    const set = sets.get(key) ?? new Set<string>();
    set.add(volunteer.ip);
    sets.set(key, set);
  }
  return sets;
}
