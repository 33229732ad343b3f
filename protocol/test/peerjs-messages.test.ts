import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SchemaError, type SchemaErrorCode } from '../errors.ts';
import { MAX_SIGNALING_MESSAGE_BYTES } from '../limits.ts';
import {
  ANSWER,
  CANDIDATE,
  CLIENT_MESSAGE_TYPES,
  ERROR,
  EXPIRE,
  HEARTBEAT,
  ID_TAKEN,
  INVALID_KEY,
  isNoticeType,
  isRefusalType,
  isSignalType,
  isValidPeerId,
  isValidPeerjsKey,
  isValidToken,
  LEAVE,
  MAX_PAYLOAD_DEPTH,
  OFFER,
  OPEN,
  parseClientMessage,
  relayText,
  parseServerMessage,
  PEERJS_MESSAGE_TYPES,
  serializeServerMessage,
  SERVER_MESSAGE_TYPES,
  type ClientMessage,
  type ServerMessage,
} from '../peerjs-messages.ts';
import { clientMessageArb, peerIdArb, serverMessageArb } from './signaling-arbitraries.ts';

const SEED = 0x5eed;

function schemaErrorOf(run: () => unknown): SchemaError {
  try {
    run();
  } catch (error) {
    if (error instanceof SchemaError) return error;
    throw error;
  }
  throw new Error('expected a SchemaError, but the input was accepted');
}

function expectRejected(run: () => unknown, code: SchemaErrorCode, path: string): void {
  const error = schemaErrorOf(run);
  expect({ code: error.code, path: error.path }).toEqual({ code, path });
  expect(error.name).toBe('SchemaError');
}

/** What a server relays for `message` coming from `src`. */
function relayOf(message: ClientMessage, src: string): ServerMessage {
  if (message.type === HEARTBEAT) throw new Error('HEARTBEAT is not relayed');
  return { ...message, src };
}

function nested(depth: number): unknown {
  let value: unknown = {};
  for (let i = 1; i < depth; i++) value = { a: value };
  return value;
}

describe('wire type strings', () => {
  it('are exactly the ten PeerJS message types (peerjs lib/enums.ts ServerMessageType)', () => {
    expect([OPEN, ID_TAKEN, INVALID_KEY, ERROR, OFFER, ANSWER, CANDIDATE, LEAVE, EXPIRE]).toEqual([
      'OPEN',
      'ID-TAKEN',
      'INVALID-KEY',
      'ERROR',
      'OFFER',
      'ANSWER',
      'CANDIDATE',
      'LEAVE',
      'EXPIRE',
    ]);
    expect(HEARTBEAT).toBe('HEARTBEAT');
    expect([...PEERJS_MESSAGE_TYPES].sort()).toEqual(
      [
        'ANSWER',
        'CANDIDATE',
        'ERROR',
        'EXPIRE',
        'HEARTBEAT',
        'ID-TAKEN',
        'INVALID-KEY',
        'LEAVE',
        'OFFER',
        'OPEN',
      ].sort(),
    );
    expect(new Set(PEERJS_MESSAGE_TYPES).size).toBe(PEERJS_MESSAGE_TYPES.length);
  });

  it('split by direction and by relay rule', () => {
    expect([...CLIENT_MESSAGE_TYPES].sort()).toEqual(
      ['ANSWER', 'CANDIDATE', 'EXPIRE', 'HEARTBEAT', 'LEAVE', 'OFFER'].sort(),
    );
    expect([...SERVER_MESSAGE_TYPES].sort()).toEqual(
      [
        'ANSWER',
        'CANDIDATE',
        'ERROR',
        'EXPIRE',
        'ID-TAKEN',
        'INVALID-KEY',
        'LEAVE',
        'OFFER',
        'OPEN',
      ].sort(),
    );
    expect(PEERJS_MESSAGE_TYPES.filter(isSignalType)).toEqual(['OFFER', 'ANSWER', 'CANDIDATE']);
    expect(PEERJS_MESSAGE_TYPES.filter(isNoticeType)).toEqual(['LEAVE', 'EXPIRE']);
    expect(PEERJS_MESSAGE_TYPES.filter(isRefusalType)).toEqual([
      'ID-TAKEN',
      'INVALID-KEY',
      'ERROR',
    ]);
  });
});

