/**
 * A websocket stream (tunnel only, type 0x81): the egress opens the WebSocket connection to the
 * origin itself, as a `ws` client, and relays whole messages (docs/protocol.md §3a). The
 * CONNECT's host and port pass the destination policy like any stream; the request head's URL
 * must name the same host and port, and the connection goes to exactly the approved address
 * (the URL's host stays the Host header and the TLS server name).
 *
 * Flow control: an uplink packet counts as consumed (reopening the client's window) only once
 * every message it completed has been handed to the origin's socket; downlink messages pass
 * through a small buffer that the stream channel drains under the client's credits and the
 * connection's send pressure, and the origin's socket is paused while that buffer is full.
 */
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { isIP, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { WebSocket, type ClientOptions, type RawData } from 'ws';
import { isProtocolError } from '../protocol/errors.ts';
import {
  encodeFetchResponseHead,
  FetchHeadReader,
  frameFetchHead,
  type FetchRequestHead,
} from '../protocol/fetch-head.ts';
import { MAX_WEBSOCKET_MESSAGE_BYTES } from '../protocol/limits.ts';
import {
  encodeWebSocketFrame,
  encodeWebSocketFrameHeader,
  isWebSocketCloseCode,
  WEBSOCKET_NO_STATUS,
  WebSocketFrameReader,
  type WebSocketFrame,
} from '../protocol/websocket-frame.ts';
import {
  decodeWebSocketRequestHead,
  WEBSOCKET_UPGRADE_STATUS,
} from '../protocol/websocket-head.ts';
import type { Destination } from './destination-policy.ts';
import { StreamFailure } from './errors.ts';
import { approvedUrl, invalid } from './request-stream.ts';
import type { StreamBehaviour, StreamChannel } from './stream-channel.ts';
import type { StreamOpener } from './stream-engine.ts';
import type { StreamContext } from './stream-types.ts';
import { clientResponseHeaders, upstreamHandshake } from './websocket-headers.ts';
import { messageBytes, WS_CLOSE } from './websocket-message.ts';

/** What the origin sees when the client's stream ends without a closing handshake. */
const GOING_AWAY = WS_CLOSE.goingAway;
/** What the client sees when the origin sends a message over the limit (RFC 6455 "too big"). */
const TOO_BIG = WS_CLOSE.tooLarge;
/** `ws` reports a connection that ended without a close frame with this code. */
const ABNORMAL_CLOSURE = 1006;

function errorCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null && 'code' in err ? err.code : undefined;
}

export class WebSocketStream implements StreamBehaviour {
  readonly #channel: StreamChannel;
  readonly #context: StreamContext;
  readonly #heads = new FetchHeadReader();
  readonly #frames = new WebSocketFrameReader();
  /** Downlink bytes (the response head, then frames), drained by the channel. */
  readonly #down = new PassThrough();
  #head: FetchRequestHead | null = null;
  #destination: Destination | null = null;
  #upstream: WebSocket | null = null;
  /** The TCP socket under the upstream connection (under TLS for `wss:`). */
  #socket: Socket | null = null;
  #upgrade: IncomingMessage | null = null;
  #timer: NodeJS.Timeout | undefined;
  /** The upstream connection is open and the 101 head is on its way. */
  #open = false;
  /** The close frame (or the refusal) is written; the downlink is ending. */
  #ending = false;
  /** The stream is over: nothing more happens. */
  #done = false;
  /** Uplink frames that arrived before the upstream connection opened. */
  readonly #early: WebSocketFrame[] = [];
  /** Uplink messages not yet handed to the origin's socket. */
  #unsent = 0;
  /** `done` callbacks of uplink packets waiting for `#unsent` to reach 0. */
  readonly #waiting: Array<() => void> = [];

