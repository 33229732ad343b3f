/**
 * Origin servers that testify who contacted them. Each origin is an HTTP and an HTTPS server
 * (self-signed, for `localhost`, 127.0.0.1 and the namespace's 10.77.0.x) on port 0, with a
 * WebSocket echo and an EventSource endpoint, serving a route table and directories. For every
 * TCP connection they accept they record, at accept time and before answering anything on it,
 * which process holds the client's socket (test/e2e/socket-owner.ts), and for every request its
 * method, path, Host and connection. A test can then prove that an origin heard only from the
 * egress process and never from the browser or any of its children.
 */
import { selfSignedCertificate, type TestCertificate } from '../../egress/test/tls-certificate.ts';
import { readFile, stat } from 'node:fs/promises';
import {
  createServer as createHttpServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { extname, join, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import {
  describeProcess,
  holderIsWithin,
  ownerOfConnection,
  type Endpoint,
  type SocketOwner,
} from './socket-owner.ts';

/** The witness's own endpoints on every origin; sites' files never live under this prefix. */
export const WITNESS_PREFIX = '/_witness/';
export const WS_PATH = `${WITNESS_PREFIX}ws`;
export const EVENTS_PATH = `${WITNESS_PREFIX}events`;
export const ECHO_PATH = `${WITNESS_PREFIX}echo`;

const MAX_BODY = 1024 * 1024;

export interface RouteRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingHttpHeaders;
  /** The request body (at most 1 MiB; more is refused with 413). */
  readonly body: Buffer;
}

export interface RouteResponse {
  readonly status?: number;
  /** Header names in any case; a list sends the header once per value (`set-cookie`). */
  readonly headers?: Readonly<Record<string, string | readonly string[]>>;
  readonly body?: string | Uint8Array;
  /** Serve this file instead of `body` (content type from its extension unless given). */
  readonly file?: string;
}

export type Route =
  RouteResponse | ((request: RouteRequest) => RouteResponse | Promise<RouteResponse>);

/** What one origin serves: exact paths first, then the longest matching mount, then `root`. */
export interface SiteContent {
  /** Exact pathname (no query) → response. */
  readonly routes?: Readonly<Record<string, Route>>;
  /** URL prefix ending in `/` → directory served below it. */
  readonly mounts?: Readonly<Record<string, string>>;
  /** A directory served at `/`. */
  readonly root?: string;
}

export type RequestKind = 'http' | 'websocket' | 'event-stream';

export interface WitnessedConnection {
  readonly id: number;
  /** The origin's name (`main` for the default one). */
  readonly origin: string;
  readonly scheme: 'http' | 'https';
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly acceptedAt: number;
  /** Who held the client's socket at accept time; undefined when that could not be found. */
  readonly owner: SocketOwner | undefined;
  /** Why `owner` is undefined. */
  readonly attributionError: string | undefined;
  /** How long the lookup in /proc took (at accept, synchronously: nothing on the connection is read before it ends). */
  readonly attributionMs: number;
  /** TLS server name the client sent, once the handshake is done (HTTPS only). */
  readonly servername: string | undefined;
}

export interface WitnessedRequest {
  readonly connection: WitnessedConnection;
  readonly origin: string;
  readonly scheme: 'http' | 'https';
  readonly kind: RequestKind;
  readonly method: string;
  /** Path and query, as sent. */
  readonly path: string;
  readonly host: string;
  readonly userAgent: string;
  /** True when the request carried `Sec-Fetch-*` headers (a browser's own request). */
  readonly secFetch: boolean;
  readonly at: number;
}

export interface WitnessOrigin {
  readonly name: string;
  /** `http://127.0.0.1:PORT` */
  readonly http: string;
  /** `https://127.0.0.1:PORT` (self-signed) */
  readonly https: string;
  /** WebSocket echo: every message comes back as it was sent. */
  readonly ws: string;
  readonly wss: string;
  /** `text/event-stream`: `?count=N&interval=MS` events (3 every 50 ms), then stays open. */
  readonly events: string;
  /** The same over HTTPS. */
  readonly secureEvents: string;
  /** `host:port` of both servers, for the egress's `--allow`. */
  readonly allow: readonly string[];
}

export interface WitnessOptions {
  /** Address to listen on (default 127.0.0.1; inside scripts/netns-run also 10.77.0.x). */
  readonly host?: string;
  /** What the default origin (`main`) serves: by default only a small page at `/`. */
  readonly content?: SiteContent;
  /** More origins, each on its own two ports, by name. */
  readonly sites?: Readonly<Record<string, SiteContent>>;
  /** Certificate and key for the HTTPS servers (default: a fresh self-signed one). */
  readonly tls?: TestCertificate;
}

export interface WithinOptions {
  /** Count the process's descendants too (default true). */
  readonly descendants?: boolean;
}

export interface WitnessOrigins extends WitnessOrigin {
  /** Every origin by name, `main` included. */
  readonly origins: Readonly<Record<string, WitnessOrigin>>;
  /** `host:port` of every server, for the egress's `--allow`. */
  readonly allowAll: readonly string[];
  connections(): readonly WitnessedConnection[];
  requests(): readonly WitnessedRequest[];
  /** Requests on connections held by `pid` (and, by default, by its descendants). */
  fromProcess(pid: number, options?: WithinOptions): readonly WitnessedRequest[];
  /** Connections held by `pid` (and, by default, by its descendants). */
  connectionsFrom(pid: number, options?: WithinOptions): readonly WitnessedConnection[];
  /** Forget what was recorded so far. */
  clear(): void;
  close(): Promise<void>;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.otf': 'font/otf',
  '.eot': 'application/vnd.ms-fontobject',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.ogv': 'video/ogg',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.wav': 'audio/wav',
  '.wasm': 'application/wasm',
  '.pdf': 'application/pdf',
};

export function contentType(path: string): string {
  return TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

const DEFAULT_CONTENT: SiteContent = {
  routes: {
    '/': {
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: '<!doctype html><meta charset="utf-8"><title>witness</title><p id="witness">witness</p>',
    },
  },
};

let certificate: Promise<TestCertificate> | undefined;

/** A self-signed certificate for the addresses tests use, made once per process. */
export function testCertificate(): Promise<TestCertificate> {
  certificate ??= selfSignedCertificate(['localhost'], ['127.0.0.1', '10.77.0.1', '10.77.0.2']);
  return certificate;
}

/**
 * What `pathname` names under `dir`: a file (a directory's index.html for a path ending in `/`),
 * a directory asked for without its `/` (answered with a redirect, as static servers do, so that
 * its page's relative URLs resolve), or nothing (outside `dir`, or missing).
 */
async function locate(
  dir: string,
  pathname: string,
): Promise<{ file: string } | { directory: true } | undefined> {
  const root = resolve(dir);
  let relative: string;
  try {
    relative = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  const full = resolve(root, `.${relative}`);
  if (full !== root && !full.startsWith(root + sep)) return undefined;
  try {
    const info = await stat(full);
    if (info.isFile()) return { file: full };
    if (!info.isDirectory()) return undefined;
    if (!pathname.endsWith('/')) return { directory: true };
    const index = join(full, 'index.html');
    return (await stat(index)).isFile() ? { file: index } : undefined;
  } catch {
    return undefined;
  }
}

async function resolveContent(
  content: SiteContent,
  request: RouteRequest,
): Promise<RouteResponse | undefined> {
  const { pathname, search } = request.url;
  const route = content.routes?.[pathname];
  if (route !== undefined) return typeof route === 'function' ? route(request) : route;
  if (content.mounts?.[`${pathname}/`] !== undefined) {
    return { status: 301, headers: { location: `${pathname}/${search}` } };
  }
  const places = Object.entries(content.mounts ?? {})
    .filter(([prefix]) => pathname.startsWith(prefix))
    .sort(([a], [b]) => b.length - a.length)
    .map(([prefix, dir]): [string, string] => [dir, pathname.slice(prefix.length - 1)]);
  if (content.root !== undefined) places.push([content.root, pathname]);
  for (const [dir, path] of places) {
    const found = await locate(dir, path);
    if (found === undefined) continue;
    if ('file' in found) return { file: found.file };
    return { status: 301, headers: { location: `${pathname}/${search}` } };
  }
  return undefined;
}

/** One `bytes=A-B` range of a file of `size` bytes, or null for none, undefined for unsatisfiable. */
function byteRange(header: string | undefined, size: number): [number, number] | null | undefined {
  if (header === undefined) return null;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return null; // several ranges or another unit: answer the whole file
  const [, from = '', to = ''] = match;
  if (from === '' && to === '') return null;
  let start: number;
  let end: number;
  if (from === '') {
    start = Math.max(0, size - Number(to));
    end = size - 1;
  } else {
    start = Number(from);
    end = to === '' ? size - 1 : Math.min(Number(to), size - 1);
  }
  if (start > end || start >= size) return undefined;
  return [start, end];
}

async function send(
  req: IncomingMessage,
  res: ServerResponse,
  response: RouteResponse,
): Promise<void> {
  const headers: Record<string, string | string[]> = { 'cache-control': 'no-store' };
  for (const [name, value] of Object.entries(response.headers ?? {})) {
    headers[name.toLowerCase()] = typeof value === 'string' ? value : [...value];
  }
  const status = response.status ?? 200;
  if (response.file !== undefined) {
    const bytes = await readFile(response.file);
    headers['content-type'] ??= contentType(response.file);
    headers['accept-ranges'] = 'bytes';
    const range = status === 200 ? byteRange(req.headers.range, bytes.length) : null;
    if (range === undefined) {
      res.writeHead(416, { 'content-range': `bytes */${bytes.length}` }).end();
      return;
    }
    if (range !== null) {
      const [start, end] = range;
      headers['content-range'] = `bytes ${start}-${end}/${bytes.length}`;
      res.writeHead(206, headers);
      res.end(req.method === 'HEAD' ? undefined : bytes.subarray(start, end + 1));
      return;
    }
    res.writeHead(status, headers);
    res.end(req.method === 'HEAD' ? undefined : bytes);
    return;
  }
  res.writeHead(status, headers);
  res.end(req.method === 'HEAD' ? undefined : response.body);
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > MAX_BODY) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : (value ?? '');
}

/** The request target as a URL, or undefined when it is not a path. */
function targetOf(req: IncomingMessage): URL | undefined {
  const target = req.url ?? '';
  if (!target.startsWith('/') || target.startsWith('//')) return undefined;
  try {
    return new URL(target, 'http://witness.invalid');
  } catch {
    return undefined;
  }
}

function endpointOf(address: string | undefined, port: number | undefined): Endpoint {
  return { address: address ?? '', port: port ?? 0 };
}

function listen(server: Server, host: string): Promise<number> {
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(0, host, () => {
      server.off('error', fail);
      done((server.address() as AddressInfo).port);
    });
  });
}

