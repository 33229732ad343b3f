/**
 * The local proxies of `bu proxy`: an HTTP proxy (CONNECT, and absolute-form `http://`
 * requests) and a SOCKS5 proxy (no authentication, CONNECT). Both hand every connection to a
 * tunnel stream opened by `dial` (the Consumer), so any client that can use a proxy reaches
 * the internet through a volunteer and the egress.
 *
 * Absolute-form requests are carried over a TCP stream, not a fetch stream: the proxy rewrites
 * the head to origin form, adds `Connection: close`, and then passes bytes through unchanged
 * both ways. That keeps bodies byte-exact (a fetch stream decodes content encodings), streams
 * uploads and downloads under the same flow control as CONNECT, and uses one code path.
 * The price: one request per client connection (the client is told `Connection: close`).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { MeshError, StreamClosedError } from '../mesh/errors.ts';
import type { TunnelStream } from '../mesh/tunnel-client.ts';
import {
  HttpHeadError,
  MAX_HEAD_BYTES,
  originRequestHead,
  parseAuthority,
  parseRequestHead,
  type RequestHead,
} from './http-head.ts';
import { bridge } from './socket-bridge.ts';
import {
  encodeReply,
  greetingReply,
  NO_ACCEPTABLE_METHOD,
  parseGreeting,
  parseRequest,
  SOCKS_REPLY,
  SocksError,
  type SocksReplyCode,
} from './socks5.ts';

/**
 * One proxied connection that could not be carried. `host` and `port` are where the client
 * wanted to go: the caller decides whether to show them (bu proxy: only at `--log-level debug`).
 */
export interface ProxyFailure {
  readonly host: string;
  readonly port: number;
  /** `dial`: no stream could be opened; `stream`: the stream failed once open. */
  readonly stage: 'dial' | 'stream';
  readonly error: unknown;
}

export interface ProxyOptions {
  /** Opens a stream to `host:port` through the tunnel; rejects with a MeshError. */
  readonly dial: (host: string, port: number) => Promise<TunnelStream>;
  /** No traffic either way on a proxied connection for this long closes it (5 min). */
  readonly idleTimeoutMs?: number;
  /** How long a client has to send its request head or SOCKS handshake (30 s). */
  readonly handshakeTimeoutMs?: number;
  readonly onBytes?: (up: number, down: number) => void;
  /** A connection could not be carried (no volunteer, refused destination…). */
  readonly onFailure?: (failure: ProxyFailure) => void;
}

const DEFAULT_IDLE_MS = 300_000;
const DEFAULT_HANDSHAKE_MS = 30_000;
/** The longest SOCKS greeting plus the longest request, with room for pipelined data. */
const MAX_SOCKS_BUFFER = 2 + 255 + 4 + 1 + 255 + 2 + 1024;

/**
 * Reads from `socket` into one bounded buffer until `parse` returns something; hands back
 * the parsed value and the bytes after it. The socket is paused when this resolves.
 */
