/**
 * What goes inside the frames: PeerJS messages (text) for signaling, Wisp packets (binary) for
 * `/wisp/` and inside the tunnel, tunnel messages for `/tunnel/` before a handshake.
 *
 * fast-check samples the structured values once per run (`samplePayloadPools`); each input
 * then picks, damages and combines them with its own PRNG, which is what keeps 20,000 inputs a
 * server cheap to make and each one rebuildable from its seed.
 */
import fc from 'fast-check';
import { samplePools, textFor, type FuzzPools } from '../../protocol/test/fuzz-inputs.ts';
import { requestHead } from '../../protocol/test/fetch-head-arbitraries.ts';
import {
  clientMessageArb,
  consumerMatchRequestArb,
  volunteerPollRequestArb,
} from '../../protocol/test/signaling-arbitraries.ts';
import {
  closePacket,
  continuePacket,
  dataPacket,
  infoPacket,
} from '../../protocol/test/wisp-arbitraries.ts';
import { encodeFetchRequestHead, frameFetchHead } from '../../protocol/fetch-head.ts';
import { encodeWispPacket } from '../../protocol/wisp-codec.ts';
import { NAT_TYPES, VOLUNTEER_KINDS } from '../../protocol/matchmaking.ts';
import type { MessageSpec } from './frame-inputs.ts';
import { isSafeHost, LOOPBACK_HOSTS, POISON_CHARACTERS } from './safe-destinations.ts';
import {
  chance,
  mutate,
  pick,
  pickChar,
  randomBytes,
  randomInt,
  randomString,
  subSeed,
  weighted,
  type Rand,
} from './random.ts';
import { OPCODE } from './ws-frames.ts';

/** Local servers the egresses under test may reach (`--allow`), so some streams really open. */
export interface LocalOrigins {
  /** Echoes bytes: TCP streams. */
  readonly echoPort: number;
  /** Answers HTTP: fetch streams, and TCP streams that happen to speak HTTP. */
  readonly httpPort: number;
}

export interface PayloadPools {
  /** JSON values and texts: PeerJS messages and matchmaking bodies, valid and hostile. */
  readonly json: FuzzPools;
  /** Encoded Wisp DATA, CONTINUE, CLOSE and INFO packets (CONNECTs are made per input). */
  readonly wisp: readonly Uint8Array[];
  /** Length-prefixed fetch request heads (the first DATA of a fetch stream). */
  readonly fetchHeads: readonly Uint8Array[];
  readonly origins: LocalOrigins;
}

export function samplePayloadPools(seed: number, origins: LocalOrigins): PayloadPools {
  const wisp = fc
    .sample(fc.oneof(dataPacket, continuePacket, closePacket, infoPacket), { seed, numRuns: 400 })
    .map((packet) => encodeWispPacket(packet));
  const fetchHeads = fc
    .sample(requestHead, { seed: seed + 1, numRuns: 200 })
    .map((head) => frameFetchHead(encodeFetchRequestHead(head)));
  return {
    json: samplePools([clientMessageArb, volunteerPollRequestArb, consumerMatchRequestArb], seed),
    wisp,
    fetchHeads,
    origins,
  };
}

/** PeerJS ids the inputs share, so messages are relayed between concurrent sessions. */
export const SHARED_IDS: readonly string[] = [
  'fuzz-a',
  'fuzz-b',
  'fuzz-c',
  'fuzz-d',
  'fuzz_e',
  'F',
  'A1',
];

const TYPES = [
  'OFFER',
  'ANSWER',
  'CANDIDATE',
  'LEAVE',
  'EXPIRE',
  'HEARTBEAT',
  'OPEN',
  'ERROR',
  'ID-TAKEN',
  'INVALID-KEY',
  'offer',
  '',
  '__proto__',
];

function jsonValue(rand: Rand, pools: FuzzPools): unknown {
  const values = chance(rand, 0.5) ? pools.valid : pools.hostile;
  return values[randomInt(rand, values.length)];
}

