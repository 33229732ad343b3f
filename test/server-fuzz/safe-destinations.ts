/**
 * The fuzzer's promise that no input makes an egress reach beyond this machine: every Wisp
 * CONNECT it can deliver names a loopback spelling (refused as loopback, or dialled on this
 * machine were the policy ever wrong) or a host that is neither an address nor a DNS name
 * (refused before any lookup). A fetch stream dials only what its CONNECT named, so the same
 * rule covers the tunnel's fetch streams.
 *
 * This is checked on the bytes, not trusted to the generators: `deliverableMessages` runs ws's
 * own frame parser over what a connection sends after every place an HTTP head could end, so a
 * frame whose declared length swallows the next frame is judged by what the server would read.
 */
import * as ws from 'ws';

/** Loopback spellings: the only resolvable hosts an input may name. */
export const LOOPBACK_HOSTS: readonly string[] = [
  '127.0.0.1',
  '127.0.0.2',
  '127.255.255.254',
  '127.1',
  '127.0.1',
  '0x7f.1',
  '0x7f000001',
  '2130706433',
  '0177.0.0.1',
  '127.0.0.1.',
  'localhost',
  'LOCALHOST',
  'localhost.',
  'a.localhost',
  'x.y.localhost',
  '::1',
  '[::1]',
  '0:0:0:0:0:0:0:1',
  '::ffff:127.0.0.1',
  '[::ffff:7f00:1]',
  '0.0.0.0',
  '0',
  '::',
  '[::]',
];

const LOOPBACK = new Set(LOOPBACK_HOSTS);

/**
 * ASCII that no DNS name and no IP literal contains, in any case: a host with one of these is
 * refused as invalid before any lookup. (`%` is left out: IPv6 zone ids use it.)
 */
export const POISON_CHARACTERS = ' !"#$&\'()*+,/;<=>?@\\^`{|}~\t\u0001\u007f';

function hasPoison(host: string): boolean {
  for (const ch of host) {
    const code = ch.charCodeAt(0);
    if (code < 0x80 && (code < 0x21 || code === 0x7f || POISON_CHARACTERS.includes(ch))) {
      return true;
    }
  }
  return false;
}

export function isSafeHost(host: string): boolean {
  return LOOPBACK.has(host) || hasPoison(host);
}

const WISP_CONNECT = 0x01;
const CONNECT_FIXED_BYTES = 8;

/** False only for a Wisp CONNECT whose hostname is not a safe host. */
export function isSafeWispMessage(message: Uint8Array): boolean {
  if (message[0] !== WISP_CONNECT || message.length <= CONNECT_FIXED_BYTES) return true;
  const host = new TextDecoder('utf-8', { fatal: false }).decode(
    message.subarray(CONNECT_FIXED_BYTES),
  );
  return isSafeHost(host);
}

interface ReceiverLike {
  on(event: 'message', listener: (data: Buffer | Buffer[], isBinary: boolean) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  write(chunk: Buffer): boolean;
}

type ReceiverClass = new (options: {
  isServer: boolean;
  maxPayload: number;
  binaryType: 'nodebuffer';
}) => ReceiverLike;

// ws exports its frame parser (not in @types/ws); with synchronous events (ws ≥ 8.17) one
// write parses everything written before it returns.
const Receiver = (ws as unknown as { Receiver: ReceiverClass }).Receiver;

/** Every message a WebSocket server would deliver from `bytes` (no payload limit: a superset). */
export function deliverableMessages(bytes: Uint8Array): Uint8Array[] {
  const messages: Uint8Array[] = [];
  const receiver = new Receiver({ isServer: true, maxPayload: 0, binaryType: 'nodebuffer' });
  receiver.on('message', (data) => messages.push(Array.isArray(data) ? Buffer.concat(data) : data));
  receiver.on('error', () => undefined);
  receiver.write(Buffer.from(bytes));
  return messages;
}

/** Offsets just past each place an HTTP head could end (a blank line, with or without CR). */
function headEnds(bytes: Uint8Array): number[] {
  const ends: number[] = [];
  for (let i = 1; i < bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    if (bytes[i - 1] === 0x0a || (bytes[i - 1] === 0x0d && bytes[i - 2] === 0x0a)) ends.push(i + 1);
  }
  return ends;
}

/** Beyond this many possible head ends an input is simply judged unsafe (and replaced). */
const MAX_HEAD_ENDS = 64;

/** True when `bytes`, sent from the start of a connection, can deliver no unsafe CONNECT. */
export function isSafeConnectionBytes(bytes: Uint8Array): boolean {
  const ends = headEnds(bytes);
  if (ends.length > MAX_HEAD_ENDS) return false;
  return ends.every((end) => deliverableMessages(bytes.subarray(end)).every(isSafeWispMessage));
}

/** True when frames written after a completed upgrade can deliver no unsafe CONNECT. */
export function isSafeFrameBytes(frames: readonly Uint8Array[]): boolean {
  return deliverableMessages(Buffer.concat(frames)).every(isSafeWispMessage);
}
