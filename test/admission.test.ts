/**
 * Admission to `/tunnel/` end to end on one machine: tokens signed as the signaling server
 * signs them (signaling/admission-issuer.ts), carried by mesh's TunnelClient in its Noise
 * handshake, checked by a real egress over a real WebSocket. Each refusal has its own code on
 * the consumer's side and its own count in the egress's metrics; the quotas hold across the
 * tunnels that present one token; a key rotation keeps both keys good.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startEgressServer, type EgressServer } from '../egress/server.ts';
import { AdmissionGate, type AdmissionOptions } from '../egress/admission-gate.ts';
import { TunnelClient } from '../mesh/tunnel-client.ts';
import { readAll } from '../mesh/test/read-all.ts';
import {
  decodeAdmissionToken,
  decodeHandshakeItems,
  encodeHandshakeItems,
  refusalIn,
  encodeRefusalPayload,
} from '../protocol/admission.ts';
import { base64urlToBytes, bytesToBase64url } from '../protocol/bytes.ts';
import { AdmissionError } from '../protocol/errors.ts';
import { generateKeyPair, type KeyPair } from '../protocol/noise/crypto-suite.ts';
import {
  createAdmissionKey,
  encodeAdmissionKeyFile,
  parseAdmissionKeyFile,
  signAdmission,
  type AdmissionSigningKey,
} from '../server-kit/admission-keys.ts';
import { withAdmission } from '../signaling/admission-issuer.ts';

const signer = createAdmissionKey();
const egressKey = generateKeyPair();
let echo: Server;
let origin: HttpServer;
let echoPort: number;
let originPort: number;
const egresses: EgressServer[] = [];

function listening(server: Server | HttpServer): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  echo = createTcpServer((socket) => socket.pipe(socket));
  echoPort = await listening(echo);
  origin = createHttpServer((_req, res) => res.end(Buffer.alloc(256 * 1024, 7)));
  originPort = await listening(origin);
});

afterAll(async () => {
  await Promise.all(egresses.map((egress) => egress.close()));
  echo.close();
  origin.close();
});

async function startEgress(
  admission: AdmissionOptions,
  key: KeyPair = egressKey,
): Promise<EgressServer> {
  const egress = await startEgressServer({
    host: '127.0.0.1',
    port: 0,
    key,
    admission,
    allow: [`127.0.0.1:${echoPort}`, `127.0.0.1:${originPort}`],
    log: 'silent',
  });
  egresses.push(egress);
  return egress;
}

/** A token as the signaling server makes one, with claims overridden. */
function token(
  overrides: {
    key?: AdmissionSigningKey;
    egress?: Uint8Array;
    expires?: number;
    quotaClass?: string;
  } = {},
): Uint8Array {
  return signAdmission(overrides.key ?? signer, {
    tokenId: crypto.getRandomValues(new Uint8Array(16)),
    egress: overrides.egress ?? egressKey.publicKey,
    expires: overrides.expires ?? Math.floor(Date.now() / 1000) + 600,
    quotaClass: overrides.quotaClass ?? 'standard',
  });
}

interface Opened {
  readonly client: TunnelClient;
  readonly closed: Promise<Error | undefined>;
}

async function tunnel(
  egress: EgressServer,
  admission: Uint8Array | undefined,
  publicKey = egressKey.publicKey,
): Promise<Opened> {
  const ws = new WebSocket(`${egress.url.replace(/^http/, 'ws')}tunnel/`);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const client = new TunnelClient(
    { send: (message) => ws.send(message), close: () => ws.close() },
    { egressPublicKey: publicKey, ...(admission === undefined ? {} : { admission }) },
  );
  const closed = new Promise<Error | undefined>((resolve) => (client.onclose = resolve));
  ws.on('message', (data: Buffer) => client.receive(new Uint8Array(data)));
  ws.on('close', () => client.transportClosed());
  return { client, closed };
}

async function refusedWith(
  egress: EgressServer,
  admission: Uint8Array | undefined,
): Promise<string> {
  const { client } = await tunnel(egress, admission);
  const error = await client.ready.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(AdmissionError);
  return (error as AdmissionError).code;
}

