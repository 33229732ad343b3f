/**
 * Heads of `fetch` streams, a tunnel-only Wisp extension (stream type 0x80): the egress
 * performs an HTTP request for the client, because a service worker cannot speak TLS over a
 * raw stream without WebAssembly.
 *
 * The stream's DATA bytes are, client → egress:
 *   `u32 LE headLength ‖ request head ‖ request body…` — and when the head's hasBody flag is
 *   set, the body ends with one zero-length DATA packet;
 * egress → client:
 *   `u32 LE headLength ‖ response head ‖ response body…` — the body ends with CLOSE 0x02.
 *
 * Strings are byte strings, like fetch's `ByteString`: one character per byte, characters
 * U+0000–U+00FF only (Latin-1). Method, header names and the URL are ASCII by their own rules;
 * header values and the status text may carry bytes 0x80–0xFF, which arrive as the characters
 * U+0080–U+00FF (so UTF-8 header bytes look like mojibake until the caller decodes them, exactly
 * as with `Headers`). Encoding and decoding apply the same rules, so a head round-trips exactly.
 */

import { viewOf } from './bytes.ts';
import { FetchHeadError } from './errors.ts';
import type { FetchHeadErrorCode } from './errors.ts';
import { MAX_FETCH_HEAD_BYTES, MAX_FETCH_HEADERS } from './limits.ts';

export interface FetchRequestHead {
  /** An HTTP token of 1..32 bytes, sent as given (no case normalisation). */
  method: string;
  /**
   * Absolute `http://` or `https://` URL, ≤ 8 KiB of printable ASCII (0x21–0x7E; callers
   * percent-encode), parseable by the WHATWG URL parser, with no credentials and no fragment.
   */
  url: string;
  /** In order, duplicates allowed. Names are tokens (any case); values see the module doc. */
  headers: Array<[string, string]>;
  /** A request body follows the head and ends with a zero-length DATA packet. */
  hasBody: boolean;
}

export interface FetchResponseHead {
  /** 100..599 */
  status: number;
  /** ≤ 1 KiB, same characters as a header value; may be empty (HTTP/2 has none). */
  statusText: string;
  headers: Array<[string, string]>;
}

/** A complete framed head, as returned by `FetchHeadReader.read`. */
export interface FetchHeadFrame {
  /** The head bytes without the length prefix; a copy owned by the caller. */
  head: Uint8Array;
  /** Bytes after the head in the chunk that completed it (start of the body); a view into that chunk. */
  rest: Uint8Array;
}

export const MAX_FETCH_METHOD_BYTES = 32;
export const MAX_FETCH_URL_BYTES = 8 * 1024;
export const MAX_FETCH_STATUS_TEXT_BYTES = 1024;
export const MIN_FETCH_STATUS = 100;
export const MAX_FETCH_STATUS = 599;

/** Bit 0 of the request flags byte. The other bits are reserved and must be 0. */
const FLAG_HAS_BODY = 0x01;
const LENGTH_PREFIX_BYTES = 4;

function fail(code: FetchHeadErrorCode, message: string): never {
  throw new FetchHeadError(code, message);
}

// RFC 9110 tchar: ALPHA / DIGIT / "!#$%&'*+-.^_`|~"
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

/** RFC 9110 field-value / reason-phrase bytes: HTAB, SP, VCHAR, obs-text. No CR, LF, NUL. */
function isTextByte(c: number): boolean {
  return c === 0x09 || (c >= 0x20 && c <= 0x7e) || (c >= 0x80 && c <= 0xff);
}

function isTokenByte(c: number): boolean {
  return TOKEN[c] === 1;
}

function isUrlByte(c: number): boolean {
  return c >= 0x21 && c <= 0x7e;
}

function checkChars(what: string, text: string, ok: (c: number) => boolean): void {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!ok(c)) fail('ERR_FETCH_HEAD_INVALID', `${what}: character 0x${c.toString(16)} at ${i}`);
  }
}

function checkBytesOf(what: string, bytes: Uint8Array, ok: (c: number) => boolean): void {
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i] ?? 0;
    if (!ok(c)) fail('ERR_FETCH_HEAD_INVALID', `${what}: byte 0x${c.toString(16)} at ${i}`);
  }
}

