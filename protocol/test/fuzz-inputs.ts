/**
 * Hostile inputs for the schema fuzz tests: random text, random JSON (`fc.jsonValue`,
 * `fc.anything`), and valid values with fields dropped, retyped, oversized, nested too deep
 * or added, plus damaged JSON text.
 *
 * fast-check samples pools of values once (seeded); each fuzz run then derives its input from
 * one 32-bit seed with a small PRNG. Generating 100,000 structured values with fast-check
 * itself would take most of a minute on a small CI machine, and a failing seed still
 * reproduces its input exactly (`textFor` / `valueFor`).
 */
import fc from 'fast-check';
import { SchemaError } from '../errors.ts';
import { MAX_SIGNALING_MESSAGE_BYTES } from '../limits.ts';
import { prng } from './fuzz-helpers.ts';

const HUGE = 'x'.repeat(MAX_SIGNALING_MESSAGE_BYTES + 1);
const BIG = 'y'.repeat(MAX_SIGNALING_MESSAGE_BYTES - 100);
const WIDE = 'é'.repeat(MAX_SIGNALING_MESSAGE_BYTES / 2);

/** Integers in [0, 2^32) from the shared seeded PRNG. */
function rng(seed: number): () => number {
  const rand = prng(seed);
  return () => Math.floor(rand() * 4294967296);
}

function pick<T>(next: () => number, items: readonly T[]): T {
  const item = items[next() % items.length];
  if (item === undefined) throw new Error('pick: empty pool');
  return item;
}

/** `pick` for pools that hold `undefined` as a value. */
function pickValue(next: () => number, items: readonly unknown[]): unknown {
  if (items.length === 0) throw new Error('pickValue: empty pool');
  return items[next() % items.length];
}

function nest(depth: number, leaf: unknown, asArray: boolean): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = asArray ? [value] : { a: value };
  return value;
}

function deepFreeze(value: unknown): void {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child);
}

/** JSON text of `value`, or a stand-in when it has none (undefined, a function, a bigint). */
export function toText(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'undefined';
  } catch {
    return '{"unserializable":true}';
  }
}

export interface FuzzPools {
  /** Valid values of the schemas under test, to be mutated. */
  readonly valid: readonly unknown[];
  /** Wrong values: random JSON, random JS values, edge numbers, huge strings, deep nesting. */
  readonly hostile: readonly unknown[];
  readonly keys: readonly string[];
  readonly texts: readonly string[];
}

/** Samples the pools once. Every value is deep-frozen, so no run can alter another's input. */
export function samplePools(valid: readonly fc.Arbitrary<unknown>[], seed: number): FuzzPools {
  const sample = <T>(arbitrary: fc.Arbitrary<T>, numRuns: number, offset: number): T[] =>
    fc.sample(arbitrary, { seed: seed + offset, numRuns });
  const hostile: unknown[] = [
    ...sample(fc.jsonValue({ maxDepth: 3 }), 500, 1),
    ...sample(fc.anything({ maxDepth: 3 }), 500, 2),
    ...sample(fc.string({ unit: 'binary', maxLength: 40 }), 300, 3),
    ...sample(fc.double(), 300, 4),
    ...sample(
      fc.tuple(fc.integer({ min: 10, max: 40 }), fc.boolean(), fc.jsonValue({ maxDepth: 1 })),
      200,
      5,
    ).map(([depth, asArray, leaf]) => nest(depth, leaf, asArray)),
    ...[HUGE, BIG, WIDE, '', ' ', '\u0000', '\ud800', '??', 'OPEN', 'HEARTBEAT'],
    ...['constructor', '__proto__', NaN, Infinity, -Infinity, -0, 0.5, -1, 2 ** 53, 1e21],
    ...[null, undefined, true, false, [], {}, [[]], { a: {} }],
  ];
  const pools: FuzzPools = {
    valid: valid.flatMap((arbitrary, index) => sample(arbitrary, 200, 100 + index)),
    hostile,
    keys: [
      ...sample(fc.string({ maxLength: 8 }), 50, 6),
      ...['src', 'type', '__proto__', 'constructor', 'id', 'token', 'payload', 'match'],
    ],
    texts: [
      ...sample(fc.string({ unit: 'binary', maxLength: 64 }), 1000, 7),
      ...sample(
        fc.string({
          unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)),
          maxLength: 64,
        }),
        1000,
        8,
      ),
      ...sample(fc.json({ maxDepth: 3 }), 1000, 9),
      ...['', HUGE, BIG, WIDE, '['.repeat(100_000), `${'['.repeat(5000)}${']'.repeat(5000)}`],
    ],
  };
  deepFreeze(pools);
  return pools;
}

