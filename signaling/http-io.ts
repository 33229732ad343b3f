/** Bounded request bodies and the JSON / text replies of the HTTP API. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MAX_SIGNALING_MESSAGE_BYTES } from '../protocol/limits.ts';
import { matchmakingErrorStatus, type MatchmakingErrorCode } from '../protocol/matchmaking.ts';
import { HttpError } from './errors.ts';

/**
 * The body as text, refused with `too-large` as soon as it passes the limit: by its declared
 * length before reading, or while streaming when the length was not declared.
 */
export function readBody(
  req: IncomingMessage,
  maxBytes = MAX_SIGNALING_MESSAGE_BYTES,
): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    return Promise.reject(new HttpError('too-large', `the body is over ${maxBytes} bytes`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        req.off('data', onData);
        reject(new HttpError('too-large', `the body is over ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    // The client hung up (or its chunked framing broke) before the body ended: its doing,
    // not a fault of ours. The answer goes nowhere, but it is counted as a bad request.
    req.on('error', () => reject(new HttpError('bad-request', 'the request body was cut short')));
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, type: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}

/** An error body (`{"error": code, "message": …}`) with the status that belongs to the code. */
export function sendError(res: ServerResponse, code: MatchmakingErrorCode, message: string): void {
  // After a refused body the rest of it is still on the wire; closing is cheaper than reading.
  if (code === 'too-large' && !res.headersSent) res.setHeader('Connection', 'close');
  sendJson(res, matchmakingErrorStatus(code), { error: code, message });
}
