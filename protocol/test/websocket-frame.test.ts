import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, constantTimeEqual, hexToBytes, utf8Encode } from '../bytes.ts';
import { WebSocketFrameError, type WebSocketFrameErrorCode } from '../errors.ts';
import { MAX_WEBSOCKET_MESSAGE_BYTES } from '../limits.ts';
import {
  encodeWebSocketFrame,
  encodeWebSocketFrameHeader,
  isWebSocketCloseCode,
  WEBSOCKET_OPCODES,
  WebSocketFrameReader,
  type WebSocketFrame,
} from '../websocket-frame.ts';
import { frameSequence } from './websocket-frame-arbitraries.ts';

const hex = (s: string): Uint8Array => hexToBytes(s.replace(/\s+/g, ''));

/** Reads a whole stream in one chunk and checks that it ended on a frame boundary. */
function readAll(bytes: Uint8Array): WebSocketFrame[] {
  const reader = new WebSocketFrameReader();
  const frames = reader.push(bytes);
  reader.end();
  return frames;
}

function codeOf(fn: () => unknown): WebSocketFrameErrorCode {
  try {
    fn();
  } catch (err) {
    if (err instanceof WebSocketFrameError) return err.code;
    throw err;
  }
  throw new Error('no error');
}

const text = (s: string): WebSocketFrame => ({ type: 'text', payload: utf8Encode(s) });

const VECTORS: Array<[string, WebSocketFrame, string]> = [
  ['text "hi"', text('hi'), '01 02000000 6869'],
  ['empty text', text(''), '01 00000000'],
  ['text "é€𝄞" (2, 3 and 4 UTF-8 bytes)', text('é€𝄞'), '01 09000000 c3a9 e282ac f09d849e'],
  ['binary dead', { type: 'binary', payload: hex('dead') }, '02 02000000 dead'],
  ['empty binary', { type: 'binary', payload: new Uint8Array(0) }, '02 00000000'],
  ['close without a status', { type: 'close', code: 1005, reason: '' }, '08 00000000'],
  ['close 1000', { type: 'close', code: 1000, reason: '' }, '08 02000000 03e8'],
  ['close 4001 "bye"', { type: 'close', code: 4001, reason: 'bye' }, '08 05000000 0fa1 627965'],
];

describe('websocket frame wire names', () => {
  it("opcodes are RFC 6455's", () => {
    expect(WEBSOCKET_OPCODES).toEqual({ text: 1, binary: 2, close: 8 });
  });

  it('close codes that may be sent', () => {
    const sendable = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014];
    for (const code of sendable) expect(isWebSocketCloseCode(code), String(code)).toBe(true);
    for (const code of [3000, 4001, 4999]) expect(isWebSocketCloseCode(code)).toBe(true);
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535, 1000.5]) {
      expect(isWebSocketCloseCode(code), String(code)).toBe(false);
    }
  });
});

describe('websocket frame fixed vectors', () => {
  for (const [title, frame, bytes] of VECTORS) {
    it(`encodes and decodes: ${title}`, () => {
      expect(bytesToHex(encodeWebSocketFrame(frame))).toBe(bytesToHex(hex(bytes)));
      expect(readAll(hex(bytes))).toEqual([frame]);
    });
  }

  it('a header for a payload sent separately: 1 MiB binary', () => {
    expect(bytesToHex(encodeWebSocketFrameHeader('binary', MAX_WEBSOCKET_MESSAGE_BYTES))).toBe(
      '0200001000',
    );
  });

  it('reads several frames from one chunk, and one frame from 1-byte chunks', () => {
    const stream = hex('01 02000000 6869 02 00000000 08 05000000 0fa1 627965');
    expect(readAll(stream)).toEqual([
      text('hi'),
      { type: 'binary', payload: new Uint8Array(0) },
      { type: 'close', code: 4001, reason: 'bye' },
    ]);
    const reader = new WebSocketFrameReader();
    const frames: WebSocketFrame[] = [];
    for (const byte of stream) frames.push(...reader.push(new Uint8Array([byte])));
    expect(frames).toEqual(readAll(stream));
    expect(reader.closed).toBe(true);
  });

  it('payloads are plain Uint8Array copies even when the chunk is a Node Buffer', () => {
    const chunk = Buffer.from(hex('02 02000000 dead'));
    const [frame] = new WebSocketFrameReader().push(chunk);
    if (frame?.type !== 'binary') throw new Error('expected binary');
    expect(Buffer.isBuffer(frame.payload)).toBe(false);
    chunk.fill(0);
    expect(bytesToHex(frame.payload)).toBe('dead');
  });

  it('payloads are copies owned by the caller', () => {
    const chunk = hex('02 02000000 dead');
    const [frame] = new WebSocketFrameReader().push(chunk);
    if (frame?.type !== 'binary') throw new Error('expected binary');
    expect(frame.payload.buffer).not.toBe(chunk.buffer);
    chunk.fill(0);
    expect(bytesToHex(frame.payload)).toBe('dead');
  });

  it('carries a message of exactly 1 MiB', () => {
    const payload = new Uint8Array(MAX_WEBSOCKET_MESSAGE_BYTES).fill(7);
    const bytes = encodeWebSocketFrame({ type: 'binary', payload });
    const reader = new WebSocketFrameReader();
    const frames: WebSocketFrame[] = [];
    for (let at = 0; at < bytes.length; at += 16_354) {
      frames.push(...reader.push(bytes.subarray(at, at + 16_354)));
      expect(reader.bufferedBytes).toBeLessThanOrEqual(5 + MAX_WEBSOCKET_MESSAGE_BYTES);
    }
    expect(frames.map((f) => f.type)).toEqual(['binary']);
    const [frame] = frames;
    if (frame?.type !== 'binary') throw new Error('expected binary');
    expect(constantTimeEqual(frame.payload, payload)).toBe(true);
  });
});

