import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPair } from '../../protocol/noise/crypto-suite.ts';
import { TunnelInitiator } from '../../protocol/tunnel-handshake.ts';
import { encodeWispPacket } from '../../protocol/wisp-codec.ts';
import { connectTunnel, countOf, startTestEgress, type TestEgress } from './harness.ts';
import { patternBytes, startEchoOrigin, type Origin } from './origins.ts';

let echo: Origin;
let egress: TestEgress;

beforeAll(async () => {
  echo = await startEchoOrigin();
  egress = await startTestEgress({ allow: [`127.0.0.1:${echo.port}`] });
});

afterAll(async () => {
  await egress.close();
  await echo.close();
});

function rawSocket(url: string): Promise<{ ws: WebSocket; closed: Promise<[number, string]> }> {
  const ws = new WebSocket(url);
  const closed = new Promise<[number, string]>((resolve) =>
    ws.once('close', (code, reason) => resolve([code, reason.toString()])),
  );
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, closed }));
    ws.once('error', reject);
  });
}

describe('/tunnel/ with our Noise client', () => {
  it('carries TCP streams byte-exact under downlink credits', async () => {
    const { ws, client } = await connectTunnel(egress.wsUrl('tunnel/'), egress.key.publicKey, {
      downlinkWindow: 8,
    });
    const inputs = [patternBytes(512 * 1024, 1), patternBytes(300_000, 2), patternBytes(1, 3)];
    const streams = inputs.map(() => client.open('origin.test', echo.port));
    await Promise.all(streams.map((s, i) => s.send(inputs[i]!)));
    for (const [i, s] of streams.entries()) {
      const echoed = await s.receivedBytes(inputs[i]!.length);
      expect(Buffer.compare(echoed, inputs[i]!), `stream ${i}`).toBe(0);
    }
    ws.close();
  });

  it('fails the handshake cleanly for a consumer holding the wrong egress key', async () => {
    const before = await egress.metricsText();
    await expect(
      connectTunnel(egress.wsUrl('tunnel/'), generateKeyPair().publicKey),
    ).rejects.toThrow(/1008 ERR_NOISE_DECRYPT/);
    const after = await egress.metricsText();
    expect(countOf(after, 'bu_egress_handshake_failures_total', 'ERR_NOISE_DECRYPT')).toBe(
      countOf(before, 'bu_egress_handshake_failures_total', 'ERR_NOISE_DECRYPT') + 1,
    );
  });

  it('closes the session on a tampered frame', async () => {
    const conn = await connectTunnel(egress.wsUrl('tunnel/'), egress.key.publicKey);
    const frame = conn.session.seal(
      encodeWispPacket({
        type: 'connect',
        streamId: 7,
        streamType: 'tcp',
        hostname: 'origin.test',
        port: echo.port,
      }),
    );
    frame[frame.length - 1]! ^= 0x01;
    conn.sendRaw(frame);
    expect(await conn.closed).toEqual({ code: 1002, reason: 'ERR_TUNNEL_TAMPERED' });
  });

  it('never accepts plaintext Wisp, before or after the handshake', async () => {
    const packets = [
      encodeWispPacket({ type: 'continue', streamId: 0, bufferRemaining: 8 }),
      encodeWispPacket({
        type: 'connect',
        streamId: 1,
        streamType: 'tcp',
        hostname: '127.0.0.1',
        port: echo.port,
      }),
      encodeWispPacket({ type: 'data', streamId: 1, payload: new Uint8Array(60) }),
      encodeWispPacket({ type: 'close', streamId: 1, reason: 2 }),
    ];
    for (const packet of packets) {
      const { ws, closed } = await rawSocket(egress.wsUrl('tunnel/'));
      ws.send(packet);
      const [code, reason] = await closed;
      expect(code, reason).not.toBe(1000);
      expect(reason).toMatch(/^ERR_(TUNNEL|NOISE)_/);
    }
    const conn = await connectTunnel(egress.wsUrl('tunnel/'), egress.key.publicKey);
    conn.sendRaw(packets[1]!);
    expect((await conn.closed).reason).toBe('ERR_TUNNEL_MESSAGE_KIND');
    expect(egress.dialed.filter((d) => d.endsWith(`:${echo.port}`)).length).toBeGreaterThan(0);
  });

  it('refuses a second handshake-init once the session is open', async () => {
    const conn = await connectTunnel(egress.wsUrl('tunnel/'), egress.key.publicKey);
    conn.sendRaw(new TunnelInitiator(egress.key.publicKey).writeInit());
    expect((await conn.closed).reason).toBe('ERR_TUNNEL_MESSAGE_KIND');
  });
});
