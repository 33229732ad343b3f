/**
 * Fuzzes the fetch head decoders and FetchHeadReader, 100,000 inputs each: random bytes
 * (mostly short, often shaped like a head) and mutations of valid encodings (bit flips, byte
 * changes, truncation, extension, splices and edits of every length and count field).
 * Only FetchHeadError may escape; accepted heads must re-encode to the same bytes; the reader
 * must never copy more than MAX_FETCH_HEAD_BYTES + 4 bytes.
 * Replay a failure with FUZZ_SEED=<seed printed in the failure>.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, viewOf } from '../bytes.ts';
import { FetchHeadError } from '../errors.ts';
import {
  decodeFetchRequestHead,
  decodeFetchResponseHead,
  encodeFetchRequestHead,
  encodeFetchResponseHead,
  FetchHeadReader,
  frameFetchHead,
} from '../fetch-head.ts';
import type { FetchRequestHead, FetchResponseHead } from '../fetch-head.ts';
import { MAX_FETCH_HEAD_BYTES } from '../limits.ts';
import { requestHead, responseHead } from './fetch-head-arbitraries.ts';
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

const SEED = Number(process.env['FUZZ_SEED'] ?? 0xfe7c4);
const RUNS = FUZZ_RUNS;

type Rand = () => number;

type Field = [offset: number, width: 1 | 2 | 4];

const INTERESTING = [
  0, 1, 2, 3, 0x20, 0x21, 0x63, 0x64, 0x65, 0x257, 0x258, 0x400, 0x401, 0x2000, 0x2001, 0x3fff,
  0x4000, 0x4001, 0x7fff, 0xffff, 0x10000, 0xffffffff,
];

function headerFields(offset: number, headers: Array<[string, string]>): Field[] {
  const fields: Field[] = [[offset, 2]];
  let at = offset + 2;
  for (const [name, value] of headers) {
    fields.push([at, 2], [at + 2 + name.length, 2]);
    at += 4 + name.length + value.length;
  }
  return fields;
}

function requestFields(head: FetchRequestHead): Field[] {
  const m = head.method.length;
  const u = head.url.length;
  return [[0, 1], [1, 2], [3 + m, 2], ...headerFields(5 + m + u, head.headers)];
}

function responseFields(head: FetchResponseHead): Field[] {
  return [[0, 2], [2, 2], ...headerFields(4 + head.statusText.length, head.headers)];
}

/** Sets one integer field to an interesting value, including lengths just around the truth. */
function editField(rand: Rand, bytes: Uint8Array, fields: Field[], base = 0): Uint8Array {
  const out = bytes.slice();
  const [at, width] = pick(rand, fields);
  const offset = base + at;
  if (offset + width > out.length) return out;
  const remaining = out.length - offset - width;
  const value = pick(rand, [...INTERESTING, remaining - 1, remaining, remaining + 1]) >>> 0;
  const view = viewOf(out);
  if (width === 1) view.setUint8(offset, value & 0xff);
  else if (width === 2) view.setUint16(offset, value & 0xffff, true);
  else view.setUint32(offset, value, true);
  return out;
}

function mutated(rand: Rand, bytes: Uint8Array, fields: Field[], base = 0): Uint8Array {
  switch (randomInt(rand, 3)) {
    case 0:
      return editField(rand, bytes, fields, base);
    case 1:
      return mutate(rand, editField(rand, bytes, fields, base));
    default:
      return mutate(rand, bytes);
  }
}

function u16(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, (n >>> 8) & 0xff]);
}

const URL_BITS = ['http://', 'https://', 'a.b', '/', '?q=1', '#', ':8080', '@', '%', '[::1]'];
const TEXT_BYTES = [0x00, 0x09, 0x0a, 0x0d, 0x20, 0x3a, 0x41, 0x61, 0x7f, 0x80, 0xe9, 0xff];

/** Random but head-shaped: plausible length prefixes around random or nearly valid content. */
function randomString(rand: Rand, kind: 'token' | 'url' | 'text'): Uint8Array {
  let body: Uint8Array;
  if (kind === 'url' && rand() < 0.7) {
    let s = '';
    for (let i = randomInt(rand, 6); i >= 0; i--) s += pick(rand, URL_BITS);
    body = new TextEncoder().encode(s);
  } else {
    body = randomBytes(rand, rand() < 0.9 ? 12 : 300);
    if (rand() < 0.7) {
      for (let i = 0; i < body.length; i++) {
        body[i] = kind === 'text' ? pick(rand, TEXT_BYTES) : 0x41 + randomInt(rand, 26);
      }
    }
  }
  const length = rand() < 0.9 ? body.length : randomInt(rand, 0x10000);
  return concatBytes(u16(length), body);
}

