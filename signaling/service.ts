/**
 * The signaling service as something to mount on an existing `http.Server`: `bu signaling`
 * mounts it alone, `bu serve` next to the site and the egress on one port. It owns its timers,
 * its metrics registry and what is per process (sockets, waiting requests); the state that
 * instances would share (peers' claims, queues, matchmaking) is in a store (store.ts), the
 * in-memory one unless `options.store` makes another. This is the one place it is made.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Registry } from 'prom-client';
import { EXPIRE } from '../protocol/peerjs-messages.ts';
import { guarded, type BoundaryRefusal, type FaultSite } from '../server-kit/http-boundary.ts';
import type { EgressInfo } from '../protocol/matchmaking.ts';
import {
  checkEgresses,
  resolveSettings,
  type SignalingOptions,
  type SignalingSettings,
} from './config.ts';
import { CorsPolicy } from './cors.ts';
import { CLOSE_CODES } from './errors.ts';
import { GeoipDatabase, loadGeoip } from './geoip.ts';
import { createHttpRoutes } from './http-routes.ts';
import { createLogger, type Logger } from '../server-kit/logger.ts';
import { Matchmaker } from './matchmaker.ts';
import { createMemoryStore } from './memory-store.ts';
import { notify, type RelayContext } from './message-handlers.ts';
import { SignalingMetrics } from './metrics.ts';
import { NatProbe } from './nat-probe.ts';
import { NetworkState } from './netstate.ts';
import { PeerRegistry } from './peer-registry.ts';
import { createPeerjsSockets } from './peerjs-socket.ts';
import { RateLimiter } from './rate-limit.ts';

export interface SignalingService {
  /** The settings it started with; the egress list may change since (`egresses`). */
  readonly settings: SignalingSettings;
  /** The egress list published now in `v1/config` and match answers. */
  readonly egresses: readonly EgressInfo[];
  /**
   * Replaces the egress list, e.g. when SIGHUP re-reads `--egress-file`; clients pick it up
   * at their next config read or match. Checked as at start (ERR_SIGNALING_CONFIG); the old
   * list stays when it fails.
   */
  setEgresses(egresses: readonly EgressInfo[]): void;
  /**
   * True when the request was for us and is being answered. `url` is the request target,
   * parsed once by the server's boundary (server-kit/http-boundary.ts).
   */
  handleRequest(req: IncomingMessage, res: ServerResponse, url: URL): boolean;
  /** True when the upgrade was for the PeerJS endpoint and is being handled. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean;
  /** An exception escaped one of our entry points: log it and count it (faults_total). */
  fault(site: FaultSite, error: unknown): void;
  /** The server's boundary refused a client before any route ran: counted as a rejection. */
  refused(reason: BoundaryRefusal): void;
  readonly metrics: Registry;
  /** Settles once the country database is loaded (at once when geoip is off). */
  readonly ready: Promise<void>;
  /** Reloads the country database (SIGHUP); the old one stays if the new one fails. */
  reloadGeoip(): Promise<void>;
  close(): Promise<void>;
}

/** Sweeps often enough for millisecond timeouts in tests, at most once a second otherwise. */
function sweepInterval(settings: SignalingSettings): number {
  const shortest = Math.min(
    settings.aliveTimeoutMs,
    settings.expireTimeoutMs,
    settings.volunteerTimeoutMs,
  );
  return Math.max(5, Math.min(1000, Math.floor(shortest / 4)));
}

