/**
 * Fuzzes decodeWispPacket with 100,000 inputs: random byte arrays biased toward short packets
 * and real type bytes, and mutations of valid encodings (bit flips, byte changes, truncation,
 * extension, splices, type swaps, edits of the stream id and of length/integer fields).
 * Only WispError may escape, and every accepted input must re-encode to the same bytes.
 * Replay a failure with FUZZ_SEED=<seed printed in the failure>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, viewOf } from '../bytes.ts';
import { WispError } from '../errors.ts';
import { decodeWispPacket, encodeWispPacket } from '../wisp-codec.ts';
import type { WispPacket } from '../wisp-types.ts';
import {
  fuzz,
  FUZZ_RUNS,
  mutate,
  pick,
  prng,
  randomBytes,
  randomInt,
  withoutStacks,
} from './fuzz-helpers.ts';
import { wispPacket } from './wisp-arbitraries.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 0x715b);
const RUNS = FUZZ_RUNS;

type Rand = () => number;

const INTERESTING_U32 = [
  0, 1, 2, 4, 5, 0x7f, 0x80, 0xff, 0x100, 0xfffe, 0xffff, 0x10000, 0x7fffffff, 0x80000000,
  0xfffffffe, 0xffffffff,
];
const TYPE_BYTES = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x80, 0xff];
const STREAM_TYPE_BYTES = [0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0x81, 0x82, 0xff];

/** Random bytes, mostly short, mostly with a real type byte and a plausible stream id. */
function randomPacket(rand: Rand): Uint8Array {
  const r = rand();
  const max = r < 0.6 ? 12 : r < 0.9 ? 64 : 1024;
  const out = randomBytes(rand, max);
  if (out.length > 0 && rand() < 0.8) out[0] = pick(rand, TYPE_BYTES);
  if (out.length >= 5 && rand() < 0.5) out.fill(0, 1, 5);
  if (out.length >= 6 && rand() < 0.5) out[5] = pick(rand, STREAM_TYPE_BYTES);
  return out;
}

/** Offsets and widths of the integer fields of an encoded packet (lengths, port, credit…). */
function integerFields(packet: WispPacket): Array<[offset: number, width: 1 | 2 | 4]> {
  const fields: Array<[number, 1 | 2 | 4]> = [
    [0, 1],
    [1, 4],
  ];
  switch (packet.type) {
    case 'connect':
      fields.push([5, 1], [6, 2]);
      break;
    case 'continue':
      fields.push([5, 4]);
      break;
    case 'close':
      fields.push([5, 1]);
      break;
    case 'info': {
      fields.push([5, 1], [6, 1]);
      let offset = 7;
      for (const ext of packet.extensions) {
        fields.push([offset, 1], [offset + 1, 4]);
        offset += 5 + ext.payload.length;
      }
      break;
    }
    case 'data':
      break;
  }
  return fields;
}

function editField(rand: Rand, bytes: Uint8Array, packet: WispPacket): Uint8Array {
  const out = bytes.slice();
  const [offset, width] = pick(rand, integerFields(packet));
  if (offset + width > out.length) return out;
  const view = viewOf(out);
  const remaining = out.length - offset - width;
  const value = pick(rand, [...INTERESTING_U32, remaining - 1, remaining, remaining + 1]) >>> 0;
  if (width === 1) view.setUint8(offset, value & 0xff);
  else if (width === 2) view.setUint16(offset, value & 0xffff, true);
  else view.setUint32(offset, value, true);
  return out;
}

const samples: Array<[WispPacket, Uint8Array]> = fc
  .sample(wispPacket, { seed: SEED, numRuns: 300 })
  .map((packet) => [packet, encodeWispPacket(packet)]);

function mutatedPacket(rand: Rand): Uint8Array {
  const [packet, bytes] = pick(rand, samples);
  switch (randomInt(rand, 4)) {
    case 0:
      return editField(rand, bytes, packet);
    case 1: {
      const out = bytes.slice();
      out[0] = pick(rand, TYPE_BYTES);
      return out;
    }
    default:
      return mutate(rand, rand() < 0.3 ? editField(rand, bytes, packet) : bytes);
  }
}

/** Decodes, then insists that an accepted packet re-encodes to exactly the same bytes. */
function decodeAndReencode(input: Uint8Array): WispPacket {
  const packet = decodeWispPacket(input);
  let again: Uint8Array;
  try {
    again = encodeWispPacket(packet);
  } catch (err) {
    throw new Error(`accepted packet does not re-encode: ${String(err)}`);
  }
  if (bytesToHex(again) !== bytesToHex(input)) {
    throw new Error(`re-encoded as ${bytesToHex(again)}`);
  }
  return packet;
}

describe('decodeWispPacket under fuzzing', () => {
  it(`100,000 random and mutated inputs (seed ${SEED}): only WispError`, () => {
    const seen = new Set<string>();
    const result = withoutStacks(() =>
      fuzz({
        seed: SEED,
        runs: RUNS,
        input: (rand, run) => (run % 2 === 0 ? randomPacket(rand) : mutatedPacket(rand)),
        decode: (input) => {
          try {
            return decodeAndReencode(input);
          } catch (err) {
            if (err instanceof WispError) seen.add(err.code);
            throw err;
          }
        },
        allowed: (err) => err instanceof WispError,
      }),
    );
    expect(result.accepted).toBeGreaterThan(RUNS / 20);
    expect(result.rejected).toBeGreaterThan(RUNS / 4);
    // The inputs reach every check, not just the first few.
    expect([...seen].sort()).toEqual([
      'ERR_WISP_HOSTNAME',
      'ERR_WISP_INFO',
      'ERR_WISP_PORT',
      'ERR_WISP_STREAM_ID',
      'ERR_WISP_STREAM_TYPE',
      'ERR_WISP_TRAILING_BYTES',
      'ERR_WISP_TRUNCATED',
      'ERR_WISP_UNKNOWN_TYPE',
    ]);
  });

  it(`a small maxBytes is enforced on any input (seed ${SEED})`, () => {
    const rand = prng(SEED ^ 0x5eed);
    for (let run = 0; run < 5_000; run++) {
      const input = run % 2 === 0 ? randomPacket(rand) : mutatedPacket(rand);
      const maxBytes = randomInt(rand, 40);
      try {
        decodeWispPacket(input, { maxBytes });
        expect(input.length).toBeLessThanOrEqual(maxBytes);
      } catch (err) {
        if (!(err instanceof WispError)) {
          throw new Error(`seed ${SEED}, run ${run}: ${String(err)} on ${bytesToHex(input)}`);
        }
        if (input.length > maxBytes) expect(err.code).toBe('ERR_WISP_TOO_LARGE');
      }
    }
  });
});
