/**
 * Sends one fuzz input on its own connection and says how far it got. Nothing here judges the
 * server: refusals, resets and silence are all fine for one input; the health checks between
 * batches decide whether the server survived them.
 */
import { TunnelInitiator } from '../../protocol/tunnel-handshake.ts';
import type { TunnelSession } from '../../protocol/tunnel-session.ts';
import { binary, cleanUpgrade } from './http-inputs.ts';
import type {
  FuzzInput,
  Pace,
  PeerjsInput,
  RawInput,
  TunnelInput,
  UpgradeInput,
} from './inputs.ts';
import { RawConnection } from './raw-connection.ts';
import { dataFrame, OPCODE } from './ws-frames.ts';

/** How long one step may take; a slow server is not a failure of one input. */
const STEP_MS = 2000;

export interface Outcome {
  /** The TCP connection opened. */
  readonly connected: boolean;
  /** The server answered 101 (upgrade, peerjs and tunnel inputs). */
  readonly upgraded: boolean;
  /** A PeerJS OPEN or a completed tunnel handshake. */
  readonly opened: boolean;
  /** The server had not closed the connection STEP_MS after our FIN. */
  readonly lingered: boolean;
}

const NOT_CONNECTED: Outcome = {
  connected: false,
  upgraded: false,
  opened: false,
  lingered: false,
};

export interface Target {
  readonly port: number;
  readonly egressPublicKey: Uint8Array | undefined;
}

export async function sendInput(target: Target, input: FuzzInput): Promise<Outcome> {
  const connection = await RawConnection.open(target.port, STEP_MS);
  if (connection === undefined) return NOT_CONNECTED;
  try {
    switch (input.kind) {
      case 'raw':
        return await sendRaw(connection, input);
      case 'upgrade':
        return await sendUpgrade(connection, input);
      case 'peerjs':
        return await sendPeerjs(connection, target, input);
      case 'tunnel':
        return await sendTunnel(connection, target, input);
    }
  } finally {
    connection.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Pauses come between the first few writes only, so that a flood stays quick. */
const PACED_WRITES = 16;

/** Writes frames, the first few `pace.gapMs` apart, then reads for `pace.lingerMs`. */
async function writePaced(
  connection: RawConnection,
  frames: readonly Uint8Array[],
  pace: Pace,
): Promise<void> {
  for (const [i, frame] of frames.entries()) {
    connection.write(frame);
    if (pace.gapMs > 0 && i < PACED_WRITES) await sleep(pace.gapMs);
  }
  if (pace.lingerMs > 0) await sleep(pace.lingerMs);
}

async function done(
  connection: RawConnection,
  input: FuzzInput,
  progress: { upgraded: boolean; opened: boolean },
): Promise<Outcome> {
  const closed = await connection.finish(input.finish, STEP_MS);
  return { connected: true, ...progress, lingered: !closed };
}

async function sendRaw(connection: RawConnection, input: RawInput): Promise<Outcome> {
  let from = 0;
  for (const at of [...input.splits, input.bytes.length]) {
    connection.write(input.bytes.subarray(from, at));
    from = at;
    // Let each piece leave as its own segment, so the parser sees a request in parts.
    if (at < input.bytes.length) await new Promise((resolve) => setImmediate(resolve));
  }
  return done(connection, input, { upgraded: false, opened: false });
}

async function sendUpgrade(connection: RawConnection, input: UpgradeInput): Promise<Outcome> {
  connection.write(input.request);
  const head = await connection.readHead(STEP_MS);
  const upgraded = head?.status === 101;
  if (upgraded) await writePaced(connection, input.frames, input.pace);
  return done(connection, input, { upgraded, opened: false });
}

async function sendPeerjs(
  connection: RawConnection,
  target: Target,
  input: PeerjsInput,
): Promise<Outcome> {
  let id = input.id;
  if (input.askId) {
    connection.write(binary(`GET ${input.base}peerjs/id HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    const reply = await connection.readResponse(STEP_MS);
    if (reply?.status === 200) id = reply.body.toString('utf8');
  }
  const params = new URLSearchParams({ key: 'peerjs', id, token: input.token });
  const requestTarget = `${input.base}peerjs?${params.toString()}${input.query}`;
  connection.write(binary(cleanUpgrade(requestTarget, 'dGhlIHNhbXBsZSBub25jZQ==')));
  const head = await connection.readHead(STEP_MS);
  const upgraded = head?.status === 101;
  let opened = false;
  let posted: Promise<void> = Promise.resolve();
  if (upgraded) {
    const first = await connection.nextFrame(STEP_MS);
    opened =
      first !== undefined && Buffer.from(first.payload).toString('utf8') === '{"type":"OPEN"}';
    if (opened && input.post !== undefined)
      posted = postMatchmaking(target, input.post, id, input.token);
    await writePaced(connection, input.frames, input.pace);
    // The peer stays connected while its poll or match is held, as a real one would.
    await posted;
  }
  return done(connection, input, { upgraded, opened });
}

/** A poll or match with the session's credentials; the answer does not matter. */
async function postMatchmaking(
  target: Target,
  post: NonNullable<PeerjsInput['post']>,
  id: string,
  token: string,
): Promise<void> {
  const connection = await RawConnection.open(target.port, STEP_MS);
  if (connection === undefined) return;
  try {
    const body = Buffer.from(JSON.stringify({ id, token, ...post.fields }), 'utf8');
    connection.write(
      Buffer.concat([
        binary(
          `POST ${post.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
        ),
        body,
      ]),
    );
    await connection.readResponse(STEP_MS);
  } finally {
    connection.destroy();
  }
}

async function sendTunnel(
  connection: RawConnection,
  target: Target,
  input: TunnelInput,
): Promise<Outcome> {
  connection.write(binary(cleanUpgrade('/tunnel/', 'dGhlIHNhbXBsZSBub25jZQ==')));
  const head = await connection.readHead(STEP_MS);
  const upgraded = head?.status === 101;
  let session: TunnelSession | undefined;
  if (upgraded && input.handshake && target.egressPublicKey !== undefined) {
    const initiator = new TunnelInitiator(target.egressPublicKey);
    connection.write(dataFrame(OPCODE.binary, initiator.writeInit()));
    const reply = await connection.nextFrame(STEP_MS);
    if (reply?.opcode === OPCODE.binary) {
      try {
        session = initiator.readResponse(reply.payload).session;
      } catch {
        session = undefined;
      }
    }
  }
  if (upgraded) {
    const frames: Uint8Array[] = [];
    for (const step of input.steps) {
      if ('raw' in step) frames.push(step.raw);
      else if (session !== undefined)
        frames.push(dataFrame(OPCODE.binary, session.seal(step.sealed)));
    }
    await writePaced(connection, frames, input.pace);
  }
  return done(connection, input, { upgraded, opened: session !== undefined });
}
