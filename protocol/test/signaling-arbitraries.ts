/**
 * fast-check arbitraries of valid signaling values: PeerJS messages and matchmaking bodies.
 * The round-trip tests use them directly; the fuzz tests mutate them (`fuzz-inputs.ts`).
 */
import fc from 'fast-check';
import { bytesToBase64url, bytesToHex } from '../bytes.ts';
import type { JsonObject } from '../json-value.ts';
import { MAX_SIGNALING_MESSAGE_BYTES } from '../limits.ts';
import {
  MATCHMAKING_ERROR_CODES,
  MAX_HAVE,
  MAX_MATCH_COUNT,
  MAX_VOLUNTEER_SLOTS,
  NAT_TYPES,
  VOLUNTEER_KINDS,
  type ConsumerMatchRequest,
  type ConsumerMatchResponse,
  type EgressInfo,
  type MatchmakingError,
  type VolunteerPollRequest,
  type VolunteerPollResponse,
} from '../matchmaking.ts';
import type { IceServer, SignalingConfig } from '../signaling-config.ts';
import {
  HEARTBEAT,
  NOTICE_TYPES,
  REFUSAL_TYPES,
  SIGNAL_TYPES,
  OPEN,
  type ClientMessage,
  type ServerMessage,
} from '../peerjs-messages.ts';

const chars = (alphabet: string) => fc.constantFrom(...alphabet.split(''));
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

const word = fc.string({ unit: chars(ALNUM), minLength: 1, maxLength: 8 });

export const peerIdArb: fc.Arbitrary<string> = fc
  .tuple(word, fc.array(fc.tuple(chars(' _-'), word), { maxLength: 6 }))
  .map(([first, rest]) => first + rest.map(([sep, w]) => sep + w).join(''))
  .filter((id) => id.length <= 64);

export const tokenArb: fc.Arbitrary<string> = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((code) => String.fromCharCode(code)),
  minLength: 1,
  maxLength: 128,
});

/** JSON objects as a peerjs payload: finite numbers, no `-0` (JSON has none). */
export function payloadOf(maxDepth: number): fc.Arbitrary<JsonObject> {
  return fc
    .dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth }), { maxKeys: 4 })
    .map((value): JsonObject => {
      const copy: unknown = JSON.parse(JSON.stringify(value));
      if (typeof copy !== 'object' || copy === null || Array.isArray(copy)) {
        throw new TypeError('payloadOf: not an object');
      }
      return Object.fromEntries(Object.entries(copy));
    });
}

export const payloadArb: fc.Arbitrary<JsonObject> = fc.oneof(
  { arbitrary: payloadOf(1), weight: 4 },
  { arbitrary: payloadOf(4), weight: 1 },
);

/** A peerjs-style OFFER payload, the shape the real client sends. */
export const offerPayloadArb = fc.record({
  sdp: fc.record({ type: fc.constant('offer'), sdp: fc.string({ maxLength: 200 }) }),
  type: fc.constantFrom('data', 'media'),
  connectionId: fc.string({ minLength: 1, maxLength: 20 }),
  label: fc.string({ maxLength: 20 }),
  serialization: fc.constantFrom('binary', 'json', 'raw'),
  reliable: fc.boolean(),
});

export const clientMessageArb: fc.Arbitrary<ClientMessage> = fc.oneof(
  fc.constant({ type: HEARTBEAT }),
  fc.record({
    type: fc.constantFrom(...SIGNAL_TYPES),
    dst: peerIdArb,
    payload: fc.oneof(payloadArb, offerPayloadArb),
  }),
  fc.record(
    { type: fc.constantFrom(...NOTICE_TYPES), dst: peerIdArb, payload: payloadArb },
    { requiredKeys: ['type', 'dst'] },
  ),
);

export const serverMessageArb: fc.Arbitrary<ServerMessage> = fc.oneof(
  fc.constant({ type: OPEN }),
  fc.record({
    type: fc.constantFrom(...REFUSAL_TYPES),
    payload: fc.record({ msg: fc.string({ maxLength: 100 }) }),
  }),
  fc.record({
    type: fc.constantFrom(...SIGNAL_TYPES),
    src: peerIdArb,
    dst: peerIdArb,
    payload: payloadArb,
  }),
  fc.record(
    { type: fc.constantFrom(...NOTICE_TYPES), src: peerIdArb, dst: peerIdArb, payload: payloadArb },
    { requiredKeys: ['type', 'src', 'dst'] },
  ),
);

