/**
 * The PeerJS WebSocket endpoint, `{path}peerjs?key=…&id=…&token=…`: admission (parameters,
 * key, origin, rate, id ownership, concurrent limit), then one parsed message at a time handed
 * to the handler registry. Refusals are an ERROR or ID-TAKEN message and a close, never a
 * thrown error: nothing a client sends can take the server down.
 *
 * Claiming the id is a store call (store.ts PeerDirectory), and so is queuing a message for an
 * offline id. While a socket waits for one, its next messages wait in a backlog and are
 * handled in the order they came: a peer's messages are relayed in the order it sent them.
 * The common case, a message relayed to a peer connected here, never waits and never touches
 * the backlog.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { SchemaError } from '../protocol/errors.ts';
import { MAX_SIGNALING_MESSAGE_BYTES } from '../protocol/limits.ts';
import {
  ERROR,
  ID_TAKEN,
  OPEN,
  isValidPeerId,
  isValidToken,
  parseClientMessage,
  serializeServerMessage,
  type RefusalType,
} from '../protocol/peerjs-messages.ts';
import { addressGroup, clientIp } from '../server-kit/client-address.ts';
import { guarded, type FaultSite } from '../server-kit/http-boundary.ts';
import type { SignalingSettings } from './config.ts';
import type { CorsPolicy } from './cors.ts';
import { CLOSE_CODES, REFUSAL_TEXT, type RejectReason } from './errors.ts';
import {
  createMessageHandlers,
  dispatch,
  flushQueued,
  type RelayContext,
} from './message-handlers.ts';
import type { Peer, PeerLink } from './peer-registry.ts';
import type { RateLimiter } from './rate-limit.ts';
import type { PeerDirectory } from './store.ts';

export interface PeerjsSocketContext extends RelayContext {
  readonly settings: SignalingSettings;
  readonly cors: CorsPolicy;
  readonly connectionRate: RateLimiter;
  /** Who holds which id, across instances. */
  readonly directory: PeerDirectory;
  /** An exception escaped a socket's handler: logged and counted by the service. */
  readonly fault: (site: FaultSite, error: unknown) => void;
}

export interface PeerjsSockets {
  /** `url` is the parsed request target (server-kit/request-target.ts). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean;
  /** Closes every socket (1001) and stops accepting new ones. */
  close(): void;
}

/**
 * ws enforces this before buffering a message. It is above our own limit so that a message
 * just over it gets a readable ERROR first; anything far larger is cut off by ws (1009).
 */
const WS_MAX_PAYLOAD = 2 * MAX_SIGNALING_MESSAGE_BYTES;

