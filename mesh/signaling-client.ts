/**
 * HTTP side of the signaling server, as the volunteer and the consumer use it:
 * `v1/config`, `v1/volunteer/poll`, `v1/consumer/match`. Every answer is
 * validated with the protocol/ schemas before it is used.
 */
import {
  parseConsumerMatchResponse,
  parseJsonBody,
  parseMatchmakingError,
  parseNatProbeResponse,
  parseVolunteerPollResponse,
  type ConsumerMatchRequest,
  type ConsumerMatchResponse,
  type NatProbeRequest,
  type NatProbeResponse,
  type VolunteerPollRequest,
  type VolunteerPollResponse,
} from '../protocol/matchmaking.ts';
import { parseSignalingConfig, type SignalingConfig } from '../protocol/signaling-config.ts';
import { MeshError } from './errors.ts';

/** What the PeerJS client needs to reach the same server. */
export interface PeerServerOptions {
  readonly host: string;
  readonly port: number;
  readonly path: string;
  readonly secure: boolean;
  readonly key: string;
}

export class SignalingClient {
  readonly baseUrl: URL;
  readonly key: string;

  /** `url` is the signaling server's base, e.g. `http://127.0.0.1:8080/signal/`. */
  constructor(url: string | URL, options: { key?: string } = {}) {
    const base = new URL(url);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new TypeError(`signaling URL: expected http: or https:, got ${base.protocol}`);
    }
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    base.search = '';
    base.hash = '';
    this.baseUrl = base;
    this.key = options.key ?? 'peerjs';
  }

  get peerServer(): PeerServerOptions {
    const secure = this.baseUrl.protocol === 'https:';
    const port = this.baseUrl.port === '' ? (secure ? 443 : 80) : Number(this.baseUrl.port);
    return {
      host: this.baseUrl.hostname.replace(/^\[|\]$/g, ''),
      port,
      path: this.baseUrl.pathname,
      secure,
      key: this.key,
    };
  }

  async config(signal?: AbortSignal): Promise<SignalingConfig> {
    return parseSignalingConfig(await this.call('v1/config', undefined, signal));
  }

  /** Reports the mapped addresses NAT discovery found; the server says what it saw. */
  async natProbe(request: NatProbeRequest, signal?: AbortSignal): Promise<NatProbeResponse> {
    return parseNatProbeResponse(await this.call('v1/nat-probe', request, signal));
  }

  /**
   * One call: a GET without `body`, a JSON POST with it. Resolves with the parsed JSON of a 2xx
   * answer, for the caller to check against its schema; anything else is `ERR_SIGNALING`
   * (`ERR_NO_VOLUNTEERS` for that answer).
   */
  async call(route: string, body: object | undefined, signal?: AbortSignal): Promise<unknown> {
    const url = new URL(route, this.baseUrl);
    let response: Response;
    try {
      response = await fetch(url, {
        method: body === undefined ? 'GET' : 'POST',
        ...(body === undefined
          ? {}
          : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new MeshError('ERR_SIGNALING', `cannot reach the signaling server at ${url.origin}`, {
        cause: err,
      });
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = parseJsonBody(text);
    } catch (err) {
      throw new MeshError(
        'ERR_SIGNALING',
        `the signaling server answered ${route} with ${response.status} and no JSON`,
        { cause: err },
      );
    }
    if (response.ok) return parsed;
    let error: string = String(response.status);
    let message = '';
    try {
      const body = parseMatchmakingError(parsed);
      error = body.error;
      message = body.message ?? '';
    } catch {
      // Not one of ours: report the status.
    }
    throw new MeshError(
      error === 'no-volunteers' ? 'ERR_NO_VOLUNTEERS' : 'ERR_SIGNALING',
      `signaling ${route}: ${error}${message ? ` (${message})` : ''}`,
    );
  }
}

/**
 * Long-polls for a consumer; `{match: null}` when the server's wait ran out. (The two
 * side-specific calls are functions, not methods, so that the widget's volunteer bundle carries
 * no consumer schema and the hub's consumer no volunteer one.)
 */
export async function volunteerPoll(
  client: SignalingClient,
  request: VolunteerPollRequest,
  signal?: AbortSignal,
): Promise<VolunteerPollResponse> {
  return parseVolunteerPollResponse(await client.call('v1/volunteer/poll', request, signal));
}

/** Asks for volunteers; throws `ERR_NO_VOLUNTEERS` when none is free. */
export async function consumerMatch(
  client: SignalingClient,
  request: ConsumerMatchRequest,
  signal?: AbortSignal,
): Promise<ConsumerMatchResponse> {
  return parseConsumerMatchResponse(await client.call('v1/consumer/match', request, signal));
}

/** A random PeerJS token: the secret that ties HTTP calls to our PeerJS connection. */
export function randomToken(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
