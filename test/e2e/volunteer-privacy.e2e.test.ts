/**
 * What a volunteer sees, and what it does with bad input. The volunteer runs in this process
 * (node-datachannel) with an `openSocket` that records every byte it relays to and from the
 * egress; `bu serve` and `bu proxy` run as processes and real curl goes through them.
 */
import type { DataConnection } from 'peerjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { installNodeWebrtc } from '../../cli/node-webrtc.ts';
import { loadPeer } from '../../mesh/peerjs-module.ts';
import type { RelaySocket } from '../../mesh/relay.ts';
import { consumerMatch, randomToken, SignalingClient } from '../../mesh/signaling-client.ts';
import { Volunteer } from '../../mesh/volunteer.ts';
import { encodeHello } from '../../protocol/tunnel-hello.ts';
import { decodeRefused, type TunnelRefusalReason } from '../../protocol/tunnel-refused.ts';
import {
  curl,
  startChain,
  startProxy,
  waitForVolunteers,
  type Chain,
  type Origins,
  type Proxy,
  type Serve,
} from './chain-harness.ts';

const BODY_MARKER = 'BODY-MARKER-7f3a9c52e1';
const PATH_MARKER = 'secret-path-4b8e0d';
const HOSTNAME = 'localhost';

let chain: Chain<undefined>;
let origins: Origins;
let serve: Serve;
let proxy: Proxy;
let volunteer: Volunteer;
const relayed: Buffer[] = [];
const connections: { peer: string; open: boolean }[] = [];