describe('isValidPeerId', () => {
  it.each([
    'a',
    'Z9',
    'peer 1',
    'a_b-c d',
    '0b1a2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d',
    'x'.repeat(64),
    `${'a-'.repeat(31)}ab`,
  ])('accepts %j', (id) => {
    expect(isValidPeerId(id)).toBe(true);
  });

  it.each([
    '',
    ' a',
    'a ',
    '-a',
    'a-',
    '_',
    'a  b',
    'a__b',
    'a -b',
    'a.b',
    'a/b',
    'a\nb',
    'a\tb',
    'é',
    'a\u0000',
    'x'.repeat(65),
    `${'a-'.repeat(32)}a`,
  ])('rejects %j', (id) => {
    expect(isValidPeerId(id)).toBe(false);
  });

  it('accepts every id built the way the pattern describes, up to 64 characters', () => {
    fc.assert(
      fc.property(peerIdArb, (id) => isValidPeerId(id)),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('isValidToken', () => {
  it.each(['abc123', '4fzyo82mvyr', 'x'.repeat(128), '!~', 'A.b-c_d%2F'])('accepts %j', (t) => {
    expect(isValidToken(t)).toBe(true);
  });
  it.each(['', 'x'.repeat(129), 'a b', 'a\u0000', 'é', 'a\n', '\u007f'])('rejects %j', (t) => {
    expect(isValidToken(t)).toBe(false);
  });
  it('accepts what the peerjs client generates (Math.random().toString(36).slice(2))', () => {
    fc.assert(
      fc.property(fc.double({ min: 1e-9, max: 1, maxExcluded: true, noNaN: true }), (r) =>
        isValidToken(r.toString(36).slice(2)),
      ),
      { seed: SEED, numRuns: 2000 },
    );
  });
});

describe('isValidPeerjsKey', () => {
  it.each(['peerjs', 'my.key_1-~'])('accepts %j', (key) => {
    expect(isValidPeerjsKey(key)).toBe(true);
  });
  it.each(['', 'a/b', 'a b', 'a?b', 'k'.repeat(65)])('rejects %j', (key) => {
    expect(isValidPeerjsKey(key)).toBe(false);
  });
});

describe('parseClientMessage accepts', () => {
  it('HEARTBEAT as the peerjs client sends it', () => {
    expect(parseClientMessage('{"type":"HEARTBEAT"}')).toEqual({ type: 'HEARTBEAT' });
  });

  it('an OFFER as the peerjs client sends it', () => {
    const payload = {
      sdp: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' },
      type: 'data',
      connectionId: 'dc_abc123',
      label: 'dc_abc123',
      reliable: true,
      serialization: 'binary',
      metadata: { nested: [1, 2, { deep: null }] },
    };
    const text = JSON.stringify({ type: 'OFFER', payload, dst: 'volunteer-1' });
    expect(parseClientMessage(text)).toEqual({ type: 'OFFER', dst: 'volunteer-1', payload });
  });

  it('ANSWER and CANDIDATE', () => {
    const answer = { sdp: { type: 'answer', sdp: 'v=0' }, type: 'data', connectionId: 'dc_1' };
    expect(
      parseClientMessage(JSON.stringify({ type: 'ANSWER', payload: answer, dst: 'a' })),
    ).toEqual({ type: 'ANSWER', dst: 'a', payload: answer });
    const candidate = {
      candidate: { candidate: 'candidate:1 1 udp 1 10.77.0.1 5000 typ host', sdpMid: '0' },
      type: 'data',
      connectionId: 'dc_1',
    };
    expect(
      parseClientMessage(JSON.stringify({ type: 'CANDIDATE', payload: candidate, dst: 'b' })),
    ).toEqual({ type: 'CANDIDATE', dst: 'b', payload: candidate });
  });

  it('LEAVE and EXPIRE with or without a payload', () => {
    expect(parseClientMessage('{"type":"LEAVE","dst":"a"}')).toEqual({ type: 'LEAVE', dst: 'a' });
    expect(parseClientMessage('{"type":"EXPIRE","dst":"a","payload":{}}')).toEqual({
      type: 'EXPIRE',
      dst: 'a',
      payload: {},
    });
  });

  it('drops a spoofed src and unknown fields', () => {
    const message = parseClientMessage(
      '{"type":"OFFER","src":"victim","dst":"a","payload":{"x":1},"extra":[1]}',
    );
    expect(message).toEqual({ type: 'OFFER', dst: 'a', payload: { x: 1 } });
    expect('src' in message).toBe(false);
    expect(parseClientMessage('{"type":"HEARTBEAT","src":"x","dst":5}')).toEqual({
      type: 'HEARTBEAT',
    });
  });

  it(`a payload nested exactly ${MAX_PAYLOAD_DEPTH} levels`, () => {
    const payload = nested(MAX_PAYLOAD_DEPTH);
    expect(parseClientMessage(JSON.stringify({ type: 'OFFER', dst: 'a', payload }))).toEqual({
      type: 'OFFER',
      dst: 'a',
      payload,
    });
  });

  it('a message of exactly the byte limit', () => {
    const base = '{"type":"HEARTBEAT"}';
    const text = base + ' '.repeat(MAX_SIGNALING_MESSAGE_BYTES - base.length);
    expect(parseClientMessage(text)).toEqual({ type: 'HEARTBEAT' });
  });

  it('a __proto__ key as data, without touching any prototype', () => {
    const message = parseClientMessage(
      '{"type":"OFFER","dst":"a","payload":{"__proto__":{"polluted":true}}}',
    );
    const relayed = relayOf(message, 'b');
    if (relayed.type !== OFFER) throw new Error('expected an OFFER');
    expect(Object.getPrototypeOf(relayed.payload)).toBe(Object.prototype);
    expect(Object.hasOwn(relayed.payload, '__proto__')).toBe(true);
    expect('polluted' in {}).toBe(false);
    expect(serializeServerMessage(relayed)).toContain('"__proto__":{"polluted":true}');
  });
});

describe('parseClientMessage rejects', () => {
  const tooDeep = JSON.stringify({
    type: 'OFFER',
    dst: 'a',
    payload: nested(MAX_PAYLOAD_DEPTH + 1),
  });
  const cases: readonly [string, string, SchemaErrorCode, string][] = [
    ['empty text', '', 'ERR_SCHEMA_JSON', ''],
    ['not JSON', 'HEARTBEAT', 'ERR_SCHEMA_JSON', ''],
    ['cut JSON', '{"type":"HEARTBEAT"', 'ERR_SCHEMA_JSON', ''],
    ['JSON with a trailing comma', '{"type":"HEARTBEAT",}', 'ERR_SCHEMA_JSON', ''],
    ['an array', '[{"type":"HEARTBEAT"}]', 'ERR_SCHEMA_INVALID', ''],
    ['null', 'null', 'ERR_SCHEMA_INVALID', ''],
    ['a string', '"HEARTBEAT"', 'ERR_SCHEMA_INVALID', ''],
    ['no type', '{}', 'ERR_SCHEMA_INVALID', 'type'],
    ['a numeric type', '{"type":1}', 'ERR_SCHEMA_INVALID', 'type'],
    ['a lowercase type', '{"type":"heartbeat"}', 'ERR_SCHEMA_INVALID', 'type'],
    ['an unknown type', '{"type":"PING"}', 'ERR_SCHEMA_INVALID', 'type'],
    ['OPEN (server only)', '{"type":"OPEN"}', 'ERR_SCHEMA_INVALID', 'type'],
    ['ID-TAKEN (server only)', '{"type":"ID-TAKEN"}', 'ERR_SCHEMA_INVALID', 'type'],
    ['INVALID-KEY (server only)', '{"type":"INVALID-KEY"}', 'ERR_SCHEMA_INVALID', 'type'],
    ['ERROR (server only)', '{"type":"ERROR","payload":{"msg":"x"}}', 'ERR_SCHEMA_INVALID', 'type'],
    ['an inherited type', '{"__proto__":{"type":"HEARTBEAT"}}', 'ERR_SCHEMA_INVALID', 'type'],
    ['OFFER without dst', '{"type":"OFFER","payload":{}}', 'ERR_SCHEMA_INVALID', 'dst'],
    ['a numeric dst', '{"type":"OFFER","dst":7,"payload":{}}', 'ERR_SCHEMA_INVALID', 'dst'],
    ['an empty dst', '{"type":"OFFER","dst":"","payload":{}}', 'ERR_SCHEMA_INVALID', 'dst'],
    [
      'a dst with a trailing space',
      '{"type":"ANSWER","dst":"a ","payload":{}}',
      'ERR_SCHEMA_INVALID',
      'dst',
    ],
    [
      'a 65-character dst',
      `{"type":"CANDIDATE","dst":"${'d'.repeat(65)}","payload":{}}`,
      'ERR_SCHEMA_INVALID',
      'dst',
    ],
    ['LEAVE without dst', '{"type":"LEAVE"}', 'ERR_SCHEMA_INVALID', 'dst'],
    ['EXPIRE with a null dst', '{"type":"EXPIRE","dst":null}', 'ERR_SCHEMA_INVALID', 'dst'],
    ['OFFER without payload', '{"type":"OFFER","dst":"a"}', 'ERR_SCHEMA_INVALID', 'payload'],
    [
      'ANSWER with a null payload',
      '{"type":"ANSWER","dst":"a","payload":null}',
      'ERR_SCHEMA_INVALID',
      'payload',
    ],
    [
      'CANDIDATE with a string payload',
      '{"type":"CANDIDATE","dst":"a","payload":"x"}',
      'ERR_SCHEMA_INVALID',
      'payload',
    ],
    [
      'OFFER with an array payload',
      '{"type":"OFFER","dst":"a","payload":[]}',
      'ERR_SCHEMA_INVALID',
      'payload',
    ],
    [
      'LEAVE with a null payload',
      '{"type":"LEAVE","dst":"a","payload":null}',
      'ERR_SCHEMA_INVALID',
      'payload',
    ],
    [
      'EXPIRE with a numeric payload',
      '{"type":"EXPIRE","dst":"a","payload":3}',
      'ERR_SCHEMA_INVALID',
      'payload',
    ],
    [
      'a payload nested too deep',
      tooDeep,
      'ERR_SCHEMA_INVALID',
      `payload${'.a'.repeat(MAX_PAYLOAD_DEPTH)}`,
    ],
    [
      'deep arrays in a payload',
      `{"type":"OFFER","dst":"a","payload":{"x":${'['.repeat(16)}${']'.repeat(16)}}}`,
      'ERR_SCHEMA_INVALID',
      `payload.x${'[0]'.repeat(15)}`,
    ],
    [
      'an infinite number in a payload',
      '{"type":"OFFER","dst":"a","payload":{"n":[1,1e999]}}',
      'ERR_SCHEMA_INVALID',
      'payload.n[1]',
    ],
    [
      'an odd key on the way to a bad value',
      '{"type":"OFFER","dst":"a","payload":{"a b":{"c":-1e400}}}',
      'ERR_SCHEMA_INVALID',
      'payload["a b"].c',
    ],
    [
      'text over the limit',
      'x'.repeat(MAX_SIGNALING_MESSAGE_BYTES + 1),
      'ERR_SCHEMA_TOO_LARGE',
      '',
    ],
    [
      'valid JSON one byte over the limit',
      '{"type":"HEARTBEAT"}' + ' '.repeat(MAX_SIGNALING_MESSAGE_BYTES - 19),
      'ERR_SCHEMA_TOO_LARGE',
      '',
    ],
    [
      'few characters but too many UTF-8 bytes',
      `{"type":"OFFER","dst":"a","payload":{"x":"${'€'.repeat(MAX_SIGNALING_MESSAGE_BYTES / 3)}"}}`,
      'ERR_SCHEMA_TOO_LARGE',
      '',
    ],
  ];

  it.each(cases)('%s', (_name, text, code, path) => {
    expectRejected(() => parseClientMessage(text), code, path);
  });

  it('never echoes the offending value in the error message', () => {
    const error = schemaErrorOf(() =>
      parseClientMessage('{"type":"OFFER","dst":"secret value!","payload":{}}'),
    );
    expect(error.message).not.toContain('secret');
  });
});

describe('relayText', () => {
  const fill = (n: number) =>
    JSON.stringify({ type: 'OFFER', dst: 'a', payload: { f: 'z'.repeat(n) } });
  const src = 's'.repeat(64);
  const relay = (text: string, from = src): string => {
    const message = parseClientMessage(text);
    if (message.type === HEARTBEAT) throw new Error('HEARTBEAT is not relayed');
    return relayText(message, from);
  };

  it('writes the message with the src the server sets, readable by a client', () => {
    const message = parseClientMessage('{"type":"LEAVE","dst":"a","src":"forged"}');
    const text = relay('{"type":"LEAVE","dst":"a","src":"forged"}', 'me');
    expect(JSON.parse(text)).toEqual({ type: 'LEAVE', src: 'me', dst: 'a' });
    expect(parseServerMessage(text)).toEqual({ ...message, src: 'me' });
  });

  it('relays a message that fits exactly once src is added; one byte more is refused', () => {
    const overhead = ',"src":""'.length + src.length;
    const fits = fill(MAX_SIGNALING_MESSAGE_BYTES - overhead - fill(0).length);
    expect(fits.length + overhead).toBe(MAX_SIGNALING_MESSAGE_BYTES);
    expect(relay(fits).length).toBe(MAX_SIGNALING_MESSAGE_BYTES);
    const over = fill(MAX_SIGNALING_MESSAGE_BYTES - overhead - fill(0).length + 1);
    // The client's own text is within the limit; the relayed one would not be.
    expect(over.length).toBeLessThanOrEqual(MAX_SIGNALING_MESSAGE_BYTES);
    expectRejected(() => relay(over), 'ERR_SCHEMA_TOO_LARGE', '');
  });

  it('refuses a payload that grows past the limit when re-serialized (5e20 prints as 21 digits)', () => {
    const text = `{"type":"OFFER","dst":"a","payload":{"n":[${Array(10_000).fill('5e20').join(',')}]}}`;
    expect(text.length).toBeLessThan(MAX_SIGNALING_MESSAGE_BYTES);
    expectRejected(() => relay(text), 'ERR_SCHEMA_TOO_LARGE', '');
  });

  it('counts UTF-8 bytes, not characters', () => {
    const euros = (n: number) => `{"type":"OFFER","dst":"a","payload":{"x":"${'€'.repeat(n)}"}}`;
    const base = relay(euros(0), 'me').length;
    const room = Math.floor((MAX_SIGNALING_MESSAGE_BYTES - base) / 3);
    expect(() => relay(euros(room), 'me')).not.toThrow();
    expectRejected(() => relay(euros(room + 1), 'me'), 'ERR_SCHEMA_TOO_LARGE', '');
  });
});

describe('parseServerMessage', () => {
  it('reads what peerjs-server sends', () => {
    expect(parseServerMessage('{"type":"OPEN"}')).toEqual({ type: 'OPEN' });
    expect(parseServerMessage('{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}')).toEqual({
      type: 'ID-TAKEN',
      payload: { msg: 'ID is taken' },
    });
    expect(parseServerMessage('{"type":"ERROR","payload":{"msg":"Invalid key provided"}}')).toEqual(
      { type: 'ERROR', payload: { msg: 'Invalid key provided' } },
    );
    expect(parseServerMessage('{"type":"EXPIRE","src":"b","dst":"a"}')).toEqual({
      type: 'EXPIRE',
      src: 'b',
      dst: 'a',
    });
    expect(
      parseServerMessage('{"type":"OFFER","payload":{"sdp":"x"},"dst":"a","src":"b"}'),
    ).toEqual({ type: 'OFFER', src: 'b', dst: 'a', payload: { sdp: 'x' } });
  });

  it.each([
    ['HEARTBEAT (client only)', '{"type":"HEARTBEAT"}', 'ERR_SCHEMA_INVALID', 'type'],
    ['ERROR without payload', '{"type":"ERROR"}', 'ERR_SCHEMA_INVALID', 'payload'],
    ['ERROR without msg', '{"type":"ERROR","payload":{}}', 'ERR_SCHEMA_INVALID', 'payload.msg'],
    [
      'a refusal text over 1024 characters',
      `{"type":"ID-TAKEN","payload":{"msg":"${'m'.repeat(1025)}"}}`,
      'ERR_SCHEMA_INVALID',
      'payload.msg',
    ],
    [
      'a relayed OFFER without src',
      '{"type":"OFFER","dst":"a","payload":{}}',
      'ERR_SCHEMA_INVALID',
      'src',
    ],
    ['an invalid src', '{"type":"LEAVE","src":"a b ","dst":"a"}', 'ERR_SCHEMA_INVALID', 'src'],
    [
      'ANSWER without payload',
      '{"type":"ANSWER","src":"a","dst":"b"}',
      'ERR_SCHEMA_INVALID',
      'payload',
    ],
    ['cut JSON', '{"type":"OPEN"', 'ERR_SCHEMA_JSON', ''],
  ] as const)('rejects %s', (_name, text, code, path) => {
    expectRejected(() => parseServerMessage(text), code, path);
  });
});

describe('serializeServerMessage', () => {
  it('writes the same text as peerjs-server', () => {
    expect(serializeServerMessage({ type: OPEN })).toBe('{"type":"OPEN"}');
    expect(serializeServerMessage({ type: ID_TAKEN, payload: { msg: 'ID is taken' } })).toBe(
      '{"type":"ID-TAKEN","payload":{"msg":"ID is taken"}}',
    );
    expect(serializeServerMessage({ type: ERROR, payload: { msg: 'Invalid key provided' } })).toBe(
      '{"type":"ERROR","payload":{"msg":"Invalid key provided"}}',
    );
    expect(serializeServerMessage({ type: EXPIRE, src: 'b', dst: 'a' })).toBe(
      '{"type":"EXPIRE","src":"b","dst":"a"}',
    );
  });

  it('writes only the fields PeerJS defines', () => {
    const withExtras = {
      type: LEAVE,
      src: 'a',
      dst: 'b',
      secret: 'x',
      socket: { ip: '1.2.3.4' },
    } as const;
    const message: ServerMessage = withExtras;
    expect(JSON.parse(serializeServerMessage(message))).toEqual({
      type: 'LEAVE',
      src: 'a',
      dst: 'b',
    });
    const refusal = { type: ERROR, payload: { msg: 'm', stack: 'at x' } } as const;
    expect(serializeServerMessage(refusal)).toBe('{"type":"ERROR","payload":{"msg":"m"}}');
  });
});

describe('round trips', () => {
  it('client message → JSON → parseClientMessage is the same message', () => {
    fc.assert(
      fc.property(clientMessageArb, (message) => {
        expect(parseClientMessage(JSON.stringify(message))).toEqual(message);
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('a spoofed src and extra fields are dropped, the rest kept', () => {
    fc.assert(
      fc.property(clientMessageArb, peerIdArb, fc.string(), (message, src, extra) => {
        const text = JSON.stringify({ ...message, src, zzz: extra });
        expect(parseClientMessage(text)).toEqual(message);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });

  it('server message → serialize → JSON.parse / parseServerMessage is the same message', () => {
    fc.assert(
      fc.property(serverMessageArb, (message) => {
        const text = serializeServerMessage(message);
        expect(JSON.parse(text)).toEqual(message);
        expect(parseServerMessage(text)).toEqual(message);
      }),
      { seed: SEED, numRuns: 3000 },
    );
  });

  it('relaying a parsed client message yields a parseable server message', () => {
    fc.assert(
      fc.property(clientMessageArb, peerIdArb, (message, src) => {
        if (message.type === HEARTBEAT) return;
        const relayed = relayOf(message, src);
        expect(parseServerMessage(serializeServerMessage(relayed))).toEqual(relayed);
      }),
      { seed: SEED, numRuns: 1000 },
    );
  });
});