interface Slot {
  readonly parent: object;
  readonly key: string;
}

/** Every property of a JSON value, outermost first. */
function slotsOf(value: unknown, out: Slot[]): Slot[] {
  if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      out.push({ parent: value, key });
      slotsOf(child, out);
    }
  }
  return out;
}

/** Sets an own property even for `__proto__`, where plain assignment would swap the prototype. */
function put(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    configurable: true,
    writable: true,
  });
}

/** A copy of `value` with one to three fields dropped, replaced or added. */
function mutate(next: () => number, pools: FuzzPools, value: unknown): unknown {
  let root: unknown = JSON.parse(JSON.stringify(value));
  // Slots are taken from the fresh copy only: pooled values put in are never written to.
  const slots = slotsOf(root, []);
  const records = slots
    .map((slot): unknown => Object.getOwnPropertyDescriptor(slot.parent, slot.key)?.value)
    .filter(
      (child): child is object =>
        typeof child === 'object' && child !== null && !Array.isArray(child),
    );
  if (typeof root === 'object' && root !== null && !Array.isArray(root)) records.push(root);
  const count = 1 + (next() % 3);
  for (let i = 0; i < count; i++) {
    const action = next() % 4;
    if (action === 0 && records.length > 0) {
      put(pick(next, records), pick(next, pools.keys), pickValue(next, pools.hostile));
    } else if (slots.length === 0) {
      root = pickValue(next, pools.hostile);
    } else {
      const { parent, key } = pick(next, slots);
      if (action === 1) {
        if (Array.isArray(parent)) parent.splice(Number(key), 1);
        else Reflect.deleteProperty(parent, key);
      } else {
        put(parent, key, pickValue(next, pools.hostile));
      }
    }
  }
  return root;
}

/** The input value of run `seed`. */
export function valueFor(pools: FuzzPools, seed: number): unknown {
  const next = rng(seed);
  switch (next() % 6) {
    case 0:
      return pickValue(next, pools.hostile);
    case 1:
      return pickValue(next, pools.valid);
    default:
      return mutate(next, pools, pickValue(next, pools.valid));
  }
}

/** The input text of run `seed`. */
export function textFor(pools: FuzzPools, seed: number): string {
  const next = rng(seed ^ 0x9e3779b9);
  switch (next() % 8) {
    case 0:
      return pick(next, pools.texts);
    case 1:
      return damage(next, toText(pickValue(next, pools.valid)));
    default:
      return toText(valueFor(pools, seed));
  }
}

const JUNK = ['"', '{', '}', '[', ']', ',', ':', '\\', '\u0000', '\ud800', 'é', '1e999', 'null'];

/** Text-level damage to JSON text: cut, splice in junk, repeat, pad to the limit, widen. */
function damage(next: () => number, text: string): string {
  const at = next() % (text.length + 1);
  const how = next() % 32;
  if (how < 10) return text.slice(0, at);
  if (how < 20) return text.slice(0, at) + pick(next, JUNK) + text.slice(at);
  if (how < 30) return text.repeat(2 + (next() % 3));
  // Padding and widening cost a 64 KiB parse each, so they come rarely.
  if (how === 30) {
    return (
      text + ' '.repeat(Math.max(0, MAX_SIGNALING_MESSAGE_BYTES - text.length + (next() % 3) - 1))
    );
  }
  return text.slice(0, at) + WIDE + text.slice(at);
}

/** Runs `parse`; a SchemaError with a known code passes, anything else is rethrown. */
export function parsesOrSchemaError<T>(parse: () => T): T | SchemaError {
  try {
    return parse();
  } catch (error) {
    if (
      error instanceof SchemaError &&
      ['ERR_SCHEMA_JSON', 'ERR_SCHEMA_TOO_LARGE', 'ERR_SCHEMA_INVALID'].includes(error.code) &&
      typeof error.path === 'string'
    ) {
      return error;
    }
    throw error;
  }
}