export const poolArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToHex);
export const publicKeyArb = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(bytesToBase64url);
export const countryArb = fc.oneof(
  fc.constant('??'),
  fc.string({ unit: chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ'), minLength: 2, maxLength: 2 }),
);
const natArb = fc.constantFrom(...NAT_TYPES);

export const volunteerPollRequestArb: fc.Arbitrary<VolunteerPollRequest> = fc.record(
  {
    id: peerIdArb,
    token: tokenArb,
    slots: fc.integer({ min: 0, max: MAX_VOLUNTEER_SLOTS }),
    nat: natArb,
    kind: fc.constantFrom(...VOLUNTEER_KINDS),
    pool: poolArb,
  },
  { requiredKeys: ['id', 'token', 'slots', 'nat', 'kind'] },
);

export const volunteerPollResponseArb: fc.Arbitrary<VolunteerPollResponse> = fc.record({
  match: fc.option(fc.record({ consumer: peerIdArb, cc: countryArb }), { nil: null }),
});

export const consumerMatchRequestArb: fc.Arbitrary<ConsumerMatchRequest> = fc.record(
  {
    id: peerIdArb,
    token: tokenArb,
    count: fc.integer({ min: 1, max: MAX_MATCH_COUNT }),
    nat: natArb,
    pool: poolArb,
    have: fc.array(peerIdArb, { maxLength: MAX_HAVE }),
  },
  { requiredKeys: ['id', 'token', 'count', 'nat'] },
);

const segment = fc.string({ unit: chars(`${ALNUM}-._~`), minLength: 1, maxLength: 10 });

export const egressUrlArb: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('ws', 'wss'),
    fc.oneof(
      fc.domain(),
      fc.ipV4(),
      fc.ipV6().map((ip) => `[${ip}]`),
    ),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
    fc.array(segment, { maxLength: 3 }),
  )
  .map(([scheme, host, port, path]) => {
    const authority = port === undefined ? host : `${host}:${port}`;
    const tail = path.map((part) => `${part}/`).join('');
    return new URL(`${scheme}://${authority}/${tail}`).href;
  });

const egressIdArb = fc.string({ unit: chars(`${ALNUM}._-`), minLength: 1, maxLength: 64 });

export const egressArb: fc.Arbitrary<EgressInfo> = fc.record({
  id: egressIdArb,
  url: egressUrlArb,
  publicKey: publicKeyArb,
});

export const egressesArb: fc.Arbitrary<readonly EgressInfo[]> = fc.uniqueArray(egressArb, {
  maxLength: 4,
  selector: (egress) => egress.id,
});

export const consumerMatchResponseArb: fc.Arbitrary<ConsumerMatchResponse> = fc.record({
  volunteers: fc
    .uniqueArray(peerIdArb, { minLength: 1, maxLength: MAX_MATCH_COUNT })
    .map((ids) => ids.map((id) => ({ id }))),
  egresses: egressesArb,
});

export const matchmakingErrorArb: fc.Arbitrary<MatchmakingError> = fc.record(
  { error: fc.constantFrom(...MATCHMAKING_ERROR_CODES), message: fc.string({ maxLength: 100 }) },
  { requiredKeys: ['error'] },
);

const hostArb = fc.oneof(fc.domain(), fc.ipV4());
const iceUrlArb = fc
  .tuple(
    fc.constantFrom('stun', 'stuns', 'turn', 'turns'),
    hostArb,
    fc.integer({ min: 1, max: 65535 }),
  )
  .map(([scheme, host, port]) => `${scheme}:${host}:${port}`);

export const iceServerArb: fc.Arbitrary<IceServer> = fc
  .record({
    urls: fc.oneof(iceUrlArb, fc.array(iceUrlArb, { minLength: 1, maxLength: 4 })),
    username: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
    credential: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
  })
  .map(({ urls, username, credential }): IceServer => {
    const list = typeof urls === 'string' ? [urls] : urls;
    const turn = list.some((url) => url.startsWith('turn'));
    const user = username ?? (turn ? 'user' : undefined);
    const secret = credential ?? (turn ? 'secret' : undefined);
    return {
      urls,
      ...(user === undefined ? {} : { username: user }),
      ...(secret === undefined ? {} : { credential: secret }),
    };
  });

export const signalingConfigArb: fc.Arbitrary<SignalingConfig> = fc.record({
  iceServers: fc.array(iceServerArb, { maxLength: 4 }),
  egresses: egressesArb,
  limits: fc.record({
    maxTunnelMessageBytes: fc.integer({ min: 1, max: 16 * 1024 }),
    maxSignalingMessageBytes: fc.integer({ min: 1, max: MAX_SIGNALING_MESSAGE_BYTES }),
    maxConsumerVolunteers: fc.integer({ min: 1, max: MAX_MATCH_COUNT }),
    maxVolunteerSlots: fc.integer({ min: 1, max: MAX_VOLUNTEER_SLOTS }),
    pollTimeoutMs: fc.integer({ min: 1, max: 3_600_000 }),
    matchTimeoutMs: fc.integer({ min: 1, max: 3_600_000 }),
    aliveTimeoutMs: fc.integer({ min: 1, max: 3_600_000 }),
  }),
  country: countryArb,
});