describe('websocket frame decoder errors', () => {
  const cases: Array<[string, string, WebSocketFrameErrorCode]> = [
    ['opcode 0x00 (continuation)', '00 00000000', 'ERR_WS_FRAME_OPCODE'],
    ['opcode 0x03', '03 00000000', 'ERR_WS_FRAME_OPCODE'],
    ['opcode 0x09 (ping stays between egress and origin)', '09 00000000', 'ERR_WS_FRAME_OPCODE'],
    ['opcode 0x0a (pong)', '0a 00000000', 'ERR_WS_FRAME_OPCODE'],
    ['opcode 0x81 (FIN bit set)', '81 00000000', 'ERR_WS_FRAME_OPCODE'],
    ['binary of 1 MiB + 1 (header only)', '02 01001000', 'ERR_WS_FRAME_TOO_LARGE'],
    ['text of 4 GiB − 1 (header only)', '01 ffffffff', 'ERR_WS_FRAME_TOO_LARGE'],
    ['close payload of 1 byte', '08 01000000 03', 'ERR_WS_FRAME_CLOSE'],
    ['close payload of 126 bytes (header only)', '08 7e000000', 'ERR_WS_FRAME_CLOSE'],
    ['close code 999', '08 02000000 03e7', 'ERR_WS_FRAME_CLOSE'],
    ['close code 1004', '08 02000000 03ec', 'ERR_WS_FRAME_CLOSE'],
    ['close code 1005 on the wire', '08 02000000 03ed', 'ERR_WS_FRAME_CLOSE'],
    ['close code 1006 on the wire', '08 02000000 03ee', 'ERR_WS_FRAME_CLOSE'],
    ['close code 1015', '08 02000000 03f7', 'ERR_WS_FRAME_CLOSE'],
    ['close code 2999', '08 02000000 0bb7', 'ERR_WS_FRAME_CLOSE'],
    ['close code 5000', '08 02000000 1388', 'ERR_WS_FRAME_CLOSE'],
    ['text c3 28 (bad continuation)', '01 02000000 c328', 'ERR_WS_FRAME_UTF8'],
    ['text c0 af (overlong)', '01 02000000 c0af', 'ERR_WS_FRAME_UTF8'],
    ['text ed a0 80 (surrogate)', '01 03000000 eda080', 'ERR_WS_FRAME_UTF8'],
    ['text f4 90 80 80 (past U+10FFFF)', '01 04000000 f4908080', 'ERR_WS_FRAME_UTF8'],
    ['text ending mid-character', '01 02000000 e282', 'ERR_WS_FRAME_UTF8'],
    ['close reason ff', '08 03000000 03e8 ff', 'ERR_WS_FRAME_UTF8'],
    ['a byte after close', '08 00000000 01', 'ERR_WS_FRAME_AFTER_CLOSE'],
    ['a frame after close', '08 02000000 03e8 01 00000000', 'ERR_WS_FRAME_AFTER_CLOSE'],
    ['end inside a header', '01 0200', 'ERR_WS_FRAME_TRUNCATED'],
    ['end inside a payload', '02 04000000 dead', 'ERR_WS_FRAME_TRUNCATED'],
  ];
  for (const [title, bytes, code] of cases) {
    it(`${title} → ${code}`, () => expect(codeOf(() => readAll(hex(bytes)))).toBe(code));
  }

  it('binary bytes need not be UTF-8; a reader that failed stays failed', () => {
    expect(readAll(hex('02 02000000 c328'))).toEqual([{ type: 'binary', payload: hex('c328') }]);
    const reader = new WebSocketFrameReader();
    expect(() => reader.push(hex('07'))).not.toThrow();
    expect(codeOf(() => reader.push(hex('00000000')))).toBe('ERR_WS_FRAME_OPCODE');
    expect(() => reader.push(hex('01'))).toThrow(Error);
  });

  it('refuses a declared length over the limit without waiting for the payload', () => {
    const reader = new WebSocketFrameReader();
    reader.push(hex('02 0100'));
    expect(reader.bufferedBytes).toBe(3);
    expect(codeOf(() => reader.push(hex('1000 aaaa')))).toBe('ERR_WS_FRAME_TOO_LARGE');
  });

  it('holds only the bytes that arrived, not the declared length', () => {
    const reader = new WebSocketFrameReader();
    reader.push(hex('02 00001000 aabb'));
    expect(reader.bufferedBytes).toBe(7);
  });
});

