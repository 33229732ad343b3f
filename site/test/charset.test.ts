import { describe, expect, it } from 'vitest';
import { declaredCharset } from '../hub/proxy-handler.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('declaredCharset', () => {
  it('finds <meta charset> and <meta http-equiv content-type> in the first 1024 bytes', () => {
    expect(declaredCharset(bytes('<html><head><meta charset="windows-1251">'))).toBe(
      'windows-1251',
    );
    expect(declaredCharset(bytes("<meta charset='koi8-r'>"))).toBe('koi8-r');
    expect(
      declaredCharset(
        bytes('<meta http-equiv="Content-Type" content="text/html; charset=shift_jis">'),
      ),
    ).toBe('shift_jis');
  });

  it('finds nothing when there is none, or only after 1024 bytes', () => {
    expect(declaredCharset(bytes('<html><head><title>x</title>'))).toBeUndefined();
    expect(declaredCharset(bytes(`${' '.repeat(1100)}<meta charset="koi8-r">`))).toBeUndefined();
  });
});