/** A PeerJS-shaped message aimed at the shared ids, or pooled / damaged JSON text. */
export function peerjsText(rand: Rand, pools: FuzzPools): string {
  return weighted<() => string>(rand, [
    [5, () => textFor(pools, subSeed(rand))],
    [1, () => '{"type":"HEARTBEAT"}'],
    [
      5,
      () => {
        const message: Record<string, unknown> = { type: pick(rand, TYPES) };
        if (chance(rand, 0.9))
          message['dst'] = chance(rand, 0.8) ? pick(rand, SHARED_IDS) : jsonValue(rand, pools);
        if (chance(rand, 0.8)) {
          message['payload'] = chance(rand, 0.7)
            ? {
                sdp: { type: 'offer', sdp: randomString(rand, 'v=0\r\nabc ', 40) },
                connectionId: 'dc_1',
              }
            : jsonValue(rand, pools);
        }
        if (chance(rand, 0.1)) message['src'] = pick(rand, SHARED_IDS);
        return JSON.stringify(message) ?? '';
      },
    ],
  ])();
}

/** Many signals for one id that is never online: they queue until EXPIRE, or hit the limits. */
export function peerjsFlood(rand: Rand): Uint8Array[] {
  const dst = `offline-${randomInt(rand, 4)}`;
  const text = JSON.stringify({
    type: 'OFFER',
    dst,
    payload: { sdp: 'x'.repeat(randomInt(rand, 2000)) },
  });
  return Array.from({ length: 150 }, () => Buffer.from(text));
}

export function peerjsMessage(pools: PayloadPools): (rand: Rand) => MessageSpec {
  return (rand) =>
    chance(rand, 0.95)
      ? { opcode: OPCODE.text, payload: Buffer.from(peerjsText(rand, pools.json), 'utf8') }
      : { opcode: OPCODE.binary, payload: randomBytes(rand, 64) };
}

const HOST_TEXT = 'abcxyz0123456789.-_:[]%';

/** A hostname that never leads anywhere but this machine (see safe-destinations.ts). */
export function safeHostname(rand: Rand): string {
  if (chance(rand, 0.5)) return pick(rand, LOOPBACK_HOSTS);
  const text = randomString(rand, HOST_TEXT, 20);
  const at = randomInt(rand, text.length + 1);
  const host = text.slice(0, at) + pickChar(rand, POISON_CHARACTERS) + text.slice(at);
  return isSafeHost(host) ? host : '!';
}

/** Small ids most of the time, so DATA, CONTINUE and CLOSE meet the streams CONNECT opened. */
function streamId(rand: Rand): number {
  return weighted<() => number>(rand, [
    [8, () => 1 + randomInt(rand, 4)],
    [1, () => 0],
    [1, () => 0xffff_ffff],
    [1, () => randomInt(rand, 0x1_0000_0000)],
  ])();
}

function withStreamId(packet: Uint8Array, id: number): Uint8Array {
  const out = packet.slice();
  if (out.length >= 5) new DataView(out.buffer).setUint32(1, id, true);
  return out;
}

function connectTo(id: number, streamType: number, host: string, port: number): Uint8Array {
  const name = Buffer.from(host, 'utf8');
  const out = Buffer.alloc(8 + name.length);
  out[0] = 0x01;
  out.writeUInt32LE(id, 1);
  out[5] = streamType;
  out.writeUInt16LE(port, 6);
  name.copy(out, 8);
  return out;
}

function connectPacket(rand: Rand, origins: LocalOrigins, fetch: boolean): Uint8Array {
  const toOrigin = chance(rand, 0.6);
  const streamType = weighted<() => number>(rand, [
    [6, () => 0x01],
    [fetch ? 4 : 1, () => 0x80],
    [1, () => 0x02],
    [1, () => randomInt(rand, 256)],
  ])();
  if (!toOrigin) {
    const port = pick(rand, [0, 1, 25, 80, 443, 65535, randomInt(rand, 65536)]);
    return connectTo(streamId(rand), streamType, safeHostname(rand), port);
  }
  const http = streamType === 0x80 || chance(rand, 0.3);
  return connectTo(
    streamId(rand),
    streamType,
    '127.0.0.1',
    http ? origins.httpPort : origins.echoPort,
  );
}

