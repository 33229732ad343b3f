/**
 * Wisp v2 negotiation on `/wisp/` as the v2 specification (draft 6) says: any offered
 * subprotocol means v2 and the first one is echoed; none means v1. And the password
 * authentication extension, against our own raw client and against wisp-js's.
 */
import { client as wispClient, extensions } from '@mercuryworkshop/wisp-js/client';
import { connect as netConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { generateKeyPair } from '../../protocol/noise/crypto-suite.ts';
import { MAX_WISP_PACKET_BYTES } from '../../protocol/limits.ts';
import {
  decodeWispPacket,
  encodeWispPacket,
  encodeWispPasswordServerPayload,
} from '../../protocol/wisp-codec.ts';
import {
  WISP_CLOSE_REASONS,
  WISP_EXTENSION_IDS,
  type WispExtension,
  type WispPacket,
} from '../../protocol/wisp-types.ts';
import type { WispCredential } from '../wisp-passwords.ts';
import { startEgressServer, type EgressServer } from '../server.ts';
import { countOf } from './harness.ts';
import { patternBytes, startEchoOrigin, type Origin } from './origins.ts';
import { TestWispClient } from './wisp-client.ts';

const PASSWORDS: WispCredential[] = [
  { username: 'alice', password: 'correct horse:battery' },
  { username: 'bob', password: 'hunter2' },
];

let echo: Origin;
let open: EgressServer;
let private_: EgressServer;

async function startEgress(wispPasswords?: WispCredential[]): Promise<EgressServer> {
  return startEgressServer({
    host: '127.0.0.1',
    port: 0,
    admission: 'off',
    key: generateKeyPair(),
    allow: [`127.0.0.1:${echo.port}`],
    log: 'silent',
    dial: (address, port) => {
      if (address.text !== '127.0.0.1') throw new Error(`refused to dial ${address.text}`);
      return netConnect({ host: address.text, port });
    },
    ...(wispPasswords === undefined ? {} : { wispPasswords }),
  });
}

beforeAll(async () => {
  echo = await startEchoOrigin();
  open = await startEgress();
  private_ = await startEgress(PASSWORDS);
});

afterAll(async () => {
  await open.close();
  await private_.close();
  await echo.close();
});

const wispUrl = (egress: EgressServer): string => `ws://127.0.0.1:${egress.port}/wisp/`;

async function metric(egress: EgressServer, name: string, label: string): Promise<number> {
  const text = await (await fetch(`${egress.url}metrics`)).text();
  return countOf(text, name, label);
}

/** A raw WebSocket client that records every Wisp packet and how the socket closed. */
interface RawClient {
  readonly ws: WebSocket;
  readonly client: TestWispClient;
  /** Resolves with the nth packet received (0-based). */
  packet(n: number): Promise<WispPacket>;
  readonly packets: WispPacket[];
  readonly closed: Promise<{ code: number; reason: string }>;
  send(packet: WispPacket): void;
}

async function connectRaw(url: string, protocols: string[]): Promise<RawClient> {
  const ws = new WebSocket(url, protocols);
  const client = new TestWispClient((bytes) => ws.send(bytes), {
    maxPacketBytes: MAX_WISP_PACKET_BYTES,
  });
  const packets: WispPacket[] = [];
  const waiters: Array<() => void> = [];
  ws.on('message', (data: Buffer) => {
    packets.push(decodeWispPacket(new Uint8Array(data), { maxBytes: 1 << 20 }));
    client.receive(data);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => {
      client.closeAll();
      for (const wake of waiters.splice(0)) wake();
      resolve({ code, reason: reason.toString() });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    client,
    packets,
    closed,
    send: (packet) => ws.send(encodeWispPacket(packet)),
    packet(n) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const got = packets[n];
          if (got !== undefined) resolve(got);
          else if (ws.readyState === WebSocket.CLOSED) reject(new Error(`closed before ${n}`));
          else waiters.push(check);
        };
        check();
      });
    },
  };
}

function info(extensions: WispExtension[], major = 2): WispPacket {
  return { type: 'info', streamId: 0, major, minor: 0, extensions };
}

/** Draft 6 client record: u8 username length ‖ username ‖ password. */
function passwordRecord(username: string, password: string): WispExtension {
  const user = Buffer.from(username);
  return {
    id: WISP_EXTENSION_IDS['password-auth'],
    payload: Buffer.concat([Uint8Array.of(user.length), user, Buffer.from(password)]),
  };
}

