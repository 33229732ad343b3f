/**
 * The signaling service as something to mount on an existing `http.Server`: `bu signaling`
 * mounts it alone, `bu serve` next to the site and the egress on one port. It owns its state
 * (peers, queues, matchmaking), its timers and its metrics registry.
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
import { notify, type RelayContext } from './message-handlers.ts';
import { MessageQueue } from './message-queue.ts';
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

  const registry = new PeerRegistry((peer) => {
    matchmaker.forget(peer.id);
    netstate.forget(peer.id);
  });
  const matchmaker = new Matchmaker({
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
  });
  const netstate = new NetworkState({
    volunteers: () => matchmaker.volunteers(),
    isOnline: (id) => registry.get(id) !== undefined,
  });
  const queue = new MessageQueue(
    settings.maxQueuedPerDestination,
    settings.maxQueuedBytes,
    settings.maxQueuedBytesPerSender,
  );
  const metrics = new SignalingMetrics({
    peers: () => registry.size,
    queuedMessages: () => queue.messages,
    queuedBytes: () => queue.bytes,
    waitingConsumers: () => matchmaker.waitingConsumers,
    introductions: () => matchmaker.outstanding,
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
    answered: (volunteer, consumer) => matchmaker.answered(volunteer, consumer),
  };
  const sockets = createPeerjsSockets({
    ...relay,
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
    registry,
    matchmaker,
    metrics,
    netstate,
    cors,
    requestRate: new RateLimiter(settings.rateLimit),
    logger,
    country: (ip) => geoip.lookup(ip),
    fault,
  });

  const sweep = setInterval(
    guarded('timer', fault, () => {
      const now = Date.now();
      for (const peer of registry.silentSince(now - settings.aliveTimeoutMs)) {
        logger.debug('peer timed out', { peer: peer.id });
        peer.link.close(CLOSE_CODES.normal, 'alive timeout');
        registry.remove(peer.id, peer.link);
      }
      for (const { src, dst } of queue.expire(now - settings.expireTimeoutMs)) {
        const sender = registry.get(src);
        if (sender !== undefined) notify(sender, EXPIRE, dst);
      }
      matchmaker.sweep(now - settings.volunteerTimeoutMs);
    }),
    sweepInterval(settings),
  );
  sweep.unref();

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
      queue.clear();
      await ready.catch(() => undefined);
      await natProbe?.close();
    },
  };
}