function randomHeaders(rand: Rand): Uint8Array[] {
  const count = rand() < 0.9 ? randomInt(rand, 4) : pick(rand, [99, 100, 101, 0xffff]);
  const parts = [u16(count)];
  for (let i = Math.min(count, 6); i > 0; i--) {
    parts.push(randomString(rand, 'token'), randomString(rand, 'text'));
  }
  return parts;
}

function randomRequestish(rand: Rand): Uint8Array {
  if (rand() < 0.4) return randomBytes(rand, rand() < 0.8 ? 16 : 512);
  return concatBytes(
    new Uint8Array([pick(rand, [0, 0, 1, 1, 2, 0x80, 0xff])]),
    randomString(rand, 'token'),
    randomString(rand, 'url'),
    ...randomHeaders(rand),
  ).subarray(0, rand() < 0.9 ? undefined : randomInt(rand, 64));
}

function randomResponseish(rand: Rand): Uint8Array {
  if (rand() < 0.4) return randomBytes(rand, rand() < 0.8 ? 16 : 512);
  const status = pick(rand, [0, 99, 100, 200, 404, 599, 600, 0xffff, randomInt(rand, 0x10000)]);
  return concatBytes(u16(status), randomString(rand, 'text'), ...randomHeaders(rand)).subarray(
    0,
    rand() < 0.9 ? undefined : randomInt(rand, 64),
  );
}

const requests: Array<[Uint8Array, Field[]]> = fc
  .sample(requestHead, { seed: SEED, numRuns: 200 })
  .map((head) => [encodeFetchRequestHead(head), requestFields(head)]);
const responses: Array<[Uint8Array, Field[]]> = fc
  .sample(responseHead, { seed: SEED, numRuns: 200 })
  .map((head) => [encodeFetchResponseHead(head), responseFields(head)]);

/** Accepted input must re-encode to itself: the encoder and decoder apply the same rules. */
function roundTrip<T>(
  input: Uint8Array,
  decode: (b: Uint8Array) => T,
  encode: (v: T) => Uint8Array,
): T {
  const value = decode(input);
  let again: Uint8Array;
  try {
    again = encode(value);
  } catch (err) {
    throw new Error(`accepted head does not re-encode: ${String(err)}`);
  }
  if (bytesToHex(again) !== bytesToHex(input))
    throw new Error(`re-encoded as ${bytesToHex(again)}`);
  return value;
}

const allowed = (err: unknown): boolean => err instanceof FetchHeadError;

function codesSeen(): { seen: Set<string>; track: (err: unknown) => void } {
  const seen = new Set<string>();
  return { seen, track: (err) => void (err instanceof FetchHeadError && seen.add(err.code)) };
}

const ALL_CODES = [
  'ERR_FETCH_HEAD_INVALID',
  'ERR_FETCH_HEAD_TOO_LARGE',
  'ERR_FETCH_HEAD_TOO_MANY_HEADERS',
  'ERR_FETCH_HEAD_TRUNCATED',
];

