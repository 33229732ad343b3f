import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64urlToBytes, bytesToBase64url } from '../bytes.ts';
import { SchemaError, type SchemaErrorCode } from '../errors.ts';
import { MAX_SIGNALING_MESSAGE_BYTES } from '../limits.ts';
import {
  isCountryCode,
  isEgressUrl,
  isPoolTag,
  MATCHMAKING_ERROR_CODES,
  matchmakingErrorStatus,
  NAT_TYPES,
  parseConsumerMatchRequest,
  parseConsumerMatchResponse,
  parseEgressInfo,
  parseJsonBody,
  parseMatchmakingError,
  parseVolunteerPollRequest,
  parseVolunteerPollResponse,
  VOLUNTEER_KINDS,
} from '../matchmaking.ts';
import { parseSignalingConfig } from '../signaling-config.ts';
import {
  consumerMatchRequestArb,
  consumerMatchResponseArb,
  egressArb,
  matchmakingErrorArb,
  publicKeyArb,
  signalingConfigArb,
  volunteerPollRequestArb,
  volunteerPollResponseArb,
} from './signaling-arbitraries.ts';

const SEED = 0x5eed;
const POOL = 'a'.repeat(64);
const KEY = bytesToBase64url(new Uint8Array(32).fill(7));
const EGRESS = { id: 'eu-1', url: 'wss://egress.example.org/', publicKey: KEY };

function expectRejected(
  run: () => unknown,
  path: string,
  code: SchemaErrorCode = 'ERR_SCHEMA_INVALID',
): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  if (!(caught instanceof SchemaError)) {
    throw new Error(`expected a SchemaError at ${JSON.stringify(path)}, got ${String(caught)}`);
  }
  expect({ code: caught.code, path: caught.path }).toEqual({ code, path });
}

/** `base` with `key` replaced by `value`, or removed when `value` is `undefined`. */
function withField(base: object, key: string, value: unknown): unknown {
  const copy: Record<string, unknown> = { ...base };
  if (value === undefined) delete copy[key];
  else copy[key] = value;
  return copy;
}

describe('vocabularies', () => {
  it('are the literal unions the API documents', () => {
    expect(NAT_TYPES).toEqual(['unrestricted', 'restricted', 'unknown']);
    expect(VOLUNTEER_KINDS).toEqual(['browser', 'node']);
    expect(MATCHMAKING_ERROR_CODES.map((code) => [code, matchmakingErrorStatus(code)])).toEqual([
      ['bad-request', 400],
      ['unauthorized', 401],
      ['origin-not-allowed', 403],
      ['not-found', 404],
      ['method-not-allowed', 405],
      ['too-large', 413],
      ['rate-limited', 429],
      ['fair-share', 429],
      ['internal', 500],
      ['no-volunteers', 503],
    ]);
  });
});

describe('isCountryCode / isPoolTag', () => {
  it.each(['US', 'DE', 'IR', '??'])('country %j is valid', (cc) => {
    expect(isCountryCode(cc)).toBe(true);
  });
  it.each(['', 'us', 'USA', 'U', '?', 'U?', '?U', 'U1', ' US', 'US\n'])(
    'country %j is invalid',
    (cc) => {
      expect(isCountryCode(cc)).toBe(false);
    },
  );
  it('pool tags are 64 lowercase hex digits', () => {
    expect(isPoolTag('0123456789abcdef'.repeat(4))).toBe(true);
    expect(isPoolTag('A'.repeat(64))).toBe(false);
    expect(isPoolTag('a'.repeat(63))).toBe(false);
    expect(isPoolTag('a'.repeat(65))).toBe(false);
    expect(isPoolTag('g'.repeat(64))).toBe(false);
  });
});

