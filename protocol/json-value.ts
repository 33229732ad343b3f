/**
 * Opaque JSON that a server relays without interpreting (PeerJS payloads). It is still
 * bounded: nesting depth, and finite numbers only, because `JSON.parse` turns `1e999` into
 * `Infinity` and `JSON.stringify` would relay that as `null`, silently changing the data.
 */
import { childPath, invalid } from './schema-fields.ts';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/**
 * Checks that `value` is a JSON object nested at most `maxDepth` levels (the object itself is
 * level 1). Throws `SchemaError` `ERR_SCHEMA_INVALID` with the path of the offending part.
 */
export function assertJsonObject(
  value: unknown,
  path: string,
  maxDepth: number,
): asserts value is JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(path, 'must be a JSON object');
  }
  checkJson(value, path, 1, maxDepth);
}

function checkJson(value: unknown, path: string, depth: number, maxDepth: number): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) throw invalid(path, 'must be a finite number');
      return;
    case 'object':
      break;
    default:
      throw invalid(path, 'must be a JSON value');
  }
  if (value === null) return;
  if (depth > maxDepth) throw invalid(path, `is nested deeper than ${maxDepth} levels`);
  if (Array.isArray(value)) {
    const items: readonly unknown[] = value;
    // A plain loop, not forEach/for-of: holes of a sparse array must be seen as undefined.
    for (let i = 0; i < items.length; i++) {
      checkJson(items[i], childPath(path, i), depth + 1, maxDepth);
    }
    return;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) {
    throw invalid(path, 'must be a plain JSON object');
  }
  for (const key of Object.keys(value)) {
    const child: unknown = Object.getOwnPropertyDescriptor(value, key)?.value;
    checkJson(child, childPath(path, key), depth + 1, maxDepth);
  }
}
