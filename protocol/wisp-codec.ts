/**
 * Wisp v1.2 packet codec, plus the v2 INFO packet.
 *
 * Every packet is `u8 type ‖ u32 LE stream id ‖ payload`; all integers are little-endian.
 * The encoder enforces the same rules as the decoder, so we never emit a packet we would
 * refuse ourselves.
 *
 * Stream id rules (v2 draft: "stream ID 0 is reserved for the initial handshake and must not
 * be used elsewhere"; v1.2 uses stream 0 only for the initial CONTINUE):
 * - CONNECT and DATA: never stream 0.
 * - CONTINUE: any id; on 0 it carries the initial buffer size for every stream.
 * - CLOSE: any id; on 0 it rejects the v2 handshake (reason 0x04, 0xc0–0xc2) or ends the
 *   connection.
 * - INFO: stream 0 only.
 */

import { viewOf, utf8Decode, utf8Encode } from './bytes.ts';
import { WispError } from './errors.ts';
import type { WispErrorCode } from './errors.ts';
import { MAX_HOSTNAME_BYTES, MAX_WISP_PACKET_BYTES } from './limits.ts';
import { WISP_PACKET_TYPES, WISP_STREAM_TYPES } from './wisp-types.ts';
import type {
  WispCodecOptions,
  WispExtension,
  WispPacket,
  WispPacketType,
  WispPasswordCredentials,
  WispStreamType,
} from './wisp-types.ts';

const HEADER_BYTES = 5;
const CONNECT_FIXED_BYTES = HEADER_BYTES + 3;
const CONTINUE_BYTES = HEADER_BYTES + 4;
const CLOSE_BYTES = HEADER_BYTES + 1;
const INFO_FIXED_BYTES = HEADER_BYTES + 2;
const EXTENSION_HEADER_BYTES = 5;

const U8_MAX = 0xff;
const U16_MAX = 0xffff;
const U32_MAX = 0xffff_ffff;

const PACKET_TYPE_BY_CODE = invert(WISP_PACKET_TYPES);
const STREAM_TYPE_BY_CODE = invert(WISP_STREAM_TYPES);

function invert<K extends string>(map: Readonly<Record<K, number>>): ReadonlyMap<number, K> {
  return new Map((Object.keys(map) as K[]).map((key) => [map[key], key]));
}

function fail(code: WispErrorCode, message: string): never {
  throw new WispError(code, message);
}

function maxBytesOf(options: WispCodecOptions | undefined): number {
  const maxBytes = options?.maxBytes ?? MAX_WISP_PACKET_BYTES;
  return checkUint('options.maxBytes', maxBytes, Number.MAX_SAFE_INTEGER);
}

function checkUint(name: string, value: unknown, max: number): number {
  if (typeof value !== 'number') {
    throw new TypeError(`${name}: expected a number, got ${typeof value}`);
  }
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name}: expected an integer in 0..${max}, got ${value}`);
  }
  return value;
}

function checkStreamId(type: WispPacketType, streamId: number): void {
  if (type === 'info') {
    if (streamId !== 0) fail('ERR_WISP_STREAM_ID', `INFO must use stream 0, got ${streamId}`);
  } else if (streamId === 0 && (type === 'connect' || type === 'data')) {
    fail('ERR_WISP_STREAM_ID', `${type.toUpperCase()} must not use stream 0`);
  }
}

function checkPort(port: number): void {
  if (port === 0) fail('ERR_WISP_PORT', 'CONNECT port must not be 0');
}

// Anything a DNS name, IPv4 or IPv6 literal never contains and that could smuggle a second
// token into a log line, a URL or a resolver call.
const UNICODE_WHITESPACE = /\s/u;
const C1_CONTROLS = /[\u0080-\u009f]/u;
const LONE_SURROGATE = /\p{Cs}/u;

function checkHostnameText(hostname: string): void {
  if (hostname.length === 0) fail('ERR_WISP_HOSTNAME', 'hostname is empty');
  for (let i = 0; i < hostname.length; i++) {
    const c = hostname.charCodeAt(i);
    if (c <= 0x1f || c === 0x7f) {
      fail('ERR_WISP_HOSTNAME', `hostname contains control character 0x${c.toString(16)}`);
    }
  }
  if (C1_CONTROLS.test(hostname)) fail('ERR_WISP_HOSTNAME', 'hostname contains a C1 control');
  if (UNICODE_WHITESPACE.test(hostname)) fail('ERR_WISP_HOSTNAME', 'hostname contains whitespace');
  if (LONE_SURROGATE.test(hostname)) fail('ERR_WISP_HOSTNAME', 'hostname is not valid Unicode');
}

function tooLarge(size: number, maxBytes: number): never {
  fail('ERR_WISP_TOO_LARGE', `packet of ${size} bytes exceeds the limit of ${maxBytes}`);
}

function checkBytes(name: string, value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new TypeError(`${name}: expected a Uint8Array, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  return typeof value;
}

