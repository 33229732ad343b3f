/**
 * The cacophony test vectors (see fixtures/CREDITS.md): every handshake
 * message, the handshake hash and the transport messages after split(), with whichever crypto
 * primitives are installed (noise-vectors.test.ts: @noble; server-kit's native-crypto test:
 * node:crypto).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../bytes.ts';
import { keyPairFromSecret } from '../noise/crypto-suite.ts';
import { HandshakeState } from '../noise/handshake-state.ts';

interface VectorMessage {
  payload: Uint8Array;
  ciphertext: string;
}

interface Vector {
  protocolName: string;
  initPrologue: Uint8Array;
  initStatic: Uint8Array | undefined;
  initEphemeral: Uint8Array;
  initRemoteStatic: Uint8Array | undefined;
  respPrologue: Uint8Array;
  respStatic: Uint8Array | undefined;
  respEphemeral: Uint8Array;
  respRemoteStatic: Uint8Array | undefined;
  handshakeHash: string;
  messages: VectorMessage[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hexField(record: Record<string, unknown>, key: string): string {
  const value = record[key];
  if (typeof value !== 'string' || !/^([0-9a-f]{2})*$/.test(value)) {
    throw new Error(`fixture: ${key} is not a hex string`);
  }
  return value;
}

function optionalBytes(record: Record<string, unknown>, key: string): Uint8Array | undefined {
  return record[key] === undefined ? undefined : hexToBytes(hexField(record, key));
}

function parseVector(data: unknown): Vector {
  if (!isRecord(data)) throw new Error('fixture: a vector is not an object');
  const name = data['protocol_name'];
  const messages = data['messages'];
  if (typeof name !== 'string') throw new Error('fixture: protocol_name is not a string');
  if (!Array.isArray(messages)) throw new Error(`fixture: ${name} has no messages`);
  return {
    protocolName: name,
    initPrologue: hexToBytes(hexField(data, 'init_prologue')),
    initStatic: optionalBytes(data, 'init_static'),
    initEphemeral: hexToBytes(hexField(data, 'init_ephemeral')),
    initRemoteStatic: optionalBytes(data, 'init_remote_static'),
    respPrologue: hexToBytes(hexField(data, 'resp_prologue')),
    respStatic: optionalBytes(data, 'resp_static'),
    respEphemeral: hexToBytes(hexField(data, 'resp_ephemeral')),
    respRemoteStatic: optionalBytes(data, 'resp_remote_static'),
    handshakeHash: hexField(data, 'handshake_hash'),
    messages: messages.map((message: unknown) => {
      if (!isRecord(message)) throw new Error(`fixture: ${name} has a malformed message`);
      return {
        payload: hexToBytes(hexField(message, 'payload')),
        ciphertext: hexField(message, 'ciphertext'),
      };
    }),
  };
}

function loadVectors(): Vector[] {
  const text = readFileSync(
    new URL('./fixtures/noise-cacophony-subset.json', import.meta.url),
    'utf8',
  );
  const data: unknown = JSON.parse(text);
  if (!isRecord(data) || !Array.isArray(data['vectors'])) {
    throw new Error('fixture: expected { vectors: [...] }');
  }
  return data['vectors'].map(parseVector);
}

const vectors = loadVectors();

export function describeCacophonyVectors(title: string): void {
  describe(title, () => {
    it('covers NN NK NX XK XX IK KK with SHA256 and BLAKE2s', () => {
      const names = vectors.map((vector) => vector.protocolName).sort();
      const expected = ['NN', 'NK', 'NX', 'XK', 'XX', 'IK', 'KK']
        .flatMap((pattern) =>
          ['SHA256', 'BLAKE2s'].map((hash) => `Noise_${pattern}_25519_ChaChaPoly_${hash}`),
        )
        .sort();
      expect(names).toEqual(expected);
    });

    for (const vector of vectors) {
      it(vector.protocolName, () => {
        const initiator = new HandshakeState({
          protocolName: vector.protocolName,
          initiator: true,
          prologue: vector.initPrologue,
          s: vector.initStatic && keyPairFromSecret(vector.initStatic),
          e: keyPairFromSecret(vector.initEphemeral),
          rs: vector.initRemoteStatic,
        });
        const responder = new HandshakeState({
          protocolName: vector.protocolName,
          initiator: false,
          prologue: vector.respPrologue,
          s: vector.respStatic && keyPairFromSecret(vector.respStatic),
          e: keyPairFromSecret(vector.respEphemeral),
          rs: vector.respRemoteStatic,
        });

        let index = 0;
        for (; !initiator.isComplete; index++) {
          const message = vector.messages[index];
          if (message === undefined) throw new Error('fixture: handshake longer than its messages');
          const initiatorSends = index % 2 === 0;
          const [sender, receiver] = initiatorSends
            ? [initiator, responder]
            : [responder, initiator];
          const ciphertext = sender.writeMessage(message.payload);
          expect(bytesToHex(ciphertext), `handshake message ${index}`).toBe(message.ciphertext);
          expect(receiver.readMessage(ciphertext)).toEqual(message.payload);
        }
        expect(responder.isComplete).toBe(true);
        expect(bytesToHex(initiator.getHandshakeHash())).toBe(vector.handshakeHash);
        expect(bytesToHex(responder.getHandshakeHash())).toBe(vector.handshakeHash);

        if (vector.respStatic !== undefined) {
          expect(initiator.remoteStaticKey).toEqual(keyPairFromSecret(vector.respStatic).publicKey);
        }
        if (vector.initStatic !== undefined) {
          expect(responder.remoteStaticKey).toEqual(keyPairFromSecret(vector.initStatic).publicKey);
        }

        const [initSend, initReceive] = initiator.split();
        const [respReceive, respSend] = responder.split();
        const transportMessages = vector.messages.slice(index);
        expect(transportMessages.length).toBeGreaterThan(0);
        for (const message of transportMessages) {
          // cacophony keeps strict alternation across the whole list, handshake included.
          const initiatorSends = index % 2 === 0;
          const [sender, receiver] = initiatorSends
            ? [initSend, respReceive]
            : [respSend, initReceive];
          const ciphertext = sender.encryptWithAd(new Uint8Array(0), message.payload);
          expect(bytesToHex(ciphertext), `transport message ${index}`).toBe(message.ciphertext);
          expect(receiver.decryptWithAd(new Uint8Array(0), ciphertext)).toEqual(message.payload);
          index++;
        }
      });
    }
  });
}