function record(data: unknown): void {
  if (data instanceof ArrayBuffer) relayed.push(Buffer.from(data));
  else if (ArrayBuffer.isView(data)) {
    relayed.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
}

/** A `ws` WebSocket that copies every message either way into `relayed`. */
function recordingSocket(url: string): RelaySocket {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  ws.on('message', (data) => record(data));
  const send = ws.send.bind(ws);
  const socket = ws as unknown as RelaySocket;
  socket.send = (data) => {
    record(data);
    send(data);
  };
  return socket;
}

beforeAll(async () => {
  await installNodeWebrtc();
  // The volunteer runs in this process, so the chain starts without one (and the proxy after it).
  chain = await startChain({
    marker: BODY_MARKER,
    allow: (o) => [
      `${HOSTNAME}:${o.httpPort}`,
      `${HOSTNAME}:${o.httpsPort}`,
      `127.0.0.1:${o.httpPort}`,
    ],
    volunteers: 0,
    proxy: false,
  });
  ({ origins, serve } = chain);
  volunteer = new Volunteer({
    signaling: serve.signaling,
    kind: 'node',
    slots: 5,
    iceServers: [],
    openSocket: recordingSocket,
  });
  volunteer.on('connection', (event) => connections.push(event));
  await volunteer.start();
  proxy = await startProxy(serve.signaling, ['--volunteers', '1']);
  await waitForVolunteers(proxy, 1);
});

afterAll(async () => {
  await proxy.process.stop();
  await volunteer.stop();
  await chain.stop();
});

describe('privacy: what a volunteer relays', () => {
  it('never contains the hostname, the path or the body', async () => {
    const before = relayed.reduce((n, b) => n + b.length, 0);
    const http = await curl(
      'http',
      proxy,
      `http://${HOSTNAME}:${origins.httpPort}/marker/${PATH_MARKER}`,
    );
    const https = await curl(
      'socks',
      proxy,
      `https://${HOSTNAME}:${origins.httpsPort}/marker/${PATH_MARKER}`,
    );
    const connect = await curl(
      'http',
      proxy,
      `https://${HOSTNAME}:${origins.httpsPort}/marker/${PATH_MARKER}`,
    );
    for (const result of [http, https, connect]) {
      expect(result.code).toBe(0);
      expect(result.text).toContain(BODY_MARKER);
    }
    const all = Buffer.concat(relayed);
    // The recording saw the traffic (so the checks below can fail)…
    expect(all.length - before).toBeGreaterThan(3 * BODY_MARKER.length);
    // …and none of it is readable.
    for (const secret of [HOSTNAME, PATH_MARKER, BODY_MARKER, 'GET /marker', 'HTTP/1.1']) {
      expect(all.includes(Buffer.from(secret)), `${secret} appears in relayed bytes`).toBe(false);
    }
  });
});

describe('bad input from a consumer', () => {
  /**
   * A consumer of our own: a PeerJS peer matched with the volunteer through signaling. About
   * one data channel in twenty between two libdatachannel peers never opens (a DTLS handshake
   * that fails silently; docs note it), so a connection that is not open in 10 s is dropped
   * and tried again with a fresh peer, as the real consumer does.
   */
  async function rogueConnection(): Promise<{ connection: DataConnection; close(): void }> {
    for (let attempt = 1; ; attempt++) {
      const client = new SignalingClient(serve.signaling);
      const token = randomToken();
      const PeerClass = await loadPeer();
      const peer = new PeerClass({
        ...client.peerServer,
        token,
        config: { iceServers: [] },
        debug: 0,
      });
      await new Promise<void>((resolve, reject) => {
        peer.once('open', () => resolve());
        peer.once('error', reject);
      });
      const match = await consumerMatch(client, { id: peer.id, token, count: 1, nat: 'unknown' });
      const target = match.volunteers[0]?.id;
      if (target === undefined) throw new Error('no volunteer matched');
      const connection = peer.connect(target, { serialization: 'raw', reliable: true });
      const opened = await new Promise<boolean>((resolve, reject) => {
        const timer = setTimeout(() => resolve(false), 10_000);
        connection.once('open', () => {
          clearTimeout(timer);
          resolve(true);
        });
        connection.once('error', reject);
      });
      if (opened) return { connection, close: () => peer.destroy() };
      peer.destroy();
      if (attempt === 3) throw new Error('the data channel never opened, three times');
    }
  }

  function closed(connection: DataConnection, ms = 30_000): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      connection.once('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  it.each<[string, Uint8Array<ArrayBuffer>, TunnelRefusalReason]>([
    ['garbage instead of HELLO', Uint8Array.of(0xff, 0x00, 0x13, 0x37, 0x42), 'bad-hello'],
    ['a HELLO naming an egress not in the list', encodeHello('not-in-the-list'), 'unknown-egress'],
  ])(
    '%s: that consumer is told why and disconnected, the others keep being served',
    async (_what, bytes, reason) => {
      const opened = connections.length;
      const refusalsBefore = volunteer.refusals[reason];
      const rogue = await rogueConnection();
      const received: Uint8Array[] = [];
      rogue.connection.on('data', (data) => {
        if (data instanceof ArrayBuffer) received.push(new Uint8Array(data));
      });
      const gone = closed(rogue.connection);
      rogue.connection.dataChannel.send(bytes);
      expect(await gone).toBe(true);
      // Its only message from the volunteer was REFUSED with the reason, counted there too.
      expect(received).toHaveLength(1);
      expect(decodeRefused(received[0] ?? new Uint8Array(0))).toEqual({ reason });
      expect(volunteer.refusals[reason]).toBe(refusalsBefore + 1);
      // The volunteer reported the rogue consumer open and then closed…
      for (let i = 0; i < 100 && !connections.slice(opened).some((e) => !e.open); i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const events = connections.slice(opened);
      expect(events.filter((e) => e.open).length).toBe(1);
      expect(events.filter((e) => !e.open).length).toBe(1);
      rogue.close();
      // …is still on, and still carries the real consumer's traffic.
      expect(volunteer.state).toBe('on');
      const result = await curl('http', proxy, `http://127.0.0.1:${origins.httpPort}/bytes/65536`);
      expect(result.code).toBe(0);
      expect(result.size).toBe(65536);
    },
  );
});
