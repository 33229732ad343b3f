/**
 * WebSocket framing written by hand (RFC 6455 §5.2), so a fuzz input can say anything a
 * client could put on the wire: any opcode, reserved bits, no mask, a length that lies, a
 * non-minimal length form. The reader does just enough to see what a server sent back.
 */

export const OPCODE = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

export interface FrameSpec {
  readonly opcode: number;
  readonly payload: Uint8Array;
  /** Default true. */
  readonly fin?: boolean;
  /** RSV1..RSV3 as bits 2..0 (0 for a well-formed frame). */
  readonly rsv?: number;
  /** Four bytes; `null` sends the frame unmasked, which a server must refuse. */
  readonly mask?: Uint8Array | null;
  /** The length to declare instead of the payload's own (a lie), up to 2^64 - 1. */
  readonly declaredLength?: bigint;
  /** Force the 16- or 64-bit length form even where a shorter one fits. */
  readonly lengthForm?: 'minimal' | '16' | '64';
}

const DEFAULT_MASK = new Uint8Array([0x37, 0xfa, 0x21, 0x3d]);

/** The wire bytes of one frame. */
export function encodeFrame(spec: FrameSpec): Uint8Array {
  const fin = spec.fin ?? true;
  const rsv = (spec.rsv ?? 0) & 0x7;
  const mask = spec.mask === undefined ? DEFAULT_MASK : spec.mask;
  const length = spec.declaredLength ?? BigInt(spec.payload.length);
  const form =
    spec.lengthForm === '16' || spec.lengthForm === '64'
      ? spec.lengthForm
      : length < 126n
        ? '7'
        : length < 0x10000n
          ? '16'
          : '64';
  const lengthBytes = form === '7' ? 0 : form === '16' ? 2 : 8;
  const head = new Uint8Array(2 + lengthBytes + (mask === null ? 0 : 4));
  const view = new DataView(head.buffer);
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | (spec.opcode & 0xf);
  const maskBit = mask === null ? 0 : 0x80;
  if (form === '7') {
    head[1] = maskBit | Number(length);
  } else if (form === '16') {
    head[1] = maskBit | 126;
    view.setUint16(2, Number(length & 0xffffn));
  } else {
    head[1] = maskBit | 127;
    view.setBigUint64(2, BigInt.asUintN(64, length));
  }
  const out = new Uint8Array(head.length + spec.payload.length);
  out.set(head);
  if (mask !== null) {
    out.set(mask.subarray(0, 4), 2 + lengthBytes);
    for (let i = 0; i < spec.payload.length; i++) {
      out[head.length + i] = (spec.payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
    }
  } else {
    out.set(spec.payload, head.length);
  }
  return out;
}

/** A well-formed, masked, unfragmented frame. */
export function dataFrame(opcode: number, payload: Uint8Array): Uint8Array {
  return encodeFrame({ opcode, payload });
}

export interface ServerFrame {
  readonly fin: boolean;
  readonly opcode: number;
  readonly payload: Uint8Array;
}

/**
 * Collects the frames a server sends (unmasked, per the RFC). `push` takes bytes as they
 * arrive and returns the frames completed by them.
 */
export class FrameReader {
  #buffer: Uint8Array = new Uint8Array(0);

  push(chunk: Uint8Array): ServerFrame[] {
    const joined = new Uint8Array(this.#buffer.length + chunk.length);
    joined.set(this.#buffer);
    joined.set(chunk, this.#buffer.length);
    this.#buffer = joined;
    const frames: ServerFrame[] = [];
    for (;;) {
      const frame = this.#next();
      if (frame === undefined) return frames;
      frames.push(frame);
    }
  }

  #next(): ServerFrame | undefined {
    const buf = this.#buffer;
    const b0 = buf[0];
    const b1 = buf[1];
    if (b0 === undefined || b1 === undefined) return undefined;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let offset = 2;
    let length = b1 & 0x7f;
    if (length === 126) {
      if (buf.length < 4) return undefined;
      length = view.getUint16(2);
      offset = 4;
    } else if (length === 127) {
      if (buf.length < 10) return undefined;
      length = Number(view.getBigUint64(2));
      offset = 10;
    }
    const masked = (b1 & 0x80) !== 0;
    const maskAt = offset;
    if (masked) offset += 4;
    if (buf.length < offset + length) return undefined;
    const payload = buf.slice(offset, offset + length);
    if (masked) {
      for (let i = 0; i < payload.length; i++) {
        payload[i] = (payload[i] ?? 0) ^ (buf[maskAt + (i % 4)] ?? 0);
      }
    }
    this.#buffer = buf.slice(offset + length);
    return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0xf, payload };
  }
}