export function createPeerjsSockets(context: PeerjsSocketContext): PeerjsSockets {
  const { settings, registry, metrics, logger } = context;
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
  const handlers = createMessageHandlers(context);
  const endpoint = `${settings.path}peerjs`;
  let shutDown = false;

  const refuse = (
    ws: WebSocket,
    type: RefusalType,
    msg: string,
    reason: RejectReason,
  ): undefined => {
    metrics.rejected(reason);
    logger.debug('connection refused', { reason });
    ws.send(serializeServerMessage({ type, payload: { msg } }));
    ws.close(CLOSE_CODES.policy, reason);
    return undefined;
  };

  /** The checks that need nothing but the request; a link to admit, or undefined if refused. */
  const check = (ws: WebSocket, req: IncomingMessage, url: URL): Admission | undefined => {
    const ip = clientIp(req);
    const group = addressGroup(ip, settings.ipv6Prefix);
    if (!context.cors.allows(req.headers.origin)) {
      return refuse(ws, ERROR, REFUSAL_TEXT.origin, 'origin');
    }
    if (!context.connectionRate.take(group, Date.now())) {
      return refuse(ws, ERROR, REFUSAL_TEXT.rateLimited, 'rate-limited');
    }
    const query = url.searchParams;
    const key = query.get('key');
    const id = query.get('id');
    const token = query.get('token');
    if (key === null || id === null || token === null || key === '' || id === '' || token === '') {
      return refuse(ws, ERROR, REFUSAL_TEXT.missingParameter, 'missing-parameter');
    }
    if (key !== settings.key) return refuse(ws, ERROR, REFUSAL_TEXT.badKey, 'bad-key');
    if (!isValidPeerId(id)) return refuse(ws, ERROR, REFUSAL_TEXT.badId, 'invalid-parameter');
    if (!isValidToken(token)) {
      return refuse(ws, ERROR, REFUSAL_TEXT.badToken, 'invalid-parameter');
    }
    return { id, token, ip, group };
  };

  /** Claims the id, says OPEN and delivers what was queued; `link` holds messages till then. */
  const admit = async (ws: WebSocket, link: SocketLink, who: Admission): Promise<void> => {
    const { id, token, ip, group } = who;
    const claim = await context.directory.claim(who, {
      perGroup: settings.maxIdsPerAddress,
      total: settings.concurrentLimit,
    });
    if (!('epoch' in claim)) {
      if (claim.outcome === 'taken') return refuse(ws, ID_TAKEN, REFUSAL_TEXT.idTaken, 'id-taken');
      if (claim.outcome === 'ids-per-address') {
        return refuse(ws, ERROR, REFUSAL_TEXT.idsPerAddress, 'ids-per-address');
      }
      return refuse(ws, ERROR, REFUSAL_TEXT.concurrentLimit, 'concurrent-limit');
    }
    if (ws.readyState !== WebSocket.OPEN) {
      // Gone while the claim was made: a new claim is nobody's; a reconnect leaves the old socket.
      if (claim.outcome === 'claimed') await context.directory.release(id, claim.epoch);
      return;
    }
    const existing = registry.get(id);
    let peer: Peer;
    if (existing !== undefined) {
      // A reconnect (peer.reconnect(), or a network change): the new socket takes over, the old
      // one is closed, and unlike the stock server we say OPEN so the client knows it worked.
      const stale = existing.link;
      existing.link = link;
      existing.lastSeen = Date.now();
      existing.epoch = claim.epoch;
      stale.close(CLOSE_CODES.normal, 'replaced by a newer connection');
      peer = existing;
      logger.debug('peer reconnected', { peer: id });
    } else {
      peer = { id, token, ip, group, link, lastSeen: Date.now(), epoch: claim.epoch };
      registry.add(peer);
      logger.debug('peer connected', { peer: id, ip });
    }
    link.peer = peer;
    metrics.connected();
    link.send(serializeServerMessage({ type: OPEN }));
    await flushQueued(context, peer);
  };

  // One listener of each kind for every socket, finding its peer through the socket's link:
  // closures per socket would cost memory on every idle peer. Each is an entry point, so each
  // runs inside a boundary: a bug costs one message, not the process and every peer on it.
  const onMessage = guarded('message', context.fault, receive);
  const onClose = guarded('connection', context.fault, closed);

  function receive(this: WebSocket, data: RawData, isBinary: boolean): void | Promise<void> {
    const link = links.get(this);
    if (link === undefined) return;
    if (link.backlog !== undefined) {
      // Bounded: a store that answers slowly must not let one client queue without end.
      if (link.backlog.length >= MAX_BACKLOG) {
        link.backlog.length = 0;
        refuse(this, ERROR, REFUSAL_TEXT.backlog, 'rate-limited');
        return;
      }
      link.backlog.push({ data, isBinary });
      return;
    }
    const pending = handle(this, link, data, isBinary);
    if (pending !== undefined) return drain(link, pending);
  }

  /** Handles `first`'s end, then the backlog in order, one message at a time. */
  async function drain(link: SocketLink, first: Promise<void>): Promise<void> {
    const backlog: Backlogged[] = [];
    link.backlog = backlog;
    try {
      await first;
    } catch (err) {
      context.fault('message', err);
    }
    for (let next = backlog.shift(); next !== undefined; next = backlog.shift()) {
      try {
        await handle(link.ws, link, next.data, next.isBinary);
      } catch (err) {
        context.fault('message', err);
      }
    }
    link.backlog = undefined;
  }

  function handle(
    ws: WebSocket,
    link: SocketLink,
    data: RawData,
    isBinary: boolean,
  ): void | Promise<void> {
    const peer = link.peer;
    if (peer === undefined || peer.link !== link) return;
    peer.lastSeen = Date.now();
    if (isBinary) {
      metrics.rejected('binary-message');
      return;
    }
    let message;
    try {
      message = parseClientMessage(rawText(data));
    } catch (err) {
      if (!(err instanceof SchemaError)) throw err;
      if (err.code === 'ERR_SCHEMA_TOO_LARGE') {
        metrics.rejected('too-large');
        ws.send(serializeServerMessage({ type: ERROR, payload: { msg: REFUSAL_TEXT.tooLarge } }));
        ws.close(CLOSE_CODES.tooLarge, 'message too large');
        return;
      }
      // Ignored, as the stock server does: one odd message should not cost a peer its id.
      metrics.rejected(
        err.code === 'ERR_SCHEMA_JSON'
          ? 'bad-json'
          : err.path === 'type'
            ? 'unknown-type'
            : 'invalid-message',
      );
      return;
    }
    return dispatch(handlers, peer, message);
  }

  function closed(this: WebSocket): void {
    const link = links.get(this);
    const peer = link?.peer;
    if (link !== undefined && peer !== undefined && registry.remove(peer.id, link)) {
      logger.debug('peer disconnected', { peer: peer.id });
    }
  }

  function onError(this: WebSocket, err: Error): void {
    logger.debug('socket error', { error: err.message });
  }

  const connected = guarded(
    'connection',
    context.fault,
    (ws: WebSocket, req: IncomingMessage, url: URL) => {
      // A socket error (a reset, a frame over maxPayload) ends in 'close', which cleans up.
      ws.on('error', onError);
      const internal = (): void => ws.close(CLOSE_CODES.internal, REFUSAL_TEXT.internal);
      let who;
      try {
        who = check(ws, req, url);
      } catch (err) {
        internal();
        throw err;
      }
      if (who === undefined) return;
      // Listening from the start: what the client sends before it is admitted waits in the
      // backlog (as with a message the store is busy with) instead of being lost.
      const link = new SocketLink(ws, settings.maxBufferedBytes);
      ws.on('message', onMessage);
      ws.on('close', onClose);
      const admitted = admit(ws, link, who).catch((err: unknown) => {
        internal();
        context.fault('connection', err);
      });
      return drain(link, admitted);
    },
  );

  return {
    handleUpgrade(req, socket, head, url) {
      if (url.pathname !== endpoint) return false;
      if (shutDown) {
        socket.destroy();
        return true;
      }
      wss.handleUpgrade(req, socket, head, (ws) => connected(ws, req, url));
      return true;
    },
    close() {
      shutDown = true;
      for (const ws of wss.clients) ws.close(CLOSE_CODES.goingAway, 'server shutting down');
      wss.close();
    },
  };
}