  constructor(channel: StreamChannel, context: StreamContext) {
    this.#channel = channel;
    this.#context = context;
    // The channel destroys this buffer when the stream closes; nothing may throw from it.
    this.#down.on('error', () => undefined);
    this.#down.on('drain', () => {
      if (this.#open && !this.#done) this.#upstream?.resume();
    });
  }

  open(destination: Destination): void {
    this.#destination = destination;
    this.#startWhenReady();
  }

  receive(payload: Uint8Array, done: () => void): void {
    try {
      let bytes = payload;
      if (this.#head === null) {
        this.#heads.push(payload);
        const frame = this.#heads.read();
        if (frame === null) {
          done();
          return;
        }
        this.#head = decodeWebSocketRequestHead(frame.head);
        bytes = frame.rest;
        this.#startWhenReady();
      }
      for (const frame of this.#frames.push(bytes)) this.#forward(frame);
      // A packet that only added to a partial message is consumed at once: the reader holds
      // at most one message of at most 1 MiB. One that completed messages waits for them.
      if (this.#unsent === 0) done();
      else this.#waiting.push(done);
    } catch (err) {
      this.#fail(isProtocolError(err) ? invalid(err.message) : err);
    }
  }

  cancel(): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#early.length = 0;
    this.#waiting.length = 0;
    this.#down.destroy();
    const ws = this.#upstream;
    if (ws === null) {
      this.#socket?.destroy();
      return;
    }
    if (ws.readyState === WebSocket.OPEN) {
      // The closing handshake needs the origin's answer, which a paused socket cannot read.
      ws.resume();
      ws.close(GOING_AWAY);
    } else if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
    }
  }

  #fail(err: unknown): void {
    this.#channel.fail(err);
  }

  /** Runs a handler of an upstream event: a bug in it costs this stream, never the process. */
  #guard<A extends unknown[]>(handler: (...args: A) => void): (...args: A) => void {
    return (...args) => {
      try {
        handler(...args);
      } catch (err) {
        this.#context.fault('message', err);
        this.#fail(err);
      }
    };
  }

  #startWhenReady(): void {
    const head = this.#head;
    const destination = this.#destination;
    if (head === null || destination === null || this.#upstream !== null || this.#done) return;
    const url = approvedUrl(head.url, destination);
    if (url instanceof StreamFailure) {
      this.#fail(url);
      return;
    }
    const { headers, protocols } = upstreamHandshake(head.headers);
    const secure = url.protocol === 'https:';
    const { limits } = this.#context;
    const options = {
      headers,
      perMessageDeflate: false,
      maxPayload: MAX_WEBSOCKET_MESSAGE_BYTES,
      followRedirects: false,
      // `ws` closes the socket itself when the origin does not answer our close in time.
      closeTimeout: limits.connectTimeoutMs,
      createConnection: () => this.#connect(destination, secure),
    } satisfies ClientOptions & { closeTimeout: number };
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, protocols, options);
    } catch (err) {
      // `ws` refuses a malformed or repeated subprotocol before sending anything.
      this.#fail(invalid(err instanceof Error ? err.message : String(err)));
      return;
    }
    this.#upstream = ws;
    this.#channel.pipeFrom(this.#down);
    this.#timer = setTimeout(
      this.#guard(() =>
        this.#fail(new StreamFailure('ERR_EGRESS_TIMEOUT', 'the WebSocket handshake timed out')),
      ),
      limits.connectTimeoutMs,
    );
    this.#timer.unref();
    ws.on(
      'upgrade',
      this.#guard((res: IncomingMessage) => {
        this.#upgrade = res;
      }),
    );
    ws.on(
      'open',
      this.#guard(() => this.#opened(ws)),
    );
    ws.on(
      'unexpected-response',
      this.#guard((req: ClientRequest, res: IncomingMessage) => this.#refused(req, res)),
    );
    ws.on(
      'message',
      this.#guard((data: RawData, isBinary: boolean) => this.#message(ws, data, isBinary)),
    );
    ws.on(
      'close',
      this.#guard((code: number, reason: Buffer) => this.#closed(code, reason)),
    );
    ws.on(
      'error',
      this.#guard((err: Error) => this.#error(err)),
    );
  }

  /** Dials exactly the approved address; for `wss:`, TLS on top with the URL's host as the name. */
  #connect(destination: Destination, secure: boolean): Socket {
    const socket = this.#context.dial(destination.address, destination.port);
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on(
      'error',
      this.#guard((err: Error) => this.#fail(err)),
    );
    if (!secure) return socket;
    const { ca } = this.#context;
    const host = destination.host;
    return tlsConnect({
      socket,
      host,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ALPNProtocols: ['http/1.1'],
      ...(ca === undefined ? {} : { ca: [...ca] }),
    });
  }

  #opened(ws: WebSocket): void {
    clearTimeout(this.#timer);
    if (this.#done) return;
    const res = this.#upgrade;
    if (!this.#writeHead(WEBSOCKET_UPGRADE_STATUS, res?.statusMessage, res?.headers ?? {})) return;
    this.#open = true;
    this.#socket?.setTimeout(
      this.#context.limits.idleTimeoutMs,
      this.#guard(() => this.#fail(new StreamFailure('ERR_EGRESS_IDLE', 'stream idle'))),
    );
    for (const frame of this.#early.splice(0)) this.#send(ws, frame);
  }

  /** The origin answered with another status: that is the answer, then the stream ends. */
  #refused(req: ClientRequest, res: IncomingMessage): void {
    clearTimeout(this.#timer);
    if (!this.#done && this.#writeHead(res.statusCode ?? 0, res.statusMessage, res.headers)) {
      this.#ending = true;
      this.#down.end();
    }
    req.destroy();
  }

  #writeHead(
    status: number,
    statusText: string | undefined,
    headers: IncomingHttpHeaders,
  ): boolean {
    const shaped = clientResponseHeaders(headers);
    let head: Uint8Array;
    try {
      head = encodeFetchResponseHead({ status, statusText: statusText ?? '', headers: shaped });
    } catch {
      try {
        // A status text a head cannot carry is dropped, as HTTP/2 has none anyway.
        head = encodeFetchResponseHead({ status, statusText: '', headers: shaped });
      } catch (err) {
        this.#fail(invalid(err instanceof Error ? err.message : String(err)));
        return false;
      }
    }
    this.#down.write(frameFetchHead(head));
    return true;
  }

  #message(ws: WebSocket, data: RawData, isBinary: boolean): void {
    if (this.#done || this.#ending) return;
    const payload = messageBytes(data);
    this.#down.write(encodeWebSocketFrameHeader(isBinary ? 'binary' : 'text', payload.length));
    if (!this.#down.write(payload)) ws.pause();
  }

  #closed(code: number, reason: Buffer): void {
    clearTimeout(this.#timer);
    if (this.#done || this.#ending) return;
    if (!this.#open || code === ABNORMAL_CLOSURE) {
      this.#fail(new StreamFailure('ERR_EGRESS_NETWORK', 'the origin connection was lost'));
      return;
    }
    this.#sendClose(code, reason.toString());
  }

  #error(err: Error): void {
    if (this.#done || this.#ending) return;
    if (this.#open && errorCode(err) === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      this.#sendClose(TOO_BIG, 'message too big');
      return;
    }
    this.#fail(err);
  }

  /** Ends the downlink with a close frame; the channel then closes the stream with 0x02. */
  #sendClose(code: number, reason: string): void {
    const valid = isWebSocketCloseCode(code);
    this.#down.write(
      encodeWebSocketFrame({
        type: 'close',
        code: valid ? code : WEBSOCKET_NO_STATUS,
        reason: valid ? reason : '',
      }),
    );
    this.#ending = true;
    this.#down.end();
  }

  #forward(frame: WebSocketFrame): void {
    if (this.#done) return;
    if (frame.type !== 'close') this.#unsent++;
    const ws = this.#upstream;
    if (!this.#open || ws === null) this.#early.push(frame);
    else this.#send(ws, frame);
  }

  #send(ws: WebSocket, frame: WebSocketFrame): void {
    if (frame.type === 'close') {
      ws.close(frame.code === WEBSOCKET_NO_STATUS ? undefined : frame.code, frame.reason);
      return;
    }
    // The callback runs once the socket has taken the message (or with an error once it is gone).
    ws.send(frame.payload, { binary: frame.type === 'binary' }, () => this.#taken());
  }

  #taken(): void {
    this.#unsent--;
    if (this.#unsent > 0 || this.#done) return;
    for (const done of this.#waiting.splice(0)) done();
  }
}

export const openWebSocket: StreamOpener = (channel, context) =>
  new WebSocketStream(channel, context);
