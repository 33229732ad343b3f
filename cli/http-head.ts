/**
 * The head of an HTTP/1.x request as a forward proxy receives it (RFC 9112): request line and
 * header fields, bounded in size and count before anything is kept. No I/O: the proxy feeds
 * the bytes it has read so far and gets either "need more", a head, or an error with the
 * status to answer.
 */
import { HOP_BY_HOP } from '../egress/fetch-headers.ts';
import { CodedError } from '../protocol/errors.ts';

export const MAX_HEAD_BYTES = 16 * 1024;
export const MAX_HEADERS = 100;

export interface RequestHead {
  readonly method: string;
  /** The request target as sent: `host:port` for CONNECT, `http://…` in absolute form. */
  readonly target: string;
  readonly version: 'HTTP/1.0' | 'HTTP/1.1';
  /** Field names as sent (case kept), values trimmed. */
  readonly headers: readonly (readonly [string, string])[];
}

export class HttpHeadError extends CodedError<'ERR_PROXY_BAD_REQUEST'> {
  override name = 'HttpHeadError';
  /** The status to answer with: 400, 414 (target too long), 431 (head too large), 505. */
  readonly status: number;
  constructor(status: number, message: string) {
    super('ERR_PROXY_BAD_REQUEST', message);
    this.status = status;
  }
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Visible ASCII only: no spaces or controls in a request target. */
const TARGET = /^[\x21-\x7e]+$/;
/** Field values: visible ASCII, spaces, tabs and obs-text; no CR, LF or NUL. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Looks for a complete head at the start of `bytes`. Returns undefined while it is incomplete
 * (and still within the limits), else the head and how many bytes it took (the body follows).
 */
export function parseRequestHead(
  bytes: Uint8Array,
  maxBytes = MAX_HEAD_BYTES,
): { head: RequestHead; length: number } | undefined {
  const end = headEnd(bytes, maxBytes);
  if (end === undefined) {
    if (bytes.length > maxBytes) {
      throw new HttpHeadError(431, `the request head is larger than ${maxBytes} bytes`);
    }
    return undefined;
  }
  // latin1 keeps one character per byte, so obs-text survives and nothing is "decoded".
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, end.headBytes).toString('latin1');
  const lines = text.split(/\r?\n/);
  const requestLine = lines[0] ?? '';
  const parts = requestLine.split(' ');
  if (parts.length !== 3) {
    throw new HttpHeadError(400, 'the request line must be METHOD TARGET VERSION');
  }
  const [method = '', target = '', version = ''] = parts;
  if (!TOKEN.test(method)) throw new HttpHeadError(400, 'the method is not a token');
  if (!TARGET.test(target)) throw new HttpHeadError(400, 'the request target is not valid');
  if (target.length > 8192) throw new HttpHeadError(414, 'the request target is too long');
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') {
    throw new HttpHeadError(
      /^HTTP\/\d\.\d$/.test(version) ? 505 : 400,
      'only HTTP/1.0 and HTTP/1.1 are spoken here',
    );
  }
  const headers: [string, string][] = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    if (headers.length >= MAX_HEADERS) {
      throw new HttpHeadError(431, `more than ${MAX_HEADERS} header fields`);
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      throw new HttpHeadError(400, 'folded header lines are not allowed');
    }
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    if (!TOKEN.test(name)) throw new HttpHeadError(400, 'a header field name is not valid');
    const value = line.slice(colon + 1).trim();
    if (!FIELD_VALUE.test(value)) throw new HttpHeadError(400, `header ${name} has bad bytes`);
    headers.push([name, value]);
  }
  return { head: { method, target, version, headers }, length: end.length };
}

/** Where the blank line ends: CRLF CRLF, or bare LF LF as lenient parsers accept. */
function headEnd(
  bytes: Uint8Array,
  maxBytes: number,
): { headBytes: number; length: number } | undefined {
  const limit = Math.min(bytes.length, maxBytes + 4);
  for (let i = 0; i < limit; i++) {
    if (bytes[i] !== 0x0a) continue;
    const headBytes = i > 0 && bytes[i - 1] === 0x0d ? i - 1 : i;
    if (bytes[i + 1] === 0x0a) return { headBytes, length: i + 2 };
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return { headBytes, length: i + 3 };
  }
  return undefined;
}

/** The value of the first field named `name` (case-insensitive). */
export function headerValue(head: RequestHead, name: string): string | undefined {
  const lower = name.toLowerCase();
  return head.headers.find(([field]) => field.toLowerCase() === lower)?.[1];
}

/** `host:port` of a CONNECT target; IPv6 in brackets. */
export function parseAuthority(target: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._~%!$&'()*+,;=-]+)):([0-9]{1,5})$/.exec(
    target,
  );
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || host.length > 253 || port < 1 || port > 65535) {
    throw new HttpHeadError(400, 'the CONNECT target must be HOST:PORT');
  }
  return { host, port };
}

/**
 * The head to send to the origin for an absolute-form request: origin-form target, hop-by-hop
 * fields (and those `Connection` names) removed, `Host` from the URL when missing, and
 * `Connection: close`, because the proxy carries one request per stream. `Transfer-Encoding`
 * and `Content-Length` stay: the body is passed through byte for byte, framed as the client
 * framed it.
 */
export function originRequestHead(head: RequestHead, url: URL): string {
  const named = new Set(
    (headerValue(head, 'connection') ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter((token) => token !== ''),
  );
  const lines = [`${head.method} ${url.pathname}${url.search} HTTP/1.1`];
  let host = false;
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    if ((HOP_BY_HOP.has(lower) && lower !== 'transfer-encoding') || named.has(lower)) continue;
    if (lower === 'host') host = true;
    lines.push(`${name}: ${value}`);
  }
  if (!host) lines.splice(1, 0, `Host: ${url.host}`);
  lines.push('Connection: close', '', '');
  return lines.join('\r\n');
}