/**
 * Messages one socket may have waiting while an earlier one waits for the store (a PeerJS
 * client sends an offer and a few dozen candidates at once); more close the socket.
 */
const MAX_BACKLOG = 256;

/** A message that came while the socket's previous one was still being handled. */
interface Backlogged {
  readonly data: RawData;
  readonly isBinary: boolean;
}

/** Who a socket says it is, once the checks that need no store have passed. */
interface Admission {
  readonly id: string;
  readonly token: string;
  readonly ip: string;
  readonly group: string;
}

/** The socket that speaks for a peer; `peer` is set once the socket is admitted. */
class SocketLink implements PeerLink {
  peer: Peer | undefined;
  readonly ws: WebSocket;
  /** Messages received while an earlier one waits for the store; undefined almost always. */
  backlog: Backlogged[] | undefined;
  readonly #maxBufferedBytes: number;
  #held: string[] | undefined;
  #heldBytes = 0;

  constructor(ws: WebSocket, maxBufferedBytes: number) {
    this.ws = ws;
    this.#maxBufferedBytes = maxBufferedBytes;
    links.set(ws, this);
  }

  hold(): void {
    this.#held ??= [];
    this.#heldBytes = 0;
  }

  unhold(): string[] {
    const held = this.#held ?? [];
    this.#held = undefined;
    return held;
  }

  send(text: string): boolean {
    if (this.#held !== undefined) {
      // As bounded as the socket's own buffer: past it, the peer counts as gone.
      if (this.#heldBytes + text.length > this.#maxBufferedBytes) return false;
      this.#heldBytes += text.length;
      this.#held.push(text);
      return true;
    }
    const ws = this.ws;
    // A peer that stopped reading would make us buffer without bound; treat it as gone.
    if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > this.#maxBufferedBytes) {
      return false;
    }
    ws.send(text);
    return true;
  }

  close(code: number, reason: string): void {
    const ws = this.ws;
    if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) {
      ws.close(code, reason);
    }
  }
}

const links = new WeakMap<WebSocket, SocketLink>();

function rawText(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
