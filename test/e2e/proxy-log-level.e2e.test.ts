/**
 * `bu proxy` keeps destinations out of its output unless asked (`--log-level debug`), through
 * the whole chain: `bu serve` + `bu volunteer` + two `bu proxy` processes, real curl, and
 * destinations the egress refuses (its address policy blocks them). A request that works is
 * not printed at all; one that fails is logged by code and reason only. Inside
 * scripts/netns-run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  curl,
  startChain,
  startProxy,
  waitForVolunteers,
  type Chain,
  type Origins,
  type Proxy,
} from './chain-harness.ts';

/** A private address and a name for loopback: the egress refuses both (Wisp close 0x48). */
const BLOCKED_IP = '10.11.12.13';
const BLOCKED_NAME = 'localhost';
const PATH = '/secret-path-2f6d';
const PORTS = { http: 8123, connect: 8443, socks: 9443 } as const;

let chain: Chain;
let origins: Origins;
let quiet: Proxy;
let debug: Proxy;

beforeAll(async () => {
  // One after the other: two consumers asking for a match at the same moment sometimes wait
  // for the signaling server's match timeout (30 s), which is not what this file is about.
  chain = await startChain();
  ({ origins, proxy: quiet } = chain);
  debug = await startProxy(chain.serve.signaling, ['--volunteers', '1', '--log-level', 'debug']);
  await waitForVolunteers(debug, 1);
});

afterAll(async () => {
  await chain.stop(debug.process);
});

/** A request that works, and three the egress refuses, one by each way into the proxy. */
async function requests(proxy: Proxy): Promise<void> {
  const ok = await curl('http', proxy, `http://127.0.0.1:${origins.httpPort}/bytes/1000`);
  expect(ok.size).toBe(1000);
  const absolute = await curl('http', proxy, `http://${BLOCKED_IP}:${PORTS.http}${PATH}`);
  expect(absolute.status).toBe('403');
  const connect = await curl('http', proxy, `https://${BLOCKED_NAME}:${PORTS.connect}${PATH}`);
  expect(connect.code).not.toBe(0);
  const socks = await curl('socks', proxy, `http://${BLOCKED_NAME}:${PORTS.socks}${PATH}`);
  expect(socks.code).not.toBe(0);
  await proxy.process.waitFor(
    () => proxy.process.json().filter((e) => e['event'] === 'failure').length >= 3,
    'three failure lines',
  );
}

describe('bu proxy --log-level through the chain', () => {
  it('default level: failures by code and reason; no destination, port or path in any line', async () => {
    await requests(quiet);
    const failures = quiet.process.json().filter((e) => e['event'] === 'failure');
    expect(failures).toHaveLength(3);
    for (const failure of failures) {
      expect(failure).toMatchObject({ code: 'ERR_STREAM_CLOSED', reason: 'blocked' });
      expect(failure).not.toHaveProperty('destination');
    }
    const all = quiet.process.lines.join('\n');
    for (const secret of [
      BLOCKED_IP,
      BLOCKED_NAME,
      PATH,
      `127.0.0.1:${origins.httpPort}`,
      ...Object.values(PORTS).map((port) => `:${port}`),
    ]) {
      expect(all, `${secret} in bu proxy's output`).not.toContain(secret);
    }
  });

  it('--log-level debug: each failure names its destination', async () => {
    await requests(debug);
    const destinations = debug.process
      .json()
      .filter((e) => e['event'] === 'failure')
      .map((e) => e['destination']);
    expect(destinations.sort()).toEqual(
      [
        `${BLOCKED_IP}:${PORTS.http}`,
        `${BLOCKED_NAME}:${PORTS.connect}`,
        `${BLOCKED_NAME}:${PORTS.socks}`,
      ].sort(),
    );
  });
});
