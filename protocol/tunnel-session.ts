/**
 * Sealed frames of an established tunnel. Every frame is one tunnel message:
 *
 *   u8 kind (0x04) ‖ u32 LE seq ‖ AEAD( u32 LE ack ‖ one Wisp packet ) ‖ 16-byte tag
 *
 * The AEAD nonce is the sequence number and the first five bytes are the
 * associated data. Making the nonce explicit (rather than Noise's implicit
 * counter) lets the receiver tell a replayed or reordered frame from a forged
 * one, and lets a later version resend an unacknowledged frame over another
 * volunteer byte for byte, without ever reusing a nonce for other plaintext.
 */
import { viewOf } from './bytes.ts';
import { NoiseError, TunnelError } from './errors.ts';
import { MAX_TUNNEL_MESSAGE_BYTES } from './limits.ts';
import type { CipherState } from './noise/cipher-state.ts';
import { expectTunnelMessage, TUNNEL_MESSAGE_KINDS } from './tunnel-message.ts';

const HEADER_BYTES = 5;
const ACK_BYTES = 4;
const TAG_BYTES = 16;

/** Bytes a frame adds around its Wisp packet. */
export const FRAME_OVERHEAD_BYTES = HEADER_BYTES + ACK_BYTES + TAG_BYTES;

/** The largest Wisp packet one frame can carry (16,359 bytes). */
export const MAX_FRAME_PACKET_BYTES = MAX_TUNNEL_MESSAGE_BYTES - FRAME_OVERHEAD_BYTES;

/** Sequence numbers are u32; past this a tunnel must be replaced by a new handshake. */
const MAX_SEQ = 0xffff_ffff;

export interface OpenedFrame {
  readonly seq: number;
  /** Frames of ours the peer has received: every frame with `seq < ack`. */
  readonly ack: number;
  /** One Wisp packet, still encoded; empty for a frame that only carries an ack. */
  readonly packet: Uint8Array;
}

export class TunnelSession {
  readonly #send: CipherState;
  readonly #receive: CipherState;
  #nextSendSeq = 0;
  #nextReceiveSeq = 0;
  #peerAck = 0;

  /** Built by the tunnel handshake from the two cipher states of Noise's Split(). */
  constructor(send: CipherState, receive: CipherState) {
    this.#send = send;
    this.#receive = receive;
  }

  /** Frames sealed so far (the next frame's sequence number). */
  get sentCount(): number {
    return this.#nextSendSeq;
  }

  /** Frames opened so far: the cumulative ack this side sends. */
  get receivedCount(): number {
    return this.#nextReceiveSeq;
  }

  /** The highest ack the peer has sent: our frames below it arrived. */
  get peerAck(): number {
    return this.#peerAck;
  }

  /** Seals one encoded Wisp packet (or an empty array for an ack-only frame). */
  seal(packet: Uint8Array): Uint8Array<ArrayBuffer> {
    if (!(packet instanceof Uint8Array)) {
      throw new TypeError(`packet: expected a Uint8Array, got ${typeof packet}`);
    }
    if (packet.length > MAX_FRAME_PACKET_BYTES) {
      throw new RangeError(
        `packet: ${packet.length} bytes is over the ${MAX_FRAME_PACKET_BYTES}-byte frame limit`,
      );
    }
    const seq = this.#nextSendSeq;
    if (seq > MAX_SEQ) {
      throw new TunnelError(
        'ERR_TUNNEL_SEQUENCE_EXHAUSTED',
        'this tunnel has sent 2^32 frames; open a new one',
      );
    }
    const header = new Uint8Array(HEADER_BYTES);
    header[0] = TUNNEL_MESSAGE_KINDS.frame;
    viewOf(header).setUint32(1, seq, true);
    const plaintext = new Uint8Array(ACK_BYTES + packet.length);
    viewOf(plaintext).setUint32(0, this.#nextReceiveSeq, true);
    plaintext.set(packet, ACK_BYTES);
    this.#send.setNonce(seq);
    const sealed = this.#send.encryptWithAd(header, plaintext);
    const out = new Uint8Array(HEADER_BYTES + sealed.length);
    out.set(header, 0);
    out.set(sealed, HEADER_BYTES);
    this.#nextSendSeq = seq + 1;
    return out;
  }

  /**
   * Opens the next frame from the peer. Frames must arrive exactly in order,
   * once each: anything else is refused with a typed error and leaves the
   * session as it was, so the caller may decide to close the tunnel.
   */
  open(message: Uint8Array): OpenedFrame {
    expectTunnelMessage(message, 'frame');
    if (message.length < HEADER_BYTES + ACK_BYTES + TAG_BYTES) {
      throw new TunnelError(
        'ERR_TUNNEL_TRUNCATED',
        `frame of ${message.length} bytes is shorter than the ${FRAME_OVERHEAD_BYTES}-byte minimum`,
      );
    }
    const seq = viewOf(message).getUint32(1, true);
    if (seq < this.#nextReceiveSeq) {
      throw new TunnelError(
        'ERR_TUNNEL_REPLAY',
        `frame ${seq} was already received (expected ${this.#nextReceiveSeq})`,
      );
    }
    if (seq > this.#nextReceiveSeq) {
      throw new TunnelError(
        'ERR_TUNNEL_OUT_OF_ORDER',
        `frame ${seq} arrived before frame ${this.#nextReceiveSeq}`,
      );
    }
    let plaintext: Uint8Array;
    try {
      this.#receive.setNonce(seq);
      plaintext = this.#receive.decryptWithAd(
        message.subarray(0, HEADER_BYTES),
        message.subarray(HEADER_BYTES),
      );
    } catch (err) {
      if (err instanceof NoiseError && err.code === 'ERR_NOISE_DECRYPT') {
        throw new TunnelError('ERR_TUNNEL_TAMPERED', `frame ${seq} failed authentication`);
      }
      throw err;
    }
    const ack = viewOf(plaintext).getUint32(0, true);
    if (ack < this.#peerAck || ack > this.#nextSendSeq) {
      throw new TunnelError(
        'ERR_TUNNEL_ACK',
        `frame ${seq} acks ${ack} frames; expected ${this.#peerAck}..${this.#nextSendSeq}`,
      );
    }
    this.#nextReceiveSeq = seq + 1;
    this.#peerAck = ack;
    return { seq, ack, packet: plaintext.subarray(ACK_BYTES) };
  }
}
