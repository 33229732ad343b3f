/**
 * The cap on tunnels per consumer through one volunteer: a consumer of our own (the real
 * `peerjs` client and mesh's TunnelClient, in this process) is matched once with a real
 * `bu volunteer` and then opens more data connections to it than the volunteer allows. The
 * first ones carry requests; the rest are refused with REFUSED `too-many-tunnels`, which the
 * consumer side reads as `ERR_TUNNEL_REFUSED`; and the volunteer keeps serving another
 * consumer (`bu proxy` with real curl) afterwards. Inside scripts/netns-run.
 */
import type { DataConnection, Peer } from 'peerjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installNodeWebrtc } from '../../cli/node-webrtc.ts';
import { MeshError, TunnelRefusedError } from '../../mesh/errors.ts';
import { loadPeer } from '../../mesh/peerjs-module.ts';
import { consumerMatch, randomToken, SignalingClient } from '../../mesh/signaling-client.ts';
import { TunnelClient } from '../../mesh/tunnel-client.ts';
import { base64urlToBytes } from '../../protocol/bytes.ts';
import type { EgressInfo } from '../../protocol/matchmaking.ts';
import { encodeHello } from '../../protocol/tunnel-hello.ts';
import {
  curl,
  startChain,
  startProxy,
  waitForVolunteers,
  type BuProcess,
  type Chain,
  type Origins,
  type Proxy,
  type Serve,
} from './chain-harness.ts';

/** `bu volunteer`'s default. */
const CAP = 4;

let chain: Chain<undefined>;
let origins: Origins;
let serve: Serve;
let volunteer: BuProcess;
let proxy: Proxy | undefined;
let rogue: Matched | undefined;

beforeAll(async () => {
  await installNodeWebrtc();
  chain = await startChain({ proxy: false });
  ({ origins, serve } = chain);
  volunteer = chain.volunteers[0] as BuProcess;
});

afterAll(async () => {
  rogue?.peer.destroy();
  await chain.stop(proxy?.process);
});

interface Matched {
  readonly peer: Peer;
  readonly volunteerId: string;
  readonly egress: EgressInfo;
  /** Asks the signaling server again, as `Consumer` does after a tunnel failed to open. */
  readonly rematch: () => Promise<void>;
}

/** A PeerJS peer matched with the volunteer through the signaling server. */
async function matchedPeer(): Promise<Matched> {
  const client = new SignalingClient(serve.signaling);
  const token = randomToken();
  const PeerClass = await loadPeer();
  const peer = new PeerClass({ ...client.peerServer, token, config: { iceServers: [] }, debug: 0 });
  await new Promise<void>((resolve, reject) => {
    peer.once('open', () => resolve());
    peer.once('error', reject);
  });
  const match = () => consumerMatch(client, { id: peer.id, token, count: 1, nat: 'unknown' });
  const first = await match();
  const volunteerId = first.volunteers[0]?.id;
  const egress = first.egresses[0];
  if (volunteerId === undefined || egress === undefined) throw new Error('no match');
  return {
    peer,
    volunteerId,
    egress,
    rematch: async () => {
      // The volunteer may be between two polls: the signaling server then answers
      // no-volunteers after its wait, and the consumer asks again.
      for (let attempt = 1; ; attempt++) {
        try {
          expect((await match()).volunteers.map((v) => v.id)).toEqual([volunteerId]);
          return;
        } catch (err) {
          if (!(err instanceof MeshError && err.code === 'ERR_NO_VOLUNTEERS') || attempt === 5) {
            throw err;
          }
        }
      }
    },
  };
}

interface OpenedTunnel {
  readonly connection: DataConnection;
  readonly client: TunnelClient;
  /** Resolves with the handshake's outcome: undefined when it completed, else the error. */
  readonly outcome: Promise<Error | undefined>;
}

/**
 * One more data connection to the volunteer, with a HELLO and a tunnel handshake over it.
 * WebRTC between two node-datachannel processes now and then fails to connect at all (about
 * one in twenty here: a DTLS handshake fails, in libdatachannel): such an attempt is closed
 * and made again after a new match, as `Consumer` does (a volunteer that knows no tunnel of
 * ours would otherwise not take the next one).
 */
