/**
 * `/wisp/`: a standard Wisp server on one WebSocket, one Wisp packet per binary message. As the
 * v2 specification says, the client offering any WebSocket subprotocol at all asks for Wisp v2
 * (the egress echoes the first one it offered); none means Wisp v1.2.
 */
import type { WebSocket } from 'ws';
import {
  decodeWispPasswordClientPayload,
  encodeWispPacket,
  encodeWispPasswordServerPayload,
  decodeWispPacket,
} from '../protocol/wisp-codec.ts';
import { MAX_WISP_PACKET_BYTES } from '../protocol/limits.ts';
import {
  WISP_CLOSE_REASONS,
  WISP_EXTENSION_IDS,
  type WispCloseReasonName,
  type WispExtension,
  type WispInfoPacket,
  type WispPacket,
} from '../protocol/wisp-types.ts';
import { maxWispMessageBytes } from './limits.ts';
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
import type { WispPasswords } from './wisp-passwords.ts';

/** The largest client INFO: room for a 255-byte username and a 65,535-byte password. */
const MAX_INFO_BYTES = 128 * 1024;

/** The Wisp version this server speaks in v2 mode, sent in its INFO and expected back. */
const WISP_V2_MAJOR = 2;

/**
 * `handleProtocols` for `/wisp/`: the first subprotocol the client offered. The specification
 * leaves the value unspecified ("must be present, but the value of the header is unspecified"),
 * and a browser fails the handshake when it offered one and none comes back.
 */
export function selectWispSubprotocol(protocols: ReadonlySet<string>): string | false {
  for (const protocol of protocols) return protocol;
  return false;
}

export interface WispEndpointOptions {
  /** Credentials required of every client (v2 password authentication); undefined: open. */
  readonly passwords: WispPasswords | undefined;
}

/** Whether the client's INFO may proceed, or the close reason and our code to refuse it with. */
type Admission =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: WispCloseReasonName; readonly code: string };

function admit(info: WispInfoPacket, passwords: WispPasswords | undefined): Admission {
  if (info.major !== WISP_V2_MAJOR) {
    return { ok: false, reason: 'unspecified', code: 'ERR_EGRESS_WISP_VERSION' };
  }
  if (passwords === undefined) return { ok: true };
  // Extensions the egress did not offer (UDP, MOTD, unknown ids) are simply not in common.
  const record = info.extensions.find((ext) => ext.id === WISP_EXTENSION_IDS['password-auth']);
  if (record === undefined) {
    return { ok: false, reason: 'auth-required', code: 'ERR_EGRESS_AUTH_REQUIRED' };
  }
  let readings;
  try {
    readings = decodeWispPasswordClientPayload(record.payload);
  } catch {
    return { ok: false, reason: 'auth-bad-password', code: 'ERR_EGRESS_AUTH_FAILED' };
  }
  // Every reading is checked, so the time does not tell which one matched.
  const matches = readings.map(({ username, password }) => passwords.verify(username, password));
  return matches.includes(true)
    ? { ok: true }
    : { ok: false, reason: 'auth-bad-password', code: 'ERR_EGRESS_AUTH_FAILED' };
}

export function serveWisp(
  ws: WebSocket,
  shared: EndpointShared,
  { passwords }: WispEndpointOptions,
): void {
  const { metrics, limits } = shared;
  const endpoint = 'wisp';
  const v2 = ws.protocol !== '';
  // `refused`: the egress is closing the WebSocket; whatever still arrives is dropped.
  let state: 'handshake' | 'open' | 'refused' = v2 ? 'handshake' : 'open';

  const sender = new WebSocketSender(ws, limits.sendHighWaterBytes, () => engine.drained());
  const send = (packet: WispPacket): void => sender.send(encodeWispPacket(packet));
  const abort: AbortConnection = (...reason) => {
    state = 'refused';
    closeConnection(ws, shared, endpoint, ...reason);
  };
  const engine = new StreamEngine({
    context: streamContext(shared, endpoint, sender, MAX_WISP_PACKET_BYTES, send),
    openers: { tcp: openTcp },
    downlinkCredits: false,
    onViolation: (code, message) => abort(WS_CLOSE.protocolError, code, message),
    onEnd: () => ws.close(WS_CLOSE.normal),
  });

  const handshakeTimer = v2
    ? handshakeDeadline(shared, endpoint, abort, 'no INFO from client')
    : undefined;

  function onMessage(message: Uint8Array): void {
    if (state === 'refused') return;
    let packet: WispPacket;
    try {
      // Before the handshake is through, no large packet has any business arriving: an INFO
      // with the longest credentials is about 64 KiB.
      const maxBytes = state === 'handshake' ? MAX_INFO_BYTES : maxWispMessageBytes(limits);
      packet = decodeWispPacket(message, { maxBytes });
    } catch (err) {
      const { code, message: text } = failureOf(err);
      if (state === 'handshake') refuse(WS_CLOSE.protocolError, code, text);
      else abort(WS_CLOSE.protocolError, code, text);
      return;
    }
    if (state === 'handshake') {
      handshake(packet);
      return;
    }
    engine.handle(packet);
  }

  function refuse(wsCode: number, code: string, message: string): void {
    clearTimeout(handshakeTimer);
    metrics.handshakeFailures.inc({ endpoint, code });
    abort(wsCode, code, message);
  }

  function handshake(packet: WispPacket): void {
    if (packet.type === 'close' && packet.streamId === 0) {
      // "If the client chooses to reject the connection, it must send a CLOSE packet".
      refuse(WS_CLOSE.normal, 'ERR_EGRESS_CLIENT_END', `client refused: reason ${packet.reason}`);
      return;
    }
    if (packet.type !== 'info') {
      refuse(WS_CLOSE.protocolError, 'ERR_EGRESS_UNEXPECTED_PACKET', 'expected INFO');
      return;
    }
    const admission = admit(packet, passwords);
    if (!admission.ok) {
      const reason = WISP_CLOSE_REASONS[admission.reason];
      // The spec: a CLOSE on stream 0 with the reason, "before the websocket is closed".
      send({ type: 'close', streamId: 0, reason });
      refuse(WS_CLOSE.policyViolation, admission.code, `handshake refused: ${admission.reason}`);
      return;
    }
    state = 'open';
    clearTimeout(handshakeTimer);
    engine.start();
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
    const extensions: WispExtension[] =
      passwords === undefined
        ? []
        : [
            {
              id: WISP_EXTENSION_IDS['password-auth'],
              payload: encodeWispPasswordServerPayload(true),
            },
          ];
    send({ type: 'info', streamId: 0, major: WISP_V2_MAJOR, minor: 0, extensions });
  } else if (passwords !== undefined) {
    // Wisp v1 has no way to authenticate: refuse before the first CONTINUE, with no Wisp packet.
    refuse(WS_CLOSE.policyViolation, 'ERR_EGRESS_AUTH_REQUIRED', 'Wisp v1 cannot authenticate');
  } else {
    engine.start();
  }
}
