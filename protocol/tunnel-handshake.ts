/**
 * The tunnel handshake: Noise_NK_25519_ChaChaPoly_SHA256 between the consumer
 * (initiator, anonymous) and the egress (responder, whose static public key
 * the consumer knows from the egress list or pins). The volunteer in between
 * forwards these messages without being able to read or alter them.
 *
 *   handshake-init:     u8 0x02 ‖ u8 version ‖ Noise message 1 (e, es + payload)
 *   handshake-response: u8 0x03 ‖ Noise message 2 (e, ee + payload)
 */
import { utf8Encode } from './bytes.ts';
import { TunnelError } from './errors.ts';
import type { KeyPair } from './noise/crypto-suite.ts';
import { HandshakeState } from './noise/handshake-state.ts';
import { expectTunnelMessage, TUNNEL_MESSAGE_KINDS, TUNNEL_VERSION } from './tunnel-message.ts';
import { TunnelSession } from './tunnel-session.ts';

export const TUNNEL_NOISE_PROTOCOL = 'Noise_NK_25519_ChaChaPoly_SHA256';

/** Bound into the handshake hash, so a handshake can only complete as this protocol and version. */
export const TUNNEL_PROLOGUE = utf8Encode(`browsers-unbounded tunnel v${TUNNEL_VERSION}`);

/** Handshake payloads are reserved for later versions (resumption tickets); keep them small. */
export const MAX_HANDSHAKE_PAYLOAD_BYTES = 1024;

const EMPTY = new Uint8Array(0);

function checkPayload(payload: Uint8Array): void {
  if (!(payload instanceof Uint8Array)) {
    throw new TypeError(`payload: expected a Uint8Array, got ${typeof payload}`);
  }
  if (payload.length > MAX_HANDSHAKE_PAYLOAD_BYTES) {
    throw new RangeError(
      `payload: ${payload.length} bytes is over the ${MAX_HANDSHAKE_PAYLOAD_BYTES}-byte limit`,
    );
  }
}

function receivedPayload(payload: Uint8Array): Uint8Array {
  if (payload.length > MAX_HANDSHAKE_PAYLOAD_BYTES) {
    throw new TunnelError(
      'ERR_TUNNEL_TOO_LARGE',
      `handshake payload of ${payload.length} bytes is over the ${MAX_HANDSHAKE_PAYLOAD_BYTES}-byte limit`,
    );
  }
  return payload;
}

export interface TunnelHandshakeOptions {
  /** A fixed ephemeral key, for test vectors only. */
  readonly ephemeral?: KeyPair;
}

/** The consumer's side: `writeInit()`, then `readResponse()` gives the session. */
export class TunnelInitiator {
  readonly #noise: HandshakeState;
  #step: 'init' | 'response' | 'done' = 'init';

  constructor(egressPublicKey: Uint8Array, options: TunnelHandshakeOptions = {}) {
    this.#noise = new HandshakeState({
      protocolName: TUNNEL_NOISE_PROTOCOL,
      initiator: true,
      prologue: TUNNEL_PROLOGUE,
      rs: egressPublicKey,
      ...(options.ephemeral ? { e: options.ephemeral } : {}),
    });
  }

  writeInit(payload: Uint8Array = EMPTY): Uint8Array<ArrayBuffer> {
    checkPayload(payload);
    if (this.#step !== 'init')
      throw new TunnelError('ERR_TUNNEL_STATE', 'init was already written');
    const noise = this.#noise.writeMessage(payload);
    const out = new Uint8Array(2 + noise.length);
    out[0] = TUNNEL_MESSAGE_KINDS['handshake-init'];
    out[1] = TUNNEL_VERSION;
    out.set(noise, 2);
    this.#step = 'response';
    return out;
  }

  readResponse(message: Uint8Array): { session: TunnelSession; payload: Uint8Array } {
    if (this.#step !== 'response') {
      throw new TunnelError('ERR_TUNNEL_STATE', 'no response is expected now');
    }
    expectTunnelMessage(message, 'handshake-response');
    const payload = receivedPayload(this.#noise.readMessage(message.subarray(1)));
    this.#step = 'done';
    const [toEgress, fromEgress] = this.#noise.split();
    return { session: new TunnelSession(toEgress, fromEgress), payload };
  }

  /** Binds application data to this handshake (Noise channel binding). */
  get handshakeHash(): Uint8Array {
    return this.#noise.getHandshakeHash();
  }
}

/** The egress's side: `readInit()`, then `writeResponse()` gives the session. */
export class TunnelResponder {
  readonly #noise: HandshakeState;
  #step: 'init' | 'response' | 'done' = 'init';

  constructor(staticKey: KeyPair, options: TunnelHandshakeOptions = {}) {
    this.#noise = new HandshakeState({
      protocolName: TUNNEL_NOISE_PROTOCOL,
      initiator: false,
      prologue: TUNNEL_PROLOGUE,
      s: staticKey,
      ...(options.ephemeral ? { e: options.ephemeral } : {}),
    });
  }

  /** Reads the consumer's init and returns its payload. */
  readInit(message: Uint8Array): Uint8Array {
    if (this.#step !== 'init') throw new TunnelError('ERR_TUNNEL_STATE', 'init was already read');
    expectTunnelMessage(message, 'handshake-init');
    const version = message[1];
    if (version === undefined) {
      throw new TunnelError('ERR_TUNNEL_TRUNCATED', 'handshake init has no version byte');
    }
    if (version !== TUNNEL_VERSION) {
      throw new TunnelError(
        'ERR_TUNNEL_VERSION',
        `handshake init is for tunnel version ${version}; this side speaks ${TUNNEL_VERSION}`,
      );
    }
    const payload = receivedPayload(this.#noise.readMessage(message.subarray(2)));
    this.#step = 'response';
    return payload;
  }

  writeResponse(payload: Uint8Array = EMPTY): { response: Uint8Array; session: TunnelSession } {
    checkPayload(payload);
    if (this.#step !== 'response') {
      throw new TunnelError('ERR_TUNNEL_STATE', 'the init must be read before the response');
    }
    const noise = this.#noise.writeMessage(payload);
    const response = new Uint8Array(1 + noise.length);
    response[0] = TUNNEL_MESSAGE_KINDS['handshake-response'];
    response.set(noise, 1);
    this.#step = 'done';
    const [fromConsumer, toConsumer] = this.#noise.split();
    return { response, session: new TunnelSession(toConsumer, fromConsumer) };
  }
}
