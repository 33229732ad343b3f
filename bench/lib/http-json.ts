/** POST JSON over a keep-alive agent with no socket limit (thousands of long polls at once). */
import { Agent, request } from 'node:http';

export const agent = new Agent({ keepAlive: true, maxSockets: Infinity });

export interface JsonResponse {
  readonly status: number;
  readonly body: unknown;
}

/** `from`: the local address to send from (any of 127.0.0.0/8 reaches a loopback server). */
export function postJson(url: string, body: unknown, from?: string): Promise<JsonResponse> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent,
        ...(from === undefined ? {} : { localAddress: from }),
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (data += chunk));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, body: JSON.parse(data) as unknown });
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(text);
  });
}