async function count(egress: EgressServer, result: string): Promise<number> {
  const text = await (await fetch(`${egress.url}metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`bu_egress_admissions_total{result="${result}"}`));
  return line === undefined ? 0 : Number(line.split(' ').at(-1));
}

async function echoOnce(client: TunnelClient): Promise<string> {
  const stream = client.openStream('127.0.0.1', echoPort);
  const writer = stream.writable.getWriter();
  await writer.write(new TextEncoder().encode('admitted'));
  const reader = stream.readable.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  await writer.close().catch(() => undefined);
  return new TextDecoder().decode(value);
}

describe('the egress’s token table (egress/admission-gate.ts)', () => {
  it('is bounded: a full table refuses new tokens until expired ones with no tunnel go', () => {
    let now = Date.now();
    const gate = new AdmissionGate(
      { keys: [signer.publicKey], maxTokens: 2, clockSkewSeconds: 0, now: () => now },
      egressKey.publicKey,
    );
    const payload = (bytes: Uint8Array) => encodeHandshakeItems([['admission-token', bytes]]);
    const soon = Math.floor(now / 1000) + 60;
    const first = gate.admit(payload(token({ expires: soon })));
    const second = gate.admit(payload(token({ expires: soon })));
    expect([first.admitted, second.admitted]).toEqual([true, true]);
    expect(gate.admit(payload(token()))).toMatchObject({ admitted: false, reason: 'exhausted' });
    // Expired, but the first is still held by its tunnel: only the second's place frees.
    now += 120_000;
    if (second.admitted) second.pass.release();
    expect(gate.admit(payload(token())).admitted).toBe(true);
    expect(gate.tokens).toBe(2);
    expect(gate.admit(payload(token()))).toMatchObject({ admitted: false, reason: 'exhausted' });
    if (first.admitted) first.pass.release();
    expect(gate.tokens).toBe(1);
  });

  it('refuses a payload that lies about its item lengths as malformed', () => {
    const gate = new AdmissionGate({ keys: [signer.publicKey] }, egressKey.publicKey);
    const items = encodeHandshakeItems([['admission-token', token()]]);
    items[1] = 0xff; // the first item now claims more bytes than follow
    expect(gate.admit(items)).toMatchObject({ admitted: false, reason: 'malformed' });
    expect(gate.admit(new Uint8Array([0x01, 0x05]))).toMatchObject({ reason: 'malformed' });
  });
});

describe('tokens and payloads (protocol/admission.ts, server-kit/admission-keys.ts)', () => {
  it('round-trips a token and a key file, and finds a refusal in a response payload', () => {
    const bytes = token({ quotaClass: 'bulk-2' });
    const decoded = decodeAdmissionToken(bytes);
    expect(decoded.quotaClass).toBe('bulk-2');
    expect(decoded.egress).toEqual(egressKey.publicKey);
    expect(bytes.length).toBe(126 + 'bulk-2'.length);
    const again = parseAdmissionKeyFile(encodeAdmissionKeyFile(signer));
    expect(again.publicKey).toEqual(signer.publicKey);
    expect(refusalIn(new Uint8Array(0))).toBeUndefined();
    expect(refusalIn(encodeRefusalPayload('expired'))?.code).toBe('ERR_ADMISSION_EXPIRED');
    // Unknown item types are skipped; a known one twice is malformed.
    const items = encodeHandshakeItems([['admission-token', bytes]]);
    const withUnknown = new Uint8Array([0x7f, 1, 0, 9, ...items]);
    expect(decodeHandshakeItems(withUnknown).get('admission-token')).toEqual(bytes);
    expect(() => decodeHandshakeItems(new Uint8Array([...items, ...items]))).toThrow(/twice/);
  });

  it('refuses a key file whose public key is not its private key’s', () => {
    const other = createAdmissionKey();
    const file = JSON.parse(encodeAdmissionKeyFile(signer)) as Record<string, unknown>;
    const mixed = JSON.stringify({
      ...file,
      publicKey: bytesToBase64url(other.publicKey),
    });
    expect(() => parseAdmissionKeyFile(mixed)).toThrow(/does not match/);
  });

  it('gives every egress of a match its own token, bound to its key', () => {
    const second = generateKeyPair();
    const list = withAdmission(
      [
        { id: 'a', url: 'ws://127.0.0.1:1/', publicKey: 'x'.repeat(42) + 'A' },
        {
          id: 'b',
          url: 'ws://127.0.0.1:2/',
          publicKey: bytesToBase64url(second.publicKey),
        },
      ],
      { key: signer, lifetimeSeconds: 60 },
      1_000_000_000_000,
    );
    const [a, b] = list.map((e) => decodeAdmissionToken(base64urlToBytes(e.admission ?? '')));
    expect(b?.egress).toEqual(second.publicKey);
    expect(a?.expires).toBe(1_000_000_060);
    expect(a?.tokenId).not.toEqual(b?.tokenId);
  });
});

describe('an egress that requires admission', () => {
  it('carries a tunnel with a valid token', async () => {
    const egress = await startEgress({ keys: [signer.publicKey] });
    const { client } = await tunnel(egress, token());
    await client.ready;
    expect(await echoOnce(client)).toBe('admitted');
    client.close();
    expect(await count(egress, 'admitted')).toBe(1);
  });

  it('refuses each bad token with its own code, and counts each', async () => {
    const egress = await startEgress({
      keys: [signer.publicKey],
      classes: { standard: { bytes: 1 << 30, streams: 8, streamsPerMinute: 60 } },
    });
    const untrusted = createAdmissionKey();
    const forged = token();
    forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 1;
    const cases: Array<[string, Uint8Array | undefined, string]> = [
      ['missing', undefined, 'ERR_ADMISSION_MISSING'],
      ['malformed', new Uint8Array(40), 'ERR_ADMISSION_MALFORMED'],
      ['unknown-key', token({ key: untrusted }), 'ERR_ADMISSION_UNKNOWN_KEY'],
      ['forged', forged, 'ERR_ADMISSION_FORGED'],
      [
        'wrong-egress',
        token({ egress: generateKeyPair().publicKey }),
        'ERR_ADMISSION_WRONG_EGRESS',
      ],
      ['expired', token({ expires: Math.floor(Date.now() / 1000) - 120 }), 'ERR_ADMISSION_EXPIRED'],
      ['unknown-class', token({ quotaClass: 'gold' }), 'ERR_ADMISSION_UNKNOWN_CLASS'],
    ];
    for (const [result, bytes, code] of cases) {
      expect(await refusedWith(egress, bytes), result).toBe(code);
      expect(await count(egress, result), result).toBe(1);
    }
    expect(await count(egress, 'admitted')).toBe(0);
  });

  it('ends the tunnel when the token’s bytes are used up, and refuses the token after', async () => {
    const egress = await startEgress({
      keys: [signer.publicKey],
      classes: { standard: { bytes: 64 * 1024, streams: 8, streamsPerMinute: 60 } },
    });
    const bytes = token();
    const { client, closed } = await tunnel(egress, bytes);
    await client.ready;
    const response = await client.exchange({
      method: 'GET',
      url: `http://127.0.0.1:${originPort}/`,
      headers: [],
      body: null,
    });
    await readAll(response.body ?? new ReadableStream(), 256 * 1024).catch(() => undefined);
    const error = await closed;
    expect(error).toBeInstanceOf(AdmissionError);
    expect((error as AdmissionError).code).toBe('ERR_ADMISSION_EXHAUSTED');
    expect(await refusedWith(egress, bytes)).toBe('ERR_ADMISSION_EXHAUSTED');
  });

  it('holds the stream quotas across the tunnels that present one token', async () => {
    const egress = await startEgress({
      keys: [signer.publicKey],
      classes: { standard: { bytes: 1 << 30, streams: 2, streamsPerMinute: 3 } },
    });
    const bytes = token();
    const first = await tunnel(egress, bytes);
    const second = await tunnel(egress, bytes);
    await Promise.all([first.client.ready, second.client.ready]);
    // Two at once, over two tunnels: the third is closed as throttled (0x49).
    const a = first.client.openStream('127.0.0.1', echoPort);
    const b = second.client.openStream('127.0.0.1', echoPort);
    expect(await echoOn(a)).toBe('ok');
    expect(await echoOn(b)).toBe('ok');
    const c = second.client.openStream('127.0.0.1', echoPort);
    await expect(echoOn(c)).rejects.toMatchObject({ reasonName: 'throttled' });
    // Two closed: room again at once, but only one more start this minute (three in all).
    await Promise.all([a.writable.close(), b.writable.close()]);
    await a.readable.cancel();
    await b.readable.cancel();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await echoOn(first.client.openStream('127.0.0.1', echoPort))).toBe('ok');
    await expect(echoOn(first.client.openStream('127.0.0.1', echoPort))).rejects.toMatchObject({
      reasonName: 'throttled',
    });
    first.client.close();
    second.client.close();
  });

  it('takes tokens of both keys during a rotation, and only the new one after', async () => {
    const next = createAdmissionKey();
    const during = await startEgress({ keys: [signer.publicKey, next.publicKey] });
    for (const key of [signer, next]) {
      const { client } = await tunnel(during, token({ key }));
      await client.ready;
      client.close();
    }
    const after = await startEgress({ keys: [next.publicKey] });
    expect(await refusedWith(after, token({ key: signer }))).toBe('ERR_ADMISSION_UNKNOWN_KEY');
    const { client } = await tunnel(after, token({ key: next }));
    await client.ready;
    client.close();
  });

  it('is not checked on an egress with admission off', async () => {
    const open = await startEgressServer({
      host: '127.0.0.1',
      port: 0,
      key: egressKey,
      admission: 'off',
      allow: [`127.0.0.1:${echoPort}`],
      log: 'silent',
    });
    egresses.push(open);
    const { client } = await tunnel(open, undefined);
    await client.ready;
    expect(await echoOnce(client)).toBe('admitted');
    client.close();
  });
});

async function echoOn(stream: ReturnType<TunnelClient['openStream']>): Promise<string> {
  const writer = stream.writable.getWriter();
  await writer.write(new TextEncoder().encode('ok'));
  writer.releaseLock();
  const reader = stream.readable.getReader();
  const { value, done } = await reader.read();
  reader.releaseLock();
  if (done) throw new Error('closed');
  return new TextDecoder().decode(value);
}
