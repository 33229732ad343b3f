/**
 * A fuzz input is everything sent on one connection. Four kinds:
 * - `raw`: bytes written as they are (requests, pipelined requests, an upgrade with frames
 *   right behind it), in one or more writes;
 * - `upgrade`: an upgrade request; once the server answers 101, frames;
 * - `peerjs`: a real PeerJS session (maybe `GET {key}/id` first on the same connection, then
 *   the upgrade with key, id and token, then OPEN), frames after it, and maybe a matchmaking
 *   POST with the session's id and token on a second connection;
 * - `tunnel`: an upgrade on `/tunnel/`, maybe a real Noise handshake with the egress's key,
 *   then sealed Wisp packets and garbage.
 */
import {
  cleanUpgrade,
  binary,
  knownPaths,
  ODD_TARGETS,
  randomRequest,
  socketKey,
  socketPaths,
  upgradeRequest,
  upgradeTarget,
  query,
  utf8,
} from './http-inputs.ts';
import { frameSequence, type MessageSpec } from './frame-inputs.ts';
import {
  matchmakingFields,
  peerjsFlood,
  peerjsMessage,
  scriptedPackets,
  SHARED_IDS,
  tunnelMessage,
  wispMessage,
  wispPacket,
  type PayloadPools,
} from './message-inputs.ts';
import type { ServerSurface } from './processes.ts';
import {
  chance,
  pick,
  randFor,
  randomBytes,
  randomInt,
  randomString,
  weighted,
  type Rand,
} from './random.ts';
import { isSafeConnectionBytes, isSafeFrameBytes, isSafeWispMessage } from './safe-destinations.ts';
import { dataFrame, OPCODE } from './ws-frames.ts';

export type Finish = 'fin' | 'reset';

/** Timing of a session: most send everything at once and hang up; some take their time. */
export interface Pace {
  /** Pause between writes after the handshake. */
  readonly gapMs: number;
  /** Time to keep reading after the last write, before hanging up. */
  readonly lingerMs: number;
}

export interface RawInput {
  readonly kind: 'raw';
  readonly bytes: Uint8Array;
  /** Offsets at which the bytes are cut into separate writes. */
  readonly splits: readonly number[];
  readonly finish: Finish;
}

export interface UpgradeInput {
  readonly kind: 'upgrade';
  readonly request: Uint8Array;
  /** Written one by one after a 101; nothing is written without one. */
  readonly frames: readonly Uint8Array[];
  readonly pace: Pace;
  readonly finish: Finish;
}

export interface PeerjsInput {
  readonly kind: 'peerjs';
  /** Where signaling is mounted ('/' or '/signal/'). */
  readonly base: string;
  /** Ask `GET {base}peerjs/id` first, on the same connection, and use that id. */
  readonly askId: boolean;
  readonly id: string;
  readonly token: string;
  /** More query parameters after key, id and token. */
  readonly query: string;
  /** A matchmaking request made with the session's id and token once it is open. */
  readonly post: { readonly path: string; readonly fields: Record<string, unknown> } | undefined;
  readonly frames: readonly Uint8Array[];
  readonly pace: Pace;
  readonly finish: Finish;
}

export type TunnelStep = { readonly sealed: Uint8Array } | { readonly raw: Uint8Array };

export interface TunnelInput {
  readonly kind: 'tunnel';
  /** Complete the Noise handshake with the egress's real key before the steps. */
  readonly handshake: boolean;
  readonly steps: readonly TunnelStep[];
  readonly pace: Pace;
  readonly finish: Finish;
}

export type FuzzInput = RawInput | UpgradeInput | PeerjsInput | TunnelInput;

export interface InputContext {
  readonly surface: ServerSurface;
  readonly pools: PayloadPools;
}

function finish(rand: Rand): Finish {
  return chance(rand, 0.9) ? 'fin' : 'reset';
}

function pace(rand: Rand): Pace {
  return {
    gapMs: chance(rand, 0.1) ? 1 + randomInt(rand, 20) : 0,
    lingerMs: chance(rand, 0.2) ? 10 + randomInt(rand, 150) : 0,
  };
}

/** Masked binary frames, one per message, mostly well formed; fuzzed frames after, sometimes. */
function packetFrames(
  rand: Rand,
  packets: readonly Uint8Array[],
  tail: () => Uint8Array[],
): Uint8Array[] {
  const frames = packets.map((packet) => dataFrame(OPCODE.binary, packet));
  if (chance(rand, 0.3)) frames.push(...tail());
  return frames;
}

function splits(rand: Rand, length: number): number[] {
  if (length < 2 || chance(rand, 0.6)) return [];
  return Array.from({ length: 1 + randomInt(rand, 3) }, () => 1 + randomInt(rand, length - 1)).sort(
    (a, b) => a - b,
  );
}

function raw(rand: Rand, text: string | Uint8Array): RawInput {
  const bytes = typeof text === 'string' ? binary(text) : text;
  return { kind: 'raw', bytes, splits: splits(rand, bytes.length), finish: finish(rand) };
}

