/** fast-check arbitraries for websocket stream frames, shared by unit and fuzz tests. */
import fc from 'fast-check';
import { utf8Encode } from '../bytes.ts';
import { MAX_WEBSOCKET_CLOSE_REASON_BYTES, type WebSocketFrame } from '../websocket-frame.ts';

/** Close codes an endpoint may send. */
export const closeCode: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 1000, max: 1003 }),
  fc.integer({ min: 1007, max: 1014 }),
  fc.integer({ min: 3000, max: 4999 }),
);

/** A reason that fits: at most 123 bytes of UTF-8 (whole code points). */
const reason: fc.Arbitrary<string> = fc.string({ unit: 'grapheme', maxLength: 60 }).map((text) => {
  let out = '';
  for (const char of text) {
    if (utf8Encode(out + char).length > MAX_WEBSOCKET_CLOSE_REASON_BYTES) break;
    out += char;
  }
  return out;
});

export const textFrame: fc.Arbitrary<WebSocketFrame> = fc
  .string({ unit: 'binary', maxLength: 300 })
  .map((text) => ({ type: 'text', payload: utf8Encode(text) }));

export const binaryFrame: fc.Arbitrary<WebSocketFrame> = fc
  .uint8Array({ maxLength: 2048 })
  .map((payload) => ({ type: 'binary', payload }));

export const closeFrame: fc.Arbitrary<WebSocketFrame> = fc.oneof(
  fc.constant<WebSocketFrame>({ type: 'close', code: 1005, reason: '' }),
  fc.record({ type: fc.constant('close' as const), code: closeCode, reason }),
);

/** A direction's frames: messages, then perhaps a close frame, which is always last. */
export const frameSequence: fc.Arbitrary<WebSocketFrame[]> = fc
  .tuple(fc.array(fc.oneof(textFrame, binaryFrame), { maxLength: 8 }), fc.option(closeFrame))
  .map(([messages, close]) => (close === null ? messages : [...messages, close]));
