/**
 * Field checks shared by the JSON schemas (PeerJS messages, matchmaking). Each takes an
 * `unknown` and either returns it narrowed or throws `SchemaError` `ERR_SCHEMA_INVALID` whose
 * `path` names the field (`egresses[2].url`). Messages never echo the offending value: some
 * fields are secrets (tokens) and all of them are attacker-chosen.
 */
import { SchemaError } from './errors.ts';

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
/** Keys longer than this are cut in paths, so an error cannot carry a 64 KiB key. */
const MAX_PATH_KEY = 32;

export function invalid(path: string, message: string): SchemaError {
  return new SchemaError('ERR_SCHEMA_INVALID', `${path === '' ? 'value' : path} ${message}`, path);
}

/** `path` extended by an object key or an array index, in JavaScript accessor syntax. */
export function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  if (IDENTIFIER.test(key) && key.length <= MAX_PATH_KEY) {
    return path === '' ? key : `${path}.${key}`;
  }
  const shown = key.length > MAX_PATH_KEY ? `${key.slice(0, MAX_PATH_KEY)}…` : key;
  return `${path}[${JSON.stringify(shown)}]`;
}

/** A JSON object: not null, not an array. */
export function expectRecord(value: unknown, path: string): object {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(path, 'must be a JSON object');
  }
  return value;
}

/**
 * An own property of `record`, or `undefined`. Own only, so inherited names
 * (`constructor`, `toString`) never read as present.
 */
export function readField(record: object, key: string): unknown {
  const descriptor = Object.getOwnPropertyDescriptor(record, key);
  const value: unknown = descriptor?.value;
  return value;
}

export interface StringRule {
  readonly minLength: number;
  readonly maxLength: number;
  /** Tested only after the length check, so a pattern never runs on a huge string. */
  readonly pattern?: RegExp;
  /** Says what the pattern means, for the error message. */
  readonly describe?: string;
}

export function expectString(value: unknown, path: string, rule: StringRule): string {
  if (typeof value !== 'string') throw invalid(path, 'must be a string');
  if (value.length < rule.minLength || value.length > rule.maxLength) {
    throw invalid(path, `must be ${rule.minLength} to ${rule.maxLength} characters long`);
  }
  if (rule.pattern !== undefined && !rule.pattern.test(value)) {
    throw invalid(path, `must be ${rule.describe ?? `a string matching ${String(rule.pattern)}`}`);
  }
  return value;
}

/** A string that `accept` approves; `describe` completes "must be …". */
export function expectStringWhere(
  value: unknown,
  path: string,
  accept: (text: string) => boolean,
  describe: string,
): string {
  if (typeof value !== 'string') throw invalid(path, 'must be a string');
  if (!accept(value)) throw invalid(path, `must be ${describe}`);
  return value;
}

export function expectInteger(value: unknown, path: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(path, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** One of `options`, compared with `===`. */
export function expectOneOf<T extends string>(
  value: unknown,
  path: string,
  options: readonly T[],
): T {
  const found = options.find((option) => option === value);
  if (found === undefined) throw invalid(path, `must be one of ${options.join(', ')}`);
  return found;
}

export function expectArray(
  value: unknown,
  path: string,
  minLength: number,
  maxLength: number,
): readonly unknown[] {
  if (!Array.isArray(value)) throw invalid(path, 'must be an array');
  const items: readonly unknown[] = value;
  if (items.length < minLength || items.length > maxLength) {
    throw invalid(path, `must hold ${minLength} to ${maxLength} items`);
  }
  return items;
}