/** What to put in frames for whichever endpoint a target seems to be aimed at. */
function messagesFor(requestTarget: string, pools: PayloadPools): (rand: Rand) => MessageSpec {
  if (requestTarget.includes('peerjs')) return peerjsMessage(pools);
  if (requestTarget.includes('wisp')) return wispMessage(pools);
  if (requestTarget.includes('tunnel')) return tunnelMessage;
  return (rand) => pick(rand, [peerjsMessage(pools), wispMessage(pools), tunnelMessage])(rand);
}

const INFO_V2 = new Uint8Array([0x05, 0, 0, 0, 0, 2, 0]);

function wispSession(rand: Rand, pools: PayloadPools): UpgradeInput {
  const v2 = chance(rand, 0.3);
  const fuzzed = (): Uint8Array[] => frameSequence(rand, wispMessage(pools));
  const frames = chance(rand, 0.5)
    ? packetFrames(rand, scriptedPackets(rand, pools, false), fuzzed)
    : fuzzed();
  if (v2 && chance(rand, 0.8)) frames.unshift(dataFrame(OPCODE.binary, INFO_V2));
  const protocol = v2
    ? [`Sec-WebSocket-Protocol: ${pick(rand, ['wisp-v2', 'wisp-v2, x', 'x, wisp-v2'])}`]
    : [];
  return {
    kind: 'upgrade',
    request: binary(cleanUpgrade('/wisp/', socketKey(rand), protocol)),
    frames,
    pace: pace(rand),
    finish: finish(rand),
  };
}

function fuzzedUpgrade(rand: Rand, context: InputContext): UpgradeInput {
  const requestTarget = upgradeTarget(rand, context.surface);
  return {
    kind: 'upgrade',
    request: binary(upgradeRequest(rand, requestTarget)),
    frames: frameSequence(rand, messagesFor(requestTarget, context.pools)),
    pace: pace(rand),
    finish: finish(rand),
  };
}

function pipelinedUpgrade(rand: Rand, context: InputContext): RawInput {
  const requestTarget = upgradeTarget(rand, context.surface);
  const frames = frameSequence(rand, messagesFor(requestTarget, context.pools));
  return raw(rand, Buffer.concat([binary(upgradeRequest(rand, requestTarget)), ...frames]));
}

function pipelinedRequests(rand: Rand, context: InputContext): RawInput {
  const count = chance(rand, 0.8) ? 1 : 2 + randomInt(rand, 2);
  const requests = Array.from({ length: count }, () =>
    randomRequest(rand, context.surface, context.pools.json),
  );
  return raw(rand, requests.join(''));
}

function peerjsSession(rand: Rand, context: InputContext, base: string): PeerjsInput {
  const post = chance(rand, 0.3)
    ? {
        path: `${base}${pick(rand, ['v1/volunteer/poll', 'v1/consumer/match'])}`,
        fields: matchmakingFields(rand, context.pools.json),
      }
    : undefined;
  return {
    kind: 'peerjs',
    base,
    askId: chance(rand, 0.3),
    id: chance(rand, 0.7)
      ? pick(rand, SHARED_IDS)
      : `fuzz-${randomString(rand, 'abcdefghij0123456789', 10) || 'x'}`,
    token: chance(rand, 0.8)
      ? pick(rand, ['tok-1', 'tok-2'])
      : randomString(rand, '!#$%&()*+,-./0123456789:;<=>?@AZaz[]^_`{|}~', 20) || 't',
    // No line breaks: the request line must stay one line, so that frames are only frames.
    query: chance(rand, 0.2) ? `&${query(rand).replace(/[\r\n]/g, '')}` : '',
    post,
    frames: chance(rand, 0.03)
      ? peerjsFlood(rand).map((text) => dataFrame(OPCODE.text, text))
      : frameSequence(rand, peerjsMessage(context.pools)),
    pace: pace(rand),
    finish: finish(rand),
  };
}

function sealedStep(packet: Uint8Array): TunnelStep {
  return { sealed: isSafeWispMessage(packet) ? packet : new Uint8Array(0) };
}

function tunnelSession(rand: Rand, context: InputContext): TunnelInput {
  const handshake = chance(rand, 0.7);
  const steps: TunnelStep[] = [];
  if (handshake && chance(rand, 0.5)) {
    steps.push(...scriptedPackets(rand, context.pools, true).map(sealedStep));
  }
  const count = randomInt(rand, 8);
  for (let i = 0; i < count; i++) {
    if (handshake && chance(rand, 0.85)) {
      const packet = weighted<() => Uint8Array>(rand, [
        [12, () => wispPacket(rand, context.pools, true)],
        [1, () => new Uint8Array(0)],
        [1, () => randomBytes(rand, 64)],
      ])();
      steps.push(sealedStep(packet));
    } else {
      steps.push({ raw: dataFrame(OPCODE.binary, tunnelMessage(rand).payload) });
    }
  }
  if (chance(rand, 0.2))
    steps.push(...frameSequence(rand, tunnelMessage).map((frame) => ({ raw: frame })));
  return { kind: 'tunnel', handshake, steps, pace: pace(rand), finish: finish(rand) };
}