async function echoOnce(raw: RawClient, seed: number): Promise<void> {
  const stream = raw.client.open('127.0.0.1', echo.port);
  const bytes = patternBytes(200_000, seed);
  await stream.send(bytes);
  expect(Buffer.compare(await stream.receivedBytes(bytes.length), bytes)).toBe(0);
}

describe('/wisp/ subprotocol negotiation', () => {
  it('echoes a random subprotocol and speaks v2: INFO first, CONTINUE after ours', async () => {
    const offered = `x-${Math.random().toString(36).slice(2)}`;
    const raw = await connectRaw(wispUrl(open), [offered]);
    expect(raw.ws.protocol).toBe(offered);
    expect(await raw.packet(0)).toEqual(info([]));
    // Extensions the egress did not offer (UDP, MOTD, an unknown id) are not in common.
    raw.send(
      info([
        { id: WISP_EXTENSION_IDS.udp, payload: new Uint8Array() },
        { id: WISP_EXTENSION_IDS.motd, payload: new Uint8Array() },
        { id: 0xee, payload: Uint8Array.of(1, 2, 3) },
      ]),
    );
    expect(await raw.packet(1)).toMatchObject({ type: 'continue', streamId: 0 });
    await echoOnce(raw, 1);
    raw.ws.close();
  });

  it('refuses an INFO over 128 KiB before the handshake is through (1002, counted)', async () => {
    const before = await metric(open, 'bu_egress_handshake_failures_total', 'ERR_WISP_TOO_LARGE');
    const raw = await connectRaw(wispUrl(open), ['v2']);
    await raw.packet(0);
    const huge = info([{ id: 0xee, payload: new Uint8Array(200 * 1024) }]);
    raw.ws.send(encodeWispPacket(huge, { maxBytes: 1024 * 1024 }));
    expect((await raw.closed).code).toBe(1002);
    expect(raw.packets.some((p) => p.type === 'continue')).toBe(false);
    expect(await metric(open, 'bu_egress_handshake_failures_total', 'ERR_WISP_TOO_LARGE')).toBe(
      before + 1,
    );
  });

  it('echoes the first of several offered subprotocols', async () => {
    const raw = await connectRaw(wispUrl(open), ['first-one', 'wisp-v2', 'third']);
    expect(raw.ws.protocol).toBe('first-one');
    expect((await raw.packet(0)).type).toBe('info');
    raw.ws.close();
  });

  it('speaks v1 when no subprotocol is offered: CONTINUE first, no INFO', async () => {
    const raw = await connectRaw(wispUrl(open), []);
    expect(raw.ws.protocol).toBe('');
    expect(await raw.packet(0)).toMatchObject({ type: 'continue', streamId: 0 });
    await echoOnce(raw, 2);
    expect(raw.packets.some((p) => p.type === 'info')).toBe(false);
    raw.ws.close();
  });

  it('refuses another major version with CLOSE 0x01 on stream 0', async () => {
    const before = await metric(
      open,
      'bu_egress_handshake_failures_total',
      'ERR_EGRESS_WISP_VERSION',
    );
    const raw = await connectRaw(wispUrl(open), ['v2-please']);
    await raw.packet(0);
    raw.send(info([], 3));
    expect(await raw.packet(1)).toEqual({
      type: 'close',
      streamId: 0,
      reason: WISP_CLOSE_REASONS.unspecified,
    });
    expect(await raw.closed).toEqual({ code: 1008, reason: 'ERR_EGRESS_WISP_VERSION' });
    expect(
      await metric(open, 'bu_egress_handshake_failures_total', 'ERR_EGRESS_WISP_VERSION'),
    ).toBe(before + 1);
  });

  it("takes the client's CLOSE on stream 0 as its refusal and starts nothing", async () => {
    const raw = await connectRaw(wispUrl(open), ['v2']);
    await raw.packet(0);
    raw.send({ type: 'close', streamId: 0, reason: WISP_CLOSE_REASONS['incompatible-extensions'] });
    expect(await raw.closed).toEqual({ code: 1000, reason: 'ERR_EGRESS_CLIENT_END' });
    expect(raw.packets.map((p) => p.type)).toEqual(['info']);
  });
});

