/**
 * The consumer's end of a tunnel session (docs/protocol.md §1.2–1.3, §1.7–1.8): the Noise NK
 * handshake as initiator, then sealing and opening frames with their sequence numbers and
 * cumulative acks. What it seals and opens are opaque packets: it knows nothing of streams,
 * nor of the path the messages travel, so one session can be carried by any path.
 */
import { encodeHandshakeItems, refusalIn } from '../protocol/admission.ts';
import type { AdmissionError } from '../protocol/errors.ts';
import { TunnelInitiator } from '../protocol/tunnel-handshake.ts';
import { TUNNEL_MESSAGE_KINDS } from '../protocol/tunnel-message.ts';
import { decodeRefused } from '../protocol/tunnel-refused.ts';
import type { TunnelSession } from '../protocol/tunnel-session.ts';
import { MeshError, TunnelRefusedError } from './errors.ts';

export class TunnelClientSession {
  readonly #initiator: TunnelInitiator;
  #session: TunnelSession | undefined;

  readonly #admission: Uint8Array | undefined;

  /** `admission`: the token the signaling server gave for this egress, if any. */
  constructor(egressPublicKey: Uint8Array, admission?: Uint8Array) {
    this.#initiator = new TunnelInitiator(egressPublicKey);
    this.#admission = admission;
  }

  /** The handshake-init, the first message to the egress; can be written once. */
  writeInit(): Uint8Array<ArrayBuffer> {
    const admission = this.#admission;
    return this.#initiator.writeInit(
      admission === undefined ? undefined : encodeHandshakeItems([['admission-token', admission]]),
    );
  }

  /** True once the egress's handshake response has been read. */
  get established(): boolean {
    return this.#session !== undefined;
  }

  /** Frames sealed so far: the next frame's sequence number. */
  get sentCount(): number {
    return this.#session?.sentCount ?? 0;
  }

  /** Frames opened so far: the cumulative ack this side sends. */
  get receivedCount(): number {
    return this.#session?.receivedCount ?? 0;
  }

  /** The peer's latest ack: our frames below it have arrived. */
  get peerAck(): number {
    return this.#session?.peerAck ?? 0;
  }

  /**
   * Reads a message that arrived before the session was established: the egress's
   * handshake response, which establishes it, or a volunteer's REFUSED, which is returned
   * for the caller to end the tunnel with, as is the egress's refusal of admission (an
   * `AdmissionError`, `ERR_ADMISSION_<REASON>`). Throws on anything else (a malformed REFUSED,
   * a response that fails the handshake).
   */
  readHandshake(message: Uint8Array): TunnelRefusedError | AdmissionError | undefined {
    if (this.#session !== undefined) {
      throw new MeshError('ERR_TUNNEL_HANDSHAKE', 'the handshake is already complete');
    }
    // Until the egress has answered, the volunteer may say it will not carry this
    // tunnel (docs/protocol.md §1.7); afterwards only sealed frames count.
    if (message[0] === TUNNEL_MESSAGE_KINDS.refused) {
      return new TunnelRefusedError(decodeRefused(message).reason);
    }
    const { session, payload } = this.#initiator.readResponse(message);
    const refusal = refusalIn(payload);
    if (refusal === undefined) this.#session = session;
    return refusal;
  }

  /** Seals one encoded packet (empty for an ack-only frame) into the next frame. */
  seal(packet: Uint8Array): Uint8Array<ArrayBuffer> {
    if (this.#session === undefined) throw new MeshError('ERR_TUNNEL_HANDSHAKE', 'not ready');
    return this.#session.seal(packet);
  }

  /**
   * Opens the next frame and returns its packet (empty for an ack-only frame). Throws the
   * protocol's `TunnelError` for a frame out of order, replayed, tampered with or carrying
   * an impossible ack, leaving the session as it was.
   */
  open(message: Uint8Array): Uint8Array {
    if (this.#session === undefined) throw new MeshError('ERR_TUNNEL_HANDSHAKE', 'not ready');
    return this.#session.open(message).packet;
  }
}
