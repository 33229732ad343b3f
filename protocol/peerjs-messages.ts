/**
 * The PeerJS server protocol, as spoken by the unmodified `peerjs` 1.5 client and by
 * peerjs-server 1.x: one JSON object per WebSocket text message.
 *
 * Client → server: `HEARTBEAT`, and `OFFER` / `ANSWER` / `CANDIDATE` / `LEAVE` / `EXPIRE` with
 * `dst` and `payload`. Server → client: `OPEN`, `ID-TAKEN`, `INVALID-KEY`, `ERROR` (each but
 * OPEN with `payload.msg`), and the relayed messages with `src` set by the server.
 *
 * Payloads are opaque (the client puts SDP, ICE candidates and user metadata there) but
 * bounded: a JSON object, at most `MAX_PAYLOAD_DEPTH` deep, and the whole relayed message fits
 * in `MAX_SIGNALING_MESSAGE_BYTES`.
 */
import { SchemaError } from './errors.ts';
import { fitsUtf8, parseJsonText } from './json-text.ts';
import { assertJsonObject, type JsonObject } from './json-value.ts';
import { MAX_SIGNALING_MESSAGE_BYTES } from './limits.ts';
import {
  expectOneOf,
  expectRecord,
  expectString,
  expectStringWhere,
  readField,
  childPath,
} from './schema-fields.ts';

// Every PeerJS wire type string, written once; other modules import these names.
export const OPEN = 'OPEN';
export const ID_TAKEN = 'ID-TAKEN';
/** Understood by the peerjs client (error `invalid-key`); peerjs-server sends ERROR instead. */
export const INVALID_KEY = 'INVALID-KEY';
export const ERROR = 'ERROR';
export const OFFER = 'OFFER';
export const ANSWER = 'ANSWER';
export const CANDIDATE = 'CANDIDATE';
export const LEAVE = 'LEAVE';
export const EXPIRE = 'EXPIRE';
export const HEARTBEAT = 'HEARTBEAT';

/** Relayed to `dst`, and queued while `dst` is offline: they set up a connection. */
export const SIGNAL_TYPES = [OFFER, ANSWER, CANDIDATE] as const;
/** Relayed to `dst`, but dropped when `dst` is offline: telling an absent peer is pointless. */
export const NOTICE_TYPES = [LEAVE, EXPIRE] as const;
/** Server → client, each followed by the server closing the socket. */
export const REFUSAL_TYPES = [ID_TAKEN, INVALID_KEY, ERROR] as const;

export const CLIENT_MESSAGE_TYPES = [...SIGNAL_TYPES, ...NOTICE_TYPES, HEARTBEAT] as const;
export const SERVER_MESSAGE_TYPES = [
  OPEN,
  ...REFUSAL_TYPES,
  ...SIGNAL_TYPES,
  ...NOTICE_TYPES,
] as const;
export const PEERJS_MESSAGE_TYPES = [OPEN, ...REFUSAL_TYPES, ...CLIENT_MESSAGE_TYPES] as const;

export type PeerjsMessageType = (typeof PEERJS_MESSAGE_TYPES)[number];
export type SignalType = (typeof SIGNAL_TYPES)[number];
export type NoticeType = (typeof NOTICE_TYPES)[number];
export type RefusalType = (typeof REFUSAL_TYPES)[number];
export type ClientMessageType = (typeof CLIENT_MESSAGE_TYPES)[number];
export type ServerMessageType = (typeof SERVER_MESSAGE_TYPES)[number];

/**
 * Longest peer id we accept. peerjs-server sets no limit (its own ids are 36-character
 * UUIDs); 64 leaves room for custom ids and keeps registry keys and log lines small.
 */
export const MAX_PEER_ID_LENGTH = 64;
/** peerjs makes about 11 base-36 characters; a custom token may be longer, but not unbounded. */
export const MAX_TOKEN_LENGTH = 128;
export const MAX_KEY_LENGTH = 64;
/** Nesting depth of a payload, the payload object itself being level 1. */
export const MAX_PAYLOAD_DEPTH = 16;
/** Longest `payload.msg` of a refusal. */
export const MAX_REFUSAL_TEXT_LENGTH = 1024;

/**
 * The peerjs client's own id rule (`lib/utils/validateId.ts`): words of letters and digits
 * joined by one space, `_` or `-`. The client also allows an empty id, meaning "ask the server
 * for one"; on the wire an id is never empty. peerjs-server itself checks nothing.
 */
const PEER_ID = /^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$/;
/**
 * Printable ASCII without space. peerjs-server only checks that a token is present; we also
 * keep out control characters and anything that needs more than one spelling in a URL query.
 */
const TOKEN = /^[\x21-\x7e]+$/;
/** URL-unreserved characters, because the key is a path segment (`{path}{key}/id`). */
const KEY = /^[A-Za-z0-9._~-]+$/;

export function isValidPeerId(id: string): boolean {
  return id.length >= 1 && id.length <= MAX_PEER_ID_LENGTH && PEER_ID.test(id);
}

export function isValidToken(token: string): boolean {
  return token.length >= 1 && token.length <= MAX_TOKEN_LENGTH && TOKEN.test(token);
}

export function isValidPeerjsKey(key: string): boolean {
  return key.length >= 1 && key.length <= MAX_KEY_LENGTH && KEY.test(key);
}

export function isSignalType(type: PeerjsMessageType): type is SignalType {
  return SIGNAL_TYPES.some((signal) => signal === type);
}

