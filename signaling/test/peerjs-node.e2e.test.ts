/**
 * The unmodified `peerjs` client in Node (node-datachannel as WebRTC, `ws` as WebSocket)
 * against `bu signaling` started as a process, inside scripts/netns-run.
 */
import {
  RTCIceCandidate,
  RTCPeerConnection,
  RTCSessionDescription,
} from 'node-datachannel/polyfill';
import type { DataConnection, Peer as PeerType, PeerOptions } from 'peerjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startSignalingProcess, type SignalingProcess } from './process.ts';

// peerjs checks for WebRTC when it is loaded, so the globals go in before the import.
Object.assign(globalThis, { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate, WebSocket });
const { Peer } = await import('peerjs');

let server: SignalingProcess;
const peers: PeerType[] = [];

beforeAll(async () => {
  server = await startSignalingProcess([
    '--host',
    '10.77.0.1',
    '--no-geoip',
    '--expire-timeout',
    '300',
  ]);
});

afterAll(async () => {
  for (const peer of peers) peer.destroy();
  await server.stop();
});

function options(): PeerOptions {
  return {
    host: server.host,
    port: server.port,
    path: '/',
    secure: false,
    // No STUN or TURN: host candidates on the veth pair are all there is.
    config: { iceServers: [] },
  };
}

function open(id?: string): Promise<PeerType> {
  const peer = id === undefined ? new Peer(options()) : new Peer(id, options());
  peers.push(peer);
  return new Promise((resolve, reject) => {
    peer.once('open', () => resolve(peer));
    peer.once('error', reject);
  });
}

function errorType(peer: PeerType): Promise<string> {
  return new Promise((resolve) => peer.once('error', (err) => resolve(err.type)));
}

function nextData(connection: DataConnection): Promise<unknown> {
  return new Promise((resolve) => connection.once('data', resolve));
}

describe('peerjs in Node against bu signaling', () => {
  it('connects two peers that exchange data both ways', async () => {
    const alice = await open('alice-node');
    const bob = await open(); // an id from GET /peerjs/id
    expect(bob.id).toMatch(/^[0-9a-f-]{36}$/);
    const incoming = new Promise<DataConnection>((resolve) => bob.once('connection', resolve));
    const outgoing = alice.connect(bob.id, { reliable: true });
    await new Promise<void>((resolve) => outgoing.once('open', resolve));
    const accepted = await incoming;
    await new Promise<void>((resolve) =>
      accepted.open ? resolve() : accepted.once('open', resolve),
    );
    expect(accepted.peer).toBe('alice-node');
    const atBob = nextData(accepted);
    void outgoing.send('hello bob');
    expect(await atBob).toBe('hello bob');
    const atAlice = nextData(outgoing);
    void accepted.send({ reply: 'hello alice', n: 2 });
    expect(await atAlice).toEqual({ reply: 'hello alice', n: 2 });
  });

  it('refuses a taken id with unavailable-id', async () => {
    await open('carol-node');
    const thief = new Peer('carol-node', options());
    peers.push(thief);
    expect(await errorType(thief)).toBe('unavailable-id');
  });

  it('reports peer-unavailable for a destination that never comes', async () => {
    const dave = await open('dave-node');
    const failed = errorType(dave);
    dave.connect('nobody-here');
    expect(await failed).toBe('peer-unavailable');
  });
});
