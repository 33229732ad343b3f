/**
 * `/wisp/`: a standard Wisp v1.2 server on one WebSocket, with the v2 INFO handshake when the
 * client asks for the `wisp-v2` subprotocol. One Wisp packet per binary message.
 */
import type { WebSocket } from 'ws';
import { encodeWispPacket, decodeWispPacket } from '../protocol/wisp-codec.ts';
import { MAX_WISP_PACKET_BYTES } from '../protocol/limits.ts';
import type { WispPacket } from '../protocol/wisp-types.ts';
import { StreamEngine } from './stream-engine.ts';
import { openTcp } from './tcp-stream.ts';
import {
  closeConnection,
  failureOf,
  handshakeDeadline,
  serveMessages,
  streamContext,
  type AbortConnection,
  type EndpointShared,
} from './endpoint-shared.ts';
import { WebSocketSender } from './websocket-sender.ts';
import { WS_CLOSE } from './websocket-message.ts';

export const WISP_V2_SUBPROTOCOL = 'wisp-v2';

export function serveWisp(ws: WebSocket, shared: EndpointShared): void {
  const { metrics, limits } = shared;
  const endpoint = 'wisp';
  const v2 = ws.protocol === WISP_V2_SUBPROTOCOL;

  const sender = new WebSocketSender(ws, limits.sendHighWaterBytes, () => engine.drained());
  const send = (packet: WispPacket): void => sender.send(encodeWispPacket(packet));
  const abort: AbortConnection = (...reason) => closeConnection(ws, shared, endpoint, ...reason);
  const engine = new StreamEngine({
    context: streamContext(shared, endpoint, sender, MAX_WISP_PACKET_BYTES, send),
    openers: { tcp: openTcp },
    downlinkCredits: false,
    onViolation: (code, message) => abort(WS_CLOSE.protocolError, code, message),
    onEnd: () => ws.close(WS_CLOSE.normal),
  });

  let handshaking = v2;
  const handshakeTimer = v2
    ? handshakeDeadline(shared, endpoint, abort, 'no INFO from client')
    : undefined;

  function onMessage(message: Uint8Array): void {
    let packet: WispPacket;
    try {
      packet = decodeWispPacket(message, { maxBytes: MAX_WISP_PACKET_BYTES });
    } catch (err) {
      const { code, message: text } = failureOf(err);
      if (handshaking) metrics.handshakeFailures.inc({ endpoint, code });
      abort(WS_CLOSE.protocolError, code, text);
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

  serveMessages(ws, shared, endpoint, {
    abort,
    message: onMessage,
    close() {
      clearTimeout(handshakeTimer);
      engine.close();
    },
  });

  if (v2) {
    send({ type: 'info', streamId: 0, major: 2, minor: 0, extensions: [] });
  } else {
    engine.start();
  }
}