describe('isEgressUrl', () => {
  it.each([
    'wss://egress.example.org/',
    'ws://127.0.0.1:8080/',
    'ws://10.77.0.1:9/bu/',
    'wss://[::1]:4433/a/b/',
    'wss://xn--bcher-kva.example/',
  ])('accepts %s', (url) => {
    expect(isEgressUrl(url)).toBe(true);
  });

  it.each([
    ['not a URL', 'egress.example.org/'],
    ['https', 'https://egress.example.org/'],
    ['javascript', 'javascript:alert(1)//'],
    ['no trailing slash', 'wss://egress.example.org'],
    ['a path without trailing slash', 'wss://egress.example.org/tunnel'],
    ['an upper-case host (not canonical)', 'wss://Egress.example.org/'],
    ['the default port spelled out (not canonical)', 'wss://egress.example.org:443/'],
    ['a dot segment (not canonical)', 'wss://egress.example.org/a/../'],
    ['a unicode host (not canonical)', 'wss://bücher.example/'],
    ['leading space', ' wss://egress.example.org/'],
    ['credentials', 'wss://user:pass@egress.example.org/'],
    ['a user name', 'wss://user@egress.example.org/'],
    ['a query', 'wss://egress.example.org/?a=1'],
    ['an empty query', 'wss://egress.example.org/?'],
    ['a fragment', 'wss://egress.example.org/#'],
    ['over 2048 characters', `wss://egress.example.org/${'a'.repeat(2030)}/`],
  ])('rejects %s', (_name, url) => {
    expect(isEgressUrl(url)).toBe(false);
  });
});