export function isNoticeType(type: PeerjsMessageType): type is NoticeType {
  return NOTICE_TYPES.some((notice) => notice === type);
}

export function isRefusalType(type: PeerjsMessageType): type is RefusalType {
  return REFUSAL_TYPES.some((refusal) => refusal === type);
}

export interface HeartbeatMessage {
  readonly type: typeof HEARTBEAT;
}

/** OFFER, ANSWER or CANDIDATE from a client; the peerjs client always sends a payload. */
export interface SignalMessage {
  readonly type: SignalType;
  readonly dst: string;
  readonly payload: JsonObject;
}

/** LEAVE or EXPIRE from a client. The server's own notices carry no payload. */
export interface NoticeMessage {
  readonly type: NoticeType;
  readonly dst: string;
  readonly payload?: JsonObject;
}

export type ClientMessage = HeartbeatMessage | SignalMessage | NoticeMessage;

export interface OpenMessage {
  readonly type: typeof OPEN;
}

export interface RefusalMessage {
  readonly type: RefusalType;
  readonly payload: { readonly msg: string };
}

export interface RelayedSignal extends SignalMessage {
  readonly src: string;
}

export interface RelayedNotice extends NoticeMessage {
  readonly src: string;
}

export type ServerMessage = OpenMessage | RefusalMessage | RelayedSignal | RelayedNotice;

/**
 * Parses one WebSocket text message from a client. The size is checked before `JSON.parse`.
 * A `src` field is dropped (the server sets it), as are fields PeerJS does not define.
 * Throws `SchemaError`: `ERR_SCHEMA_TOO_LARGE`, `ERR_SCHEMA_JSON`, or `ERR_SCHEMA_INVALID`
 * with `path` naming the field. What the server relays is checked again by `relayText`.
 */
export function parseClientMessage(text: string): ClientMessage {
  const record = expectRecord(
    parseJsonText(text, MAX_SIGNALING_MESSAGE_BYTES, 'signaling message'),
    '',
  );
  const type = expectOneOf(readField(record, 'type'), 'type', CLIENT_MESSAGE_TYPES);
  if (type === HEARTBEAT) return { type };
  return readAddressed(record, type);
}

/**
 * The text a server sends to relay `message` from `src`: serialized once, then measured,
 * because relaying adds `src` and re-serializing can grow a message (`5e20` prints as 21
 * digits). Throws `SchemaError` `ERR_SCHEMA_TOO_LARGE` when that text is over the limit.
 */
export function relayText(message: SignalMessage | NoticeMessage, src: string): string {
  const text = serializeServerMessage({ ...message, src });
  if (!fitsUtf8(text, MAX_SIGNALING_MESSAGE_BYTES)) {
    throw new SchemaError(
      'ERR_SCHEMA_TOO_LARGE',
      `signaling message would be over ${MAX_SIGNALING_MESSAGE_BYTES} bytes when relayed`,
    );
  }
  return text;
}

/**
 * Parses one message from a PeerJS server, for tests and tools that speak to one directly
 * (the peerjs client has its own handling). Throws `SchemaError` as `parseClientMessage` does.
 */
export function parseServerMessage(text: string): ServerMessage {
  const record = expectRecord(
    parseJsonText(text, MAX_SIGNALING_MESSAGE_BYTES, 'signaling message'),
    '',
  );
  const type = expectOneOf(readField(record, 'type'), 'type', SERVER_MESSAGE_TYPES);
  if (type === OPEN) return { type };
  if (isRefusalType(type)) {
    const payload = expectRecord(readField(record, 'payload'), 'payload');
    const msg = expectString(readField(payload, 'msg'), childPath('payload', 'msg'), {
      minLength: 0,
      maxLength: MAX_REFUSAL_TEXT_LENGTH,
    });
    return { type, payload: { msg } };
  }
  const src = expectPeerId(readField(record, 'src'), 'src');
  return { ...readAddressed(record, type), src };
}

/**
 * The text to send for `message`. Only the fields PeerJS defines are written, so nothing a
 * server keeps beside a message (or a client slipped into one) leaks to the recipient.
 */
export function serializeServerMessage(message: ServerMessage): string {
  switch (message.type) {
    case OPEN:
      return JSON.stringify({ type: message.type });
    case ID_TAKEN:
    case INVALID_KEY:
    case ERROR:
      return JSON.stringify({ type: message.type, payload: { msg: message.payload.msg } });
    default:
      return JSON.stringify({
        type: message.type,
        src: message.src,
        dst: message.dst,
        payload: message.payload,
      });
  }
}

function expectPeerId(value: unknown, path: string): string {
  return expectStringWhere(
    value,
    path,
    isValidPeerId,
    `a PeerJS id: 1 to ${MAX_PEER_ID_LENGTH} letters and digits, in words joined by one space, _ or -`,
  );
}

function readAddressed(
  record: object,
  type: SignalType | NoticeType,
): SignalMessage | NoticeMessage {
  const dst = expectPeerId(readField(record, 'dst'), 'dst');
  const payload = readField(record, 'payload');
  if (isSignalType(type)) {
    assertJsonObject(payload, 'payload', MAX_PAYLOAD_DEPTH);
    return { type, dst, payload };
  }
  if (payload === undefined) return { type, dst };
  assertJsonObject(payload, 'payload', MAX_PAYLOAD_DEPTH);
  return { type, dst, payload };
}
