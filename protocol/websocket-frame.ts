/**
 * Message frames of `websocket` streams, a tunnel-only Wisp extension (stream type 0x81): the
 * egress opens the WebSocket connection to the origin itself and relays whole messages, because
 * a service worker cannot speak TLS over a raw stream without WebAssembly.
 *
 * After the heads (`websocket-head.ts`), each direction's DATA bytes are a sequence of frames:
 *   `u8 opcode ‖ u32 LE length ‖ payload`
 * with the opcodes of RFC 6455 (0x01 text, 0x02 binary, 0x08 close). A frame is one whole
 * message: the egress reassembles fragmented WebSocket messages before relaying them, and pings
 * and pongs stay between the egress and the origin. Text payloads are valid UTF-8. A close
 * payload is empty or `u16 BE code ‖ UTF-8 reason` as in RFC 6455 §5.5.1, at most 125 bytes, and
 * a close frame is the last frame in its direction. DATA packet boundaries mean nothing.
 */

import { concatBytes, utf8Decode, utf8Encode, viewOf } from './bytes.ts';
import { WebSocketFrameError } from './errors.ts';
import type { WebSocketFrameErrorCode } from './errors.ts';
import { MAX_WEBSOCKET_MESSAGE_BYTES } from './limits.ts';

/** The opcode byte of a frame; the values are RFC 6455's. */
export const WEBSOCKET_OPCODES = {
  text: 0x01,
  binary: 0x02,
  close: 0x08,
} as const;
export type WebSocketFrameType = keyof typeof WEBSOCKET_OPCODES;

/** Bytes before the payload: opcode and length. */
export const WEBSOCKET_FRAME_HEADER_BYTES = 5;
/** A close payload is a control frame payload in RFC 6455: at most 125 bytes. */
export const MAX_WEBSOCKET_CLOSE_PAYLOAD_BYTES = 125;
/** So a close reason is at most 123 bytes of UTF-8. */
export const MAX_WEBSOCKET_CLOSE_REASON_BYTES = 123;
/**
 * The code that stands for "no status" (RFC 6455 §7.4.1): a close frame with an empty payload
 * decodes to it, and encoding it writes an empty payload. It never appears on the wire itself.
 */
export const WEBSOCKET_NO_STATUS = 1005;

/** A whole text or binary message. Text payloads are UTF-8. */
export interface WebSocketDataFrame {
  readonly type: 'text' | 'binary';
  /** From `WebSocketFrameReader` a fresh copy, owned by the caller. */
  readonly payload: Uint8Array;
}

/** The closing handshake's frame: the last one in its direction. */
export interface WebSocketCloseFrame {
  readonly type: 'close';
  /** A code valid on the wire (see `isWebSocketCloseCode`), or `WEBSOCKET_NO_STATUS`. */
  readonly code: number;
  /** At most 123 bytes of UTF-8; empty when `code` is `WEBSOCKET_NO_STATUS`. */
  readonly reason: string;
}

export type WebSocketFrame = WebSocketDataFrame | WebSocketCloseFrame;

const TYPE_BY_OPCODE: ReadonlyMap<number, WebSocketFrameType> = new Map(
  (Object.keys(WEBSOCKET_OPCODES) as WebSocketFrameType[]).map((type) => [
    WEBSOCKET_OPCODES[type],
    type,
  ]),
);

