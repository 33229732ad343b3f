/**
 * Fuzzes WebSocketFrameReader with 100,000 streams fed in random chunks: random bytes shaped
 * like frames (plausible opcodes, lengths around the truth and the limits, UTF-8-ish payloads)
 * and mutations of valid encodings (bit flips, truncation, splices, edited opcodes and lengths).
 * Only WebSocketFrameError may escape; the outcome must equal that of a plain whole-buffer
 * reference reader written independently here (UTF-8 checked with node:buffer's isUtf8), so
 * chunking never changes what is accepted or refused; accepted frames must re-encode to the
 * exact input; the reader never holds more than one header and one payload of at most 1 MiB.
 * Replay a failure with FUZZ_SEED=<seed printed in the failure>.
 */
import { isUtf8 } from 'node:buffer';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, concatBytes, viewOf } from '../bytes.ts';
import { WebSocketFrameError } from '../errors.ts';
import { MAX_WEBSOCKET_MESSAGE_BYTES } from '../limits.ts';
import {
  encodeWebSocketFrame,
  WebSocketFrameReader,
  type WebSocketFrame,
} from '../websocket-frame.ts';
import { fuzz, FUZZ_RUNS, mutate, pick, prng, randomBytes, randomInt } from './fuzz-helpers.ts';
import { frameSequence } from './websocket-frame-arbitraries.ts';

const SEED = Number(process.env['FUZZ_SEED'] ?? 0x5ebf);
const RUNS = FUZZ_RUNS;
const MAX = MAX_WEBSOCKET_MESSAGE_BYTES;

type Rand = () => number;

const OPCODES = [0x01, 0x01, 0x02, 0x02, 0x08, 0x08, 0x00, 0x09, 0x0a, 0x81, 0x82, 0x88, 0xff];
const INTERESTING_LENGTHS = [
  0,
  1,
  2,
  3,
  124,
  125,
  126,
  127,
  0xffff,
  MAX - 1,
  MAX,
  MAX + 1,
  0x7fffffff,
  0xffffffff,
];
const UTF8_BITS = [
  [0x61],
  [0x20],
  [0xc3, 0xa9],
  [0xe2, 0x82, 0xac],
  [0xf0, 0x9d, 0x84, 0x9e],
  [0xc3],
  [0xe2, 0x82],
  [0x80],
  [0xff],
  [0xed, 0xa0, 0x80],
  [0xc0, 0xaf],
  [0xf4, 0x90, 0x80, 0x80],
];

/** Outcome of the reference reader: the frames, or the error code the stream must raise. */
interface Outcome {
  readonly frames: WebSocketFrame[];
  readonly code: string | null;
}

function sendable(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999)
  );
}

/** A whole-buffer reader written from the spec (docs/protocol.md §3a), independent of ours. */
function reference(bytes: Uint8Array): Outcome {
  const frames: WebSocketFrame[] = [];
  const view = viewOf(bytes);
  const decoder = new TextDecoder();
  let at = 0;
  let closed = false;
  const stop = (code: string): Outcome => ({ frames, code });
  while (at < bytes.length) {
    if (closed) return stop('ERR_WS_FRAME_AFTER_CLOSE');
    if (bytes.length - at < 5) return stop('ERR_WS_FRAME_TRUNCATED');
    const opcode = bytes[at];
    const length = view.getUint32(at + 1, true);
    if (opcode !== 0x01 && opcode !== 0x02 && opcode !== 0x08) return stop('ERR_WS_FRAME_OPCODE');
    if (opcode === 0x08 && (length === 1 || length > 125)) return stop('ERR_WS_FRAME_CLOSE');
    if (opcode !== 0x08 && length > MAX) return stop('ERR_WS_FRAME_TOO_LARGE');
    if (bytes.length - at - 5 < length) return stop('ERR_WS_FRAME_TRUNCATED');
    const payload = bytes.slice(at + 5, at + 5 + length);
    at += 5 + length;
    if (opcode === 0x08) {
      closed = true;
      if (length === 0) {
        frames.push({ type: 'close', code: 1005, reason: '' });
        continue;
      }
      const code = view.getUint16(at - length, false);
      if (!sendable(code)) return stop('ERR_WS_FRAME_CLOSE');
      if (!isUtf8(payload.subarray(2))) return stop('ERR_WS_FRAME_UTF8');
      frames.push({ type: 'close', code, reason: decoder.decode(payload.subarray(2)) });
    } else if (opcode === 0x01) {
      if (!isUtf8(payload)) return stop('ERR_WS_FRAME_UTF8');
      frames.push({ type: 'text', payload });
    } else {
      frames.push({ type: 'binary', payload });
    }
  }
  return { frames, code: null };
}

function header(opcode: number, length: number): Uint8Array {
  const out = new Uint8Array(5);
  out[0] = opcode;
  viewOf(out).setUint32(1, length >>> 0, true);
  return out;
}