function readUntil<T>(
  socket: Socket,
  initial: Uint8Array,
  maxBytes: number,
  parse: (bytes: Uint8Array) => { value: T; length: number } | undefined,
): Promise<{ value: T; rest: Uint8Array }> {
  return new Promise((resolve, reject) => {
    let buffer = initial;
    const attempt = (): boolean => {
      let parsed: { value: T; length: number } | undefined;
      try {
        parsed = parse(buffer);
      } catch (err) {
        cleanup();
        reject(err instanceof Error ? err : new Error(String(err)));
        return true;
      }
      if (parsed === undefined) {
        if (buffer.length > maxBytes) {
          cleanup();
          reject(new HttpHeadError(431, 'too many bytes before the request was complete'));
          return true;
        }
        return false;
      }
      cleanup();
      resolve({ value: parsed.value, rest: buffer.subarray(parsed.length) });
      return true;
    };
    const onData = (chunk: Buffer): void => {
      const next = new Uint8Array(buffer.length + chunk.length);
      next.set(buffer);
      next.set(chunk, buffer.length);
      buffer = next;
      attempt();
    };
    const onEnd = (): void => {
      cleanup();
      reject(new Error('the client closed before its request was complete'));
    };
    const cleanup = (): void => {
      socket.pause();
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    if (attempt()) return;
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.resume();
  });
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** An HTTP/1.1 answer from the proxy itself; the connection closes after it. */
function proxyResponse(status: number, reason: string, text: string): string {
  const body = `${text}\n`;
  return (
    `HTTP/1.1 ${status} ${reason}\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n' +
    'Proxy-Agent: bu-proxy\r\n\r\n' +
    body
  );
}

const NO_VOLUNTEER_TEXT =
  'bu proxy: no volunteer is connected right now, so this request could not be carried.\n' +
  'bu proxy keeps asking the signaling server for volunteers; try again in a moment.';

/** The proxy's answer when a stream could not be opened or failed before any answer. */
export function failureResponse(err: unknown): string {
  if (err instanceof MeshError && err.code === 'ERR_NO_VOLUNTEERS') {
    return proxyResponse(503, 'Service Unavailable', `${NO_VOLUNTEER_TEXT}\n(${err.message})`);
  }
  if (err instanceof StreamClosedError) {
    switch (err.reasonName) {
      case 'blocked':
        return proxyResponse(
          403,
          'Forbidden',
          'bu proxy: the egress refuses this destination (its address policy blocks it).',
        );
      case 'unreachable':
        return proxyResponse(502, 'Bad Gateway', 'bu proxy: the egress cannot reach this host.');
      case 'refused':
        return proxyResponse(
          502,
          'Bad Gateway',
          'bu proxy: the destination refused the connection.',
        );
      case 'timeout':
      case 'tcp-timeout':
        return proxyResponse(
          504,
          'Gateway Timeout',
          'bu proxy: the destination did not answer in time.',
        );
      default:
        break;
    }
  }
  return proxyResponse(502, 'Bad Gateway', `bu proxy: the connection failed: ${describe(err)}`);
}

/** SOCKS5 reply code for a dial failure. */
function socksFailureCode(err: unknown): SocksReplyCode {
  if (err instanceof MeshError && err.code === 'ERR_NO_VOLUNTEERS') {
    return SOCKS_REPLY.networkUnreachable;
  }
  return SOCKS_REPLY.generalFailure;
}

function guard(socket: Socket, timeoutMs: number): void {
  socket.on('error', () => socket.destroy());
  socket.setTimeout(timeoutMs, () => socket.destroy());
}

export function createHttpProxy(options: ProxyOptions): Server {
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_MS;
  return createServer({ pauseOnConnect: true }, (socket) => {
    guard(socket, options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_MS);
    void (async () => {
      let head: RequestHead;
      let rest: Uint8Array;
      try {
        const read = await readUntil(socket, new Uint8Array(0), MAX_HEAD_BYTES, (bytes) => {
          const parsed = parseRequestHead(bytes);
          return parsed && { value: parsed.head, length: parsed.length };
        });
        head = read.value;
        rest = read.rest;
      } catch (err) {
        if (err instanceof HttpHeadError) {
          const reason =
            {
              400: 'Bad Request',
              414: 'URI Too Long',
              431: 'Request Header Fields Too Large',
              505: 'HTTP Version Not Supported',
            }[err.status] ?? 'Bad Request';
          socket.end(proxyResponse(err.status, reason, `bu proxy: ${err.message}`));
        } else {
          socket.destroy();
        }
        return;
      }
      let host: string;
      let port: number;
      let connect = false;
      let url: URL | undefined;
      try {
        if (head.method === 'CONNECT') {
          ({ host, port } = parseAuthority(head.target));
          connect = true;
        } else if (/^http:\/\//i.test(head.target)) {
          url = new URL(head.target);
          host = url.hostname.replace(/^\[|\]$/g, '');
          port = url.port === '' ? 80 : Number(url.port);
          if (host === '') throw new HttpHeadError(400, 'the URL has no host');
        } else if (/^https:\/\//i.test(head.target)) {
          throw new HttpHeadError(
            400,
            'send https:// requests with CONNECT (use the proxy for HTTPS as usual)',
          );
        } else {
          throw new HttpHeadError(
            400,
            'this is a proxy: send absolute-form requests (http://host/path) or CONNECT host:port',
          );
        }
      } catch (err) {
        const text =
          err instanceof HttpHeadError ? err.message : 'the request target is not a valid URL';
        socket.end(proxyResponse(400, 'Bad Request', `bu proxy: ${text}`));
        return;
      }
      let stream: TunnelStream;
      try {
        stream = await options.dial(host, port);
      } catch (err) {
        options.onFailure?.({ host, port, stage: 'dial', error: err });
        socket.end(failureResponse(err));
        return;
      }
      let first = rest;
      if (connect) {
        socket.write('HTTP/1.1 200 Connection Established\r\nProxy-Agent: bu-proxy\r\n\r\n');
      } else if (url !== undefined) {
        const requestHead = Buffer.from(originRequestHead(head, url), 'latin1');
        first = new Uint8Array(requestHead.length + rest.length);
        first.set(requestHead);
        first.set(rest, requestHead.length);
      }
      socket.resume();
      await bridge(socket, stream, {
        first,
        idleTimeoutMs,
        ...(options.onBytes ? { onBytes: options.onBytes } : {}),
        onError: (err) => options.onFailure?.({ host, port, stage: 'stream', error: err }),
        failureResponse: (err) => (connect ? undefined : failureResponse(err)),
      });
    })();
  });
}

export function createSocksProxy(options: ProxyOptions): Server {
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_MS;
  return createServer({ pauseOnConnect: true }, (socket) => {
    guard(socket, options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_MS);
    void (async () => {
      let stage: 'greeting' | 'request' = 'greeting';
      try {
        const greeting = await readUntil(socket, new Uint8Array(0), MAX_SOCKS_BUFFER, (bytes) => {
          const parsed = parseGreeting(bytes);
          return parsed && { value: parsed.greeting, length: parsed.length };
        });
        const reply = greetingReply(greeting.value);
        if (reply[1] === NO_ACCEPTABLE_METHOD) {
          socket.end(reply);
          return;
        }
        socket.write(reply);
        stage = 'request';
        const request = await readUntil(socket, greeting.rest, MAX_SOCKS_BUFFER, (bytes) => {
          const parsed = parseRequest(bytes);
          return parsed && { value: parsed.request, length: parsed.length };
        });
        const { host, port } = request.value;
        let stream: TunnelStream;
        try {
          stream = await options.dial(host, port);
        } catch (err) {
          options.onFailure?.({ host, port, stage: 'dial', error: err });
          socket.end(encodeReply(socksFailureCode(err)));
          return;
        }
        socket.write(encodeReply(SOCKS_REPLY.succeeded));
        socket.resume();
        await bridge(socket, stream, {
          first: request.rest,
          idleTimeoutMs,
          ...(options.onBytes ? { onBytes: options.onBytes } : {}),
          onError: (err) => options.onFailure?.({ host, port, stage: 'stream', error: err }),
        });
      } catch (err) {
        if (err instanceof SocksError && err.reply !== undefined && stage === 'request') {
          socket.end(encodeReply(err.reply));
        } else {
          socket.destroy();
        }
      }
    })();
  });
}