function fail(code: WebSocketFrameErrorCode, message: string): never {
  throw new WebSocketFrameError(code, message);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * True for the close codes an endpoint may send (RFC 6455 §7.4 and the IANA registry): 1000–1003,
 * 1007–1014 and 3000–4999. 1004 is reserved, 1005, 1006 and 1015 are never sent.
 */
export function isWebSocketCloseCode(code: number): boolean {
  return (
    Number.isInteger(code) &&
    ((code >= 1000 && code <= 1003) ||
      (code >= 1007 && code <= 1014) ||
      (code >= 3000 && code <= 4999))
  );
}

function checkUtf8(what: string, bytes: Uint8Array): string {
  try {
    return utf8Decode(bytes);
  } catch {
    return fail('ERR_WS_FRAME_UTF8', `${what} is not valid UTF-8`);
  }
}

function checkMessageLength(length: number): void {
  if (length > MAX_WEBSOCKET_MESSAGE_BYTES) {
    fail(
      'ERR_WS_FRAME_TOO_LARGE',
      `message of ${length} bytes exceeds ${MAX_WEBSOCKET_MESSAGE_BYTES}`,
    );
  }
}

function checkClosePayloadLength(length: number): void {
  if (length === 1 || length > MAX_WEBSOCKET_CLOSE_PAYLOAD_BYTES) {
    fail('ERR_WS_FRAME_CLOSE', `close payload of ${length} bytes (0 or 2..125 allowed)`);
  }
}

/** The close payload: empty for "no status", else `u16 BE code ‖ UTF-8 reason`. */
function encodeClosePayload(code: number, reason: string): Uint8Array {
  if (code === WEBSOCKET_NO_STATUS) {
    if (reason !== '') fail('ERR_WS_FRAME_CLOSE', 'a close without a code has no reason');
    return new Uint8Array(0);
  }
  if (!isWebSocketCloseCode(code)) fail('ERR_WS_FRAME_CLOSE', `close code ${code} is not sendable`);
  const text = utf8Encode(reason);
  if (text.length > MAX_WEBSOCKET_CLOSE_REASON_BYTES) {
    fail(
      'ERR_WS_FRAME_CLOSE',
      `close reason of ${text.length} bytes exceeds ${MAX_WEBSOCKET_CLOSE_REASON_BYTES}`,
    );
  }
  const out = new Uint8Array(2 + text.length);
  viewOf(out).setUint16(0, code, false);
  out.set(text, 2);
  return out;
}

function decodeClosePayload(payload: Uint8Array): WebSocketCloseFrame {
  checkClosePayloadLength(payload.length);
  if (payload.length === 0) return { type: 'close', code: WEBSOCKET_NO_STATUS, reason: '' };
  const code = viewOf(payload).getUint16(0, false);
  if (!isWebSocketCloseCode(code)) fail('ERR_WS_FRAME_CLOSE', `close code ${code} is not sendable`);
  return { type: 'close', code, reason: checkUtf8('close reason', payload.subarray(2)) };
}

/**
 * The 5-byte header of a frame whose payload is sent separately (the egress relays a message
 * from the origin without copying it). The caller vouches for the payload: UTF-8 for text, a
 * valid close payload for close.
 */
export function encodeWebSocketFrameHeader(type: WebSocketFrameType, length: number): Uint8Array {
  const opcode = WEBSOCKET_OPCODES[type];
  if (typeof opcode !== 'number') throw new TypeError(`type: unknown frame type ${String(type)}`);
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`length: expected a non-negative integer, got ${length}`);
  }
  if (type === 'close') checkClosePayloadLength(length);
  else checkMessageLength(length);
  const out = new Uint8Array(WEBSOCKET_FRAME_HEADER_BYTES);
  out[0] = opcode;
  viewOf(out).setUint32(1, length, true);
  return out;
}

/** Encodes one frame (header and payload, one buffer), checking what the decoder checks. */
export function encodeWebSocketFrame(frame: WebSocketFrame): Uint8Array {
  if (typeof frame !== 'object' || frame === null) {
    throw new TypeError(`frame: expected an object, got ${describe(frame)}`);
  }
  let payload: Uint8Array;
  if (frame.type === 'close') {
    if (typeof frame.code !== 'number') {
      throw new TypeError(`frame.code: expected a number, got ${describe(frame.code)}`);
    }
    if (typeof frame.reason !== 'string') {
      throw new TypeError(`frame.reason: expected a string, got ${describe(frame.reason)}`);
    }
    payload = encodeClosePayload(frame.code, frame.reason);
  } else if (frame.type === 'text' || frame.type === 'binary') {
    if (!(frame.payload instanceof Uint8Array)) {
      throw new TypeError(`frame.payload: expected a Uint8Array, got ${describe(frame.payload)}`);
    }
    payload = frame.payload;
    checkMessageLength(payload.length);
    if (frame.type === 'text') checkUtf8('text message', payload);
  } else {
    throw new TypeError(
      `frame.type: unknown frame type ${String((frame as { type: unknown }).type)}`,
    );
  }
  const out = new Uint8Array(WEBSOCKET_FRAME_HEADER_BYTES + payload.length);
  out.set(encodeWebSocketFrameHeader(frame.type, payload.length));
  out.set(payload, WEBSOCKET_FRAME_HEADER_BYTES);
  return out;
}

