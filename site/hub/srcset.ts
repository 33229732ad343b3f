/**
 * `srcset` values (`a.png 1x, b.png 2x`): each candidate's URL is rewritten, descriptors
 * are kept. URLs may contain commas (data: URLs), so candidates are split the way the
 * HTML standard parses them, not on every comma.
 */
export function rewriteSrcset(value: string, rewrite: (url: string) => string): string {
  const out: string[] = [];
  let i = 0;
  const n = value.length;
  const isSpace = (c: string | undefined) =>
    c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f';
  while (i < n) {
    while (i < n && (isSpace(value[i]) || value[i] === ',')) i++;
    if (i >= n) break;
    let start = i;
    while (i < n && !isSpace(value[i])) i++;
    let url = value.slice(start, i);
    let descriptor = '';
    if (url.endsWith(',')) {
      url = url.replace(/,+$/, '');
    } else {
      start = i;
      let depth = 0;
      while (i < n) {
        const c = value[i];
        if (c === '(') depth++;
        else if (c === ')') depth = Math.max(0, depth - 1);
        else if (c === ',' && depth === 0) break;
        i++;
      }
      descriptor = value.slice(start, i).trim();
      i++;
    }
    if (url !== '') out.push(descriptor === '' ? rewrite(url) : `${rewrite(url)} ${descriptor}`);
  }
  return out.join(', ');
}