function header(type: WispPacketType, streamId: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  out[0] = WISP_PACKET_TYPES[type];
  viewOf(out).setUint32(1, streamId, true);
  return out;
}

/**
 * Encodes one packet. Throws `TypeError` for values of the wrong type, `RangeError` for
 * integers outside their u8/u16/u32 field, and `WispError` for anything the decoder would
 * refuse (same codes as `decodeWispPacket`).
 */
export function encodeWispPacket(packet: WispPacket, options?: WispCodecOptions): Uint8Array {
  const maxBytes = maxBytesOf(options);
  if (typeof packet !== 'object' || packet === null) {
    throw new TypeError(`packet: expected an object, got ${describe(packet)}`);
  }
  const type: unknown = packet.type;
  if (typeof type !== 'string') throw new TypeError(`packet.type: expected a string`);
  if (!Object.hasOwn(WISP_PACKET_TYPES, type)) {
    fail('ERR_WISP_UNKNOWN_TYPE', `unknown packet type ${JSON.stringify(type)}`);
  }
  const streamId = checkUint('packet.streamId', packet.streamId, U32_MAX);
  checkStreamId(packet.type, streamId);

  switch (packet.type) {
    case 'connect': {
      const streamType: unknown = packet.streamType;
      if (typeof streamType !== 'string') {
        throw new TypeError('packet.streamType: expected a string');
      }
      if (!Object.hasOwn(WISP_STREAM_TYPES, streamType)) {
        fail('ERR_WISP_STREAM_TYPE', `unknown stream type ${JSON.stringify(streamType)}`);
      }
      const port = checkUint('packet.port', packet.port, U16_MAX);
      checkPort(port);
      const hostname: unknown = packet.hostname;
      if (typeof hostname !== 'string') {
        throw new TypeError(`packet.hostname: expected a string, got ${describe(hostname)}`);
      }
      // Each UTF-16 unit becomes at least one UTF-8 byte: refuse before encoding a huge string.
      if (hostname.length > MAX_HOSTNAME_BYTES) {
        fail('ERR_WISP_HOSTNAME', `hostname longer than ${MAX_HOSTNAME_BYTES} bytes`);
      }
      checkHostnameText(hostname);
      const name = utf8Encode(hostname);
      if (name.length > MAX_HOSTNAME_BYTES) {
        fail('ERR_WISP_HOSTNAME', `hostname of ${name.length} bytes exceeds ${MAX_HOSTNAME_BYTES}`);
      }
      const size = CONNECT_FIXED_BYTES + name.length;
      if (size > maxBytes) tooLarge(size, maxBytes);
      const out = header('connect', streamId, size);
      out[5] = WISP_STREAM_TYPES[packet.streamType];
      viewOf(out).setUint16(6, port, true);
      out.set(name, CONNECT_FIXED_BYTES);
      return out;
    }
    case 'data': {
      const payload = checkBytes('packet.payload', packet.payload);
      const size = HEADER_BYTES + payload.length;
      if (size > maxBytes) tooLarge(size, maxBytes);
      const out = header('data', streamId, size);
      out.set(payload, HEADER_BYTES);
      return out;
    }
    case 'continue': {
      const remaining = checkUint('packet.bufferRemaining', packet.bufferRemaining, U32_MAX);
      if (CONTINUE_BYTES > maxBytes) tooLarge(CONTINUE_BYTES, maxBytes);
      const out = header('continue', streamId, CONTINUE_BYTES);
      viewOf(out).setUint32(5, remaining, true);
      return out;
    }
    case 'close': {
      const reason = checkUint('packet.reason', packet.reason, U8_MAX);
      if (CLOSE_BYTES > maxBytes) tooLarge(CLOSE_BYTES, maxBytes);
      const out = header('close', streamId, CLOSE_BYTES);
      out[5] = reason;
      return out;
    }
    case 'info': {
      const major = checkUint('packet.major', packet.major, U8_MAX);
      const minor = checkUint('packet.minor', packet.minor, U8_MAX);
      const extensions: unknown = packet.extensions;
      if (!Array.isArray(extensions)) {
        throw new TypeError(`packet.extensions: expected an array, got ${describe(extensions)}`);
      }
      // Size everything first so a huge extension list is refused before we allocate.
      let size = INFO_FIXED_BYTES;
      const records: WispExtension[] = [];
      for (const [i, ext] of (extensions as unknown[]).entries()) {
        if (typeof ext !== 'object' || ext === null) {
          throw new TypeError(`packet.extensions[${i}]: expected an object, got ${describe(ext)}`);
        }
        const record = ext as Partial<Record<keyof WispExtension, unknown>>;
        const id = checkUint(`packet.extensions[${i}].id`, record.id, U8_MAX);
        const payload = checkBytes(`packet.extensions[${i}].payload`, record.payload);
        size += EXTENSION_HEADER_BYTES + payload.length;
        if (size > maxBytes) tooLarge(size, maxBytes);
        records.push({ id, payload });
      }
      const out = header('info', streamId, size);
      const view = viewOf(out);
      out[5] = major;
      out[6] = minor;
      let offset = INFO_FIXED_BYTES;
      for (const { id, payload } of records) {
        out[offset] = id;
        view.setUint32(offset + 1, payload.length, true);
        out.set(payload, offset + EXTENSION_HEADER_BYTES);
        offset += EXTENSION_HEADER_BYTES + payload.length;
      }
      return out;
    }
  }
}

