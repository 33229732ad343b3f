import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../bytes.ts';
import { WispError } from '../errors.ts';
import type { WispErrorCode } from '../errors.ts';
import { MAX_HOSTNAME_BYTES, MAX_WISP_PACKET_BYTES } from '../limits.ts';
import { decodeWispPacket, encodeWispPacket } from '../wisp-codec.ts';
import {
  closeReasonName,
  isKnownCloseReason,
  WISP_CLOSE_REASONS,
  WISP_EXTENSION_IDS,
  WISP_PACKET_TYPES,
  WISP_STREAM_TYPES,
} from '../wisp-types.ts';
import type { WispPacket } from '../wisp-types.ts';
import { wispPacket } from './wisp-arbitraries.ts';

const hex = (s: string): Uint8Array => hexToBytes(s.replace(/\s+/g, ''));

function decodeError(bytes: Uint8Array, options?: { maxBytes?: number }): WispErrorCode {
  try {
    decodeWispPacket(bytes, options);
  } catch (err) {
    if (err instanceof WispError) return err.code;
    throw err;
  }
  throw new Error(`decoded without error: ${bytesToHex(bytes)}`);
}

function encodeError(packet: unknown, options?: { maxBytes?: number }): unknown {
  try {
    encodeWispPacket(packet as WispPacket, options);
  } catch (err) {
    return err;
  }
  throw new Error('encoded without error');
}

function encodeWispCode(packet: unknown): WispErrorCode {
  const err = encodeError(packet);
  if (err instanceof WispError) return err.code;
  throw new Error(`expected a WispError, got ${String(err)}`);
}

// Written by hand from the spec tables: u8 type, u32 LE stream id, payload.
const VECTORS: Array<[string, WispPacket, string]> = [
  [
    'CONNECT tcp example.com:80 on stream 1',
    { type: 'connect', streamId: 1, streamType: 'tcp', port: 80, hostname: 'example.com' },
    '01 01000000 01 5000 6578616d706c652e636f6d',
  ],
  [
    'CONNECT udp to a UTF-8 name on port 53',
    { type: 'connect', streamId: 0x0a0b0c0d, streamType: 'udp', port: 53, hostname: 'bü.de' },
    '01 0d0c0b0a 02 3500 62c3bc2e6465',
  ],
  [
    'CONNECT fetch (tunnel extension) to a.b:443 on the largest stream id',
    { type: 'connect', streamId: 0xffffffff, streamType: 'fetch', port: 443, hostname: 'a.b' },
    '01 ffffffff 80 bb01 612e62',
  ],
  [
    'CONNECT websocket (tunnel extension) to a.b:80',
    { type: 'connect', streamId: 3, streamType: 'websocket', port: 80, hostname: 'a.b' },
    '01 03000000 81 5000 612e62',
  ],
  [
    'CONNECT to an IPv6 literal on port 65535',
    { type: 'connect', streamId: 2, streamType: 'tcp', port: 65535, hostname: '::1' },
    '01 02000000 01 ffff 3a3a31',
  ],
  ['DATA "hi"', { type: 'data', streamId: 0x12345678, payload: hex('6869') }, '02 78563412 6869'],
  [
    'DATA empty (ends a fetch request body)',
    { type: 'data', streamId: 3, payload: hex('') },
    '02 03000000',
  ],
  [
    'CONTINUE on stream 0: initial buffer of 127',
    { type: 'continue', streamId: 0, bufferRemaining: 127 },
    '03 00000000 7f000000',
  ],
  [
    'CONTINUE with the largest credit',
    { type: 'continue', streamId: 9, bufferRemaining: 0xfffffffe },
    '03 09000000 feffffff',
  ],
  ['CLOSE blocked', { type: 'close', streamId: 7, reason: 0x48 }, '04 07000000 48'],
  [
    'CLOSE on stream 0: incompatible extensions',
    { type: 'close', streamId: 0, reason: 0x04 },
    '04 00000000 04',
  ],
  ['CLOSE with an unknown reason', { type: 'close', streamId: 1, reason: 0x00 }, '04 01000000 00'],
  [
    'INFO v2.0 with UDP (no payload) and a MOTD',
    {
      type: 'info',
      streamId: 0,
      major: 2,
      minor: 0,
      extensions: [
        { id: 0x01, payload: hex('') },
        { id: 0x04, payload: hex('6869') },
      ],
    },
    '05 00000000 02 00  01 00000000  04 02000000 6869',
  ],
  [
    'INFO with no extensions',
    { type: 'info', streamId: 0, major: 2, minor: 1, extensions: [] },
    '05 00000000 02 01',
  ],
];

