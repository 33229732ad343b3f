/**
 * One address tries to lock everyone else out, at the default limits: it floods the server
 * with PeerJS ids, collects introductions to every volunteer with five ids and never connects,
 * and runs fake volunteers that claim 64 slots and an open NAT. Meanwhile a censored user on
 * another address starts `bu proxy` and fetches a page through a real volunteer.
 *
 * Addresses inside the test namespace: the volunteers reach signaling at 127.0.0.1, the honest
 * consumer at 10.77.0.1 (so its address is 10.77.0.1), the attacker binds 10.77.0.2.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUSAL_TEXT } from '../../signaling/errors.ts';
import { connect, http, RawPeer, wsUrl, type Reachable } from '../../signaling/test/helpers.ts';
import {
  BuProcess,
  curl,
  admissionFlags,
  tempDir,
  startOrigins,
  startProxy,
  startVolunteer,
  waitForVolunteers,
  type Origins,
  type Proxy,
} from './chain-harness.ts';

const ATTACKER = '10.77.0.2';

let origins: Origins;
let egress: BuProcess;
let signaling: BuProcess;
let port: number;
const volunteers: BuProcess[] = [];
const sockets: RawPeer[] = [];
let proxy: Proxy | undefined;
let attacking = true;

beforeAll(async () => {
  origins = await startOrigins();
  const admission = await admissionFlags(await tempDir('bu-lockout-'));
  egress = new BuProcess([
    'egress',
    ...admission.egress,
    '--port',
    '0',
    '--key',
    `${process.env['TMPDIR'] ?? '/tmp'}/bu-lockout-egress-${process.pid}.json`,
    '--allow',
    `127.0.0.1:${origins.httpPort}`,
  ]);
  const listening = await egress.waitFor((e) => e['event'] === 'listening', 'bu egress');
  const egressUrl = String(listening['url']).replace(/^http/, 'ws');
  // Default limits: no flag below touches a fair share, a rate limit or the NAT rule.
  signaling = new BuProcess([
    'signaling',
    ...admission.signaling,
    '--host',
    '0.0.0.0',
    '--port',
    '0',
    '--no-geoip',
    '--egress',
    `local=${egressUrl}#${String(listening['publicKey'])}`,
  ]);
  const up = await signaling.waitFor((e) => e['event'] === 'listening', 'bu signaling');
  port = Number(up['port']);
  for (let i = 0; i < 2; i++) volunteers.push(await startVolunteer(`http://127.0.0.1:${port}/`));
});

afterAll(async () => {
  attacking = false;
  for (const socket of sockets.splice(0)) socket.ws.terminate();
  await Promise.all([proxy?.process.stop(), ...volunteers.map((v) => v.stop())]);
  await Promise.all([signaling.stop(), egress.stop()]);
  origins.close();
});

const server: Reachable = {
  get url() {
    return `http://10.77.0.1:${port}/`;
  },
};

/**
 * Item 4: 300 ids from one address, as fast as the connection rate limit lets them in (a
 * refusal for the rate is retried; the others are what the server decided).
 */
async function floodIds(): Promise<{ open: number; refused: number }> {
  let open = 0;
  let refused = 0;
  for (let i = 0; i < 300 && attacking;) {
    const peer = new RawPeer(wsUrl(server, { key: 'peerjs', id: `flood${i}`, token: 't' }), {
      localAddress: ATTACKER,
    });
    sockets.push(peer);
    const first = await peer.next();
    if (first.type === 'ERROR' && first.payload?.['msg'] === REFUSAL_TEXT.rateLimited) {
      await new Promise((resolve) => setTimeout(resolve, 110));
      continue;
    }
    if (first.type === 'OPEN') open += 1;
    else refused += 1;
    i += 1;
  }
  return { open, refused };
}

/** Item 5: a volunteer that always claims 64 slots and an open NAT, and never answers. */
async function fakeVolunteer(id: string): Promise<number> {
  let shown = 0;
  while (attacking) {
    const reply = await http(
      server,
      'POST',
      'v1/volunteer/poll',
      { id, token: `tok-${id}`, slots: 64, nat: 'unrestricted', kind: 'browser' },
      { localAddress: ATTACKER },
    ).catch(() => undefined);
    if (reply?.status === 200 && reply.json().match) shown += 1;
    if (reply?.status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return shown;
}

/** Item 2: five ids that ask for eight volunteers again and again and never connect. */
async function hoard(id: string): Promise<Set<string>> {
  const errors = new Set<string>();
  while (attacking) {
    const reply = await http(
      server,
      'POST',
      'v1/consumer/match',
      { id, token: `tok-${id}`, count: 8, nat: 'unrestricted' },
      { localAddress: ATTACKER },
    ).catch(() => undefined);
    if (reply !== undefined && reply.status !== 200) errors.add(reply.json().error ?? '');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return errors;
}

describe('a consumer on another address while one address tries to lock it out', () => {
  it('gets matched with a real volunteer and fetches a page', async () => {
    const attackerIds = ['fake1', 'fake2', 'hoard1', 'hoard2', 'hoard3', 'hoard4', 'hoard5'];
    for (const id of attackerIds) {
      sockets.push(await connect(server, id, `tok-${id}`, { localAddress: ATTACKER }));
    }
    const fakes = [fakeVolunteer('fake1'), fakeVolunteer('fake2')];
    const hoards = attackerIds.filter((id) => id.startsWith('hoard')).map(hoard);
    const flood = await floodIds();
    // The flood reached the per-address limit, not the server's: 256 of 5000.
    expect(flood.open).toBe(256 - attackerIds.length);
    expect(flood.refused).toBe(300 - flood.open);

    proxy = await startProxy(server.url);
    await waitForVolunteers(proxy, 1);
    const page = await curl('http', proxy, `http://127.0.0.1:${origins.httpPort}/bytes/1000`);
    expect(page.code).toBe(0);
    expect(page.status).toBe('200');
    expect(page.size).toBe(1000);

    attacking = false;
    const hoardErrors = await Promise.all(hoards);
    expect(hoardErrors.some((errors) => errors.has('fair-share'))).toBe(true);
    const shown = (await Promise.all(fakes)).reduce((a, b) => a + b, 0);
    const metrics = (await http(server, 'GET', 'metrics')).text;
    const count = (name: string): number =>
      Number(
        metrics
          .split('\n')
          .find((l) => l.startsWith(`${name} `))
          ?.split(' ')[1] ?? 0,
      );
    const matches = count('bu_signaling_matches_total');
    // The fake volunteers saw some consumers (the attacker's own do not count: same address),
    // never all of them.
    expect(shown).toBeLessThan(matches);
    expect(count('bu_signaling_rejected_inputs_total{reason="ids-per-address"}')).toBe(
      flood.refused,
    );
  });
});
