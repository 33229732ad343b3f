/**
 * Is the server still well? It must still be running, answer well-formed requests correctly
 * on every part it has (the signaling routes and a PeerJS OPEN through a real `ws` client, the
 * egress's Wisp greeting and a tunnel handshake, the site, the metrics), and have counted no
 * new fault.
 */
import WebSocket from 'ws';
import { TunnelInitiator } from '../../protocol/tunnel-handshake.ts';
import type { ServerProcess } from './processes.ts';

const CHECK_MS = 3000;

/** The answer of one GET, or why there was none. */
async function get(port: number, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    signal: AbortSignal.timeout(CHECK_MS),
  });
  return { status: res.status, text: await res.text() };
}

async function expectGet(port: number, path: string, body: RegExp): Promise<void> {
  const { status, text } = await get(port, path);
  if (status !== 200 || !body.test(text)) {
    throw new Error(`GET ${path}: ${status} ${JSON.stringify(text.slice(0, 200))}`);
  }
}

/** Opens a WebSocket and returns its first message. */
function firstMessage(url: string, send?: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`${url}: no message within ${CHECK_MS} ms`));
    }, CHECK_MS);
    ws.once('open', () => {
      if (send !== undefined) ws.send(send);
    });
    ws.once('message', (data: Buffer) => {
      clearTimeout(timer);
      ws.close();
      resolve(data);
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${url}: ${err.message}`));
    });
    ws.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`${url}: closed (${code}) before any message`));
    });
  });
}

let healthPeers = 0;

async function checkSignaling(port: number, base: string): Promise<void> {
  await expectGet(port, base, /"name":"Browsers Unbounded signaling"/);
  await expectGet(
    port,
    `${base}peerjs/id`,
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  );
  await expectGet(port, `${base}v1/config`, /"limits"/);
  healthPeers += 1;
  const id = `health-${process.pid}-${healthPeers}`;
  const open = await firstMessage(
    `ws://127.0.0.1:${port}${base}peerjs?key=peerjs&id=${id}&token=health`,
  );
  if (open.toString('utf8') !== '{"type":"OPEN"}') {
    throw new Error(
      `PeerJS session: first message ${JSON.stringify(open.toString('utf8'))}, not OPEN`,
    );
  }
}

async function checkEgress(port: number, publicKey: Uint8Array | undefined): Promise<void> {
  const greeting = await firstMessage(`ws://127.0.0.1:${port}/wisp/`);
  // CONTINUE (0x03) on stream 0 with the initial buffer: the Wisp v1 greeting.
  if (greeting[0] !== 0x03 || greeting.readUInt32LE(1) !== 0) {
    throw new Error(`/wisp/: greeting ${greeting.toString('hex')}, not CONTINUE on stream 0`);
  }
  if (publicKey === undefined) throw new Error('no egress public key to check /tunnel/ with');
  const initiator = new TunnelInitiator(publicKey);
  const response = await firstMessage(`ws://127.0.0.1:${port}/tunnel/`, initiator.writeInit());
  initiator.readResponse(response);
}

/**
 * Exceptions the server caught at one of its entry points so far (`bu_*_faults_total`): each
 * is a bug that the boundary kept from taking the process down.
 */
async function countFaults(port: number): Promise<number> {
  const { text } = await get(port, '/metrics');
  let total = 0;
  for (const match of text.matchAll(/^bu_\w+_faults_total(?:\{[^}]*\})? (\d+)$/gm)) {
    total += Number(match[1]);
  }
  return total;
}

export interface Verdict {
  /** Undefined when the server is well; otherwise what is wrong with it. */
  readonly problem: string | undefined;
  /** True when the process exited or stopped answering (not merely counted a fault). */
  readonly down: boolean;
  /** Faults counted so far, for the next check to compare with. */
  readonly faults: number;
}

async function exited(server: ServerProcess): Promise<string | undefined> {
  // A crash shows as a refused request first; the exit event follows a moment later.
  await new Promise((resolve) => setTimeout(resolve, 200));
  const ended = server.exit();
  return ended === undefined
    ? undefined
    : `the process exited (code ${ended.code}, signal ${ended.signal})`;
}

/**
 * The server must be running, answer well-formed requests correctly, and have counted no
 * fault since the last check (`knownFaults`).
 */
export async function checkHealth(server: ServerProcess, knownFaults = 0): Promise<Verdict> {
  if (server.exit() !== undefined) {
    return { problem: await exited(server), down: true, faults: knownFaults };
  }
  let faults: number;
  try {
    if (server.signalPath !== undefined) await checkSignaling(server.port, server.signalPath);
    if (server.egress) await checkEgress(server.port, server.egressPublicKey);
    if (server.site) await expectGet(server.port, '/', /fuzz site/);
    const metrics = server.kind === 'egress' ? /bu_egress_/ : /bu_signaling_/;
    await expectGet(server.port, '/metrics', metrics);
    faults = await countFaults(server.port);
  } catch (err) {
    const problem =
      (await exited(server)) ??
      `it is running but does not answer correctly: ${err instanceof Error ? err.message : String(err)}`;
    return { problem, down: true, faults: knownFaults };
  }
  if (faults <= knownFaults) return { problem: undefined, down: false, faults };
  const logged = server
    .stderrTail()
    .split('\n')
    .filter((line) => line.includes('"fault"'))
    .slice(-3);
  const problem = `it counted ${faults - knownFaults} new fault(s) (exceptions caught at an entry point): ${logged.join(' | ')}`;
  return { problem, down: false, faults };
}