/** `[::1]` for IPv6 literals in URLs. */
function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

interface Recorder {
  accepted(connection: WitnessedConnection): void;
  request(request: WitnessedRequest): void;
}

/**
 * Processes that opened the latest connections, newest first: looked at first next time, so the
 * holder is found before a client that drops spare connections at once has closed it.
 */
class OwnerHints {
  #pids: number[] = [];

  list(): readonly number[] {
    return this.#pids;
  }

  remember(owner: SocketOwner | undefined): void {
    const pid = owner?.holders[0]?.process.pid;
    if (pid !== undefined) this.#pids = [pid, ...this.#pids.filter((p) => p !== pid)].slice(0, 8);
  }
}

interface LiveConnection {
  record: WitnessedConnection;
}

async function startOrigin(
  name: string,
  content: SiteContent,
  host: string,
  tls: TestCertificate,
  recorder: Recorder,
  hints: OwnerHints,
  nextId: () => number,
): Promise<{ origin: WitnessOrigin; close(): Promise<void> }> {
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    socket.on('error', () => socket.terminate());
  });
  const servers: Server[] = [];

  const serve = (scheme: 'http' | 'https'): Server => {
    // Keyed by the client's address and port: unique among one server's open connections.
    const live = new Map<string, LiveConnection>();
    const key = (address: string | undefined, port: number | undefined): string =>
      `${address ?? ''}|${port ?? 0}`;

    const connectionOf = (socket: Socket): WitnessedConnection => {
      const found = live.get(key(socket.remoteAddress, socket.remotePort));
      if (found !== undefined) return found.record;
      // Not seen at accept time: should not happen, but say so rather than guess.
      return {
        id: nextId(),
        origin: name,
        scheme,
        client: endpointOf(socket.remoteAddress, socket.remotePort),
        server: endpointOf(socket.localAddress, socket.localPort),
        acceptedAt: Date.now(),
        owner: undefined,
        attributionError: 'connection was not seen at accept time',
        attributionMs: 0,
        servername: undefined,
      };
    };

    const witnessed = (req: IncomingMessage, kind: RequestKind): WitnessedRequest => {
      const record: WitnessedRequest = {
        connection: connectionOf(req.socket),
        origin: name,
        scheme,
        kind,
        method: req.method ?? '',
        path: req.url ?? '',
        host: header(req.headers, 'host'),
        userAgent: header(req.headers, 'user-agent'),
        secFetch: Object.keys(req.headers).some((h) => h.startsWith('sec-fetch-')),
        at: Date.now(),
      };
      recorder.request(record);
      return record;
    };

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const url = targetOf(req);
      if (url === undefined) {
        witnessed(req, 'http');
        res.writeHead(400, { 'content-type': 'text/plain' }).end('bad request target\n');
        return;
      }
      if (url.pathname === EVENTS_PATH) {
        witnessed(req, 'event-stream');
        eventStream(res, url);
        return;
      }
      witnessed(req, 'http');
      const method = req.method ?? 'GET';
      const body = method === 'GET' || method === 'HEAD' ? Buffer.alloc(0) : await readBody(req);
      if (body === null) {
        res.writeHead(413, { 'content-type': 'text/plain' }).end('too large\n');
        return;
      }
      const request: RouteRequest = { method, url, headers: req.headers, body };
      if (url.pathname === ECHO_PATH) {
        await send(req, res, {
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            method,
            path: req.url,
            headers: req.headers,
            body: body.toString('utf8'),
          }),
        });
        return;
      }
      const response = await resolveContent(content, request);
      await send(
        req,
        res,
        response ?? {
          status: 404,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
          body: 'not found\n',
        },
      );
    };

    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`witness error: ${String(error)}\n`);
      });
    };

    const server =
      scheme === 'http' ? createHttpServer(onRequest) : createHttpsServer(tls, onRequest);

    // 'connection' carries the raw TCP socket for both servers, before TLS and before any byte
    // is read or answered: a client waiting for an answer still holds its socket. (One that
    // opened a spare connection and dropped it at once may not: it stays unattributed.)
    server.on('connection', (socket: Socket) => {
      const client = endpointOf(socket.remoteAddress, socket.remotePort);
      const local = endpointOf(socket.localAddress, socket.localPort);
      const started = performance.now();
      const lookup = ownerOfConnection(client, local, hints.list());
      if (lookup.ok) hints.remember(lookup.owner);
      const record: WitnessedConnection = {
        id: nextId(),
        origin: name,
        scheme,
        client,
        server: local,
        acceptedAt: Date.now(),
        owner: lookup.ok ? lookup.owner : undefined,
        attributionError: lookup.ok ? undefined : lookup.reason,
        attributionMs: performance.now() - started,
        servername: undefined,
      };
      const entry: LiveConnection = { record };
      const id = key(client.address, client.port);
      live.set(id, entry);
      recorder.accepted(record);
      socket.once('close', () => {
        if (live.get(id) === entry) live.delete(id);
      });
    });
    server.on('secureConnection', (socket: TLSSocket) => {
      const entry = live.get(key(socket.remoteAddress, socket.remotePort));
      // Documented (`tlsSocket.servername`, false without SNI) but missing from @types/node 20.
      const servername: unknown = Reflect.get(socket, 'servername');
      if (entry !== undefined && typeof servername === 'string') {
        entry.record = { ...entry.record, servername };
        recorder.accepted(entry.record);
      }
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => socket.destroy());
      witnessed(req, 'websocket');
      if (targetOf(req)?.pathname !== WS_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    });
    server.on('clientError', (_error, socket: Duplex) => socket.destroy());
    servers.push(server);
    return server;
  };

  const httpServer = serve('http');
  const httpsServer = serve('https');
  const httpPort = await listen(httpServer, host);
  const httpsPort = await listen(httpsServer, host);
  const h = urlHost(host);
  const origin: WitnessOrigin = {
    name,
    http: `http://${h}:${httpPort}`,
    https: `https://${h}:${httpsPort}`,
    ws: `ws://${h}:${httpPort}${WS_PATH}`,
    wss: `wss://${h}:${httpsPort}${WS_PATH}`,
    events: `http://${h}:${httpPort}${EVENTS_PATH}`,
    secureEvents: `https://${h}:${httpsPort}${EVENTS_PATH}`,
    allow: [`${host}:${httpPort}`, `${host}:${httpsPort}`],
  };
  return {
    origin,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await Promise.all(
        servers.map(
          (server) =>
            new Promise<void>((done) => {
              server.closeAllConnections();
              server.close(() => done());
            }),
        ),
      );
    },
  };
}