describe('fetch head decoders under fuzzing', () => {
  it(`decodeFetchRequestHead: 100,000 inputs (seed ${SEED}), only FetchHeadError`, () => {
    const { seen, track } = codesSeen();
    const result = withoutStacks(() =>
      fuzz({
        seed: SEED,
        runs: RUNS,
        input: (rand, run) => {
          if (run % 2 === 0) return randomRequestish(rand);
          if (run % 1000 === 1)
            return new Uint8Array(MAX_FETCH_HEAD_BYTES + 1 + randomInt(rand, 9));
          const [bytes, fields] = pick(rand, requests);
          return mutated(rand, bytes, fields);
        },
        decode: (input) => {
          try {
            return roundTrip(input, decodeFetchRequestHead, encodeFetchRequestHead);
          } catch (err) {
            track(err);
            throw err;
          }
        },
        allowed,
      }),
    );
    expect(result.accepted).toBeGreaterThan(RUNS / 100);
    expect([...seen].sort()).toEqual(ALL_CODES);
  });

  it(`decodeFetchResponseHead: 100,000 inputs (seed ${SEED}), only FetchHeadError`, () => {
    const { seen, track } = codesSeen();
    const result = withoutStacks(() =>
      fuzz({
        seed: SEED + 1,
        runs: RUNS,
        input: (rand, run) => {
          if (run % 2 === 0) return randomResponseish(rand);
          if (run % 1000 === 1)
            return new Uint8Array(MAX_FETCH_HEAD_BYTES + 1 + randomInt(rand, 9));
          const [bytes, fields] = pick(rand, responses);
          return mutated(rand, bytes, fields);
        },
        decode: (input) => {
          try {
            return roundTrip(input, decodeFetchResponseHead, encodeFetchResponseHead);
          } catch (err) {
            track(err);
            throw err;
          }
        },
        allowed,
      }),
    );
    expect(result.accepted).toBeGreaterThan(RUNS / 100);
    expect([...seen].sort()).toEqual(ALL_CODES);
  });

  it(`FetchHeadReader: 100,000 chunked streams (seed ${SEED}), bounded and exact`, () => {
    const chunking = prng(SEED + 3);
    const { seen, track } = codesSeen();
    let framed = 0;

    /** Feeds `input` in random chunks and checks everything the reader promises. */
    const drive = (input: Uint8Array): void => {
      const reader = new FetchHeadReader();
      const rest: Uint8Array[] = [];
      let frame = null;
      let at = 0;
      while (at < input.length || (at === 0 && input.length === 0)) {
        const size =
          chunking() < 0.3 ? randomInt(chunking, 5) : randomInt(chunking, 2 * input.length + 1);
        const chunk = input.subarray(at, at + size);
        at += chunk.length;
        if (frame !== null) {
          rest.push(chunk);
        } else {
          reader.push(chunk);
          if (reader.bufferedBytes > MAX_FETCH_HEAD_BYTES + 4) {
            throw new Error(`reader holds ${reader.bufferedBytes} bytes`);
          }
          frame = reader.read();
          if (frame !== null) rest.push(frame.rest);
        }
        if (input.length === 0) break;
      }
      if (frame === null) {
        reader.end();
        throw new Error('end() accepted an incomplete head');
      }
      framed++;
      const declared = viewOf(input).getUint32(0, true);
      if (declared > MAX_FETCH_HEAD_BYTES || frame.head.length !== declared) {
        throw new Error(`declared ${declared}, got a head of ${frame.head.length}`);
      }
      const expectedHead = bytesToHex(input.subarray(4, 4 + declared));
      if (bytesToHex(frame.head) !== expectedHead) throw new Error('head bytes differ');
      if (bytesToHex(concatBytes(...rest)) !== bytesToHex(input.subarray(4 + declared))) {
        throw new Error('rest bytes differ');
      }
      // The head then goes to the decoders; they may refuse it, but only with typed errors.
      for (const decode of [decodeFetchRequestHead, decodeFetchResponseHead]) {
        try {
          decode(frame.head);
        } catch (err) {
          if (!(err instanceof FetchHeadError)) throw err;
        }
      }
    };

    /** A refusal must be the right one: too large exactly when the declared length is. */
    const checkRefusal = (input: Uint8Array, err: FetchHeadError): void => {
      const declared = input.length >= 4 ? viewOf(input).getUint32(0, true) : -1;
      if ((err.code === 'ERR_FETCH_HEAD_TOO_LARGE') !== declared > MAX_FETCH_HEAD_BYTES) {
        throw new Error(`${err.code} for a declared length of ${declared}`);
      }
    };

    const result = withoutStacks(() =>
      fuzz({
        seed: SEED + 2,
        runs: RUNS,
        input: (rand, run) => {
          if (run % 2 === 0) {
            const out = randomBytes(rand, rand() < 0.8 ? 24 : 400);
            // Mostly small declared lengths, so that random streams also complete.
            if (out.length >= 4 && rand() < 0.6) out.set([randomInt(rand, 64), 0, 0, 0]);
            return out;
          }
          const [head, fields] = pick(rand, rand() < 0.5 ? requests : responses);
          const stream = concatBytes(frameFetchHead(head), randomBytes(rand, 40));
          if (rand() < 0.3) return editField(rand, stream, [[0, 4]]);
          return mutated(rand, stream, fields, 4);
        },
        decode: (input) => {
          try {
            drive(input);
          } catch (err) {
            track(err);
            if (err instanceof FetchHeadError) checkRefusal(input, err);
            throw err;
          }
        },
        allowed,
      }),
    );
    expect(framed).toBeGreaterThan(RUNS / 10);
    expect(result.rejected).toBeGreaterThan(RUNS / 10);
    expect(seen).toEqual(new Set(['ERR_FETCH_HEAD_TOO_LARGE', 'ERR_FETCH_HEAD_TRUNCATED']));
  });
});
