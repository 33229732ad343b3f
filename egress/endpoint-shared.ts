/** What every connection of an egress shares, whichever endpoint it arrived on. */
import type { WebSocket } from 'ws';
import { isProtocolError } from '../protocol/errors.ts';
import { guarded, type FaultSite } from '../server-kit/http-boundary.ts';
import type { DestinationPolicy } from './destination-policy.ts';
import type { EgressLimits } from './limits.ts';
import type { Logger } from '../server-kit/logger.ts';
import { keepAlive } from './keep-alive.ts';
import type { EgressMetrics, EndpointName } from './metrics.ts';
import type { Dialer, StreamContext } from './stream-types.ts';
import type { WebSocketSender } from './websocket-sender.ts';
import type { WispPacket } from '../protocol/wisp-types.ts';
import { messageBytes, WS_CLOSE } from './websocket-message.ts';

export interface EndpointShared {
  readonly policy: DestinationPolicy;
  readonly limits: EgressLimits;
  readonly metrics: EgressMetrics;
  readonly log: Logger;
  readonly dial: Dialer;
  /** Trusted CAs for the TLS the egress speaks itself; undefined: Node's defaults. */
  readonly ca: readonly string[] | undefined;
  /** An exception escaped an entry point (a bug of ours): log it and count it. */
  readonly fault: (site: FaultSite, error: unknown) => void;
}

/** Ends one connection: the WebSocket close code, our error code and what went wrong. */
export type AbortConnection = (wsCode: number, code: string, message: string) => void;

/** Counts and logs why the egress ends a connection, then closes it with our error code. */
export function closeConnection(
  ws: WebSocket,
  shared: EndpointShared,
  endpoint: EndpointName,
  ...[wsCode, code, message]: Parameters<AbortConnection>
): void {
  shared.metrics.connectionCloses.inc({ endpoint, code });
  shared.log.info('connection closed', { endpoint, code, message });
  ws.close(wsCode, code);
}

/** What the streams of one connection run in: its packets go out through `send`. */
export function streamContext(
  shared: EndpointShared,
  endpoint: EndpointName,
  sender: WebSocketSender,
  maxPacketBytes: number,
  send: (packet: WispPacket) => void,
): StreamContext {
  return {
    ...shared,
    endpoint,
    transport: {
      maxPacketBytes,
      get congested() {
        return sender.congested;
      },
      send,
    },
  };
}

/** The code and text a connection is closed with after `err`: a protocol error's own code. */
export function failureOf(err: unknown): { readonly code: string; readonly message: string } {
  return {
    code: isProtocolError(err) ? err.code : 'ERR_EGRESS_INTERNAL',
    message: err instanceof Error ? err.message : String(err),
  };
}

/** The connection's handshake must be done within `limits.handshakeTimeoutMs`. */
export function handshakeDeadline(
  shared: EndpointShared,
  endpoint: EndpointName,
  abort: AbortConnection,
  message: string,
): ReturnType<typeof setTimeout> {
  return setTimeout(
    guarded('timer', shared.fault, () => {
      shared.metrics.handshakeFailures.inc({ endpoint, code: 'ERR_EGRESS_HANDSHAKE_TIMEOUT' });
      abort(WS_CLOSE.policyViolation, 'ERR_EGRESS_HANDSHAKE_TIMEOUT', message);
    }),
    shared.limits.handshakeTimeoutMs,
  ).unref();
}

/**
 * The WebSocket side every endpoint shares: binary messages only (a text message closes the
 * connection), a bug while handling one costs this connection and never the process, the open
 * connection is counted until it closes, and pings find a peer that vanished.
 */
export function serveMessages(
  ws: WebSocket,
  shared: EndpointShared,
  endpoint: EndpointName,
  handlers: {
    readonly abort: AbortConnection;
    readonly message: (message: Uint8Array) => void;
    readonly close: () => void;
  },
): void {
  const { abort } = handlers;
  shared.metrics.connections.inc({ endpoint });
  shared.metrics.connectionsOpen.inc({ endpoint });
  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      abort(WS_CLOSE.unsupportedData, 'ERR_EGRESS_TEXT_MESSAGE', 'text message');
      return;
    }
    try {
      handlers.message(messageBytes(data));
    } catch (err) {
      shared.fault('message', err);
      abort(WS_CLOSE.protocolError, 'ERR_EGRESS_INTERNAL', 'internal error');
    }
  });
  ws.on(
    'close',
    guarded('connection', shared.fault, () => {
      handlers.close();
      shared.metrics.connectionsOpen.dec({ endpoint });
    }),
  );
  ws.on('error', (err) => shared.log.debug('websocket error', { endpoint, message: err.message }));
  keepAlive(ws, shared.limits.pingIntervalMs);
}
