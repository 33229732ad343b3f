/**
 * `/tunnel/`: the egress end of a consumer's tunnel, reached through a volunteer that copies
 * messages 1:1. First a Noise NK handshake (we are the responder with the static key), then
 * every message is a sealed frame carrying one Wisp packet, served by the same stream engine as
 * `/wisp/` plus the tunnel extensions (downlink credits, fetch and websocket streams). Nothing
 * is accepted in plaintext: before the handshake only a handshake-init is read, after it only
 * frames.
 */
import type { WebSocket } from 'ws';
import type { KeyPair } from '../protocol/noise/crypto-suite.ts';
import { TunnelResponder } from '../protocol/tunnel-handshake.ts';
import { MAX_FRAME_PACKET_BYTES, type TunnelSession } from '../protocol/tunnel-session.ts';
import { decodeWispPacket, encodeWispPacket } from '../protocol/wisp-codec.ts';
import { WISP_CLOSE_REASONS, type WispPacket } from '../protocol/wisp-types.ts';
import { admissionRefusalError, encodeRefusalPayload } from '../protocol/admission.ts';
import type { AdmissionGate, StreamQuota, TokenPass } from './admission-gate.ts';
import {
  closeConnection,
  failureOf,
  handshakeDeadline,
  serveMessages,
  streamContext,
  type AbortConnection,
  type EndpointShared,
} from './endpoint-shared.ts';
import { openFetch } from './fetch-stream.ts';
import { StreamEngine } from './stream-engine.ts';
import { openTcp } from './tcp-stream.ts';
import { WS_CLOSE } from './websocket-message.ts';
import { WebSocketSender } from './websocket-sender.ts';
import { openWebSocket } from './websocket-stream.ts';

export function serveTunnel(
  ws: WebSocket,
  shared: EndpointShared,
  key: KeyPair,
  admission: AdmissionGate | undefined,
): void {
  const { metrics, limits } = shared;
  const endpoint = 'tunnel';

  let session: TunnelSession | null = null;
  let closed = false;
  /** The token's quotas this tunnel spends (none when admission is off). */
  let pass: TokenPass | undefined;
  const quota: StreamQuota = {
    spend(bytes) {
      if (pass === undefined || pass.spend(bytes)) return true;
      // Said inside the session, so the consumer knows why (and gets a new token).
      send({ type: 'close', streamId: 0, reason: WISP_CLOSE_REASONS.throttled });
      abort(WS_CLOSE.normal, 'ERR_ADMISSION_EXHAUSTED', "the token's bytes are used up");
      return false;
    },
    openStream: () => pass?.openStream() ?? true,
    closeStream: () => pass?.closeStream(),
  };
  const sender = new WebSocketSender(ws, limits.sendHighWaterBytes, () => engine.drained());
  const abort: AbortConnection = (wsCode, code, message) => {
    if (closed) return;
    closed = true;
    engine.close();
    pass?.release();
    closeConnection(ws, shared, endpoint, wsCode, code, message);
  };
  const send = (packet: WispPacket): void => {
    if (session === null || closed) return;
    try {
      sender.send(session.seal(encodeWispPacket(packet, { maxBytes: MAX_FRAME_PACKET_BYTES })));
    } catch (err) {
      const { code, message } = failureOf(err);
      abort(WS_CLOSE.policyViolation, code, message);
    }
  };
  const engine = new StreamEngine({
    context: { ...streamContext(shared, endpoint, sender, MAX_FRAME_PACKET_BYTES, send), quota },
    openers: { tcp: openTcp, fetch: openFetch, websocket: openWebSocket },
    downlinkCredits: true,
    onViolation: (code, message) => abort(WS_CLOSE.protocolError, code, message),
    onEnd: () => abort(WS_CLOSE.normal, 'ERR_EGRESS_CLIENT_END', 'CLOSE on stream 0'),
  });

  const handshakeTimer = handshakeDeadline(shared, endpoint, abort, 'no handshake');

  function handshake(message: Uint8Array): void {
    const responder = new TunnelResponder(key);
    try {
      const payload = responder.readInit(message);
      const verdict = admission?.admit(payload);
      if (verdict !== undefined && !verdict.admitted) {
        // Answered inside the handshake, where a volunteer can neither read nor forge it.
        sender.send(responder.writeResponse(encodeRefusalPayload(verdict.reason)).response);
        metrics.admissions.inc({ result: verdict.reason });
        abort(WS_CLOSE.normal, admissionRefusalError(verdict.reason).code, verdict.message);
        return;
      }
      // Held at once, so that any failure below releases it with the connection.
      if (verdict !== undefined) pass = verdict.pass;
      const { response, session: opened } = responder.writeResponse();
      sender.send(response);
      session = opened;
      if (verdict !== undefined) metrics.admissions.inc({ result: 'admitted' });
    } catch (err) {
      const { code, message: text } = failureOf(err);
      metrics.handshakeFailures.inc({ endpoint, code });
      abort(WS_CLOSE.policyViolation, code, text);
      return;
    }
    clearTimeout(handshakeTimer);
    engine.start();
  }

  function frame(current: TunnelSession, message: Uint8Array): void {
    let packet: WispPacket;
    try {
      const opened = current.open(message);
      // An empty frame from the consumer is a liveness probe: answer with an empty
      // frame (docs/protocol.md §1.5). At most one answer per probe, and none while
      // our send queue is full: the queued frames answer it, and a consumer that
      // floods probes without reading cannot grow the queue.
      if (opened.packet.length === 0) {
        if (!sender.congested) sender.send(current.seal(new Uint8Array(0)));
        return;
      }
      packet = decodeWispPacket(opened.packet, { maxBytes: MAX_FRAME_PACKET_BYTES });
    } catch (err) {
      const { code, message: text } = failureOf(err);
      abort(WS_CLOSE.protocolError, code, text);
      return;
    }
    engine.handle(packet);
  }

  serveMessages(ws, shared, endpoint, {
    abort,
    message(message) {
      if (closed) return;
      if (session === null) handshake(message);
      else frame(session, message);
    },
    close() {
      clearTimeout(handshakeTimer);
      closed = true;
      engine.close();
      pass?.release();
    },
  });
}
