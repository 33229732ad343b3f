/**
 * mesh's TunnelClient and the volunteer's REFUSED (docs/protocol.md §1.7), with the egress's
 * side played by protocol/'s TunnelResponder over an in-memory transport: REFUSED counts only
 * before the handshake response, and becomes `ERR_TUNNEL_REFUSED` with its reason.
 */
import { describe, expect, it } from 'vitest';
import { MeshError, TunnelRefusedError } from '../errors.ts';
import { TunnelClient, type TunnelTransport } from '../tunnel-client.ts';
import { hexToBytes } from '../../protocol/bytes.ts';
import { generateKeyPair } from '../../protocol/noise/crypto-suite.ts';
import { TunnelResponder } from '../../protocol/tunnel-handshake.ts';
import { encodeRefused, TUNNEL_REFUSAL_REASON_NAMES } from '../../protocol/tunnel-refused.ts';

const egressKey = generateKeyPair();

/** A transport that keeps what the client sends; `failSends` makes it throw like a closing channel. */
function transport(failSends = false): TunnelTransport & {
  readonly sent: Uint8Array[];
  closed: boolean;
} {
  const sent: Uint8Array[] = [];
  const path = {
    sent,
    closed: false,
    send(message: Uint8Array<ArrayBuffer>): void {
      if (failSends) throw new Error('DataChannel is closed');
      sent.push(message);
    },
    close(): void {
      path.closed = true;
    },
  };
  return path;
}

async function failure(client: TunnelClient): Promise<unknown> {
  return client.ready.then(
    () => undefined,
    (err: unknown) => err,
  );
}

describe('TunnelClient and REFUSED', () => {
  it.each(TUNNEL_REFUSAL_REASON_NAMES)(
    'REFUSED %s before the handshake response fails the tunnel with ERR_TUNNEL_REFUSED',
    async (reason) => {
      const path = transport();
      const client = new TunnelClient(path, { egressPublicKey: egressKey.publicKey });
      const closes: Array<Error | undefined> = [];
      client.onclose = (error) => closes.push(error);
      client.receive(encodeRefused(reason));
      const error = await failure(client);
      expect(error).toBeInstanceOf(TunnelRefusedError);
      expect(error).toBeInstanceOf(MeshError);
      expect(error).toMatchObject({ code: 'ERR_TUNNEL_REFUSED', reason });
      expect((error as Error).message).toContain(reason);
      expect(closes).toEqual([error]);
      expect(path.closed).toBe(true);
      expect(client.isOpen).toBe(false);
      expect(() => client.openStream('example.com', 80)).toThrow(TunnelRefusedError);
    },
  );

  it('a malformed REFUSED is a failed handshake, not a refusal', async () => {
    for (const hex of ['05', '0500', '0506', '050100']) {
      const client = new TunnelClient(transport(), { egressPublicKey: egressKey.publicKey });
      client.receive(hexToBytes(hex));
      expect(await failure(client)).toMatchObject({ code: 'ERR_TUNNEL_HANDSHAKE' });
    }
  });

  it('after the handshake response a REFUSED is an attack on the tunnel, not a refusal', async () => {
    const path = transport();
    const client = new TunnelClient(path, { egressPublicKey: egressKey.publicKey });
    const responder = new TunnelResponder(egressKey);
    responder.readInit(path.sent[0] ?? new Uint8Array(0));
    client.receive(responder.writeResponse().response);
    await client.ready;
    const closes: Array<Error | undefined> = [];
    client.onclose = (error) => closes.push(error);
    client.receive(encodeRefused('busy'));
    expect(closes).toHaveLength(1);
    expect(closes[0]).not.toBeInstanceOf(TunnelRefusedError);
    expect(closes[0]).toMatchObject({ code: 'ERR_TUNNEL_CLOSED' });
  });

  it('a transport already closing when the handshake starts: the REFUSED that follows says why', async () => {
    // A volunteer closes its channel right after REFUSED, which can beat the handshake init.
    const client = new TunnelClient(transport(true), { egressPublicKey: egressKey.publicKey });
    client.receive(encodeRefused('too-many-tunnels'));
    expect(await failure(client)).toMatchObject({
      code: 'ERR_TUNNEL_REFUSED',
      reason: 'too-many-tunnels',
    });
  });

  it('a transport already closing when the handshake starts: its close ends the tunnel', async () => {
    const client = new TunnelClient(transport(true), { egressPublicKey: egressKey.publicKey });
    client.transportClosed();
    expect(await failure(client)).toMatchObject({ code: 'ERR_TUNNEL_CLOSED' });
  });
});