describe('Wisp wire names', () => {
  it('packet and stream type codes match the spec', () => {
    expect(WISP_PACKET_TYPES).toEqual({
      connect: 1,
      data: 2,
      continue: 3,
      close: 4,
      info: 5,
    });
    expect(WISP_STREAM_TYPES).toEqual({ tcp: 1, udp: 2, fetch: 0x80, websocket: 0x81 });
    expect(WISP_EXTENSION_IDS['stream-open-confirmation']).toBe(5);
  });

  it('every close reason of the spec is named exactly once', () => {
    const codes = Object.values(WISP_CLOSE_REASONS);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.sort((a, b) => a - b)).toEqual([
      0x01, 0x02, 0x03, 0x04, 0x41, 0x42, 0x43, 0x44, 0x47, 0x48, 0x49, 0x81, 0xc0, 0xc1, 0xc2,
    ]);
  });

  it('closeReasonName names known codes and maps unknown ones to unspecified', () => {
    expect(closeReasonName(0x02)).toBe('voluntary');
    expect(closeReasonName(0x48)).toBe('blocked');
    expect(closeReasonName(0x81)).toBe('client-error');
    expect(closeReasonName(0xc2)).toBe('auth-required');
    expect(closeReasonName(0x00)).toBe('unspecified');
    expect(closeReasonName(0x45)).toBe('unspecified');
    expect(closeReasonName(0xff)).toBe('unspecified');
    expect(isKnownCloseReason(0x49)).toBe(true);
    expect(isKnownCloseReason(0x45)).toBe(false);
    for (const [name, code] of Object.entries(WISP_CLOSE_REASONS)) {
      expect(closeReasonName(code)).toBe(name);
    }
  });
});

describe('Wisp fixed vectors', () => {
  for (const [title, packet, bytes] of VECTORS) {
    it(`encodes and decodes: ${title}`, () => {
      expect(bytesToHex(encodeWispPacket(packet))).toBe(bytesToHex(hex(bytes)));
      expect(decodeWispPacket(hex(bytes))).toEqual(packet);
    });
  }

  it('DATA payloads are views into the decoded bytes; INFO payloads are copies', () => {
    const data = hex('02 01000000 aabb');
    const decoded = decodeWispPacket(data);
    if (decoded.type !== 'data') throw new Error('expected DATA');
    expect(decoded.payload.buffer).toBe(data.buffer);
    const info = hex('05 00000000 02 00 04 01000000 aa');
    const decodedInfo = decodeWispPacket(info);
    if (decodedInfo.type !== 'info') throw new Error('expected INFO');
    expect(decodedInfo.extensions[0]?.payload.buffer).not.toBe(info.buffer);
  });

  it('decodes from a view into a larger buffer', () => {
    const backing = hex('ffff 04 05000000 02 ffff');
    expect(decodeWispPacket(backing.subarray(2, 8))).toEqual({
      type: 'close',
      streamId: 5,
      reason: 2,
    });
  });
});

