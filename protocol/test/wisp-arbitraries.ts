/** fast-check arbitraries for every Wisp packet type, shared by the unit and fuzz tests. */
import fc from 'fast-check';
import type { WispPacket, WispStreamType } from '../wisp-types.ts';

const U32_MAX = 0xffff_ffff;

// Written independently of the codec: no C0, space, DEL, C1, NBSP or other whitespace.
function plausibleHostname(name: string): boolean {
  if (name.length === 0 || new TextEncoder().encode(name).length > 253) return false;
  for (const ch of name) {
    const c = ch.codePointAt(0) ?? 0;
    if (c <= 0x20 || (c >= 0x7f && c <= 0xa0)) return false;
  }
  return !/\s/u.test(name);
}

export const hostname: fc.Arbitrary<string> = fc.oneof(
  fc.domain(),
  fc.ipV4(),
  fc.ipV6(),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 80 }).filter(plausibleHostname),
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 253 }).filter(plausibleHostname),
);

const nonZeroStreamId = fc.integer({ min: 1, max: U32_MAX });
const anyStreamId = fc.oneof(fc.constant(0), nonZeroStreamId);

export const connectPacket: fc.Arbitrary<WispPacket> = fc.record({
  type: fc.constant('connect' as const),
  streamId: nonZeroStreamId,
  streamType: fc.constantFrom<WispStreamType>('tcp', 'udp', 'fetch', 'websocket'),
  port: fc.integer({ min: 1, max: 0xffff }),
  hostname,
});

export const dataPacket: fc.Arbitrary<WispPacket> = fc.record({
  type: fc.constant('data' as const),
  streamId: nonZeroStreamId,
  payload: fc.uint8Array({ maxLength: 2048 }),
});

export const continuePacket: fc.Arbitrary<WispPacket> = fc.record({
  type: fc.constant('continue' as const),
  streamId: anyStreamId,
  bufferRemaining: fc.integer({ min: 0, max: U32_MAX }),
});

export const closePacket: fc.Arbitrary<WispPacket> = fc.record({
  type: fc.constant('close' as const),
  streamId: anyStreamId,
  reason: fc.integer({ min: 0, max: 0xff }),
});

export const infoPacket: fc.Arbitrary<WispPacket> = fc.record({
  type: fc.constant('info' as const),
  streamId: fc.constant(0 as const),
  major: fc.integer({ min: 0, max: 0xff }),
  minor: fc.integer({ min: 0, max: 0xff }),
  extensions: fc.array(
    fc.record({ id: fc.integer({ min: 0, max: 0xff }), payload: fc.uint8Array({ maxLength: 64 }) }),
    { maxLength: 8 },
  ),
});

export const wispPacket: fc.Arbitrary<WispPacket> = fc.oneof(
  connectPacket,
  dataPacket,
  continuePacket,
  closePacket,
  infoPacket,
);