function eventStream(res: ServerResponse, url: URL): void {
  const count = Math.min(Number(url.searchParams.get('count') ?? 3) || 0, 10_000);
  const interval = Math.max(Number(url.searchParams.get('interval') ?? 50) || 0, 1);
  res.writeHead(200, {
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    connection: 'keep-alive',
  });
  res.write('retry: 60000\n\n');
  let sent = 0;
  const timer = setInterval(() => {
    if (sent >= count) {
      clearInterval(timer);
      return;
    }
    sent += 1;
    res.write(`id: ${sent}\nevent: witness\ndata: event ${sent}\n\n`);
  }, interval);
  res.on('close', () => clearInterval(timer));
}

/** Starts the origins; see WitnessOrigins for what can be asked of them afterwards. */
export async function startWitnessOrigins(options: WitnessOptions = {}): Promise<WitnessOrigins> {
  const host = options.host ?? '127.0.0.1';
  const tls = options.tls ?? (await testCertificate());
  const byId = new Map<number, WitnessedConnection>();
  let requests: WitnessedRequest[] = [];
  let counter = 0;
  const recorder: Recorder = {
    accepted: (connection) => void byId.set(connection.id, connection),
    request: (request) => void requests.push(request),
  };
  const hints = new OwnerHints();
  const nextId = (): number => ++counter;
  const contents: [string, SiteContent][] = [
    ['main', options.content ?? DEFAULT_CONTENT],
    ...Object.entries(options.sites ?? {}),
  ];
  const started: Awaited<ReturnType<typeof startOrigin>>[] = [];
  try {
    for (const [name, content] of contents) {
      started.push(await startOrigin(name, content, host, tls, recorder, hints, nextId));
    }
  } catch (error) {
    await Promise.all(started.map((s) => s.close()));
    throw error;
  }
  const origins: Record<string, WitnessOrigin> = {};
  for (const { origin } of started) origins[origin.name] = origin;
  const main = started[0]!.origin;

  const connections = (): WitnessedConnection[] => [...byId.values()].sort((a, b) => a.id - b.id);
  // A request's connection record may have gained its TLS server name since: use the newest.
  const current = (request: WitnessedRequest): WitnessedRequest => {
    const connection = byId.get(request.connection.id);
    return connection === undefined || connection === request.connection
      ? request
      : { ...request, connection };
  };
  const within = (connection: WitnessedConnection, pid: number, descendants: boolean): boolean =>
    connection.owner?.holders.some((holder) => holderIsWithin(holder, pid, descendants)) ?? false;

  return {
    ...main,
    origins,
    allowAll: started.flatMap(({ origin }) => origin.allow),
    connections,
    requests: () => requests.map(current),
    fromProcess: (pid, scope = {}) =>
      requests
        .map(current)
        .filter((request) => within(request.connection, pid, scope.descendants ?? true)),
    connectionsFrom: (pid, scope = {}) =>
      connections().filter((connection) => within(connection, pid, scope.descendants ?? true)),
    clear() {
      byId.clear();
      requests = [];
    },
    async close() {
      await Promise.all(started.map((s) => s.close()));
    },
  };
}

