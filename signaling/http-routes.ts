/**
 * The HTTP side, relative to `path`: the PeerJS routes (`/`, `{key}/id`, `{key}/peers`),
 * matchmaking (`v1/volunteer/poll`, `v1/consumer/match`, `v1/config`), the public network
 * state (`v1/netstate`) and `metrics`. A request for anything else is left to whoever mounted
 * us (the router answers `false`).
 */
import { withAdmission } from './admission-issuer.ts';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SchemaError } from '../protocol/errors.ts';
import {
  parseConsumerMatchRequest,
  parseJsonBody,
  parseNatProbeRequest,
  type NatProbeResponse,
  parseVolunteerPollRequest,
  type ConsumerMatchResponse,
  type EgressInfo,
  type VolunteerPollResponse,
} from '../protocol/matchmaking.ts';
import { addressGroup, clientIp } from '../server-kit/client-address.ts';
import type { FaultSite } from '../server-kit/http-boundary.ts';
import { configBody, type SignalingSettings } from './config.ts';
import type { CorsPolicy } from './cors.ts';
import { HttpError } from './errors.ts';
import { UNKNOWN_COUNTRY } from './geoip.ts';
import { readBody, sendError, sendJson, sendText } from './http-io.ts';
import type { Logger } from '../server-kit/logger.ts';
import type { Matchmaker } from './matchmaker.ts';
import type { NatProbe } from './nat-probe.ts';
import type { SignalingMetrics } from './metrics.ts';
import type { NetworkState } from './netstate.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { PeerDirectory } from './store.ts';

export interface HttpContext {
  readonly settings: SignalingSettings;
  /** The egress list as it is now (it can change at run time: SignalingService.setEgresses). */
  egresses(): readonly EgressInfo[];
  /** Who holds which PeerJS id (store.ts), wherever the peer is connected. */
  readonly directory: PeerDirectory;
  readonly matchmaker: Matchmaker;
  /** The NAT probe's STUN responders, when the server runs them. */
  readonly natProbe: NatProbe | undefined;
  readonly metrics: SignalingMetrics;
  readonly netstate: NetworkState;
  readonly cors: CorsPolicy;
  readonly requestRate: RateLimiter;
  readonly logger: Logger;
  country(ip: string): string;
  /** An exception escaped a route: logged and counted by the service. */
  readonly fault: (site: FaultSite, error: unknown) => void;
}

/** Who is asking: the address as it is, and the group its limits are counted in. */
interface From {
  readonly ip: string;
  readonly group: string;
}

type Route = (req: IncomingMessage, res: ServerResponse, from: From) => Promise<void> | void;

interface RouteEntry {
  readonly method: 'GET' | 'POST';
  readonly run: Route;
  /** Rate limited per address; the cheap read-only routes are not. */
  readonly limited: boolean;
}

const KEY_ROUTE = /^([^/]+)\/(id|peers)$/;

