/**
 * The local site browsed through the web proxy, on 127.0.0.1, port 0: a page with a known
 * title and text, a stylesheet, a script and a PNG image (subresources the proxy must fetch
 * through Wisp too), and a second page linked from the first.
 */
import { serveFiles, type FileServer, type ServedFile } from '../file-server.ts';
import { crc32, deflateSync } from 'node:zlib';

export const PAGE_TITLE = 'Wisp interop origin';
export const PAGE_TEXT = 'Hello from the local origin, through a web proxy.';
export const SECOND_TITLE = 'Second page';
export const SECOND_TEXT = 'The link was followed through the proxy too.';
/** The stylesheet's colour for `#greeting`, as `getComputedStyle` reports it. */
export const GREETING_COLOR = 'rgb(1, 2, 3)';
/** What the script writes into `#scripted`. */
export const SCRIPT_TEXT = 'script ran';
export const IMAGE_WIDTH = 3;
export const IMAGE_HEIGHT = 2;

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A solid-colour RGB PNG, so the image has a real binary body and a known size. */
function solidPng(width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(width * 3, 0x80)]);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(pixels)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

const FILES = new Map<string, ServedFile>([
  [
    '/',
    {
      type: 'text/html; charset=utf-8',
      body: `<!doctype html><html><head><meta charset="utf-8"><title>${PAGE_TITLE}</title>
<link rel="stylesheet" href="/style.css"><script src="/script.js" defer></script></head>
<body><p id="greeting">${PAGE_TEXT}</p><p id="scripted"></p>
<img id="image" src="/image.png" alt="">
<a id="next" href="/second">next</a></body></html>`,
    },
  ],
  [
    '/second',
    {
      type: 'text/html; charset=utf-8',
      body: `<!doctype html><html><head><meta charset="utf-8"><title>${SECOND_TITLE}</title></head>
<body><p id="greeting">${SECOND_TEXT}</p></body></html>`,
    },
  ],
  ['/style.css', { type: 'text/css', body: `#greeting { color: ${GREETING_COLOR}; }` }],
  [
    '/script.js',
    {
      type: 'text/javascript',
      body: `document.getElementById('scripted').textContent = ${JSON.stringify(SCRIPT_TEXT)};`,
    },
  ],
  ['/image.png', { type: 'image/png', body: solidPng(IMAGE_WIDTH, IMAGE_HEIGHT) }],
]);

export type OriginSite = FileServer;

export function startOriginSite(): Promise<OriginSite> {
  return serveFiles(FILES);
}
