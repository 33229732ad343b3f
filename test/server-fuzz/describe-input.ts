/** Fuzz inputs as text a person can read in a failure report, and paste to replay by hand. */
import type { FuzzInput, Pace } from './inputs.ts';

const MAX_TEXT = 400;
const MAX_HEX = 48;
const MAX_FRAMES = 6;

/** Bytes as a JavaScript string literal: printable ASCII as is, everything else escaped. */
export function escapeBytes(bytes: Uint8Array, max = MAX_TEXT): string {
  let out = '';
  for (const byte of bytes.subarray(0, max)) {
    if (byte === 0x0d) out += '\\r';
    else if (byte === 0x0a) out += '\\n';
    else if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte < 0x7f) out += String.fromCharCode(byte);
    else out += `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  const more = bytes.length > max ? `…(${bytes.length} bytes)` : '';
  return `"${out}"${more}`;
}

function hex(bytes: Uint8Array): string {
  const shown = Buffer.from(bytes.subarray(0, MAX_HEX)).toString('hex');
  return bytes.length > MAX_HEX ? `${shown}…(${bytes.length} bytes)` : shown;
}

function frames(list: readonly Uint8Array[]): string {
  const shown = list.slice(0, MAX_FRAMES).map(hex);
  if (list.length > MAX_FRAMES) shown.push(`…(${list.length} writes)`);
  return `[${shown.join(', ')}]`;
}

function paced(input: { readonly pace: Pace }): string {
  const { gapMs, lingerMs } = input.pace;
  const parts = [gapMs > 0 ? `${gapMs} ms apart` : '', lingerMs > 0 ? `read ${lingerMs} ms` : ''];
  const shown = parts.filter((part) => part !== '').join(', ');
  return shown === '' ? '' : ` (${shown})`;
}

export function describeInput(input: FuzzInput): string {
  switch (input.kind) {
    case 'raw': {
      const cut = input.splits.length > 0 ? ` cut at ${input.splits.join(',')}` : '';
      return `raw${cut}, then ${input.finish}: ${escapeBytes(input.bytes)}`;
    }
    case 'upgrade':
      return `upgrade ${escapeBytes(input.request)}; after 101 the frames ${frames(input.frames)}${paced(input)}, then ${input.finish}`;
    case 'peerjs': {
      const id = input.askId ? 'the id from GET peerjs/id' : JSON.stringify(input.id);
      const post =
        input.post === undefined
          ? ''
          : `; POST ${input.post.path} ${JSON.stringify(input.post.fields)}`;
      return `peerjs session at ${input.base} as ${id}, token ${JSON.stringify(input.token)}, query +${escapeBytes(Buffer.from(input.query, 'latin1'))}${post}; after OPEN the frames ${frames(input.frames)}${paced(input)}, then ${input.finish}`;
    }
    case 'tunnel': {
      const steps = input.steps
        .slice(0, MAX_FRAMES)
        .map((step) => ('raw' in step ? `frame ${hex(step.raw)}` : `sealed ${hex(step.sealed)}`));
      return `tunnel${input.handshake ? ' with a real handshake' : ''}: [${steps.join(', ')}]${paced(input)}, then ${input.finish}`;
    }
  }
}