export function createHttpRoutes(
  context: HttpContext,
): (req: IncomingMessage, res: ServerResponse, url: URL) => boolean {
  const { settings, directory, metrics } = context;

  const routes: Readonly<Record<string, RouteEntry>> = {
    '': { method: 'GET', limited: false, run: (_req, res) => sendJson(res, 200, describe()) },
    peerjs: {
      method: 'GET',
      limited: false,
      run: (_req, res) => sendError(res, 'bad-request', 'this is a WebSocket endpoint'),
    },
    'v1/config': {
      method: 'GET',
      limited: false,
      run: (req, res, { ip }) =>
        sendJson(
          res,
          200,
          configBody(
            { ...settings, egresses: context.egresses() },
            context.country(ip),
            probeInfo(req),
          ),
        ),
    },
    // Not rate limited, like `v1/config`: the answer is computed at most once a second and
    // then served from a cached string, so a flood costs bandwidth, not work.
    'v1/netstate': {
      method: 'GET',
      limited: false,
      run: async (_req, res) =>
        sendText(res, 200, await context.netstate.text(), 'application/json; charset=utf-8'),
    },
    'v1/volunteer/poll': { method: 'POST', limited: true, run: poll },
    'v1/consumer/match': { method: 'POST', limited: true, run: match },
    'v1/nat-probe': { method: 'POST', limited: true, run: natProbeReport },
    metrics: {
      method: 'GET',
      limited: false,
      run: async (_req, res) =>
        sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType),
    },
  };

  function describe(): unknown {
    return {
      name: 'Browsers Unbounded signaling',
      description: 'PeerJS-compatible signaling server with matchmaking',
      peerjs: { path: settings.path, key: settings.key },
    };
  }

  function keyRoute(key: string, what: string): RouteEntry {
    return {
      method: 'GET',
      limited: true,
      run: async (_req, res) => {
        // The stock server ignores the key here; checking it keeps ids for this key only.
        if (key !== settings.key) throw new HttpError('unauthorized', 'invalid key');
        if (what === 'id') {
          sendText(res, 200, await freshId(), 'text/plain; charset=utf-8');
        } else if (!settings.allowDiscovery) {
          throw new HttpError('unauthorized', 'peer discovery is disabled on this server');
        } else {
          sendJson(res, 200, await directory.ids());
        }
      },
    };
  }

  async function freshId(): Promise<string> {
    for (;;) {
      const id = randomUUID();
      if ((await directory.lookup(id)) === undefined) return id;
    }
  }

  async function poll(req: IncomingMessage, res: ServerResponse, from: From): Promise<void> {
    const request = parseVolunteerPollRequest(await readJson(req));
    await authenticate(request.id, request.token);
    const abort = abortOnClose(res);
    const match = await context.matchmaker.poll(
      request,
      { ...from, country: context.country(from.ip) },
      abort.signal,
    );
    const body: VolunteerPollResponse = { match };
    sendJson(res, 200, body);
  }

  async function match(req: IncomingMessage, res: ServerResponse, from: From): Promise<void> {
    let request;
    try {
      request = parseConsumerMatchRequest(await readJson(req));
      await authenticate(request.id, request.token);
    } catch (err) {
      metrics.denied(
        err instanceof HttpError && err.code === 'unauthorized' ? 'unauthorized' : 'bad-request',
      );
      throw err;
    }
    const country = context.country(from.ip);
    context.netstate.consumer(request.id, country);
    const abort = abortOnClose(res);
    let volunteers;
    try {
      volunteers = await context.matchmaker.match(request, { ...from, country }, abort.signal);
    } catch (err) {
      if (err instanceof HttpError) {
        metrics.denied(
          err.code === 'rate-limited' || err.code === 'fair-share' ? err.code : 'no-volunteers',
        );
      }
      throw err;
    }
    metrics.matched(volunteers.length);
    context.netstate.matched(
      request.id,
      country,
      await Promise.all(volunteers.map(volunteerCountry)),
    );
    const egresses = context.egresses();
    const body: ConsumerMatchResponse = {
      volunteers: volunteers.map((id) => ({ id })),
      egresses: settings.admission ? withAdmission(egresses, settings.admission) : egresses,
    };
    sendJson(res, 200, body);
  }

  /** The probe's `stun:` URLs, at the operator's name for it or the name the client used. */
  function probeInfo(req: IncomingMessage): { urls: string[] } | undefined {
    const probe = context.natProbe;
    if (probe === undefined || probe.ports.length !== 2) return undefined;
    const named = settings.natProbe?.host ?? hostName(req.headers.host);
    return named === undefined ? undefined : { urls: probe.urls(named) };
  }

  async function natProbeReport(
    req: IncomingMessage,
    res: ServerResponse,
    from: From,
  ): Promise<void> {
    const request = parseNatProbeRequest(await readJson(req));
    await authenticate(request.id, request.token);
    const nat = context.natProbe?.judge(from.ip, request.mapped);
    if (nat !== undefined) await context.matchmaker.proven(request.id, nat);
    metrics.natProbed(nat ?? 'unknown');
    const body: NatProbeResponse = { nat: nat ?? 'unknown' };
    sendJson(res, 200, body);
  }

  /** Where a matched volunteer is, from the address its PeerJS socket came from. */
  async function volunteerCountry(id: string): Promise<{ id: string; country: string }> {
    const peer = await directory.lookup(id);
    return { id, country: peer === undefined ? UNKNOWN_COUNTRY : context.country(peer.ip) };
  }

  async function authenticate(id: string, token: string): Promise<void> {
    if ((await directory.authenticate(id, token)) === undefined) {
      metrics.rejected('unauthorized');
      throw new HttpError('unauthorized', 'id and token must be those of a connected PeerJS peer');
    }
  }

  /** The host name of a Host header (no port); undefined when it is not a plain name. */
  function hostName(host: string | undefined): string | undefined {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d+)?$/.exec(host ?? '');
    return match?.[1]?.replace(/^\[|\]$/g, '');
  }

  async function readJson(req: IncomingMessage): Promise<unknown> {
    const text = await readBody(req);
    return parseJsonBody(text);
  }

  return (req, res, url) => {
    const base = settings.path;
    const pathname = url.pathname === base.slice(0, -1) ? base : url.pathname;
    if (!pathname.startsWith(base)) return false;
    const rest = pathname.slice(base.length);
    const keyMatch = KEY_ROUTE.exec(rest);
    const entry =
      routes[rest] ??
      (keyMatch === null ? undefined : keyRoute(keyMatch[1] ?? '', keyMatch[2] ?? ''));
    if (entry === undefined && !rest.startsWith('v1/')) return false;

    if (context.cors.apply(req, res)) return true;
    const ip = clientIp(req);
    const from: From = { ip, group: addressGroup(ip, settings.ipv6Prefix) };
    void (async () => {
      if (entry === undefined) throw new HttpError('not-found', 'no such route');
      if (req.method !== entry.method && !(req.method === 'HEAD' && entry.method === 'GET')) {
        res.setHeader('Allow', entry.method);
        throw new HttpError('method-not-allowed', `use ${entry.method}`);
      }
      if (entry.limited && !context.requestRate.take(from.group, Date.now())) {
        metrics.rejected('rate-limited');
        throw new HttpError('rate-limited', 'too many requests from your address');
      }
      await entry.run(req, res, from);
    })().catch((err: unknown) => {
      if (err instanceof HttpError) {
        if (err.code === 'too-large') metrics.rejected('too-large');
        if (err.reason !== undefined) metrics.rejected(err.reason);
        sendError(res, err.code, err.message);
      } else if (err instanceof SchemaError) {
        metrics.rejected(err.code === 'ERR_SCHEMA_TOO_LARGE' ? 'too-large' : 'bad-request');
        sendError(
          res,
          err.code === 'ERR_SCHEMA_TOO_LARGE' ? 'too-large' : 'bad-request',
          err.message,
        );
      } else {
        context.fault('request', err);
        sendError(res, 'internal', 'internal error');
      }
    });
    return true;
  };
}

function abortOnClose(res: ServerResponse): AbortController {
  const controller = new AbortController();
  // 'close' before the reply was written means the caller hung up on a long poll.
  res.on('close', () => {
    if (!res.writableFinished) controller.abort();
  });
  return controller;
}