function randomPayload(rand: Rand, opcode: number): Uint8Array {
  if (opcode === 0x08 && rand() < 0.7) {
    const code = pick(rand, [1000, 1001, 1005, 1006, 1009, 1015, 2999, 3000, 4001, 4999, 5000]);
    const reason: number[] = [];
    for (let i = randomInt(rand, 6); i > 0; i--) reason.push(...pick(rand, UTF8_BITS));
    return concatBytes(new Uint8Array([code >>> 8, code & 0xff]), new Uint8Array(reason));
  }
  if (rand() < 0.6) {
    const out: number[] = [];
    for (let i = randomInt(rand, 12); i > 0; i--) out.push(...pick(rand, UTF8_BITS));
    return new Uint8Array(out);
  }
  return randomBytes(rand, rand() < 0.9 ? 40 : 600);
}

/** Zero to four frame-shaped pieces, lengths mostly true, sometimes off or extreme. */
function randomStream(rand: Rand): Uint8Array {
  if (rand() < 0.15) return randomBytes(rand, 64);
  const parts: Uint8Array[] = [];
  for (let i = randomInt(rand, 5); i > 0; i--) {
    const opcode = pick(rand, OPCODES);
    const payload = randomPayload(rand, opcode);
    const roll = rand();
    const length =
      roll < 0.8
        ? payload.length
        : roll < 0.9
          ? payload.length + randomInt(rand, 5) - 2
          : pick(rand, INTERESTING_LENGTHS);
    parts.push(header(opcode, length), payload);
  }
  return concatBytes(...parts);
}

const samples: Uint8Array[][] = fc
  .sample(frameSequence, { seed: SEED, numRuns: 300 })
  .map((frames) => frames.map(encodeWebSocketFrame));

/** A valid stream with one header field of one frame set to an interesting value. */
function editHeader(rand: Rand, frames: Uint8Array[]): Uint8Array {
  const copies = frames.map((f) => f.slice());
  const target = copies[randomInt(rand, copies.length)];
  if (target !== undefined) {
    if (rand() < 0.4) target[0] = pick(rand, OPCODES);
    else {
      const truth = target.length - 5;
      const length = pick(rand, [...INTERESTING_LENGTHS, truth - 1, truth + 1]);
      viewOf(target).setUint32(1, length >>> 0, true);
    }
  }
  return concatBytes(...copies);
}

function mutatedStream(rand: Rand): Uint8Array {
  const frames = pick(rand, samples);
  switch (randomInt(rand, 3)) {
    case 0:
      return editHeader(rand, frames);
    case 1:
      return mutate(rand, editHeader(rand, frames));
    default:
      return mutate(rand, concatBytes(...frames));
  }
}

describe('WebSocketFrameReader under fuzzing', () => {
  it(`100,000 chunked streams (seed ${SEED}): only WebSocketFrameError, same outcome as the reference`, () => {
    const chunking = prng(SEED + 1);
    const seen = new Set<string>();
    let framesRead = 0;

    const drive = (input: Uint8Array): void => {
      const expected = reference(input);
      const reader = new WebSocketFrameReader();
      const frames: WebSocketFrame[] = [];
      let code: string | null = null;
      let refusal: WebSocketFrameError | null = null;
      try {
        let at = 0;
        while (at < input.length) {
          const size =
            chunking() < 0.3 ? 1 + randomInt(chunking, 6) : 1 + randomInt(chunking, input.length);
          frames.push(...reader.push(input.subarray(at, at + size)));
          at += size;
          if (reader.bufferedBytes > 5 + MAX) {
            throw new Error(`reader holds ${reader.bufferedBytes} bytes`);
          }
        }
        reader.end();
      } catch (err) {
        if (!(err instanceof WebSocketFrameError)) throw err;
        refusal = err;
        code = err.code;
        seen.add(code);
      }
      if (code !== expected.code) {
        throw new Error(`reader says ${code ?? 'ok'}, the reference ${expected.code ?? 'ok'}`);
      }
      // Frames completed before an error are returned by pushes that succeeded; compare those.
      const got = bytesToHex(concatBytes(...frames.map(encodeWebSocketFrame)));
      const want = bytesToHex(concatBytes(...expected.frames.map(encodeWebSocketFrame)));
      if (code === null && got !== want) throw new Error('frames differ from the reference');
      if (code === null && got !== bytesToHex(input)) throw new Error('frames do not re-encode');
      if (!want.startsWith(got)) throw new Error('frames are not a prefix of the reference');
      framesRead += frames.length;
      // Counted as rejected by the runner, which lets only WebSocketFrameError through.
      if (refusal !== null) throw refusal;
    };

    const result = fuzz({
      seed: SEED,
      runs: RUNS,
      input: (rand, run) => (run % 2 === 0 ? randomStream(rand) : mutatedStream(rand)),
      decode: drive,
      allowed: (err) => err instanceof WebSocketFrameError,
    });
    expect(result.accepted).toBeGreaterThan(RUNS / 10);
    expect(result.rejected).toBeGreaterThan(RUNS / 10);
    expect(framesRead).toBeGreaterThan(RUNS / 4);
    expect([...seen].sort()).toEqual([
      'ERR_WS_FRAME_AFTER_CLOSE',
      'ERR_WS_FRAME_CLOSE',
      'ERR_WS_FRAME_OPCODE',
      'ERR_WS_FRAME_TOO_LARGE',
      'ERR_WS_FRAME_TRUNCATED',
      'ERR_WS_FRAME_UTF8',
    ]);
  });
});