/** Rules for the URL beyond its characters, shared by encoder and decoder. */
function checkUrl(url: string): void {
  if (url.length === 0) fail('ERR_FETCH_HEAD_INVALID', 'url is empty');
  if (url.length > MAX_FETCH_URL_BYTES) {
    fail('ERR_FETCH_HEAD_INVALID', `url of ${url.length} bytes exceeds ${MAX_FETCH_URL_BYTES}`);
  }
  checkChars('url', url, isUrlByte);
  // Both the scheme check and the parse: `http:foo` and `http:\\foo` parse, but nobody means them.
  if (!url.startsWith('http://') && !url.startsWith('https://')) {
    fail('ERR_FETCH_HEAD_INVALID', 'url must start with http:// or https://');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    fail('ERR_FETCH_HEAD_INVALID', 'url does not parse');
  }
  // fetch() refuses URLs with credentials, and a fragment never goes on the wire.
  if (parsed.username !== '' || parsed.password !== '') {
    fail('ERR_FETCH_HEAD_INVALID', 'url must not contain credentials');
  }
  if (url.includes('#')) fail('ERR_FETCH_HEAD_INVALID', 'url must not contain a fragment');
}

function checkMethod(method: string): void {
  if (method.length === 0 || method.length > MAX_FETCH_METHOD_BYTES) {
    fail('ERR_FETCH_HEAD_INVALID', `method must be 1..${MAX_FETCH_METHOD_BYTES} bytes`);
  }
  checkChars('method', method, isTokenByte);
}

function checkStatus(status: number): void {
  if (status < MIN_FETCH_STATUS || status > MAX_FETCH_STATUS) {
    fail(
      'ERR_FETCH_HEAD_INVALID',
      `status ${status} outside ${MIN_FETCH_STATUS}..${MAX_FETCH_STATUS}`,
    );
  }
}