async function openTunnel({ peer, volunteerId, egress, rematch }: Matched): Promise<OpenedTunnel> {
  for (let attempt = 1; ; attempt++) {
    const connection = peer.connect(volunteerId, { serialization: 'raw', reliable: true });
    const opened = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 10_000);
      connection.once('open', () => {
        clearTimeout(timer);
        resolve(true);
      });
      connection.once('error', () => {
        clearTimeout(timer);
        resolve(false);
      });
    });
    if (!opened) {
      connection.close();
      if (attempt === 3) throw new Error('three data connections in a row did not open');
      await rematch();
      continue;
    }
    const channel = connection.dataChannel;
    channel.binaryType = 'arraybuffer';
    channel.send(encodeHello(egress.id));
    const client = new TunnelClient(
      { send: (message) => channel.send(message), close: () => connection.close() },
      {
        egressPublicKey: base64urlToBytes(egress.publicKey),
        // The match's admission token, as Consumer carries it (bu serve checks admission).
        ...(egress.admission === undefined
          ? {}
          : { admission: base64urlToBytes(egress.admission) }),
      },
    );
    connection.on('data', (data) => {
      if (data instanceof ArrayBuffer) client.receive(new Uint8Array(data));
    });
    connection.on('close', () => client.transportClosed());
    const outcome = client.ready.then(
      () => undefined,
      (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
    );
    return { connection, client, outcome };
  }
}

async function fetchThrough(client: TunnelClient, size: number): Promise<number> {
  const response = await client.fetch(
    new Request(`http://127.0.0.1:${origins.httpPort}/bytes/${size}`),
  );
  expect(response.status).toBe(200);
  return (await response.arrayBuffer()).byteLength;
}

describe('tunnels per consumer through one volunteer', () => {
  it(`the first ${CAP} carry requests; more are refused with too-many-tunnels, which the consumer reads`, async () => {
    rogue = await matchedPeer();
    const matched = rogue;
    const tunnels: OpenedTunnel[] = [];
    // One after another, as a consumer retrying through the same volunteer would.
    for (let i = 0; i < CAP + 2; i++) {
      const tunnel = await openTunnel(matched);
      tunnels.push(tunnel);
      await tunnel.outcome;
    }
    const outcomes = await Promise.all(tunnels.map((t) => t.outcome));
    expect(outcomes.slice(0, CAP)).toEqual(Array.from({ length: CAP }, () => undefined));
    for (const refused of outcomes.slice(CAP)) {
      expect(refused).toBeInstanceOf(TunnelRefusedError);
      expect(refused).toMatchObject({ code: 'ERR_TUNNEL_REFUSED', reason: 'too-many-tunnels' });
      expect(refused?.message).toContain('too-many-tunnels');
    }
    // The tunnels within the cap work, before and after the refusals.
    for (const tunnel of tunnels.slice(0, CAP)) {
      expect(tunnel.client.isOpen).toBe(true);
      expect(await fetchThrough(tunnel.client, 10_000)).toBe(10_000);
    }
    // The volunteer counted them and said so.
    await volunteer.waitFor(
      (e) => e['event'] === 'refused' && e['reason'] === 'too-many-tunnels',
      'the volunteer to log the refusal',
    );
    await volunteer.waitFor(
      (e) =>
        e['event'] === 'status' &&
        (e['refused'] as Record<string, number> | undefined)?.['too-many-tunnels'] === 2,
      'the status line to count two refusals',
    );

    // The cap is on tunnels open at once: when one closes, a new one is accepted.
    tunnels[0]?.client.close();
    let replaced: Error | undefined = new Error('never tried');
    for (let attempt = 0; attempt < 20 && replaced !== undefined; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const tunnel = await openTunnel(matched);
      replaced = await tunnel.outcome;
      if (replaced === undefined) {
        expect(await fetchThrough(tunnel.client, 1_000)).toBe(1_000);
        tunnels.push(tunnel);
      } else {
        expect(replaced).toMatchObject({ reason: 'too-many-tunnels' });
      }
    }
    expect(replaced).toBeUndefined();
  });

  it('the volunteer still serves another consumer', async () => {
    proxy = await startProxy(serve.signaling, ['--volunteers', '1']);
    await waitForVolunteers(proxy, 1);
    const result = await curl('http', proxy, `http://127.0.0.1:${origins.httpPort}/bytes/65536`);
    expect(result.code).toBe(0);
    expect(result.size).toBe(65536);
    expect(volunteer.child.exitCode).toBeNull();
  });
});