describe('parseEgressInfo', () => {
  it('accepts an egress entry', () => {
    expect(parseEgressInfo({ ...EGRESS, extra: 1 })).toEqual(EGRESS);
  });

  it('accepts any 32-byte key in base64url and only canonical spellings', () => {
    fc.assert(
      fc.property(publicKeyArb, (publicKey) => {
        const parsed = parseEgressInfo({ ...EGRESS, publicKey });
        expect(base64urlToBytes(parsed.publicKey)).toHaveLength(32);
      }),
      { seed: SEED, numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(
            ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''),
          ),
          minLength: 43,
          maxLength: 43,
        }),
        (publicKey) => {
          let accepted = true;
          try {
            parseEgressInfo({ ...EGRESS, publicKey });
          } catch {
            accepted = false;
          }
          expect(accepted).toBe(bytesToBase64url(base64urlToBytes(publicKey)) === publicKey);
        },
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it.each([
    ['not an object', 'x', ''],
    ['no id', withField(EGRESS, 'id', undefined), 'id'],
    ['an empty id', withField(EGRESS, 'id', ''), 'id'],
    ['an id with a slash', withField(EGRESS, 'id', 'eu/1'), 'id'],
    ['a 65-character id', withField(EGRESS, 'id', 'e'.repeat(65)), 'id'],
    ['a numeric id', withField(EGRESS, 'id', 1), 'id'],
    ['an https url', withField(EGRESS, 'url', 'https://egress.example.org/'), 'url'],
    ['a url with credentials', withField(EGRESS, 'url', 'wss://a:b@egress.example.org/'), 'url'],
    ['no url', withField(EGRESS, 'url', undefined), 'url'],
    ['a 44-character key', withField(EGRESS, 'publicKey', `${KEY}A`), 'publicKey'],
    ['a padded key', withField(EGRESS, 'publicKey', `${KEY.slice(0, 42)}A=`), 'publicKey'],
    ['a standard-base64 key', withField(EGRESS, 'publicKey', `+${KEY.slice(1)}`), 'publicKey'],
    [
      'a non-canonical last character',
      withField(EGRESS, 'publicKey', `${KEY.slice(0, 42)}B`),
      'publicKey',
    ],
    ['a hex key', withField(EGRESS, 'publicKey', 'ab'.repeat(32)), 'publicKey'],
  ])('rejects %s', (_name, value, path) => {
    expectRejected(() => parseEgressInfo(value), path);
  });
});

describe('parseJsonBody', () => {
  it('parses a body up to the limit', () => {
    const text = JSON.stringify({ id: 'a' });
    expect(parseJsonBody(text + ' '.repeat(MAX_SIGNALING_MESSAGE_BYTES - text.length))).toEqual({
      id: 'a',
    });
  });
  it('refuses a body over the limit before parsing it', () => {
    expectRejected(
      () => parseJsonBody('['.repeat(MAX_SIGNALING_MESSAGE_BYTES + 1)),
      '',
      'ERR_SCHEMA_TOO_LARGE',
    );
    expectRejected(
      () => parseJsonBody(`"${'€'.repeat(MAX_SIGNALING_MESSAGE_BYTES / 3)}"`),
      '',
      'ERR_SCHEMA_TOO_LARGE',
    );
  });
  it('refuses bad JSON', () => {
    expectRejected(() => parseJsonBody("{'id':1}"), '', 'ERR_SCHEMA_JSON');
    expectRejected(() => parseJsonBody(''), '', 'ERR_SCHEMA_JSON');
  });
});

const POLL = { id: 'volunteer-1', token: 'tok3n', slots: 4, nat: 'unrestricted', kind: 'browser' };

describe('parseVolunteerPollRequest', () => {
  it('accepts a poll, with or without a pool, dropping unknown fields', () => {
    expect(parseVolunteerPollRequest({ ...POLL, extra: true })).toEqual(POLL);
    expect(parseVolunteerPollRequest({ ...POLL, pool: POOL })).toEqual({ ...POLL, pool: POOL });
    expect(parseVolunteerPollRequest({ ...POLL, slots: 0, kind: 'node', nat: 'unknown' })).toEqual({
      ...POLL,
      slots: 0,
      kind: 'node',
      nat: 'unknown',
    });
    expect(parseVolunteerPollRequest({ ...POLL, slots: 64 })).toMatchObject({ slots: 64 });
  });

  it.each([
    ['an array', [POLL], ''],
    ['null', null, ''],
    ['no id', withField(POLL, 'id', undefined), 'id'],
    ['an invalid id', withField(POLL, 'id', 'a--b'), 'id'],
    ['no token', withField(POLL, 'token', undefined), 'token'],
    ['an empty token', withField(POLL, 'token', ''), 'token'],
    ['a token with a space', withField(POLL, 'token', 'a b'), 'token'],
    ['a 129-character token', withField(POLL, 'token', 't'.repeat(129)), 'token'],
    ['a numeric token', withField(POLL, 'token', 123), 'token'],
    ['no slots', withField(POLL, 'slots', undefined), 'slots'],
    ['negative slots', withField(POLL, 'slots', -1), 'slots'],
    ['65 slots', withField(POLL, 'slots', 65), 'slots'],
    ['fractional slots', withField(POLL, 'slots', 1.5), 'slots'],
    ['slots as a string', withField(POLL, 'slots', '4'), 'slots'],
    ['no nat', withField(POLL, 'nat', undefined), 'nat'],
    ['an unknown nat', withField(POLL, 'nat', 'symmetric'), 'nat'],
    ['a capitalised nat', withField(POLL, 'nat', 'Restricted'), 'nat'],
    ['no kind', withField(POLL, 'kind', undefined), 'kind'],
    ['an unknown kind', withField(POLL, 'kind', 'deno'), 'kind'],
    ['a null pool', withField(POLL, 'pool', null), 'pool'],
    ['an upper-case pool', withField(POLL, 'pool', 'A'.repeat(64)), 'pool'],
    ['a short pool', withField(POLL, 'pool', 'a'.repeat(63)), 'pool'],
    ['a huge pool', withField(POLL, 'pool', 'a'.repeat(60_000)), 'pool'],
  ])('rejects %s', (_name, body, path) => {
    expectRejected(() => parseVolunteerPollRequest(body), path);
  });
});

describe('parseVolunteerPollResponse', () => {
  it('accepts a match and no match', () => {
    expect(parseVolunteerPollResponse({ match: null })).toEqual({ match: null });
    expect(parseVolunteerPollResponse({ match: { consumer: 'c-1', cc: 'IR', x: 1 } })).toEqual({
      match: { consumer: 'c-1', cc: 'IR' },
    });
    expect(parseVolunteerPollResponse({ match: { consumer: 'c-1', cc: '??' } })).toEqual({
      match: { consumer: 'c-1', cc: '??' },
    });
  });

  it.each([
    ['no match field', {}, 'match'],
    ['a string match', { match: 'c-1' }, 'match'],
    ['an array match', { match: [] }, 'match'],
    ['no consumer', { match: { cc: 'IR' } }, 'match.consumer'],
    ['an invalid consumer', { match: { consumer: '', cc: 'IR' } }, 'match.consumer'],
    ['no cc', { match: { consumer: 'c' } }, 'match.cc'],
    ['a lowercase cc', { match: { consumer: 'c', cc: 'ir' } }, 'match.cc'],
  ])('rejects %s', (_name, body, path) => {
    expectRejected(() => parseVolunteerPollResponse(body), path);
  });
});

const MATCH = { id: 'consumer-1', token: 'tok3n', count: 2, nat: 'restricted' };

describe('parseConsumerMatchRequest', () => {
  it('accepts a match request, with or without a pool', () => {
    expect(parseConsumerMatchRequest({ ...MATCH, src: 'x' })).toEqual(MATCH);
    expect(parseConsumerMatchRequest({ ...MATCH, pool: POOL })).toEqual({ ...MATCH, pool: POOL });
    expect(parseConsumerMatchRequest({ ...MATCH, count: 8 })).toMatchObject({ count: 8 });
  });

  it('accepts the volunteers the consumer has, up to 32', () => {
    expect(parseConsumerMatchRequest({ ...MATCH, have: [] })).toEqual({ ...MATCH, have: [] });
    const have = Array.from({ length: 32 }, (_, i) => `v${i}`);
    expect(parseConsumerMatchRequest({ ...MATCH, have })).toEqual({ ...MATCH, have });
  });

  it.each([
    ['a string', 'x', ''],
    ['no id', withField(MATCH, 'id', undefined), 'id'],
    ['no token', withField(MATCH, 'token', undefined), 'token'],
    ['count 0', withField(MATCH, 'count', 0), 'count'],
    ['count 9', withField(MATCH, 'count', 9), 'count'],
    ['count NaN', withField(MATCH, 'count', NaN), 'count'],
    ['count Infinity', withField(MATCH, 'count', Infinity), 'count'],
    ['no count', withField(MATCH, 'count', undefined), 'count'],
    ['a bad nat', withField(MATCH, 'nat', 1), 'nat'],
    ['a numeric pool', withField(MATCH, 'pool', 1), 'pool'],
    ['have not an array', withField(MATCH, 'have', 'v1'), 'have'],
    ['have with a bad id', withField(MATCH, 'have', ['v1', 7]), 'have[1]'],
    [
      'have too long',
      withField(
        MATCH,
        'have',
        Array.from({ length: 33 }, (_, i) => `v${i}`),
      ),
      'have',
    ],
  ])('rejects %s', (_name, body, path) => {
    expectRejected(() => parseConsumerMatchRequest(body), path);
  });
});

describe('parseConsumerMatchResponse', () => {
  it('accepts volunteers and the egress list', () => {
    const body = { volunteers: [{ id: 'v1' }, { id: 'v 2', load: 3 }], egresses: [EGRESS] };
    expect(parseConsumerMatchResponse(body)).toEqual({
      volunteers: [{ id: 'v1' }, { id: 'v 2' }],
      egresses: [EGRESS],
    });
    expect(parseConsumerMatchResponse({ volunteers: [{ id: 'v1' }], egresses: [] })).toEqual({
      volunteers: [{ id: 'v1' }],
      egresses: [],
    });
  });

  const nine = Array.from({ length: 9 }, (_, i) => ({ id: `v${i}` }));
  it.each([
    ['no volunteers field', { egresses: [] }, 'volunteers'],
    ['no volunteers', { volunteers: [], egresses: [] }, 'volunteers'],
    ['nine volunteers', { volunteers: nine, egresses: [] }, 'volunteers'],
    ['a volunteer as a string', { volunteers: ['v1'], egresses: [] }, 'volunteers[0]'],
    [
      'a volunteer without id',
      { volunteers: [{ id: 'v1' }, {}], egresses: [] },
      'volunteers[1].id',
    ],
    [
      'a repeated volunteer',
      { volunteers: [{ id: 'v' }, { id: 'v' }], egresses: [] },
      'volunteers[1].id',
    ],
    ['no egresses', { volunteers: [{ id: 'v' }] }, 'egresses'],
    ['egresses as an object', { volunteers: [{ id: 'v' }], egresses: {} }, 'egresses'],
    [
      'a bad egress url',
      { volunteers: [{ id: 'v' }], egresses: [EGRESS, { ...EGRESS, id: 'b', url: 'ws://x' }] },
      'egresses[1].url',
    ],
    [
      'a repeated egress id',
      { volunteers: [{ id: 'v' }], egresses: [EGRESS, { ...EGRESS, url: 'wss://b.example/' }] },
      'egresses[1].id',
    ],
    [
      '33 egresses',
      {
        volunteers: [{ id: 'v' }],
        egresses: Array.from({ length: 33 }, (_, i) => ({ ...EGRESS, id: `e${i}` })),
      },
      'egresses',
    ],
  ])('rejects %s', (_name, body, path) => {
    expectRejected(() => parseConsumerMatchResponse(body), path);
  });
});

describe('parseMatchmakingError', () => {
  it('accepts every code, with or without a message', () => {
    for (const error of MATCHMAKING_ERROR_CODES) {
      expect(parseMatchmakingError({ error })).toEqual({ error });
      expect(parseMatchmakingError({ error, message: 'why' })).toEqual({ error, message: 'why' });
    }
  });

  it.each([
    ['no error', { message: 'x' }, 'error'],
    ['an unknown code', { error: 'teapot' }, 'error'],
    ['a numeric code', { error: 503 }, 'error'],
    ['a numeric message', { error: 'internal', message: 1 }, 'message'],
    ['a 1025-character message', { error: 'internal', message: 'm'.repeat(1025) }, 'message'],
  ])('rejects %s', (_name, body, path) => {
    expectRejected(() => parseMatchmakingError(body), path);
  });
});

const LIMITS = {
  maxTunnelMessageBytes: 16384,
  maxSignalingMessageBytes: 65536,
  maxConsumerVolunteers: 8,
  maxVolunteerSlots: 64,
  pollTimeoutMs: 10_000,
  matchTimeoutMs: 10_000,
  aliveTimeoutMs: 60_000,
};
const CONFIG = {
  iceServers: [
    { urls: 'stun:stun.example.org:3478' },
    {
      urls: ['turn:turn.example.org:3478?transport=udp', 'turns:turn.example.org:443'],
      username: 'u',
      credential: 'c',
    },
  ],
  egresses: [EGRESS],
  limits: LIMITS,
  country: 'IR',
};

describe('parseSignalingConfig', () => {
  it('accepts a config', () => {
    expect(parseSignalingConfig({ ...CONFIG, future: { x: 1 } })).toEqual(CONFIG);
    const empty = { ...CONFIG, iceServers: [], egresses: [], country: '??' };
    expect(parseSignalingConfig(empty)).toEqual(empty);
  });

  it('yields ICE servers that RTCPeerConnection takes as they are', () => {
    const config = parseSignalingConfig(CONFIG);
    const servers: RTCIceServer[] = config.iceServers;
    expect(servers).toHaveLength(2);
  });

  const ice = (server: unknown) => ({ ...CONFIG, iceServers: [CONFIG.iceServers[0], server] });
  it.each([
    ['no iceServers', withField(CONFIG, 'iceServers', undefined), 'iceServers'],
    ['iceServers as an object', withField(CONFIG, 'iceServers', {}), 'iceServers'],
    [
      '17 ICE servers',
      withField(CONFIG, 'iceServers', Array(17).fill({ urls: 'stun:a' })),
      'iceServers',
    ],
    ['an ICE server as a string', ice('stun:a'), 'iceServers[1]'],
    ['an ICE server without urls', ice({}), 'iceServers[1].urls'],
    ['empty urls', ice({ urls: [] }), 'iceServers[1].urls'],
    ['an http ICE url', ice({ urls: 'http://a/' }), 'iceServers[1].urls'],
    ['an ICE url with a space', ice({ urls: 'stun:a b' }), 'iceServers[1].urls'],
    ['a bad url in a list', ice({ urls: ['stun:a', 5] }), 'iceServers[1].urls[1]'],
    ['nine urls', ice({ urls: Array(9).fill('stun:a') }), 'iceServers[1].urls'],
    ['TURN without username', ice({ urls: 'turn:a', credential: 'c' }), 'iceServers[1].username'],
    [
      'TURN without credential',
      ice({ urls: ['stun:a', 'turns:a'], username: 'u' }),
      'iceServers[1].credential',
    ],
    ['a numeric username', ice({ urls: 'stun:a', username: 1 }), 'iceServers[1].username'],
    [
      'a huge credential',
      ice({ urls: 'stun:a', credential: 'c'.repeat(513) }),
      'iceServers[1].credential',
    ],
    ['no egresses', withField(CONFIG, 'egresses', undefined), 'egresses'],
    [
      'a bad egress',
      withField(CONFIG, 'egresses', [{ ...EGRESS, publicKey: 'x' }]),
      'egresses[0].publicKey',
    ],
    ['no limits', withField(CONFIG, 'limits', undefined), 'limits'],
    ['limits as an array', withField(CONFIG, 'limits', []), 'limits'],
    ...Object.keys(LIMITS).map((key): [string, unknown, string] => [
      `no ${key}`,
      withField(CONFIG, 'limits', withField(LIMITS, key, undefined)),
      `limits.${key}`,
    ]),
    ...Object.keys(LIMITS).map((key): [string, unknown, string] => [
      `${key} of 0`,
      withField(CONFIG, 'limits', withField(LIMITS, key, 0)),
      `limits.${key}`,
    ]),
    [
      'a tunnel limit over 16 KiB',
      withField(CONFIG, 'limits', { ...LIMITS, maxTunnelMessageBytes: 16385 }),
      'limits.maxTunnelMessageBytes',
    ],
    [
      'a signaling limit over 64 KiB',
      withField(CONFIG, 'limits', { ...LIMITS, maxSignalingMessageBytes: 65537 }),
      'limits.maxSignalingMessageBytes',
    ],
    [
      'nine consumer volunteers',
      withField(CONFIG, 'limits', { ...LIMITS, maxConsumerVolunteers: 9 }),
      'limits.maxConsumerVolunteers',
    ],
    [
      '65 volunteer slots',
      withField(CONFIG, 'limits', { ...LIMITS, maxVolunteerSlots: 65 }),
      'limits.maxVolunteerSlots',
    ],
    [
      'a poll timeout over an hour',
      withField(CONFIG, 'limits', { ...LIMITS, pollTimeoutMs: 3_600_001 }),
      'limits.pollTimeoutMs',
    ],
    [
      'a fractional timeout',
      withField(CONFIG, 'limits', { ...LIMITS, aliveTimeoutMs: 0.5 }),
      'limits.aliveTimeoutMs',
    ],
    ['no country', withField(CONFIG, 'country', undefined), 'country'],
    ['a three-letter country', withField(CONFIG, 'country', 'IRN'), 'country'],
    ['a null country', withField(CONFIG, 'country', null), 'country'],
  ])('rejects %s', (_name, body, path) => {
    expectRejected(() => parseSignalingConfig(body), path);
  });
});

describe('round trips: value → JSON text → parseJsonBody → parser', () => {
  const cases: readonly [string, fc.Arbitrary<unknown>, (body: unknown) => unknown][] = [
    ['volunteer poll request', volunteerPollRequestArb, parseVolunteerPollRequest],
    ['volunteer poll response', volunteerPollResponseArb, parseVolunteerPollResponse],
    ['consumer match request', consumerMatchRequestArb, parseConsumerMatchRequest],
    ['consumer match response', consumerMatchResponseArb, parseConsumerMatchResponse],
    ['matchmaking error', matchmakingErrorArb, parseMatchmakingError],
    ['egress info', egressArb, (body) => parseEgressInfo(body)],
    ['signaling config', signalingConfigArb, parseSignalingConfig],
  ];
  it.each(cases)('%s', (_name, arbitrary, parse) => {
    fc.assert(
      fc.property(arbitrary, (value) => {
        expect(parse(parseJsonBody(JSON.stringify(value)))).toEqual(value);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});
