/**
 * Sequences of client WebSocket frames: messages of the endpoint's own kind (whole or
 * fragmented, with control frames between fragments), control frames with odd close codes,
 * and frames no server may accept (reserved opcodes and bits, no mask, fragmented control
 * frames, lengths that lie, stray continuations, invalid UTF-8).
 */
import { chance, pick, randomBytes, randomInt, weighted, type Rand } from './random.ts';
import { encodeFrame, OPCODE, type FrameSpec } from './ws-frames.ts';

export interface MessageSpec {
  readonly opcode: number;
  readonly payload: Uint8Array;
}

function maskKey(rand: Rand): Uint8Array {
  if (chance(rand, 0.05)) return new Uint8Array(4);
  return Uint8Array.from({ length: 4 }, () => randomInt(rand, 256));
}

function frame(rand: Rand, spec: Omit<FrameSpec, 'mask'>): Uint8Array {
  return encodeFrame({ ...spec, mask: maskKey(rand) });
}

/** One message, whole or in fragments, perhaps with a ping between fragments. */
function messageFrames(rand: Rand, message: MessageSpec): Uint8Array[] {
  const { opcode, payload } = message;
  if (payload.length < 2 || chance(rand, 0.75)) return [frame(rand, { opcode, payload })];
  const pieces = 2 + randomInt(rand, 3);
  const cuts = Array.from({ length: pieces - 1 }, () => randomInt(rand, payload.length + 1)).sort(
    (a, b) => a - b,
  );
  const bounds = [0, ...cuts, payload.length];
  const frames: Uint8Array[] = [];
  for (let i = 0; i < pieces; i++) {
    const part = payload.subarray(bounds[i] ?? 0, bounds[i + 1] ?? payload.length);
    const last = i === pieces - 1;
    frames.push(
      frame(rand, { opcode: i === 0 ? opcode : OPCODE.continuation, payload: part, fin: last }),
    );
    if (!last && chance(rand, 0.2))
      frames.push(frame(rand, { opcode: OPCODE.ping, payload: part.subarray(0, 8) }));
  }
  return frames;
}

const CLOSE_CODES = [
  1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1015, 0, 999, 1004, 2999,
  3000, 4999, 5000, 65535,
];

function closePayload(rand: Rand): Uint8Array {
  const code = pick(rand, CLOSE_CODES);
  const reason = weighted(rand, [
    [3, Buffer.from('bye')],
    [1, Buffer.from([0xc3, 0x28])],
    [1, Buffer.alloc(0)],
    [1, Buffer.from('x'.repeat(123))],
  ]);
  const out = Buffer.alloc(2 + reason.length);
  out.writeUInt16BE(code, 0);
  reason.copy(out, 2);
  return out;
}

function controlFrame(rand: Rand): Uint8Array {
  return weighted<() => Uint8Array>(rand, [
    [3, () => frame(rand, { opcode: OPCODE.ping, payload: randomBytes(rand, 125) })],
    [2, () => frame(rand, { opcode: OPCODE.pong, payload: randomBytes(rand, 125) })],
    [3, () => frame(rand, { opcode: OPCODE.close, payload: closePayload(rand) })],
    [1, () => frame(rand, { opcode: OPCODE.close, payload: new Uint8Array([0x03]) })],
    [1, () => frame(rand, { opcode: OPCODE.close, payload: new Uint8Array(0) })],
  ])();
}

const RESERVED_OPCODES = [0x3, 0x4, 0x5, 0x6, 0x7, 0xb, 0xc, 0xd, 0xe, 0xf];
const HUGE_LENGTHS = [
  126n,
  0xffffn,
  0x10000n,
  64n * 1024n + 1n,
  128n * 1024n + 1n,
  2n ** 31n,
  2n ** 32n,
  2n ** 53n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];

/** Frames a server must refuse, or must wait on (a length that promises more than comes). */
function brokenFrames(rand: Rand, message: MessageSpec): Uint8Array[] {
  const { opcode, payload } = message;
  return weighted<() => Uint8Array[]>(rand, [
    [2, () => [frame(rand, { opcode: pick(rand, RESERVED_OPCODES), payload })]],
    [2, () => [frame(rand, { opcode, payload, rsv: 1 + randomInt(rand, 7) })]],
    [2, () => [encodeFrame({ opcode, payload, mask: null })]],
    [
      2,
      () => [
        frame(rand, {
          opcode: pick(rand, [OPCODE.ping, OPCODE.close, OPCODE.pong]),
          payload: payload.subarray(0, 10),
          fin: false,
        }),
      ],
    ],
    [
      1,
      () => [
        frame(rand, { opcode: OPCODE.ping, payload: new Uint8Array(126 + randomInt(rand, 200)) }),
      ],
    ],
    [2, () => [frame(rand, { opcode: OPCODE.continuation, payload })]],
    [
      2,
      () => [
        frame(rand, { opcode, payload, fin: false }),
        frame(rand, { opcode: OPCODE.binary, payload }),
      ],
    ],
    [1, () => [frame(rand, { opcode, payload, fin: false })]],
    [2, () => [frame(rand, { opcode, payload, declaredLength: pick(rand, HUGE_LENGTHS) })]],
    [
      1,
      () => [
        frame(rand, {
          opcode,
          payload,
          declaredLength: BigInt(payload.length + 1 + randomInt(rand, 64)),
        }),
      ],
    ],
    [1, () => [frame(rand, { opcode, payload, lengthForm: pick(rand, ['16', '64'] as const) })]],
    [
      1,
      () => [
        frame(rand, {
          opcode: OPCODE.text,
          payload: new Uint8Array([0x7b, 0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]),
        }),
      ],
    ],
    [1, () => [frame(rand, { opcode, payload }).subarray(0, 1 + randomInt(rand, 6))]],
    [1, () => [randomBytes(rand, 40)]],
  ])();
}

/**
 * One to six steps after a successful upgrade, each one write: mostly messages from `message`,
 * some control frames, some broken frames.
 */
export function frameSequence(rand: Rand, message: (rand: Rand) => MessageSpec): Uint8Array[] {
  const writes: Uint8Array[] = [];
  const steps = 1 + randomInt(rand, 6);
  for (let i = 0; i < steps; i++) {
    writes.push(
      ...weighted<() => Uint8Array[]>(rand, [
        [12, () => messageFrames(rand, message(rand))],
        [2, () => [controlFrame(rand)]],
        [3, () => brokenFrames(rand, message(rand))],
        [
          1,
          () => [
            frame(rand, {
              opcode: pick(rand, [OPCODE.text, OPCODE.binary]),
              payload: new Uint8Array(0),
            }),
          ],
        ],
      ])(),
    );
  }
  return writes;
}
