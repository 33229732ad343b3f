/**
 * Bounded JSON input. The size is checked on the text before `JSON.parse` runs, so a stranger
 * cannot make us build an object graph larger than the limit allows.
 */
import { SchemaError } from './errors.ts';

/**
 * UTF-8 length of `text`, counted as `TextEncoder` would write it (a lone surrogate becomes
 * U+FFFD, three bytes), without allocating the encoded copy.
 */
export function utf8ByteLength(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) bytes += 1;
    else if (unit < 0x800) bytes += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4;
        i++;
      } else {
        bytes += 3;
      }
    } else {
      bytes += 3;
    }
  }
  return bytes;
}

/** True when `text` encodes to at most `maxBytes` bytes of UTF-8. */
export function fitsUtf8(text: string, maxBytes: number): boolean {
  // One UTF-16 unit is one to three UTF-8 bytes, so most texts are decided by length alone.
  if (text.length > maxBytes) return false;
  if (text.length * 3 <= maxBytes) return true;
  return utf8ByteLength(text) <= maxBytes;
}

/**
 * `JSON.parse` behind a size check. `what` names the input in error messages.
 * Throws `SchemaError` `ERR_SCHEMA_TOO_LARGE` or `ERR_SCHEMA_JSON`; the result is `unknown`
 * until a schema has checked it.
 */
export function parseJsonText(text: string, maxBytes: number, what: string): unknown {
  if (!fitsUtf8(text, maxBytes)) {
    throw new SchemaError('ERR_SCHEMA_TOO_LARGE', `${what} is over ${maxBytes} bytes`);
  }
  try {
    const value: unknown = JSON.parse(text);
    return value;
  } catch {
    throw new SchemaError('ERR_SCHEMA_JSON', `${what} is not valid JSON`);
  }
}
