/**
 * CSS rewriting for proxied pages: every `url(...)` and every `@import "..."` gets the
 * URL `rewrite` returns. Comments are kept as they are; a URL inside a comment does
 * nothing, so leaving it alone is safe.
 */

const QUOTED = String.raw`"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'`;
const TOKENS = new RegExp(
  String.raw`(\/\*[\s\S]*?(?:\*\/|$))` + // 1: a comment
    String.raw`|\burl\(\s*(?:${QUOTED}|((?:[^()'"\s\\]|\\.)*))\s*\)` + // 2, 3, 4: url()
    String.raw`|(@import\s+)(?:${QUOTED})`, // 5: @import, 6, 7: its string
  'gi',
);

/** Undoes CSS escapes in a URL (`\)` → `)`, `\20` → space). */
function unescapeCss(value: string): string {
  return value.replace(
    /\\(?:([0-9a-f]{1,6})\s?|([\s\S]))/gi,
    (_, hex: string | undefined, c: string | undefined) =>
      hex !== undefined
        ? String.fromCodePoint(Math.min(parseInt(hex, 16), 0x10ffff) || 0xfffd)
        : (c ?? ''),
  );
}

/** A CSS string literal holding `value`. */
function quote(value: string): string {
  return `"${value.replace(/["\\\n\r\f]/g, (c) => `\\${c.charCodeAt(0).toString(16)} `)}"`;
}

export function rewriteCss(css: string, rewrite: (url: string) => string): string {
  return css.replace(
    TOKENS,
    (
      match: string,
      comment: string | undefined,
      urlDouble: string | undefined,
      urlSingle: string | undefined,
      urlBare: string | undefined,
      importKeyword: string | undefined,
      importDouble: string | undefined,
      importSingle: string | undefined,
    ) => {
      if (comment !== undefined) return match;
      if (importKeyword !== undefined) {
        const raw = importDouble ?? importSingle ?? '';
        return `${importKeyword}${quote(rewrite(unescapeCss(raw)))}`;
      }
      const raw = urlDouble ?? urlSingle ?? urlBare ?? '';
      return `url(${quote(rewrite(unescapeCss(raw)))})`;
    },
  );
}
