/**
 * `/wisp/`: a standard Wisp v1.2 server on one WebSocket, with the v2 INFO handshake when the
 * client asks for the `wisp-v2` subprotocol. One Wisp packet per binary message.
 */
import type { WebSocket } from 'ws';
import { encodeWispPacket, decodeWispPacket } from '../protocol/wisp-codec.ts';
import { MAX_WISP_PACKET_BYTES } from '../protocol/limits.ts';
import { isProtocolError } from '../protocol/errors.ts';
import type { WispPacket } from '../protocol/wisp-types.ts';
import { keepAlive } from './keep-alive.ts';
import { StreamEngine } from './stream-engine.ts';
import { openTcp } from './tcp-stream.ts';
import { guarded } from '../server-kit/http-boundary.ts';
import type { EndpointShared } from './endpoint-shared.ts';
import { WebSocketSender } from './websocket-sender.ts';
import { messageBytes, WS_CLOSE } from './websocket-message.ts';

export const WISP_V2_SUBPROTOCOL = 'wisp-v2';

export function serveWisp(ws: WebSocket, shared: EndpointShared): void {
  const { metrics, limits, log } = shared;
  const endpoint = 'wisp';
  const v2 = ws.protocol === WISP_V2_SUBPROTOCOL;
  metrics.connections.inc({ endpoint });
  metrics.connectionsOpen.inc({ endpoint });

  const sender = new WebSocketSender(ws, limits.sendHighWaterBytes, () => engine.drained());
  const send = (packet: WispPacket): void => sender.send(encodeWispPacket(packet));
  const abort = (wsCode: number, code: string, message: string): void => {
    metrics.connectionCloses.inc({ endpoint, code });
    log.info('connection closed', { endpoint, code, message });
    ws.close(wsCode, code);
  };
  const engine = new StreamEngine({
    context: {
      ...shared,
      endpoint,
      transport: {
        maxPacketBytes: MAX_WISP_PACKET_BYTES,
        get congested() {
          return sender.congested;
        },
        send,
      },
    },
    openers: { tcp: openTcp },
    downlinkCredits: false,
    onViolation: (code, message) => abort(WS_CLOSE.protocolError, code, message),
    onEnd: () => ws.close(WS_CLOSE.normal),
  });

  let handshaking = v2;
  const handshakeTimer = v2
    ? setTimeout(
        guarded('timer', shared.fault, () => {
          metrics.handshakeFailures.inc({ endpoint, code: 'ERR_EGRESS_HANDSHAKE_TIMEOUT' });
          abort(WS_CLOSE.policyViolation, 'ERR_EGRESS_HANDSHAKE_TIMEOUT', 'no INFO from client');
        }),
        limits.handshakeTimeoutMs,
      ).unref()
    : undefined;

  function onMessage(message: Uint8Array): void {
    let packet: WispPacket;
    try {
      packet = decodeWispPacket(message, { maxBytes: MAX_WISP_PACKET_BYTES });
    } catch (err) {
      const code = isProtocolError(err) ? err.code : 'ERR_EGRESS_INTERNAL';
      if (handshaking) metrics.handshakeFailures.inc({ endpoint, code });
      abort(WS_CLOSE.protocolError, code, err instanceof Error ? err.message : String(err));
      return;
    }
    if (handshaking) {
      if (packet.type !== 'info') {
        metrics.handshakeFailures.inc({ endpoint, code: 'ERR_EGRESS_UNEXPECTED_PACKET' });
        abort(WS_CLOSE.protocolError, 'ERR_EGRESS_UNEXPECTED_PACKET', 'expected INFO');
        return;
      }
      // We offer no extensions, so whatever the client lists is simply not in common.
      handshaking = false;
      clearTimeout(handshakeTimer);
      engine.start();
      return;
    }
    engine.handle(packet);
  }

  ws.on('message', (data, isBinary) => {
    if (!isBinary) {
      abort(WS_CLOSE.unsupportedData, 'ERR_EGRESS_TEXT_MESSAGE', 'text message');
      return;
    }
    try {
      onMessage(messageBytes(data));
    } catch (err) {
      // A bug of ours must cost one connection, never the process.
      shared.fault('message', err);
      abort(WS_CLOSE.protocolError, 'ERR_EGRESS_INTERNAL', 'internal error');
    }
  });
  ws.on(
    'close',
    guarded('connection', shared.fault, () => {
      clearTimeout(handshakeTimer);
      engine.close();
      metrics.connectionsOpen.dec({ endpoint });
    }),
  );
  ws.on('error', (err) => log.debug('websocket error', { endpoint, message: err.message }));
  keepAlive(ws, limits.pingIntervalMs);

  if (v2) {
    send({ type: 'info', streamId: 0, major: 2, minor: 0, extensions: [] });
  } else {
    engine.start();
  }
}