export type ConnectionSource = 'egress' | 'browser' | 'other' | 'unknown';

export interface ProcessRoles {
  /**
   * The egress's pid: `bu serve`/`bu egress` as a child process, or `process.pid` when the test
   * runs the egress in its own process (test/e2e/site-stack.ts). Only connections held by this
   * very process count as the egress's (not by its children: the test process is also the
   * browser's parent).
   */
  readonly egress: number;
  /** The browser's pid: it and every process below it (renderers, the network service). */
  readonly browser: number;
}

/** Where a connection came from. The browser's tree is checked first. */
export function classifyConnection(
  connection: WitnessedConnection,
  roles: ProcessRoles,
): ConnectionSource {
  const holders = connection.owner?.holders;
  if (holders === undefined || holders.length === 0) return 'unknown';
  if (holders.some((holder) => holderIsWithin(holder, roles.browser, true))) return 'browser';
  if (holders.every((holder) => holder.process.pid === roles.egress)) return 'egress';
  return 'other';
}

/** One line per connection: id, origin, who held it, and what was asked on it. */
export function describeConnection(
  connection: WitnessedConnection,
  requests: readonly WitnessedRequest[],
): string {
  const who =
    connection.owner === undefined
      ? `unattributed (${connection.attributionError ?? 'no reason'})`
      : connection.owner.holders
          .map(
            (holder) =>
              `${describeProcess(holder.process)} [parents ${holder.ancestors
                .map((a) => `${a.pid} ${a.executable}`)
                .join(' < ')}]`,
          )
          .join(' + ');
  const asked = requests
    .filter((request) => request.connection.id === connection.id)
    .map((request) => `${request.method} ${request.path}`)
    .slice(0, 5);
  return `#${connection.id} ${connection.scheme}://${connection.origin} from ${connection.client.address}:${connection.client.port} by ${who}${
    asked.length === 0 ? ' (no request)' : `: ${asked.join(', ')}`
  }`;
}

export interface OnlyFromEgressOptions extends ProcessRoles {
  /** Fewer connections than this fails too (default 1): reaching nothing proves nothing. */
  readonly atLeast?: number;
}

/**
 * Asserts that every connection the origins accepted was opened by the egress process, and none
 * by the browser or any of its children (nor by anyone else, nor by a process we could not
 * identify). Throws an Error listing each offending connection and what was requested on it.
 */
export function assertOnlyFromEgress(
  witness: Pick<WitnessOrigins, 'connections' | 'requests'>,
  options: OnlyFromEgressOptions,
): { connections: number; requests: number } {
  const connections = witness.connections();
  const requests = witness.requests();
  const atLeast = options.atLeast ?? 1;
  const problems: string[] = [];
  if (connections.length < atLeast) {
    problems.push(`only ${connections.length} connection(s), expected at least ${atLeast}`);
  }
  for (const connection of connections) {
    const source = classifyConnection(connection, options);
    if (source !== 'egress') {
      problems.push(`${source}: ${describeConnection(connection, requests)}`);
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `origins were reached by something other than the egress (pid ${options.egress}; browser pid ${options.browser}):\n  ${problems.join('\n  ')}`,
    );
  }
  return { connections: connections.length, requests: requests.length };
}