function dataPacketWith(id: number, payload: Uint8Array): Uint8Array {
  const out = Buffer.alloc(5 + payload.length);
  out[0] = 0x02;
  out.writeUInt32LE(id, 1);
  out.set(payload, 5);
  return out;
}

function fetchHeadFor(rand: Rand, origins: LocalOrigins): Uint8Array {
  const path = pick(rand, [
    '/',
    '/gzip',
    '/redirect',
    '/big',
    '/chunked',
    '/empty',
    '/slow',
    '/x?y=1',
  ]);
  return frameFetchHead(
    encodeFetchRequestHead({
      method: pick(rand, ['GET', 'POST', 'HEAD', 'PUT', 'OPTIONS']),
      url: `http://127.0.0.1:${origins.httpPort}${path}`,
      headers: chance(rand, 0.5)
        ? [
            ['accept-encoding', 'gzip'],
            ['x-a', 'b'],
          ]
        : [],
      hasBody: chance(rand, 0.3),
    }),
  );
}

/** One Wisp packet: a CONNECT, a pooled packet, a fetch head, or any of those damaged. */
export function wispPacket(rand: Rand, pools: PayloadPools, fetch: boolean): Uint8Array {
  const pooled = (): Uint8Array => {
    const packet = pick(rand, pools.wisp);
    return chance(rand, 0.7) ? withStreamId(packet, streamId(rand)) : packet;
  };
  return weighted<() => Uint8Array>(rand, [
    [4, () => connectPacket(rand, pools.origins, fetch)],
    [5, pooled],
    [2, () => dataPacketWith(streamId(rand), randomBytes(rand, 200))],
    [
      fetch ? 3 : 1,
      () =>
        dataPacketWith(
          streamId(rand),
          chance(rand, 0.6) ? fetchHeadFor(rand, pools.origins) : pick(rand, pools.fetchHeads),
        ),
    ],
    [1, () => dataPacketWith(streamId(rand), new Uint8Array(0))],
    [2, () => mutate(rand, pooled())],
    [1, () => pooled().subarray(0, randomInt(rand, 9))],
    [1, () => randomBytes(rand, 32)],
  ])();
}

function continueFor(id: number, credit: number): Uint8Array {
  const out = Buffer.alloc(9);
  out[0] = 0x03;
  out.writeUInt32LE(id, 1);
  out.writeUInt32LE(credit, 5);
  return out;
}

function closeFor(id: number, reason: number): Uint8Array {
  return Buffer.from([0x04, id & 0xff, (id >>> 8) & 0xff, (id >>> 16) & 0xff, id >>> 24, reason]);
}

/** Past the limits: more streams than a connection may hold, or DATA far past the window. */
function flood(rand: Rand, origins: LocalOrigins): Uint8Array[] {
  if (chance(rand, 0.5)) {
    // Port 1 is not allowed: the egress refuses these streams without dialling anything.
    return Array.from({ length: 300 }, (_, i) => connectTo(100 + i, 0x01, '127.0.0.1', 1));
  }
  const id = 99;
  const data = dataPacketWith(id, Buffer.alloc(64, 0x61));
  return [
    connectTo(id, 0x01, '127.0.0.1', origins.echoPort),
    ...Array.from({ length: 400 }, () => data),
  ];
}

/**
 * What a real client does, more or less: open a stream to a local origin (TCP, or fetch in the
 * tunnel), send it a request or bytes, give credit, open another, close one, end; with the odd
 * packet for a stream that is not open.
 */