/**
 * Decodes one packet (one whole WebSocket or tunnel message). Throws only `WispError` for bad
 * input (and `RangeError`/`TypeError` for bad arguments). A DATA payload is a view into
 * `bytes`; INFO extension payloads are copies. Unknown close reasons decode as they are:
 * receivers treat them as unspecified.
 */
export function decodeWispPacket(bytes: Uint8Array, options?: WispCodecOptions): WispPacket {
  checkBytes('bytes', bytes);
  const maxBytes = maxBytesOf(options);
  if (bytes.length > maxBytes) tooLarge(bytes.length, maxBytes);
  if (bytes.length < HEADER_BYTES) {
    fail('ERR_WISP_TRUNCATED', `packet of ${bytes.length} bytes is shorter than its header`);
  }
  const view = viewOf(bytes);
  const typeCode = view.getUint8(0);
  const type = PACKET_TYPE_BY_CODE.get(typeCode);
  if (type === undefined) {
    fail('ERR_WISP_UNKNOWN_TYPE', `unknown packet type 0x${typeCode.toString(16)}`);
  }
  const streamId = view.getUint32(1, true);
  checkStreamId(type, streamId);

  switch (type) {
    case 'connect': {
      if (bytes.length < CONNECT_FIXED_BYTES) {
        fail('ERR_WISP_TRUNCATED', 'CONNECT is shorter than its fixed fields');
      }
      const streamTypeCode = view.getUint8(5);
      const streamType: WispStreamType | undefined = STREAM_TYPE_BY_CODE.get(streamTypeCode);
      if (streamType === undefined) {
        fail('ERR_WISP_STREAM_TYPE', `unknown stream type 0x${streamTypeCode.toString(16)}`);
      }
      const port = view.getUint16(6, true);
      checkPort(port);
      const name = bytes.subarray(CONNECT_FIXED_BYTES);
      if (name.length > MAX_HOSTNAME_BYTES) {
        fail('ERR_WISP_HOSTNAME', `hostname of ${name.length} bytes exceeds ${MAX_HOSTNAME_BYTES}`);
      }
      let hostname: string;
      try {
        hostname = utf8Decode(name);
      } catch {
        fail('ERR_WISP_HOSTNAME', 'hostname is not valid UTF-8');
      }
      checkHostnameText(hostname);
      return { type, streamId, streamType, port, hostname };
    }
    case 'data':
      return { type, streamId, payload: bytes.subarray(HEADER_BYTES) };
    case 'continue':
      fixedSize(bytes, CONTINUE_BYTES, 'CONTINUE');
      return { type, streamId, bufferRemaining: view.getUint32(5, true) };
    case 'close':
      fixedSize(bytes, CLOSE_BYTES, 'CLOSE');
      return { type, streamId, reason: view.getUint8(5) };
    case 'info': {
      if (bytes.length < INFO_FIXED_BYTES) {
        fail('ERR_WISP_TRUNCATED', 'INFO is shorter than its version fields');
      }
      const extensions: WispExtension[] = [];
      let offset = INFO_FIXED_BYTES;
      while (offset < bytes.length) {
        if (bytes.length - offset < EXTENSION_HEADER_BYTES) {
          fail('ERR_WISP_INFO', `truncated extension record at offset ${offset}`);
        }
        const id = view.getUint8(offset);
        const length = view.getUint32(offset + 1, true);
        const start = offset + EXTENSION_HEADER_BYTES;
        if (length > bytes.length - start) {
          fail('ERR_WISP_INFO', `extension 0x${id.toString(16)} claims ${length} bytes`);
        }
        extensions.push({ id, payload: bytes.slice(start, start + length) });
        offset = start + length;
      }
      return {
        type,
        streamId: 0,
        major: view.getUint8(5),
        minor: view.getUint8(6),
        extensions,
      };
    }
  }
}

