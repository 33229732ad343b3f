import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFetchRequestHead, frameFetchHead } from '../../protocol/fetch-head.ts';
import { WISP_CLOSE_REASONS } from '../../protocol/wisp-types.ts';
import { fetchThrough } from './fetch-client.ts';
import { FORBIDDEN_DESTINATIONS } from './forbidden-destinations.ts';
import {
  connectTunnel,
  connectWisp,
  countOf,
  startTestEgress,
  type TestEgress,
} from './harness.ts';
import type { TestWispClient } from './wisp-client.ts';

let egress: TestEgress;

beforeAll(async () => {
  egress = await startTestEgress();
});

afterAll(async () => {
  await egress.close();
});

function urlFor(host: string, port: number): string {
  const bracketed = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `http://${bracketed}:${port}/`;
}

async function refusals(
  client: TestWispClient,
  kind: 'tcp' | 'fetch' | 'websocket',
): Promise<number[]> {
  return Promise.all(
    FORBIDDEN_DESTINATIONS.map(async ({ host, port }) => {
      if (kind === 'tcp') return client.open(host, port).closed;
      if (kind === 'fetch') {
        return (await fetchThrough(client, { url: urlFor(host, port) }, { host, port })).reason;
      }
      const stream = client.open(host, port, 'websocket');
      const head = { method: 'GET', url: urlFor(host, port), headers: [], hasBody: false };
      await stream.send(frameFetchHead(encodeFetchRequestHead(head)));
      return stream.closed;
    }),
  );
}

describe(`${FORBIDDEN_DESTINATIONS.length} forbidden destinations`, () => {
  it('are refused with 0x48 on /wisp/, /tunnel/, fetch and websocket, never dialled, and counted', async () => {
    const before = await egress.metricsText();
    const wisp = await connectWisp(egress.wsUrl('wisp/'));
    const tunnel = await connectTunnel(egress.wsUrl('tunnel/'), egress.key.publicKey);
    const blocked = FORBIDDEN_DESTINATIONS.map(() => WISP_CLOSE_REASONS.blocked);
    expect(await refusals(wisp.client, 'tcp')).toEqual(blocked);
    expect(await refusals(tunnel.client, 'tcp')).toEqual(blocked);
    expect(await refusals(tunnel.client, 'fetch')).toEqual(blocked);
    expect(await refusals(tunnel.client, 'websocket')).toEqual(blocked);
    expect(egress.dialed).toEqual([]);

    const after = await egress.metricsText();
    for (const endpoint of ['wisp', 'tunnel']) {
      const refused = (text: string): number =>
        countOf(text, 'bu_egress_policy_refusals_total', endpoint);
      const perEndpoint = endpoint === 'wisp' ? 1 : 3;
      expect(refused(after) - refused(before), endpoint).toBe(
        FORBIDDEN_DESTINATIONS.length * perEndpoint,
      );
    }
    expect(after).toMatch(
      /bu_egress_policy_refusals_total\{endpoint="wisp",reason="odd-spelling"\} 5/,
    );
    expect(after).toContain(
      `bu_egress_stream_closes_total{endpoint="tunnel",reason="blocked",by="egress"} ${3 * FORBIDDEN_DESTINATIONS.length}`,
    );
    wisp.ws.close();
    tunnel.ws.close();
  });
});