/**
 * Reads frames from stream chunks of any size.
 *
 * `push` takes a chunk and returns the frames it completed, in order. A declared length over
 * the limit (1 MiB for a message, 125 bytes for a close) is refused as soon as the 5-byte header
 * is in. The reader holds only bytes that have arrived (one header and the part of one payload
 * received so far), never a buffer of the declared size ahead of them, so a stranger who
 * declares large messages and sends nothing costs nothing.
 * Any error leaves the reader, and the stream, unusable.
 */
export class WebSocketFrameReader {
  readonly #header = new Uint8Array(WEBSOCKET_FRAME_HEADER_BYTES);
  #headerFilled = 0;
  /** Set once the header is in: the frame's type and declared payload length. */
  #type: WebSocketFrameType | null = null;
  #length = 0;
  /** Copies of the payload bytes received so far. */
  #pieces: Uint8Array[] = [];
  #payloadFilled = 0;
  #closed = false;
  #failed = false;

  /** Bytes held for the frame in progress (header included). */
  get bufferedBytes(): number {
    return this.#headerFilled + this.#payloadFilled;
  }

  /** True once a close frame has been read: nothing may follow it. */
  get closed(): boolean {
    return this.#closed;
  }

  push(chunk: Uint8Array): WebSocketFrame[] {
    if (!(chunk instanceof Uint8Array)) {
      throw new TypeError(`chunk: expected a Uint8Array, got ${describe(chunk)}`);
    }
    if (this.#failed) throw new Error('WebSocketFrameReader.push: the reader failed before');
    try {
      return this.#read(chunk);
    } catch (err) {
      this.#failed = true;
      throw err;
    }
  }

  #read(chunk: Uint8Array): WebSocketFrame[] {
    const frames: WebSocketFrame[] = [];
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#closed) fail('ERR_WS_FRAME_AFTER_CLOSE', 'bytes after a close frame');
      if (this.#type === null) {
        const take = Math.min(
          WEBSOCKET_FRAME_HEADER_BYTES - this.#headerFilled,
          chunk.length - offset,
        );
        this.#header.set(chunk.subarray(offset, offset + take), this.#headerFilled);
        this.#headerFilled += take;
        offset += take;
        if (this.#headerFilled < WEBSOCKET_FRAME_HEADER_BYTES) break;
        this.#startPayload();
      }
      const take = Math.min(this.#length - this.#payloadFilled, chunk.length - offset);
      if (take > 0) {
        // A copy, and a plain Uint8Array: Node's Buffer#slice would be a view.
        this.#pieces.push(new Uint8Array(chunk.subarray(offset, offset + take)));
        this.#payloadFilled += take;
        offset += take;
      }
      if (this.#payloadFilled === this.#length) frames.push(this.#finishFrame());
    }
    return frames;
  }

  /** The header is in: check the opcode and the declared length. */
  #startPayload(): void {
    const opcode = this.#header[0] ?? 0;
    const type = TYPE_BY_OPCODE.get(opcode);
    if (type === undefined) fail('ERR_WS_FRAME_OPCODE', `unknown opcode 0x${opcode.toString(16)}`);
    const length = viewOf(this.#header).getUint32(1, true);
    if (type === 'close') checkClosePayloadLength(length);
    else checkMessageLength(length);
    this.#type = type;
    this.#length = length;
  }

  #finishFrame(): WebSocketFrame {
    const type = this.#type ?? 'binary';
    const [first] = this.#pieces;
    const payload =
      this.#pieces.length === 1 && first !== undefined ? first : concatBytes(...this.#pieces);
    this.#headerFilled = 0;
    this.#type = null;
    this.#length = 0;
    this.#pieces = [];
    this.#payloadFilled = 0;
    if (type === 'close') {
      const frame = decodeClosePayload(payload);
      this.#closed = true;
      return frame;
    }
    if (type === 'text') checkUtf8('text message', payload);
    return { type, payload };
  }

  /** Call when the stream ends: throws ERR_WS_FRAME_TRUNCATED inside a frame. */
  end(): void {
    if (this.bufferedBytes > 0) {
      fail('ERR_WS_FRAME_TRUNCATED', `stream ended inside a frame (${this.bufferedBytes} bytes)`);
    }
  }
}