function checkStatusText(text: string): void {
  if (text.length > MAX_FETCH_STATUS_TEXT_BYTES) {
    fail('ERR_FETCH_HEAD_INVALID', `status text exceeds ${MAX_FETCH_STATUS_TEXT_BYTES} bytes`);
  }
  checkChars('statusText', text, isTextByte);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function expectString(name: string, value: unknown): string {
  if (typeof value !== 'string') {
    throw new TypeError(`${name}: expected a string, got ${describe(value)}`);
  }
  return value;
}

function expectObject(name: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${name}: expected an object, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function tooLarge(size: number): never {
  fail('ERR_FETCH_HEAD_TOO_LARGE', `head of ${size} bytes exceeds ${MAX_FETCH_HEAD_BYTES}`);
}

/**
 * Validates the header list and returns its encoded size. Every string is one byte per
 * character, so sizes are known before anything is allocated, and the running total stops
 * a huge list early.
 */
function sizeHeaders(
  name: string,
  value: unknown,
  sizeSoFar: number,
): [Array<[string, string]>, number] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${name}: expected an array, got ${describe(value)}`);
  }
  const list = value as unknown[];
  if (list.length > MAX_FETCH_HEADERS) {
    fail('ERR_FETCH_HEAD_TOO_MANY_HEADERS', `${list.length} headers exceed ${MAX_FETCH_HEADERS}`);
  }
  let size = sizeSoFar + 2;
  const headers: Array<[string, string]> = [];
  for (const [i, entry] of list.entries()) {
    if (!Array.isArray(entry) || entry.length !== 2) {
      throw new TypeError(`${name}[${i}]: expected a [name, value] pair, got ${describe(entry)}`);
    }
    const pair = entry as unknown[];
    const headerName = expectString(`${name}[${i}][0]`, pair[0]);
    const headerValue = expectString(`${name}[${i}][1]`, pair[1]);
    size += 4 + headerName.length + headerValue.length;
    if (size > MAX_FETCH_HEAD_BYTES) tooLarge(size);
    if (headerName.length === 0) fail('ERR_FETCH_HEAD_INVALID', `${name}[${i}]: empty name`);
    checkChars(`${name}[${i}] name`, headerName, isTokenByte);
    checkChars(`${name}[${i}] value`, headerValue, isTextByte);
    headers.push([headerName, headerValue]);
  }
  return [headers, size];
}

/** Writes one-byte-per-character strings with their u16 LE length. */
class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;
  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = viewOf(this.bytes);
  }
  u8(value: number): void {
    this.view.setUint8(this.offset, value);
    this.offset += 1;
  }
  u16(value: number): void {
    this.view.setUint16(this.offset, value, true);
    this.offset += 2;
  }
  string(text: string): void {
    this.u16(text.length);
    for (let i = 0; i < text.length; i++) this.bytes[this.offset + i] = text.charCodeAt(i);
    this.offset += text.length;
  }
  headers(headers: Array<[string, string]>): void {
    this.u16(headers.length);
    for (const [name, value] of headers) {
      this.string(name);
      this.string(value);
    }
  }
}

/** Reads fields in order; running out of bytes is ERR_FETCH_HEAD_TRUNCATED. */
class Reader {
  private readonly view: DataView;
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {
    this.view = viewOf(bytes);
  }
  private need(n: number, what: string): void {
    if (this.bytes.length - this.offset < n) {
      fail('ERR_FETCH_HEAD_TRUNCATED', `head ends inside ${what}`);
    }
  }
  u8(what: string): number {
    this.need(1, what);
    const value = this.view.getUint8(this.offset);
    this.offset += 1;
    return value;
  }
  u16(what: string): number {
    this.need(2, what);
    const value = this.view.getUint16(this.offset, true);
    this.offset += 2;
    return value;
  }
  /** A u16-prefixed byte string; `check` runs on the bytes before a string is built. */
  string(what: string, max: number, check: (bytes: Uint8Array) => void): string {
    const length = this.u16(`${what} length`);
    if (length > max) fail('ERR_FETCH_HEAD_INVALID', `${what} of ${length} bytes exceeds ${max}`);
    this.need(length, what);
    const bytes = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    check(bytes);
    let text = '';
    for (const b of bytes) text += String.fromCharCode(b);
    return text;
  }
  headers(): Array<[string, string]> {
    const count = this.u16('header count');
    if (count > MAX_FETCH_HEADERS) {
      fail('ERR_FETCH_HEAD_TOO_MANY_HEADERS', `${count} headers exceed ${MAX_FETCH_HEADERS}`);
    }
    const headers: Array<[string, string]> = [];
    for (let i = 0; i < count; i++) {
      const name = this.string(`header ${i} name`, MAX_FETCH_HEAD_BYTES, (bytes) => {
        if (bytes.length === 0) fail('ERR_FETCH_HEAD_INVALID', `header ${i}: empty name`);
        checkBytesOf(`header ${i} name`, bytes, isTokenByte);
      });
      const value = this.string(`header ${i} value`, MAX_FETCH_HEAD_BYTES, (bytes) =>
        checkBytesOf(`header ${i} value`, bytes, isTextByte),
      );
      headers.push([name, value]);
    }
    return headers;
  }
  end(): void {
    if (this.offset !== this.bytes.length) {
      fail('ERR_FETCH_HEAD_INVALID', `${this.bytes.length - this.offset} bytes after the head`);
    }
  }
}

function startDecode(bytes: unknown): Reader {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`bytes: expected a Uint8Array, got ${describe(bytes)}`);
  }
  if (bytes.length > MAX_FETCH_HEAD_BYTES) tooLarge(bytes.length);
  return new Reader(bytes);
}

/** Encodes a request head (without the u32 length prefix; see `frameFetchHead`). */
export function encodeFetchRequestHead(head: FetchRequestHead): Uint8Array {
  const fields = expectObject('head', head);
  const method = expectString('head.method', fields['method']);
  const url = expectString('head.url', fields['url']);
  const hasBody = fields['hasBody'];
  if (typeof hasBody !== 'boolean') {
    throw new TypeError(`head.hasBody: expected a boolean, got ${describe(hasBody)}`);
  }
  checkMethod(method);
  checkUrl(url);
  const fixed = 1 + 2 + method.length + 2 + url.length;
  const [headers, size] = sizeHeaders('head.headers', fields['headers'], fixed);
  const writer = new Writer(size);
  writer.u8(hasBody ? FLAG_HAS_BODY : 0);
  writer.string(method);
  writer.string(url);
  writer.headers(headers);
  return writer.bytes;
}

/** Decodes exactly one request head (no length prefix, nothing after it). */
export function decodeFetchRequestHead(bytes: Uint8Array): FetchRequestHead {
  const reader = startDecode(bytes);
  const flags = reader.u8('flags');
  if ((flags & ~FLAG_HAS_BODY) !== 0) {
    fail('ERR_FETCH_HEAD_INVALID', `reserved flag bits set: 0x${flags.toString(16)}`);
  }
  const method = reader.string('method', MAX_FETCH_METHOD_BYTES, (b) => {
    if (b.length === 0) fail('ERR_FETCH_HEAD_INVALID', 'method is empty');
    checkBytesOf('method', b, isTokenByte);
  });
  const url = reader.string('url', MAX_FETCH_URL_BYTES, (b) => checkBytesOf('url', b, isUrlByte));
  checkUrl(url);
  const headers = reader.headers();
  reader.end();
  return { method, url, headers, hasBody: (flags & FLAG_HAS_BODY) !== 0 };
}

/** Encodes a response head (without the u32 length prefix; see `frameFetchHead`). */
export function encodeFetchResponseHead(head: FetchResponseHead): Uint8Array {
  const fields = expectObject('head', head);
  const status = fields['status'];
  if (typeof status !== 'number') {
    throw new TypeError(`head.status: expected a number, got ${describe(status)}`);
  }
  if (!Number.isInteger(status)) {
    throw new RangeError(`head.status: expected an integer, got ${status}`);
  }
  checkStatus(status);
  const statusText = expectString('head.statusText', fields['statusText']);
  checkStatusText(statusText);
  const [headers, size] = sizeHeaders('head.headers', fields['headers'], 2 + 2 + statusText.length);
  const writer = new Writer(size);
  writer.u16(status);
  writer.string(statusText);
  writer.headers(headers);
  return writer.bytes;
}

/** Decodes exactly one response head (no length prefix, nothing after it). */
export function decodeFetchResponseHead(bytes: Uint8Array): FetchResponseHead {
  const reader = startDecode(bytes);
  const status = reader.u16('status');
  checkStatus(status);
  const statusText = reader.string('status text', MAX_FETCH_STATUS_TEXT_BYTES, (b) =>
    checkBytesOf('status text', b, isTextByte),
  );
  const headers = reader.headers();
  reader.end();
  return { status, statusText, headers };
}

/** Prepends the u32 LE length that `FetchHeadReader` expects. */
export function frameFetchHead(head: Uint8Array): Uint8Array {
  if (!(head instanceof Uint8Array)) {
    throw new TypeError(`head: expected a Uint8Array, got ${describe(head)}`);
  }
  if (head.length > MAX_FETCH_HEAD_BYTES) tooLarge(head.length);
  const out = new Uint8Array(LENGTH_PREFIX_BYTES + head.length);
  viewOf(out).setUint32(0, head.length, true);
  out.set(head, LENGTH_PREFIX_BYTES);
  return out;
}

/**
 * Collects a framed head (`u32 LE length ‖ head`) from stream chunks of any size.
 *
 * Call `push` with each chunk, then `read`; once it returns a frame the reader is finished and
 * further bytes belong to the body. It copies at most MAX_FETCH_HEAD_BYTES + 4 bytes: a
 * declared length over the limit is refused as soon as the 4 length bytes are in, and bytes
 * past the head are returned as a view, never buffered.
 */
export class FetchHeadReader {
  private readonly prefix = new Uint8Array(LENGTH_PREFIX_BYTES);
  private prefixFilled = 0;
  private head: Uint8Array | null = null;
  private headFilled = 0;
  private frame: FetchHeadFrame | null = null;
  private finished = false;

  /** Bytes copied so far (length prefix included); never above MAX_FETCH_HEAD_BYTES + 4. */
  get bufferedBytes(): number {
    return this.prefixFilled + this.headFilled;
  }

  /** True once the whole head has arrived. */
  get complete(): boolean {
    return this.frame !== null || this.finished;
  }

  /**
   * Adds a chunk. Throws ERR_FETCH_HEAD_TOO_LARGE when the declared length is over the limit;
   * the reader is then unusable, as is the stream. Pushing after the head is complete is a
   * programming error (the bytes belong to the body) and throws a plain `Error`.
   */
  push(chunk: Uint8Array): void {
    if (!(chunk instanceof Uint8Array)) {
      throw new TypeError(`chunk: expected a Uint8Array, got ${describe(chunk)}`);
    }
    if (this.complete) {
      throw new Error('FetchHeadReader.push: the head is complete; later bytes are body bytes');
    }
    let offset = 0;
    if (this.head === null) {
      const take = Math.min(LENGTH_PREFIX_BYTES - this.prefixFilled, chunk.length);
      this.prefix.set(chunk.subarray(0, take), this.prefixFilled);
      this.prefixFilled += take;
      offset = take;
      if (this.prefixFilled < LENGTH_PREFIX_BYTES) return;
      const length = viewOf(this.prefix).getUint32(0, true);
      if (length > MAX_FETCH_HEAD_BYTES) tooLarge(length);
      this.head = new Uint8Array(length);
    }
    const head = this.head;
    const take = Math.min(head.length - this.headFilled, chunk.length - offset);
    head.set(chunk.subarray(offset, offset + take), this.headFilled);
    this.headFilled += take;
    offset += take;
    if (this.headFilled === head.length) {
      this.frame = { head, rest: chunk.subarray(offset) };
    }
  }

  /** The framed head once it is complete (returned once), otherwise `null`. */
  read(): FetchHeadFrame | null {
    const frame = this.frame;
    if (frame !== null) {
      this.frame = null;
      this.finished = true;
    }
    return frame;
  }

  /**
   * Call when the stream ends. Throws ERR_FETCH_HEAD_TRUNCATED unless a whole head arrived.
   */
  end(): void {
    if (!this.complete) {
      fail('ERR_FETCH_HEAD_TRUNCATED', `stream ended after ${this.bufferedBytes} head bytes`);
    }
  }
}
