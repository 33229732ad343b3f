/**
 * Fuzzes the real servers: the built `bu signaling`, `bu egress` and `bu serve`, each a child
 * process on 127.0.0.1, fed hostile HTTP requests, WebSocket upgrades and frames, PeerJS
 * sessions, Wisp packets and tunnel messages over raw TCP (test/server-fuzz/inputs.ts lists the
 * kinds). After every batch of 1,000 inputs the process must still be running, answer
 * well-formed requests correctly on every part it has, and have counted no new fault
 * (`bu_*_faults_total`: an exception that one of its entry points caught, which would have
 * been a crash without that boundary).
 *
 * 20,000 inputs per server by default; BU_FUZZ_INPUTS sets another count
 * (`npm run fuzz:servers` runs 200,000). A failure prints the seed, the input that breaks a
 * fresh process alone and how to replay it (settings.ts has the other knobs). The egresses
 * reach only two local origins: see safe-destinations.ts for how no input can send them
 * anywhere else.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCampaign, type Tally } from './server-fuzz/campaign.ts';
import { handPickedInputs, randomInput, type GeneratedInput } from './server-fuzz/inputs.ts';
import { startLocalOrigins, type RunningOrigins } from './server-fuzz/local-origins.ts';
import { samplePayloadPools, type PayloadPools } from './server-fuzz/message-inputs.ts';
import { startServer, SURFACES, type ServerKind } from './server-fuzz/processes.ts';
import {
  isSafeConnectionBytes,
  isSafeHost,
  LOOPBACK_HOSTS,
} from './server-fuzz/safe-destinations.ts';
import { fuzzSettings } from './server-fuzz/settings.ts';
import { encodeFrame, FrameReader, OPCODE } from './server-fuzz/ws-frames.ts';

const settings = fuzzSettings(process.env);

function summary(tally: Tally): string {
  const kinds = Object.entries(tally.byKind)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ');
  const lingering = tally.lingering.map((line) => `\n  lingered: ${line}`).join('');
  return (
    `seed ${settings.seed}: ${tally.sent} inputs (${kinds}); ${tally.upgraded} upgraded, ` +
    `${tally.opened} PeerJS OPEN or tunnel handshakes, ${tally.lingered} left open by the server` +
    lingering
  );
}

// Generous: the default run takes a fraction of this; a failure adds a few fresh processes.
const TIMEOUT_MS = 200_000 + settings.inputs * 5;

describe('servers under fuzz: real processes, raw sockets', () => {
  let origins: RunningOrigins;
  let pools: PayloadPools;

  beforeAll(async () => {
    origins = await startLocalOrigins();
    pools = samplePayloadPools(settings.seed, origins);
  });

  afterAll(async () => {
    await origins.close();
  });

  const kinds: readonly ServerKind[] = ['signaling', 'egress', 'serve'];
  for (const kind of kinds) {
    it(
      `bu ${kind} survives ${settings.inputs} hostile inputs, still answers correctly, counts no fault`,
      async () => {
        const surface = SURFACES[kind];
        const handPicked = handPickedInputs(surface);
        const generate = (index: number): GeneratedInput => {
          const input = handPicked[index];
          return input === undefined
            ? randomInput(settings.seed, index, { surface, pools })
            : { input, unsafeDrafts: 0 };
        };
        const indices =
          settings.replay ?? Array.from({ length: settings.inputs }, (_, index) => index);
        const { tally, failures } = await runCampaign({
          name: `bu ${kind}`,
          seed: settings.seed,
          indices,
          keepGoing: settings.keepGoing,
          start: () => startServer(kind, origins.allow),
          generate,
        });
        console.info(`bu ${kind}: ${summary(tally)}`);
        if (failures.length > 0) expect.fail(`\n${failures.join('\n\n')}`);

        expect(tally.sent).toBe(indices.length);
        if (settings.replay !== undefined) return;
        // The inputs must get past the front door, or the run fuzzed nothing but the parser.
        expect(tally.connected).toBeGreaterThan(tally.sent * 0.99);
        expect(tally.upgraded).toBeGreaterThan(tally.sent / 10);
        expect(tally.opened).toBeGreaterThan(tally.sent / 20);
        expect(tally.unsafeDrafts).toBeLessThan(tally.sent / 20);
      },
      TIMEOUT_MS,
    );
  }
});

describe("the fuzzer's guard: no input may send an egress off this machine", () => {
  const connect = (host: string): Buffer => {
    const name = Buffer.from(host);
    const packet = Buffer.alloc(8 + name.length);
    packet.writeUInt8(0x01, 0);
    packet.writeUInt32LE(1, 1);
    packet.writeUInt8(0x01, 5);
    packet.writeUInt16LE(80, 6);
    name.copy(packet, 8);
    return packet;
  };
  const upgrade = Buffer.from('GET /wisp/ HTTP/1.1\r\nHost: x\r\n\r\n');

  it('trusts only loopback spellings and hosts that are neither names nor addresses', () => {
    for (const host of LOOPBACK_HOSTS) expect(isSafeHost(host)).toBe(true);
    for (const host of ['a b', 'x/y', 'example.com!', '127.0.0.1@evil']) {
      expect(isSafeHost(host)).toBe(true);
    }
    for (const host of [
      'example.com',
      'a',
      '8.8.8.8',
      '1.2.3.4',
      '::ffff:8.8.8.8',
      // The egress lowercases names: KELVIN SIGN becomes a plain k, so this is a DNS name.
      '\u212aelvin.example',
    ]) {
      expect(isSafeHost(host)).toBe(false);
    }
  });

  it('finds a CONNECT wherever ws would deliver one', () => {
    const safe = encodeFrame({ opcode: OPCODE.binary, payload: connect('127.0.0.1') });
    const unsafe = connect('example.com');
    expect(isSafeConnectionBytes(Buffer.concat([upgrade, safe]))).toBe(true);
    expect(
      isSafeConnectionBytes(
        Buffer.concat([upgrade, encodeFrame({ opcode: OPCODE.binary, payload: unsafe })]),
      ),
    ).toBe(false);
    // In two fragments, and behind a blank line that is not where the request ends.
    const fragments = [
      encodeFrame({ opcode: OPCODE.binary, payload: unsafe.subarray(0, 9), fin: false }),
      encodeFrame({ opcode: OPCODE.continuation, payload: unsafe.subarray(9) }),
    ];
    expect(isSafeConnectionBytes(Buffer.concat([upgrade, ...fragments]))).toBe(false);
    const hidden = Buffer.concat([
      Buffer.from('GET /x HTTP/1.1\r\nX: a\n\n'),
      encodeFrame({ opcode: OPCODE.binary, payload: unsafe }),
    ]);
    expect(isSafeConnectionBytes(hidden)).toBe(false);
  });

  it('writes frames that a frame reader reads back', () => {
    const payload = Buffer.from('x'.repeat(70_000));
    const reader = new FrameReader();
    const frames = reader.push(encodeFrame({ opcode: OPCODE.text, payload }));
    expect(frames).toHaveLength(1);
    expect(Buffer.from(frames[0]?.payload ?? []).equals(payload)).toBe(true);
  });
});