describe('Wisp decoder errors', () => {
  const cases: Array<[string, string, WispErrorCode]> = [
    ['empty', '', 'ERR_WISP_TRUNCATED'],
    ['type only', '02', 'ERR_WISP_TRUNCATED'],
    ['stream id cut short', '02 010000', 'ERR_WISP_TRUNCATED'],
    ['unknown type 0x00', '00 01000000', 'ERR_WISP_UNKNOWN_TYPE'],
    ['unknown type 0x06', '06 01000000', 'ERR_WISP_UNKNOWN_TYPE'],
    ['unknown type 0xff', 'ff 01000000 00', 'ERR_WISP_UNKNOWN_TYPE'],
    ['CONNECT without port', '01 01000000 01 50', 'ERR_WISP_TRUNCATED'],
    ['CONNECT on stream 0', '01 00000000 01 5000 61', 'ERR_WISP_STREAM_ID'],
    ['DATA on stream 0', '02 00000000 61', 'ERR_WISP_STREAM_ID'],
    ['INFO on stream 1', '05 01000000 02 00', 'ERR_WISP_STREAM_ID'],
    ['CONNECT stream type 0x00', '01 01000000 00 5000 61', 'ERR_WISP_STREAM_TYPE'],
    ['CONNECT stream type 0x03', '01 01000000 03 5000 61', 'ERR_WISP_STREAM_TYPE'],
    ['CONNECT stream type 0x82', '01 01000000 82 5000 61', 'ERR_WISP_STREAM_TYPE'],
    ['CONNECT port 0', '01 01000000 01 0000 61', 'ERR_WISP_PORT'],
    ['CONNECT empty hostname', '01 01000000 01 5000', 'ERR_WISP_HOSTNAME'],
    ['hostname with NUL', '01 01000000 01 5000 6100', 'ERR_WISP_HOSTNAME'],
    ['hostname with LF', '01 01000000 01 5000 610a62', 'ERR_WISP_HOSTNAME'],
    ['hostname with TAB', '01 01000000 01 5000 0961', 'ERR_WISP_HOSTNAME'],
    ['hostname with space', '01 01000000 01 5000 612062', 'ERR_WISP_HOSTNAME'],
    ['hostname with DEL', '01 01000000 01 5000 617f', 'ERR_WISP_HOSTNAME'],
    ['hostname with C1 NEL U+0085', '01 01000000 01 5000 61c285', 'ERR_WISP_HOSTNAME'],
    ['hostname with NBSP U+00A0', '01 01000000 01 5000 61c2a0', 'ERR_WISP_HOSTNAME'],
    ['hostname with U+2028', '01 01000000 01 5000 61e280a8', 'ERR_WISP_HOSTNAME'],
    ['hostname with U+3000', '01 01000000 01 5000 e3808061', 'ERR_WISP_HOSTNAME'],
    ['hostname with a lone continuation byte', '01 01000000 01 5000 6180', 'ERR_WISP_HOSTNAME'],
    ['hostname with an overlong NUL', '01 01000000 01 5000 c080', 'ERR_WISP_HOSTNAME'],
    ['hostname with an encoded surrogate', '01 01000000 01 5000 eda080', 'ERR_WISP_HOSTNAME'],
    ['hostname cut inside a character', '01 01000000 01 5000 61c3', 'ERR_WISP_HOSTNAME'],
    ['CONTINUE short', '03 01000000 010000', 'ERR_WISP_TRUNCATED'],
    ['CONTINUE long', '03 01000000 01000000 00', 'ERR_WISP_TRAILING_BYTES'],
    ['CLOSE without reason', '04 01000000', 'ERR_WISP_TRUNCATED'],
    ['CLOSE long', '04 01000000 0200', 'ERR_WISP_TRAILING_BYTES'],
    ['INFO without versions', '05 00000000', 'ERR_WISP_TRUNCATED'],
    ['INFO without minor version', '05 00000000 02', 'ERR_WISP_TRUNCATED'],
    ['INFO record header cut short', '05 00000000 02 00 01 000000', 'ERR_WISP_INFO'],
    ['INFO stray byte', '05 00000000 02 00 01', 'ERR_WISP_INFO'],
    ['INFO record longer than the packet', '05 00000000 02 00 04 03000000 6869', 'ERR_WISP_INFO'],
    ['INFO record length 2^32-1', '05 00000000 02 00 04 ffffffff 6869', 'ERR_WISP_INFO'],
    [
      'INFO second record truncated',
      '05 00000000 02 00 01 00000000 04 02000000 68',
      'ERR_WISP_INFO',
    ],
  ];
  for (const [title, bytes, code] of cases) {
    it(`${title} → ${code}`, () => expect(decodeError(hex(bytes))).toBe(code));
  }

  it('accepts a hostname of exactly 253 bytes and refuses 254', () => {
    const name = (n: number): WispPacket => ({
      type: 'connect',
      streamId: 1,
      streamType: 'tcp',
      port: 1,
      hostname: 'a'.repeat(n),
    });
    const ok = encodeWispPacket(name(MAX_HOSTNAME_BYTES));
    expect(decodeWispPacket(ok)).toEqual(name(MAX_HOSTNAME_BYTES));
    const long = new Uint8Array(ok.length + 1).fill(0x61);
    long.set(ok.subarray(0, 8));
    expect(decodeError(long)).toBe('ERR_WISP_HOSTNAME');
  });

  it('counts the hostname limit in UTF-8 bytes, not characters', () => {
    const hostname = 'ü'.repeat(127); // 254 bytes
    expect(
      encodeWispCode({ type: 'connect', streamId: 1, streamType: 'tcp', port: 1, hostname }),
    ).toBe('ERR_WISP_HOSTNAME');
  });

  it('refuses packets over maxBytes before parsing them', () => {
    const big = new Uint8Array(MAX_WISP_PACKET_BYTES + 1);
    big[0] = 0x02;
    big[1] = 1;
    expect(decodeError(big)).toBe('ERR_WISP_TOO_LARGE');
    expect(decodeWispPacket(big.subarray(0, MAX_WISP_PACKET_BYTES)).type).toBe('data');
    // Even a packet that is otherwise garbage: the size check comes first.
    expect(decodeError(hex('ff ff'), { maxBytes: 1 })).toBe('ERR_WISP_TOO_LARGE');
    expect(decodeError(hex('02 01000000 6869'), { maxBytes: 6 })).toBe('ERR_WISP_TOO_LARGE');
    expect(decodeWispPacket(hex('02 01000000 6869'), { maxBytes: 7 }).type).toBe('data');
  });

  it('checks its arguments', () => {
    expect(() => decodeWispPacket('abc' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => decodeWispPacket(hex('04 01000000 02'), { maxBytes: -1 })).toThrow(
      /options\.maxBytes.*-1/,
    );
    expect(() => decodeWispPacket(hex('04 01000000 02'), { maxBytes: 1.5 })).toThrow(RangeError);
  });
});

describe('Wisp encoder validation', () => {
  const connect = { type: 'connect', streamId: 1, streamType: 'tcp', port: 80, hostname: 'a.b' };

  it('applies the decoder rules', () => {
    expect(encodeWispCode({ ...connect, type: 'ping' })).toBe('ERR_WISP_UNKNOWN_TYPE');
    expect(encodeWispCode({ ...connect, type: 'toString' })).toBe('ERR_WISP_UNKNOWN_TYPE');
    expect(encodeWispCode({ ...connect, streamId: 0 })).toBe('ERR_WISP_STREAM_ID');
    expect(encodeWispCode({ type: 'data', streamId: 0, payload: hex('') })).toBe(
      'ERR_WISP_STREAM_ID',
    );
    expect(encodeWispCode({ type: 'info', streamId: 1, major: 2, minor: 0, extensions: [] })).toBe(
      'ERR_WISP_STREAM_ID',
    );
    expect(encodeWispCode({ ...connect, streamType: 'sctp' })).toBe('ERR_WISP_STREAM_TYPE');
    expect(encodeWispCode({ ...connect, streamType: 'constructor' })).toBe('ERR_WISP_STREAM_TYPE');
    expect(encodeWispCode({ ...connect, port: 0 })).toBe('ERR_WISP_PORT');
    for (const hostname of ['', 'a b', 'a\u0000', 'a\u007f', 'a\u0085', 'a\u00a0', '\ud800a']) {
      expect(encodeWispCode({ ...connect, hostname })).toBe('ERR_WISP_HOSTNAME');
    }
    expect(encodeWispCode({ ...connect, hostname: 'a'.repeat(100_000) })).toBe('ERR_WISP_HOSTNAME');
  });

  it('refuses packets over maxBytes', () => {
    const payload = new Uint8Array(MAX_WISP_PACKET_BYTES - 4);
    const err = encodeError({ type: 'data', streamId: 1, payload });
    expect(err).toBeInstanceOf(WispError);
    expect((err as WispError).code).toBe('ERR_WISP_TOO_LARGE');
    expect(
      encodeWispPacket({ type: 'data', streamId: 1, payload: payload.subarray(1) }).length,
    ).toBe(MAX_WISP_PACKET_BYTES);
    const info = {
      type: 'info',
      streamId: 0,
      major: 2,
      minor: 0,
      extensions: [{ id: 1, payload: new Uint8Array(10) }],
    };
    expect((encodeError(info, { maxBytes: 21 }) as WispError).code).toBe('ERR_WISP_TOO_LARGE');
    expect(encodeWispPacket(info as WispPacket, { maxBytes: 22 }).length).toBe(22);
  });

  it('throws RangeError naming the field and value for out-of-range integers', () => {
    const cases: Array<[object, RegExp]> = [
      [{ ...connect, streamId: 2 ** 32 }, /packet\.streamId.*4294967296/],
      [{ ...connect, streamId: -1 }, /packet\.streamId.*-1/],
      [{ ...connect, streamId: 1.5 }, /packet\.streamId.*1\.5/],
      [{ ...connect, streamId: Number.NaN }, /packet\.streamId.*NaN/],
      [{ ...connect, port: 65536 }, /packet\.port.*65536/],
      [{ type: 'continue', streamId: 0, bufferRemaining: 2 ** 32 }, /bufferRemaining.*4294967296/],
      [{ type: 'close', streamId: 1, reason: 256 }, /packet\.reason.*256/],
      [{ type: 'info', streamId: 0, major: 256, minor: 0, extensions: [] }, /packet\.major.*256/],
      [{ type: 'info', streamId: 0, major: 2, minor: -1, extensions: [] }, /packet\.minor.*-1/],
      [
        {
          type: 'info',
          streamId: 0,
          major: 2,
          minor: 0,
          extensions: [{ id: 300, payload: hex('') }],
        },
        /extensions\[0\]\.id.*300/,
      ],
    ];
    for (const [packet, message] of cases) {
      const err = encodeError(packet);
      expect(err).toBeInstanceOf(RangeError);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('throws TypeError naming the field for values of the wrong type', () => {
    const cases: Array<[unknown, RegExp]> = [
      [null, /packet/],
      ['connect', /packet/],
      [{ ...connect, type: 1 }, /packet\.type/],
      [{ ...connect, streamId: '1' }, /packet\.streamId/],
      [{ ...connect, streamType: 1 }, /packet\.streamType/],
      [{ ...connect, port: '80' }, /packet\.port/],
      [{ ...connect, hostname: undefined }, /packet\.hostname/],
      [{ type: 'data', streamId: 1, payload: [1, 2] }, /packet\.payload.*Array/],
      [{ type: 'data', streamId: 1, payload: new ArrayBuffer(2) }, /packet\.payload.*ArrayBuffer/],
      [{ type: 'close', streamId: 1, reason: '2' }, /packet\.reason/],
      [{ type: 'info', streamId: 0, major: 2, minor: 0, extensions: {} }, /packet\.extensions/],
      [{ type: 'info', streamId: 0, major: 2, minor: 0, extensions: [null] }, /extensions\[0\]/],
      [
        { type: 'info', streamId: 0, major: 2, minor: 0, extensions: [{ id: 1, payload: 'x' }] },
        /extensions\[0\]\.payload/,
      ],
    ];
    for (const [packet, message] of cases) {
      const err = encodeError(packet);
      expect(err).toBeInstanceOf(TypeError);
      expect((err as Error).message).toMatch(message);
    }
  });

  it('returns a fresh buffer that does not alias the payload', () => {
    const payload = hex('010203');
    const out = encodeWispPacket({ type: 'data', streamId: 1, payload });
    payload[0] = 9;
    expect(bytesToHex(out)).toBe('0201000000010203');
  });
});

describe('Wisp round trips (fast-check)', () => {
  it('encode → decode gives an equal packet', () => {
    fc.assert(
      fc.property(wispPacket, (packet) => {
        expect(decodeWispPacket(encodeWispPacket(packet))).toEqual(packet);
      }),
      { numRuns: 2000 },
    );
  });

  it('decode → encode gives the same bytes', () => {
    fc.assert(
      fc.property(wispPacket, (packet) => {
        const bytes = encodeWispPacket(packet);
        expect(bytesToHex(encodeWispPacket(decodeWispPacket(bytes)))).toBe(bytesToHex(bytes));
      }),
      { numRuns: 2000 },
    );
  });
});