function anyInput(rand: Rand, context: InputContext): FuzzInput {
  const { surface } = context;
  const base = surface.signalPath;
  const choices: [number, () => FuzzInput][] = [
    [30, () => pipelinedRequests(rand, context)],
    [8, () => pipelinedUpgrade(rand, context)],
    [14, () => fuzzedUpgrade(rand, context)],
  ];
  if (base !== undefined)
    choices.push([surface.egress ? 18 : 30, () => peerjsSession(rand, context, base)]);
  if (surface.egress) {
    choices.push(
      [14, () => wispSession(rand, context.pools)],
      [10, () => tunnelSession(rand, context)],
    );
  }
  return weighted(rand, choices)();
}

/** True when the input cannot make an egress reach beyond this machine. */
function isSafe(input: FuzzInput, surface: ServerSurface): boolean {
  if (!surface.egress) return true;
  switch (input.kind) {
    case 'raw':
      return isSafeConnectionBytes(input.bytes);
    case 'upgrade':
      return isSafeConnectionBytes(Buffer.concat([input.request, ...input.frames]));
    case 'peerjs':
      return isSafeFrameBytes(input.frames);
    case 'tunnel':
      return true;
  }
}

export interface GeneratedInput {
  readonly input: FuzzInput;
  /** How many drafts were thrown away because they could have reached another machine. */
  readonly unsafeDrafts: number;
}

/** Random input `index` of a run with `seed`: rebuilt exactly from those two numbers. */
export function randomInput(seed: number, index: number, context: InputContext): GeneratedInput {
  for (let attempt = 0; attempt < 8; attempt++) {
    const input = anyInput(randFor(seed, index * 8 + attempt), context);
    if (isSafe(input, context.surface)) return { input, unsafeDrafts: attempt };
  }
  return {
    input: { kind: 'raw', bytes: binary('GET / HTTP/1.1\r\n\r\n'), splits: [], finish: 'fin' },
    unsafeDrafts: 8,
  };
}

function request(
  method: string,
  requestTarget: string,
  lines: readonly string[] = ['Host: 127.0.0.1'],
  body = '',
): string {
  return [`${method} ${requestTarget} HTTP/1.1`, ...lines, '', body].join('\r\n');
}

/** Inputs chosen by hand: the odd targets on every method and as upgrades, and header classics. */
export function handPickedInputs(surface: ServerSurface): FuzzInput[] {
  const text = (bytes: string): FuzzInput => ({
    kind: 'raw',
    bytes: binary(bytes),
    splits: [],
    finish: 'fin',
  });
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const targets = [...ODD_TARGETS, ...knownPaths(surface)];
  const inputs: FuzzInput[] = [];
  for (const requestTarget of targets) {
    inputs.push(text(request('GET', requestTarget)));
    inputs.push(text(cleanUpgrade(requestTarget, key)));
    inputs.push(text(request('POST', requestTarget, ['Host: x', 'Content-Length: 2'], '{}')));
    inputs.push(text(request('OPTIONS', requestTarget, ['Host: x', 'Origin: http://a.example'])));
    inputs.push(text(request('HEAD', requestTarget)));
  }
  for (const authority of ['127.0.0.1:80', '[::1]:0', 'a:b', 'localhost', '//[', '']) {
    inputs.push(text(request('CONNECT', authority, [`Host: ${authority}`])));
  }
  const path =
    surface.signalPath === undefined ? '/metrics' : `${surface.signalPath}v1/consumer/match`;
  for (const lines of [
    ['Host: x', 'Content-Length: 5', 'Transfer-Encoding: chunked'],
    ['Host: x', 'Content-Length: 5', 'Content-Length: 6'],
    ['Host: x', 'Content-Length: -1'],
    ['Host: x', 'Content-Length: 99999999999999999999'],
    ['Host: x', 'Transfer-Encoding: gzip, chunked'],
    ['Host: x', 'Transfer-Encoding: chunked, identity'],
    ['Host: x', 'X-Fold: a', ' b'],
    ['Host: x', 'Host: y'],
    [],
    ['Host: x', `X-Big: ${'a'.repeat(70_000)}`],
    ['Host: x', `Origin: ${utf8('http://ü.example')}`],
  ]) {
    inputs.push(text(request('POST', path, lines, '5\r\nhello\r\n0\r\n\r\n')));
  }
  // Upgrades the server refuses, from a client that resets the connection at once.
  for (const requestTarget of ['/nowhere', '*', ...socketPaths(surface)]) {
    const bytes = Buffer.concat([binary(cleanUpgrade(requestTarget, key)), Buffer.alloc(64, 0x85)]);
    inputs.push({ kind: 'raw', bytes, splits: [], finish: 'reset' });
  }
  // Bodies that end early: the client hangs up while the server reads them.
  for (const lines of [['Content-Length: 100'], ['Transfer-Encoding: chunked']]) {
    inputs.push(text(request('POST', path, ['Host: x', ...lines], '{"id":')));
  }
  return inputs;
}
