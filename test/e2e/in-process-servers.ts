/**
 * The servers of the chain in this process, for e2e tests that drive mesh/ directly (a Node
 * Consumer and Volunteer, or the widget in Chromium): an egress with a fresh key and a
 * signaling server that lists it as `local`, both on 10.77.0.1 (inside scripts/netns-run).
 * Also installs node-datachannel's WebRTC and `ws` as globals, which peerjs looks for when it
 * loads.
 */
import { createAdmissionKey } from '../../server-kit/admission-keys.ts';
import {
  RTCIceCandidate,
  RTCPeerConnection,
  RTCSessionDescription,
} from 'node-datachannel/polyfill';
import WebSocket from 'ws';
import { startEgressServer, type EgressServer } from '../../egress/server.ts';
import { bytesToBase64url } from '../../protocol/bytes.ts';
import { generateKeyPair } from '../../protocol/noise/crypto-suite.ts';
import { createLogger } from '../../server-kit/logger.ts';
import { startSignalingServer, type SignalingServer } from '../../signaling/server.ts';
import { SERVE_HOST } from './chain-harness.ts';

Object.assign(globalThis, { RTCPeerConnection, RTCSessionDescription, RTCIceCandidate, WebSocket });

export interface InProcessServers {
  readonly egress: EgressServer;
  readonly signaling: SignalingServer;
  close(): Promise<void>;
}

export async function startInProcessServers(options: {
  /** `HOST:PORT` entries the egress may reach despite its address policy. */
  readonly allow: string[];
  /** Match regardless of NAT type (both ends report `unknown` on one machine). */
  readonly ignoreNat?: boolean;
}): Promise<InProcessServers> {
  const key = generateKeyPair();
  // Admission as deployed: the signaling server signs a token per match, the egress checks it.
  const admission = createAdmissionKey();
  const egress = await startEgressServer({
    admission: { keys: [admission.publicKey] },
    host: SERVE_HOST,
    port: 0,
    key,
    allow: options.allow,
    log: 'silent',
  });
  const signaling = await startSignalingServer({
    admission: { key: admission },
    host: SERVE_HOST,
    port: 0,
    geoip: false,
    allowSameIp: true,
    ...(options.ignoreNat === true ? { ignoreNat: true } : {}),
    logger: createLogger('silent'),
    egresses: [
      {
        id: 'local',
        url: `ws://${SERVE_HOST}:${egress.port}/`,
        publicKey: bytesToBase64url(key.publicKey),
      },
    ],
  });
  return {
    egress,
    signaling,
    async close() {
      await signaling.close();
      await egress.close();
    },
  };
}
