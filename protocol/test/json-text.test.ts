import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SchemaError } from '../errors.ts';
import { fitsUtf8, parseJsonText, utf8ByteLength } from '../json-text.ts';

const SEED = 0x5eed;
const encoder = new TextEncoder();
/** Any UTF-16 code units, lone surrogates included. */
const utf16 = fc.string({
  unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
  maxLength: 64,
});

describe('utf8ByteLength', () => {
  it.each([
    ['', 0],
    ['a', 1],
    ['é', 2],
    ['€', 3],
    ['😀', 4],
    ['\ud800', 3],
    ['\udc00', 3],
    ['\ud800a', 4],
    ['a\ud83d', 4],
  ])('%j is %i bytes', (text, bytes) => {
    expect(utf8ByteLength(text)).toBe(bytes);
  });

  it('agrees with TextEncoder on any UTF-16 text', () => {
    fc.assert(
      fc.property(fc.oneof(utf16, fc.string({ unit: 'binary' })), (text) => {
        expect(utf8ByteLength(text)).toBe(encoder.encode(text).length);
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });
});

describe('fitsUtf8', () => {
  it('decides at the exact byte limit', () => {
    fc.assert(
      fc.property(utf16, fc.integer({ min: 0, max: 200 }), (text, max) => {
        expect(fitsUtf8(text, max)).toBe(encoder.encode(text).length <= max);
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });
});

describe('parseJsonText', () => {
  it('parses JSON up to the limit', () => {
    expect(parseJsonText('{"a":[1]}', 9, 'x')).toEqual({ a: [1] });
  });

  it.each([
    ['{"a":[1]} ', 'ERR_SCHEMA_TOO_LARGE'],
    ['"éé', 'ERR_SCHEMA_JSON'],
    ['"éééé"', 'ERR_SCHEMA_TOO_LARGE'],
    ['{a:1}', 'ERR_SCHEMA_JSON'],
    ['', 'ERR_SCHEMA_JSON'],
  ])('rejects %j', (text, code) => {
    let caught: unknown;
    try {
      parseJsonText(text, 9, 'x');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SchemaError);
    expect(caught).toMatchObject({ code, path: '' });
  });
});
