/** Test helpers: a server on port 0 and raw WebSocket / HTTP clients that remember what came. */
import { request } from 'node:http';
import WebSocket, { type RawData } from 'ws';
import { createLogger } from '../../server-kit/logger.ts';
import { startSignalingServer, type ListenOptions, type SignalingServer } from '../server.ts';

export const quiet = createLogger('silent');

/** Anything with a signaling URL: a server in this process, or `bu signaling` (process.ts). */
export type Reachable = Pick<SignalingServer, 'url'>;

export function startTestServer(options: ListenOptions = {}): Promise<SignalingServer> {
  return startSignalingServer({ port: 0, geoip: false, logger: quiet, ...options });
}

export interface Received {
  readonly type: string;
  readonly src?: string;
  readonly dst?: string;
  readonly payload?: Record<string, unknown>;
}

/** A raw PeerJS socket: every message it receives is kept in order for `next()`. */
export class RawPeer {
  readonly ws: WebSocket;
  readonly #inbox: Received[] = [];
  readonly #waiters: ((message: Received) => void)[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, options: WebSocket.ClientOptions = {}) {
    this.ws = new WebSocket(url, options);
    this.ws.on('message', (data) => {
      const message = JSON.parse(rawText(data)) as Received;
      const waiter = this.#waiters.shift();
      if (waiter) waiter(message);
      else this.#inbox.push(message);
    });
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.ws.on('error', () => undefined);
  }

  next(): Promise<Received> {
    const queued = this.#inbox.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Messages received and not yet taken by `next()`. */
  get pending(): readonly Received[] {
    return this.#inbox;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.ws.readyState === WebSocket.OPEN) resolve();
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  close(): Promise<unknown> {
    this.ws.close();
    return this.closed;
  }
}

export function wsUrl(server: Reachable, query: Record<string, string>): string {
  const url = new URL('peerjs', server.url.replace(/^http/, 'ws'));
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value);
  return url.href;
}

/** A peer that has received OPEN. */
export async function connect(
  server: Reachable,
  id: string,
  token = `tok-${id}`,
  options: WebSocket.ClientOptions = {},
): Promise<RawPeer> {
  const peer = new RawPeer(wsUrl(server, { key: 'peerjs', id, token }), options);
  const first = await peer.next();
  if (first.type !== 'OPEN') throw new Error(`expected OPEN, got ${JSON.stringify(first)}`);
  return peer;
}

/** The fields tests read from JSON replies; unchecked, because checking them is the test. */
export interface ReplyBody {
  readonly error?: string;
  readonly volunteers?: { id: string }[];
  readonly match?: { consumer: string; cc: string } | null;
  readonly country?: string;
  readonly [field: string]: unknown;
}

export interface HttpReply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json<T = ReplyBody>(): T;
}

export function http(
  server: Reachable,
  method: string,
  path: string,
  body?: string | object,
  options: { headers?: Record<string, string>; localAddress?: string } = {},
): Promise<HttpReply> {
  const url = new URL(path, server.url);
  const payload =
    body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: options.headers ?? {},
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: <T>() => JSON.parse(text) as T,
          });
        });
      },
    );
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it holds; for state the server changes on its own timers. */
export async function eventually(check: () => boolean | Promise<boolean>): Promise<void> {
  for (;;) {
    if (await check()) return;
    await sleep(5);
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  return Buffer.from(data).toString('utf8');
}