export function scriptedPackets(rand: Rand, pools: PayloadPools, fetch: boolean): Uint8Array[] {
  const { origins } = pools;
  const packets: Uint8Array[] = [];
  const open = new Map<number, 'echo' | 'http' | 'fetch'>();
  const openStream = (): void => {
    const id = 1 + randomInt(rand, 6);
    const kind = weighted<'echo' | 'http' | 'fetch'>(rand, [
      [3, 'echo'],
      [2, 'http'],
      [fetch ? 4 : 0, 'fetch'],
    ]);
    const port = kind === 'echo' ? origins.echoPort : origins.httpPort;
    packets.push(connectTo(id, kind === 'fetch' ? 0x80 : 0x01, '127.0.0.1', port));
    open.set(id, kind);
  };
  openStream();
  const steps = 1 + randomInt(rand, 10);
  for (let i = 0; i < steps; i++) {
    const ids = [...open.keys()];
    const id = ids.length > 0 && chance(rand, 0.9) ? pick(rand, ids) : 1 + randomInt(rand, 6);
    const kind = open.get(id);
    weighted<() => void>(rand, [
      [
        6,
        () => {
          const payload =
            kind === 'fetch'
              ? fetchHeadFor(rand, origins)
              : kind === 'http'
                ? Buffer.from(
                    `GET /${pick(rand, ['', 'gzip', 'big', 'slow'])} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
                  )
                : randomBytes(rand, pick(rand, [16, 1000, 8000]));
          packets.push(dataPacketWith(id, payload));
        },
      ],
      [
        2,
        () =>
          packets.push(
            continueFor(chance(rand, 0.5) ? 0 : id, pick(rand, [0, 1, 128, 0xffff_ffff])),
          ),
      ],
      [2, openStream],
      [
        1,
        () => {
          packets.push(closeFor(id, pick(rand, [0x01, 0x02, 0x03, 0x41, 0xff])));
          open.delete(id);
        },
      ],
      [1, () => packets.push(dataPacketWith(id, new Uint8Array(0)))],
    ])();
  }
  if (chance(rand, 0.05)) packets.push(...flood(rand, origins));
  if (chance(rand, 0.15)) packets.push(closeFor(0, 0x02));
  return packets;
}

/** A binary message for `/wisp/`: mostly one Wisp packet, sometimes text or a v2 INFO. */
export function wispMessage(pools: PayloadPools): (rand: Rand) => MessageSpec {
  return (rand) =>
    chance(rand, 0.97)
      ? { opcode: OPCODE.binary, payload: wispPacket(rand, pools, false) }
      : { opcode: OPCODE.text, payload: Buffer.from(randomString(rand, 'abc{}"', 10)) };
}

/** Tunnel messages from someone without the handshake: wrong kinds, short, long, random. */
export function tunnelGarbage(rand: Rand): Uint8Array {
  const kind = pick(rand, [0x00, 0x01, 0x02, 0x02, 0x03, 0x04, 0x04, 0x05, 0xff]);
  const body = randomBytes(rand, pick(rand, [0, 1, 32, 48, 64, 200]));
  return weighted<() => Uint8Array>(rand, [
    [6, () => Buffer.concat([Buffer.from([kind]), body])],
    [
      2,
      () => Buffer.concat([Buffer.from([0x02, pick(rand, [0, 1, 2, 255])]), randomBytes(rand, 96)]),
    ],
    [1, () => new Uint8Array(0)],
    [
      1,
      () => Buffer.concat([Buffer.from([0x04]), Buffer.alloc(16 * 1024 + randomInt(rand, 3) - 1)]),
    ],
  ])();
}

export function tunnelMessage(rand: Rand): MessageSpec {
  return chance(rand, 0.95)
    ? { opcode: OPCODE.binary, payload: tunnelGarbage(rand) }
    : { opcode: OPCODE.text, payload: Buffer.from('hello') };
}

/**
 * The fields of a volunteer poll or a consumer match besides id and token: mostly valid, some
 * out of range or of the wrong type; now and then an `id` or `token` that overrides the
 * session's own.
 */
export function matchmakingFields(rand: Rand, pools: FuzzPools): Record<string, unknown> {
  const field = (valid: () => unknown): unknown =>
    chance(rand, 0.85) ? valid() : jsonValue(rand, pools);
  const fields: Record<string, unknown> = {
    nat: field(() => pick(rand, NAT_TYPES)),
    slots: field(() => randomInt(rand, 9)),
    kind: field(() => pick(rand, VOLUNTEER_KINDS)),
    count: field(() => 1 + randomInt(rand, 4)),
  };
  if (chance(rand, 0.3)) fields['pool'] = field(() => 'ab'.repeat(32));
  if (chance(rand, 0.05)) fields[pick(rand, ['id', 'token'])] = jsonValue(rand, pools);
  return fields;
}