export function createSignalingService(options: SignalingOptions = {}): SignalingService {
  const settings = resolveSettings(options);
  let egresses = settings.egresses;
  const logger: Logger = options.logger ?? createLogger('info');
  let geoip = new GeoipDatabase();
  const store = (options.store ?? createMemoryStore)(settings);
  /** Store work nobody waits for: a failure is a fault at `site`, never an unhandled rejection. */
  const background = (work: Promise<unknown>, site: FaultSite): void => {
    work.catch((error: unknown) => fault(site, error));
  };

  // The peers connected here; an id that leaves gives up its claim and its matchmaking state.
  const registry = new PeerRegistry((peer) => {
    background(store.peers.release(peer.id, peer.epoch), 'connection');
    background(matchmaker.forget(peer.id), 'connection');
    netstate.forget(peer.id);
  });
  const matchmaker = new Matchmaker(
    {
      pollTimeoutMs: settings.pollTimeoutMs,
      matchTimeoutMs: settings.matchTimeoutMs,
      volunteerTimeoutMs: settings.volunteerTimeoutMs,
      holdMs: settings.matchHoldMs,
      shares: {
        perConsumer: settings.maxMatchesPerConsumer,
        perAddress: settings.maxMatchesPerAddress,
        addressPercent: settings.addressSharePercent,
        volunteerSlots: settings.maxVolunteerSlots,
      },
      allowSameIp: settings.allowSameIp,
      ignoreNat: settings.ignoreNat,
      relay: settings.iceServers.some((server) =>
        [server.urls].flat().some((url) => /^turns?:/.test(url)),
      ),
      maxWaiting: settings.maxWaiting,
      isOnline: (id) => registry.get(id) !== undefined,
      background: (work) => background(work, 'request'),
    },
    store.matches,
  );
  const netstate = new NetworkState({
    volunteers: () => matchmaker.volunteers(),
    isOnline: (id) => registry.get(id) !== undefined,
  });
  const queue = store.queue;
  const metrics = new SignalingMetrics({
    peers: () => store.peers.size(),
    queuedMessages: async () => (await queue.stats()).messages,
    queuedBytes: async () => (await queue.stats()).bytes,
    waitingConsumers: () => matchmaker.waitingConsumers,
    introductions: () => matchmaker.outstanding(),
    volunteers: () => matchmaker.volunteers(),
  });
  const cors = new CorsPolicy(settings.cors, () => metrics.rejected('origin'));
  const fault = (site: FaultSite, error: unknown): void => {
    metrics.fault(site);
    logger.error('fault', {
      site,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  };
  const relay: RelayContext = {
    registry,
    queue,
    metrics,
    logger,
    relayRate: settings.relayRate,
    answered: (volunteer, consumer) =>
      background(matchmaker.answered(volunteer, consumer), 'message'),
  };
  const sockets = createPeerjsSockets({
    ...relay,
    directory: store.peers,
    settings,
    cors,
    connectionRate: new RateLimiter(settings.rateLimit),
    fault,
  });
  const natProbe = settings.natProbe === undefined ? undefined : new NatProbe();
  const routes = createHttpRoutes({
    settings,
    egresses: () => egresses,
    natProbe,
    directory: store.peers,
    matchmaker,
    metrics,
    netstate,
    cors,
    requestRate: new RateLimiter(settings.rateLimit),
    logger,
    country: (ip) => geoip.lookup(ip),
    fault,
  });

  let sweeping = false;
  const sweep = setInterval(
    guarded('timer', fault, async () => {
      // A store slower than the interval gets one sweep at a time, not a pile of them.
      if (sweeping) return;
      sweeping = true;
      try {
        await sweepOnce(Date.now());
      } finally {
        sweeping = false;
      }
    }),
    sweepInterval(settings),
  );
  sweep.unref();

  async function sweepOnce(now: number): Promise<void> {
    const silent = now - settings.aliveTimeoutMs;
    for (const peer of registry.silentSince(silent)) {
      logger.debug('peer timed out', { peer: peer.id });
      peer.link.close(CLOSE_CODES.normal, 'alive timeout');
      registry.remove(peer.id, peer.link);
    }
    for (const { src, dst } of await queue.expire(now - settings.expireTimeoutMs)) {
      const sender = registry.get(src);
      if (sender !== undefined) notify(sender, EXPIRE, dst);
    }
    await matchmaker.sweep(now - settings.volunteerTimeoutMs);
    // Claims no instance has vouched for lately were left by one that died: free them. Alone,
    // every claim is one of ours and refreshed here, so this finds nothing.
    await store.peers.refresh([...registry.ids()], now);
    for (const claim of await store.peers.silentSince(silent)) {
      if (registry.get(claim.id) !== undefined) continue;
      if (await store.peers.release(claim.id, claim.epoch)) await matchmaker.forget(claim.id);
    }
  }

  const load = async (): Promise<void> => {
    if (settings.geoip === false) return;
    const started = Date.now();
    geoip = await loadGeoip(settings.geoip);
    logger.info('geoip loaded', {
      ipv4Ranges: geoip.ipv4Ranges,
      ipv6Ranges: geoip.ipv6Ranges,
      ms: Date.now() - started,
    });
  };
  const geoipReady = load().catch((err: unknown) => {
    // Matching works without countries; they read `??` until a reload succeeds.
    logger.error('geoip not loaded', { error: err instanceof Error ? err.message : String(err) });
  });
  // A probe that cannot listen is a start-up error (the caller reports it), not a quiet gap.
  const probeReady =
    natProbe === undefined || settings.natProbe === undefined
      ? Promise.resolve()
      : natProbe
          .listen({ host: settings.natProbe.bind, port: settings.natProbe.port })
          .then(() => logger.info('nat probe listening', { ports: natProbe.ports.join(',') }));
  const ready = Promise.all([geoipReady, probeReady]).then(() => undefined);

  let closed = false;
  return {
    settings,
    get egresses() {
      return egresses;
    },
    setEgresses(next) {
      egresses = checkEgresses(settings, next);
      logger.info('egress list changed', { egresses: egresses.map((e) => e.id).join(',') });
    },
    metrics: metrics.registry,
    ready,
    handleRequest: routes,
    handleUpgrade: (req, socket, head, url) => sockets.handleUpgrade(req, socket, head, url),
    fault,
    refused: (reason) => metrics.rejected(reason),
    reloadGeoip: load,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(sweep);
      sockets.close();
      matchmaker.close();
      await store.close();
      await ready.catch(() => undefined);
      await natProbe?.close();
    },
  };
}