describe('websocket frame encoder errors', () => {
  it('refuses what the decoder refuses, with the same codes', () => {
    const big = new Uint8Array(MAX_WEBSOCKET_MESSAGE_BYTES + 1);
    expect(codeOf(() => encodeWebSocketFrame({ type: 'binary', payload: big }))).toBe(
      'ERR_WS_FRAME_TOO_LARGE',
    );
    expect(codeOf(() => encodeWebSocketFrameHeader('text', big.length))).toBe(
      'ERR_WS_FRAME_TOO_LARGE',
    );
    expect(codeOf(() => encodeWebSocketFrameHeader('close', 126))).toBe('ERR_WS_FRAME_CLOSE');
    expect(codeOf(() => encodeWebSocketFrame({ type: 'text', payload: hex('ff') }))).toBe(
      'ERR_WS_FRAME_UTF8',
    );
    for (const code of [1004, 1006, 1015, 2999, 5000]) {
      expect(codeOf(() => encodeWebSocketFrame({ type: 'close', code, reason: '' }))).toBe(
        'ERR_WS_FRAME_CLOSE',
      );
    }
    expect(
      codeOf(() => encodeWebSocketFrame({ type: 'close', code: 1005, reason: 'no code' })),
    ).toBe('ERR_WS_FRAME_CLOSE');
    expect(
      codeOf(() => encodeWebSocketFrame({ type: 'close', code: 1000, reason: 'é'.repeat(62) })),
    ).toBe('ERR_WS_FRAME_CLOSE');
    const fits = encodeWebSocketFrame({ type: 'close', code: 1000, reason: 'x'.repeat(123) });
    expect(fits.length).toBe(5 + 125);
  });

  it('throws TypeError and RangeError for arguments of the wrong type or size', () => {
    const wrong: unknown[] = [
      null,
      'text',
      { type: 'ping', payload: new Uint8Array(0) },
      { type: 'binary', payload: [1, 2] },
      { type: 'close', code: '1000', reason: '' },
      { type: 'close', code: 1000, reason: 7 },
    ];
    for (const frame of wrong) {
      expect(() => encodeWebSocketFrame(frame as WebSocketFrame)).toThrow(TypeError);
    }
    expect(() => encodeWebSocketFrameHeader('binary', -1)).toThrow(RangeError);
    expect(() => encodeWebSocketFrameHeader('binary', 1.5)).toThrow(RangeError);
    expect(() => new WebSocketFrameReader().push('01' as unknown as Uint8Array)).toThrow(TypeError);
  });
});

describe('websocket frame round trips (fast-check)', () => {
  it('encode → read gives the same frames, whatever the chunking', () => {
    fc.assert(
      fc.property(frameSequence, fc.array(fc.nat(), { maxLength: 16 }), (frames, cuts) => {
        const stream = concatBytes(...frames.map(encodeWebSocketFrame));
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const reader = new WebSocketFrameReader();
        const read: WebSocketFrame[] = [];
        let at = 0;
        for (const point of [...points, stream.length]) {
          read.push(...reader.push(stream.subarray(at, point)));
          at = point;
        }
        reader.end();
        expect(read).toEqual(frames);
        expect(bytesToHex(concatBytes(...read.map(encodeWebSocketFrame)))).toBe(bytesToHex(stream));
      }),
      { numRuns: 1000 },
    );
  });

  it('every strict prefix of a stream that ends inside a frame is ERR_WS_FRAME_TRUNCATED', () => {
    fc.assert(
      fc.property(frameSequence, (frames) => {
        const encoded = frames.map(encodeWebSocketFrame);
        const stream = concatBytes(...encoded);
        const boundaries = new Set<number>([0]);
        let at = 0;
        for (const frame of encoded) boundaries.add((at += frame.length));
        for (let n = 0; n < stream.length; n++) {
          if (boundaries.has(n)) expect(() => readAll(stream.subarray(0, n))).not.toThrow();
          else expect(codeOf(() => readAll(stream.subarray(0, n)))).toBe('ERR_WS_FRAME_TRUNCATED');
        }
      }),
      { numRuns: 100 },
    );
  });
});
