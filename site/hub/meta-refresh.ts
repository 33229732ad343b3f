/**
 * `<meta http-equiv="refresh" content="5; url=/next">` and the `Refresh` header: the URL
 * part is rewritten, the delay kept. A value without a URL (a plain reload) is unchanged.
 */
const REFRESH = /^(\s*\d+(?:\.\d*)?\s*)(?:[;,]\s*(?:url\s*=\s*)?(["']?)(.*?)\2)?\s*$/i;

export function rewriteRefresh(content: string, rewrite: (url: string) => string): string {
  const match = REFRESH.exec(content);
  if (!match) return content;
  const delay = (match[1] ?? '0').trim();
  const url = match[3];
  if (url === undefined || url.trim() === '') return delay;
  return `${delay}; url=${rewrite(url.trim())}`;
}