function fixedSize(bytes: Uint8Array, size: number, name: string): void {
  if (bytes.length < size) fail('ERR_WISP_TRUNCATED', `${name} must be ${size} bytes`);
  if (bytes.length > size) {
    fail('ERR_WISP_TRAILING_BYTES', `${name} must be ${size} bytes, got ${bytes.length}`);
  }
}

/** The server's password-authentication record payload (v2 draft 6): `u8 required`. */
export function encodeWispPasswordServerPayload(required: boolean): Uint8Array {
  return Uint8Array.of(required ? 1 : 0);
}

/**
 * The readings of a client's password-authentication record payload. Draft 6 lays it out as
 * `u8 username length ‖ username ‖ password (to the end)`; drafts 1–5 had a `u16` password
 * length after the username length, and the reference client (wisp-js 0.5) still sends that.
 * The draft-6 reading always comes first; the older one follows only when the lengths fit it
 * exactly. The server accepts the credentials if either reading matches, which gives a guesser
 * two tries per connection instead of one, no more. Throws `ERR_WISP_INFO` when no reading
 * has a non-empty username.
 */
export function decodeWispPasswordClientPayload(payload: Uint8Array): WispPasswordCredentials[] {
  checkBytes('payload', payload);
  const readings: WispPasswordCredentials[] = [];
  const usernameLength = payload[0] ?? 0;
  if (usernameLength > 0 && payload.length >= 1 + usernameLength) {
    readings.push({
      username: payload.subarray(1, 1 + usernameLength),
      password: payload.subarray(1 + usernameLength),
    });
  }
  if (usernameLength > 0 && payload.length >= 3) {
    const passwordLength = viewOf(payload).getUint16(1, true);
    if (payload.length === 3 + usernameLength + passwordLength) {
      readings.push({
        username: payload.subarray(3, 3 + usernameLength),
        password: payload.subarray(3 + usernameLength),
      });
    }
  }
  if (readings.length === 0) {
    fail('ERR_WISP_INFO', `password record of ${payload.length} bytes holds no username`);
  }
  return readings;
}
