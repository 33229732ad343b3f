/** Starts egresses and clients for tests; nothing here ever dials beyond 127.0.0.1. */
import { connect as netConnect } from 'node:net';
import { WebSocket } from 'ws';
import { generateKeyPair, type KeyPair } from '../../protocol/noise/crypto-suite.ts';
import { TunnelInitiator } from '../../protocol/tunnel-handshake.ts';
import type { TunnelSession } from '../../protocol/tunnel-session.ts';
import { MAX_FRAME_PACKET_BYTES } from '../../protocol/tunnel-session.ts';
import { MAX_WISP_PACKET_BYTES } from '../../protocol/limits.ts';
import type { AdmissionSetting } from '../admission-gate.ts';
import type { EgressLimits } from '../limits.ts';
import { tableLookup } from '../resolver.ts';
import { startEgressServer, type EgressServer } from '../server.ts';
import type { Dialer } from '../stream-types.ts';
import { FORBIDDEN_LOOKUP } from './forbidden-destinations.ts';
import { TestWispClient } from './wisp-client.ts';

export interface TestEgress extends EgressServer {
  readonly key: KeyPair;
  /** Every address:port the egress dialled, in order. */
  readonly dialed: string[];
  wsUrl(path: 'wisp/' | 'tunnel/'): string;
  metricsText(): Promise<string>;
}

const LOCAL_NAMES = tableLookup({ 'origin.test': ['127.0.0.1'] });

export async function startTestEgress(
  options: {
    allow?: string[];
    limits?: Partial<EgressLimits>;
    extraCaCertificates?: string[];
    /** Off unless a test checks admission. */
    admission?: AdmissionSetting;
  } = {},
): Promise<TestEgress> {
  const key = generateKeyPair();
  const dialed: string[] = [];
  const dial: Dialer = (address, port) => {
    dialed.push(`${address.text}:${port}`);
    // Belt and braces: were the policy ever wrong, a test still must not leave the machine.
    if (address.text !== '127.0.0.1')
      throw new Error(`test egress refused to dial ${address.text}`);
    return netConnect({ host: address.text, port });
  };
  const egress = await startEgressServer({
    host: '127.0.0.1',
    port: 0,
    key,
    admission: options.admission ?? 'off',
    allow: options.allow ?? [],
    lookup: (name) => (name === 'origin.test' ? LOCAL_NAMES(name) : FORBIDDEN_LOOKUP(name)),
    log: 'silent',
    dial,
    limits: options.limits ?? {},
    extraCaCertificates: options.extraCaCertificates ?? [],
  });
  return {
    ...egress,
    key,
    dialed,
    wsUrl: (path) => `ws://127.0.0.1:${egress.port}/${path}`,
    async metricsText() {
      const res = await fetch(`${egress.url}metrics`);
      return res.text();
    },
  };
}

export interface WispConnection {
  readonly ws: WebSocket;
  readonly client: TestWispClient;
  readonly closed: Promise<{ code: number; reason: string }>;
}

function closedOf(
  ws: WebSocket,
  client: TestWispClient,
): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => {
      client.closeAll();
      resolve({ code, reason: reason.toString() });
    }),
  );
}

function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

/** Our Wisp client over a plain WebSocket (v1: no subprotocol). */
export async function connectWisp(url: string): Promise<WispConnection> {
  const ws = new WebSocket(url);
  const client = new TestWispClient((bytes) => ws.send(bytes), {
    maxPacketBytes: MAX_WISP_PACKET_BYTES,
  });
  ws.on('message', (data: Buffer) => client.receive(data));
  const closed = closedOf(ws, client);
  await opened(ws);
  await client.ready;
  return { ws, client, closed };
}

export interface TunnelConnection extends WispConnection {
  readonly session: TunnelSession;
  /** Sends raw bytes as one WebSocket message (for tampering tests). */
  sendRaw(bytes: Uint8Array): void;
}

/** Our Noise client through /tunnel/: handshake, then Wisp in sealed frames. */
export async function connectTunnel(
  url: string,
  egressPublicKey: Uint8Array,
  options: { downlinkWindow?: number; autoGrant?: boolean } = {},
): Promise<TunnelConnection> {
  const ws = new WebSocket(url);
  await opened(ws);
  const initiator = new TunnelInitiator(egressPublicKey);
  // One listener from the start: the first frame can arrive in the same read as the response.
  const early: Buffer[] = [];
  let deliver: ((data: Buffer) => void) | null = null;
  const response = new Promise<Buffer>((resolve, reject) => {
    ws.on('message', (data: Buffer) => {
      if (deliver !== null) deliver(data);
      else if (early.length === 0 && !responded) {
        responded = true;
        resolve(data);
      } else early.push(data);
    });
    ws.once('close', (code, reason) => reject(new Error(`closed ${code} ${reason.toString()}`)));
  });
  let responded = false;
  ws.send(initiator.writeInit());
  const { session } = initiator.readResponse(await response);
  const client = new TestWispClient((bytes) => ws.send(session.seal(bytes)), {
    maxPacketBytes: MAX_FRAME_PACKET_BYTES,
    downlinkWindow: options.downlinkWindow ?? 64,
    ...(options.autoGrant === undefined ? {} : { autoGrant: options.autoGrant }),
  });
  deliver = (data) => {
    const frame = session.open(data);
    if (frame.packet.length > 0) client.receive(frame.packet);
  };
  for (const data of early.splice(0)) deliver(data);
  const closed = closedOf(ws, client);
  await client.ready;
  return { ws, client, closed, session, sendRaw: (bytes) => ws.send(bytes) };
}

/** Sums the samples of metric `name` whose labels include the value `label`. */
export function countOf(metrics: string, name: string, label: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith(`${name}{`) && line.includes(`"${label}"`)) {
      total += Number(line.split(' ').at(-1));
    }
  }
  return total;
}