describe('/wisp/ with password authentication', () => {
  it('offers the password extension as required in its INFO', async () => {
    const raw = await connectRaw(wispUrl(private_), ['anything']);
    expect(await raw.packet(0)).toEqual(
      info([
        {
          id: WISP_EXTENSION_IDS['password-auth'],
          payload: encodeWispPasswordServerPayload(true),
        },
      ]),
    );
    expect(encodeWispPasswordServerPayload(true)).toEqual(Uint8Array.of(1));
    raw.ws.close();
  });

  it('refuses a v1 client (no subprotocol) with close 1008 before any Wisp packet', async () => {
    const name = 'bu_egress_handshake_failures_total';
    const before = await metric(private_, name, 'ERR_EGRESS_AUTH_REQUIRED');
    const raw = await connectRaw(wispUrl(private_), []);
    expect(await raw.closed).toEqual({ code: 1008, reason: 'ERR_EGRESS_AUTH_REQUIRED' });
    expect(raw.packets).toEqual([]);
    expect(await metric(private_, name, 'ERR_EGRESS_AUTH_REQUIRED')).toBe(before + 1);
  });

  it('closes a v2 client without credentials with CLOSE 0xc2 on stream 0', async () => {
    const raw = await connectRaw(wispUrl(private_), ['wisp-v2']);
    await raw.packet(0);
    raw.send(info([{ id: WISP_EXTENSION_IDS.udp, payload: new Uint8Array() }]));
    expect(await raw.packet(1)).toEqual({
      type: 'close',
      streamId: 0,
      reason: WISP_CLOSE_REASONS['auth-required'],
    });
    expect(await raw.closed).toEqual({ code: 1008, reason: 'ERR_EGRESS_AUTH_REQUIRED' });
  });

  it.each([
    ['a wrong password', passwordRecord('alice', 'hunter2')],
    ['an unknown user', passwordRecord('mallory', 'hunter2x')],
    ['a password of another user', passwordRecord('bob', 'correct horse:battery')],
    ['an empty record', { id: WISP_EXTENSION_IDS['password-auth'], payload: new Uint8Array() }],
  ])('closes a v2 client with %s with CLOSE 0xc0 and counts it', async (_name, record) => {
    const name = 'bu_egress_handshake_failures_total';
    const before = await metric(private_, name, 'ERR_EGRESS_AUTH_FAILED');
    const raw = await connectRaw(wispUrl(private_), ['some-protocol']);
    await raw.packet(0);
    raw.send(info([record]));
    // A CONNECT sent right behind a refused INFO must never be served.
    raw.client.open('127.0.0.1', echo.port);
    expect(await raw.packet(1)).toEqual({
      type: 'close',
      streamId: 0,
      reason: WISP_CLOSE_REASONS['auth-bad-password'],
    });
    expect(await raw.closed).toEqual({ code: 1008, reason: 'ERR_EGRESS_AUTH_FAILED' });
    expect(raw.packets).toHaveLength(2);
    expect(await metric(private_, name, 'ERR_EGRESS_AUTH_FAILED')).toBe(before + 1);
  });

  it('lets a v2 client with the right password through (draft 6 record)', async () => {
    const raw = await connectRaw(wispUrl(private_), ['random-value']);
    await raw.packet(0);
    raw.send(info([passwordRecord('alice', 'correct horse:battery')]));
    expect(await raw.packet(1)).toMatchObject({ type: 'continue', streamId: 0 });
    await echoOnce(raw, 3);
    raw.ws.close();
  });

  it('lets wisp-js in with the right password and keeps it out with a wrong one', async () => {
    const connectWispJs = (password: string): Promise<'open' | 'closed'> =>
      new Promise((resolve, reject) => {
        const conn = new wispClient.ClientConnection(wispUrl(private_), {
          wisp_version: 2,
          wisp_extensions: [
            new extensions.PasswordAuthExtension({ client_config: { username: 'bob', password } }),
          ],
        });
        conn.onopen = () => {
          const stream = conn.create_stream('127.0.0.1', echo.port);
          stream.onmessage = (data) => {
            if (Buffer.from(data).toString() === 'ping') {
              conn.close();
              resolve('open');
            }
          };
          stream.onclose = (reason) => reject(new Error(`stream closed: ${reason}`));
          stream.send(Buffer.from('ping'));
        };
        conn.onclose = () => resolve('closed');
        conn.onerror = () => reject(new Error('wisp-js connection failed'));
      });
    expect(await connectWispJs('hunter2')).toBe('open');
    expect(await connectWispJs('hunter3')).toBe('closed');
  });
});
