import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../bytes.ts';
import { NoiseError, TunnelError } from '../errors.ts';
import { MAX_TUNNEL_MESSAGE_BYTES } from '../limits.ts';
import { CipherState } from '../noise/cipher-state.ts';
import { generateKeyPair, keyPairFromSecret } from '../noise/crypto-suite.ts';
import {
  MAX_HANDSHAKE_PAYLOAD_BYTES,
  TunnelInitiator,
  TunnelResponder,
} from '../tunnel-handshake.ts';
import { decodeHello, encodeHello, isValidEgressId } from '../tunnel-hello.ts';
import {
  decodeRefused,
  encodeRefused,
  TUNNEL_REFUSAL_REASON_NAMES,
  type TunnelRefusalReason,
} from '../tunnel-refused.ts';
import { tunnelMessageKind } from '../tunnel-message.ts';
import { encodeWispPacket } from '../wisp-codec.ts';
import { FRAME_OVERHEAD_BYTES, MAX_FRAME_PACKET_BYTES, TunnelSession } from '../tunnel-session.ts';

function expectCode(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected ${code}`).toBeInstanceOf(Error);
  expect((caught as { code?: unknown }).code).toBe(code);
}

const egressKey = keyPairFromSecret(
  hexToBytes('4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893'),
);

function connect(): { consumer: TunnelSession; egress: TunnelSession } {
  const initiator = new TunnelInitiator(egressKey.publicKey);
  const responder = new TunnelResponder(egressKey);
  responder.readInit(initiator.writeInit());
  const { response, session: egress } = responder.writeResponse();
  const { session: consumer } = initiator.readResponse(response);
  return { consumer, egress };
}

describe('HELLO', () => {
  it('has the documented layout', () => {
    expect(bytesToHex(encodeHello('eu-1'))).toBe('01010465752d31');
    expect(decodeHello(hexToBytes('01010465752d31'))).toEqual({ version: 1, egressId: 'eu-1' });
  });

  it('round-trips every valid egress id', () => {
    const id = fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/);
    fc.assert(
      fc.property(id, (egressId) => {
        expect(decodeHello(encodeHello(egressId)).egressId).toBe(egressId);
      }),
    );
  });

  it('refuses ids that are not in the id alphabet', () => {
    for (const bad of ['', 'a b', 'x'.repeat(65), 'ünï', 'wss://evil/', 'a/b']) {
      expect(isValidEgressId(bad)).toBe(false);
      expect(() => encodeHello(bad)).toThrow(RangeError);
    }
    expectCode(() => decodeHello(hexToBytes('0101022f2f')), 'ERR_TUNNEL_HELLO');
    expectCode(() => decodeHello(hexToBytes('010100')), 'ERR_TUNNEL_HELLO');
  });

  it('refuses other kinds, versions, truncation and trailing bytes', () => {
    expectCode(() => decodeHello(new Uint8Array(0)), 'ERR_TUNNEL_TRUNCATED');
    expectCode(() => decodeHello(hexToBytes('01')), 'ERR_TUNNEL_TRUNCATED');
    expectCode(() => decodeHello(hexToBytes('01020165')), 'ERR_TUNNEL_VERSION');
    expectCode(() => decodeHello(hexToBytes('0101056575')), 'ERR_TUNNEL_TRUNCATED');
    expectCode(() => decodeHello(hexToBytes('010101657500')), 'ERR_TUNNEL_HELLO');
    expectCode(() => decodeHello(hexToBytes('04010165')), 'ERR_TUNNEL_MESSAGE_KIND');
    expectCode(() => decodeHello(hexToBytes('ff')), 'ERR_TUNNEL_MESSAGE_KIND');
    expectCode(
      () => decodeHello(new Uint8Array(MAX_TUNNEL_MESSAGE_BYTES + 1).fill(1)),
      'ERR_TUNNEL_TOO_LARGE',
    );
  });
});

describe('REFUSED', () => {
  // The table in docs/protocol.md §1.7.
  const vectors: ReadonlyArray<readonly [TunnelRefusalReason, string]> = [
    ['too-many-tunnels', '0501'],
    ['busy', '0502'],
    ['bad-hello', '0503'],
    ['unknown-egress', '0504'],
    ['egress-unreachable', '0505'],
  ];

  it('has the documented layout for every reason', () => {
    expect(vectors.map(([reason]) => reason)).toEqual(TUNNEL_REFUSAL_REASON_NAMES);
    for (const [reason, hex] of vectors) {
      expect(bytesToHex(encodeRefused(reason))).toBe(hex);
      expect(decodeRefused(hexToBytes(hex))).toEqual({ reason });
      expect(tunnelMessageKind(hexToBytes(hex))).toBe('refused');
    }
  });

  it('round-trips every reason (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TUNNEL_REFUSAL_REASON_NAMES), (reason) => {
        const message = encodeRefused(reason);
        expect(message.length).toBe(2);
        expect(decodeRefused(message).reason).toBe(reason);
      }),
    );
  });

  it('decodes exactly the two-byte messages with a known reason (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 8 }), (tail) => {
        const message = Uint8Array.of(0x05, ...tail);
        const known = tail.length === 1 && (tail[0] ?? 0) >= 1 && (tail[0] ?? 0) <= 5;
        if (known) expect(decodeRefused(message).reason).toBe(vectors[(tail[0] ?? 1) - 1]?.[0]);
        else expect(() => decodeRefused(message)).toThrow(TunnelError);
      }),
    );
  });

  it('refuses other kinds, truncation, trailing bytes and unknown reasons', () => {
    expectCode(() => decodeRefused(new Uint8Array(0)), 'ERR_TUNNEL_TRUNCATED');
    expectCode(() => decodeRefused(hexToBytes('05')), 'ERR_TUNNEL_TRUNCATED');
    expectCode(() => decodeRefused(hexToBytes('050100')), 'ERR_TUNNEL_REFUSAL');
    expectCode(() => decodeRefused(hexToBytes('0500')), 'ERR_TUNNEL_REFUSAL');
    expectCode(() => decodeRefused(hexToBytes('0506')), 'ERR_TUNNEL_REFUSAL');
    expectCode(() => decodeRefused(hexToBytes('05ff')), 'ERR_TUNNEL_REFUSAL');
    expectCode(() => decodeRefused(hexToBytes('0401')), 'ERR_TUNNEL_MESSAGE_KIND');
    expectCode(() => decodeRefused(hexToBytes('0101')), 'ERR_TUNNEL_MESSAGE_KIND');
    expectCode(
      () => decodeRefused(new Uint8Array(MAX_TUNNEL_MESSAGE_BYTES + 1).fill(5)),
      'ERR_TUNNEL_TOO_LARGE',
    );
  });

  it('cannot be encoded with a reason outside the set', () => {
    expect(() => encodeRefused('tired' as TunnelRefusalReason)).toThrow(RangeError);
    expect(() => encodeRefused(1 as unknown as TunnelRefusalReason)).toThrow(TypeError);
  });

  it('is not a frame: a session refuses it', () => {
    const { consumer } = connect();
    expectCode(() => consumer.open(encodeRefused('busy')), 'ERR_TUNNEL_MESSAGE_KIND');
  });
});

describe('handshake', () => {
  it('establishes sessions that talk both ways, with payloads', () => {
    const initiator = new TunnelInitiator(egressKey.publicKey);
    const responder = new TunnelResponder(egressKey);
    const init = initiator.writeInit(hexToBytes('c0ffee'));
    expect(tunnelMessageKind(init)).toBe('handshake-init');
    expect(init.length).toBe(2 + 32 + 3 + 16);
    expect(bytesToHex(responder.readInit(init))).toBe('c0ffee');
    const { response, session: egress } = responder.writeResponse(hexToBytes('beef'));
    expect(tunnelMessageKind(response)).toBe('handshake-response');
    expect(response.length).toBe(1 + 32 + 2 + 16);
    const { session: consumer, payload } = initiator.readResponse(response);
    expect(bytesToHex(payload)).toBe('beef');
    expect(egress.open(consumer.seal(hexToBytes('0102'))).packet).toEqual(hexToBytes('0102'));
    expect(consumer.open(egress.seal(hexToBytes('0304'))).packet).toEqual(hexToBytes('0304'));
  });

  it('fails when the consumer pinned another egress key', () => {
    const initiator = new TunnelInitiator(generateKeyPair().publicKey);
    const responder = new TunnelResponder(egressKey);
    let caught: unknown;
    try {
      responder.readInit(initiator.writeInit());
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(NoiseError);
    expect((caught as NoiseError).code).toBe('ERR_NOISE_DECRYPT');
  });

  it('fails when a relay alters the response', () => {
    const initiator = new TunnelInitiator(egressKey.publicKey);
    const responder = new TunnelResponder(egressKey);
    responder.readInit(initiator.writeInit());
    const { response } = responder.writeResponse();
    response[5] = (response[5] ?? 0) ^ 1;
    expectCode(() => initiator.readResponse(response), 'ERR_NOISE_DECRYPT');
  });

  it('refuses other versions, out-of-turn calls and oversized payloads', () => {
    const init = new TunnelInitiator(egressKey.publicKey).writeInit();
    init[1] = 2;
    expectCode(() => new TunnelResponder(egressKey).readInit(init), 'ERR_TUNNEL_VERSION');
    expectCode(
      () => new TunnelResponder(egressKey).readInit(hexToBytes('02')),
      'ERR_TUNNEL_TRUNCATED',
    );
    expectCode(() => new TunnelResponder(egressKey).writeResponse(), 'ERR_TUNNEL_STATE');
    const initiator = new TunnelInitiator(egressKey.publicKey);
    expectCode(() => initiator.readResponse(hexToBytes('03')), 'ERR_TUNNEL_STATE');
    initiator.writeInit();
    expectCode(() => initiator.writeInit(), 'ERR_TUNNEL_STATE');
    expect(() =>
      new TunnelInitiator(egressKey.publicKey).writeInit(
        new Uint8Array(MAX_HANDSHAKE_PAYLOAD_BYTES + 1),
      ),
    ).toThrow(RangeError);
  });

  it('binds the prologue: a plain Noise NK initiator cannot complete it', async () => {
    const { HandshakeState } = await import('../noise/handshake-state.ts');
    const plain = new HandshakeState({
      protocolName: 'Noise_NK_25519_ChaChaPoly_SHA256',
      initiator: true,
      rs: egressKey.publicKey,
    });
    const msg = plain.writeMessage(new Uint8Array(0));
    const init = new Uint8Array([0x02, 0x01, ...msg]);
    expectCode(() => new TunnelResponder(egressKey).readInit(init), 'ERR_NOISE_DECRYPT');
  });
});

describe('frames', () => {
  it('number frames and carry cumulative acks', () => {
    const { consumer, egress } = connect();
    const f0 = consumer.seal(hexToBytes('aa'));
    const f1 = consumer.seal(hexToBytes('bb'));
    expect(consumer.sentCount).toBe(2);
    expect(bytesToHex(f0.subarray(0, 5))).toBe('0400000000');
    expect(bytesToHex(f1.subarray(0, 5))).toBe('0401000000');
    expect(f0.length).toBe(1 + FRAME_OVERHEAD_BYTES);
    expect(egress.open(f0)).toMatchObject({ seq: 0, ack: 0 });
    expect(egress.open(f1)).toMatchObject({ seq: 1, ack: 0 });
    const back = egress.seal(new Uint8Array(0));
    expect(consumer.open(back)).toMatchObject({ seq: 0, ack: 2, packet: new Uint8Array(0) });
    expect(consumer.peerAck).toBe(2);
    expect(egress.receivedCount).toBe(2);
  });

  it('fill one 16 KiB message at most', () => {
    const { consumer, egress } = connect();
    const big = new Uint8Array(MAX_FRAME_PACKET_BYTES).fill(7);
    const frame = consumer.seal(big);
    expect(frame.length).toBe(MAX_TUNNEL_MESSAGE_BYTES);
    expect(egress.open(frame).packet).toEqual(big);
    expect(() => consumer.seal(new Uint8Array(MAX_FRAME_PACKET_BYTES + 1))).toThrow(RangeError);
  });

  it('reject replayed, reordered and tampered frames and stay usable', () => {
    const { consumer, egress } = connect();
    const f0 = consumer.seal(hexToBytes('00'));
    const f1 = consumer.seal(hexToBytes('01'));
    const f2 = consumer.seal(hexToBytes('02'));
    expectCode(() => egress.open(f1), 'ERR_TUNNEL_OUT_OF_ORDER');
    egress.open(f0);
    expectCode(() => egress.open(f0), 'ERR_TUNNEL_REPLAY');
    const forged = f1.slice();
    forged[forged.length - 1] = (forged[forged.length - 1] ?? 0) ^ 0x80;
    expectCode(() => egress.open(forged), 'ERR_TUNNEL_TAMPERED');
    const relabelled = f2.slice();
    relabelled[1] = 1; // claims to be frame 1: the header is authenticated
    expectCode(() => egress.open(relabelled), 'ERR_TUNNEL_TAMPERED');
    expect(egress.open(f1).packet).toEqual(hexToBytes('01'));
    expect(egress.open(f2).packet).toEqual(hexToBytes('02'));
    expectCode(() => egress.open(hexToBytes('0400000000')), 'ERR_TUNNEL_TRUNCATED');
    expectCode(() => egress.open(hexToBytes('01')), 'ERR_TUNNEL_MESSAGE_KIND');
  });

  it('reject frames that ack more than was sent', () => {
    const k1 = new Uint8Array(32).fill(1);
    const k2 = new Uint8Array(32).fill(2);
    const keyed = (key: Uint8Array): CipherState => {
      const c = new CipherState();
      c.initializeKey(key);
      return c;
    };
    const a = new TunnelSession(keyed(k1), keyed(k2));
    const aClone = new TunnelSession(keyed(k1), keyed(k2));
    const b = new TunnelSession(keyed(k2), keyed(k1));
    for (let i = 0; i < 3; i++) b.open(aClone.seal(new Uint8Array(0)));
    expectCode(() => a.open(b.seal(new Uint8Array(0))), 'ERR_TUNNEL_ACK');
  });

  it('deliver any interleaving of packets in order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 64 })), { maxLength: 40 }),
        (script) => {
          const { consumer, egress } = connect();
          for (const [fromConsumer, packet] of script) {
            const [from, to] = fromConsumer ? [consumer, egress] : [egress, consumer];
            const opened = to.open(from.seal(packet));
            expect(opened.packet).toEqual(packet);
            expect(opened.ack).toBe(from.receivedCount);
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('worked example in docs/protocol.md', () => {
  it('produces exactly the documented bytes', () => {
    const egress = keyPairFromSecret(hexToBytes('01'.repeat(32)));
    expect(bytesToHex(egress.publicKey)).toBe(
      'a4e09292b651c278b9772c569f5fa9bb13d906b46ab68c9df9dc2b4409f8a209',
    );
    expect(bytesToHex(encodeHello('local'))).toBe('0101056c6f63616c');
    const initiator = new TunnelInitiator(egress.publicKey, {
      ephemeral: keyPairFromSecret(hexToBytes('02'.repeat(32))),
    });
    const responder = new TunnelResponder(egress, {
      ephemeral: keyPairFromSecret(hexToBytes('03'.repeat(32))),
    });
    const init = initiator.writeInit();
    expect(bytesToHex(init)).toBe(
      '0201ce8d3ad1ccb633ec7b70c17814a5c76ecd029685050d344745ba05870e587d595f7e06dc0ae0cbb453b033dc30e900e8',
    );
    responder.readInit(init);
    const { response, session: egressSession } = responder.writeResponse();
    expect(bytesToHex(response)).toBe(
      '035dfedd3b6bd47f6fa28ee15d969d5bb0ea53774d488bdaf9df1c6e0124b3ef224bb3ccc4658792abd40f6394066a2c95',
    );
    const { session } = initiator.readResponse(response);
    expect(bytesToHex(initiator.handshakeHash)).toBe(
      'f7387f9fa051108e945b862c9e3609ad3ba4d84c43491a7bbaecda466097cc39',
    );
    const connect = encodeWispPacket({
      type: 'connect',
      streamId: 1,
      streamType: 'tcp',
      port: 80,
      hostname: 'example.com',
    });
    expect(bytesToHex(connect)).toBe('01010000000150006578616d706c652e636f6d');
    const frame = session.seal(connect);
    expect(bytesToHex(frame)).toBe(
      '04000000004d7817d6412de7041ea1ff15dcd16429235e286eed7eeb98ac86696965ea16c8fa9627486a60cc',
    );
    expect(egressSession.open(frame).packet).toEqual(connect);
    const credit = encodeWispPacket({ type: 'continue', streamId: 1, bufferRemaining: 128 });
    const back = egressSession.seal(credit);
    expect(bytesToHex(back)).toBe(
      '04000000003c45fe30c6bfb15c06dddfe56a4e672c691e7ad48164f2e2802b33feaa',
    );
    expect(session.open(back)).toEqual({ seq: 0, ack: 1, packet: credit });
  });
});

describe('errors', () => {
  it('are typed with stable codes', () => {
    const err = new TunnelError('ERR_TUNNEL_REPLAY', 'x');
    expect(err.name).toBe('TunnelError');
    expect(err.code).toBe('ERR_TUNNEL_REPLAY');
  });
});
