/**
 * The censored-country guard: a volunteer whose country is on the signaling
 * server's censored list is told where it is and refuses to share, before it
 * ever opens a PeerJS connection.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Volunteer } from '../volunteer.ts';
import { createLogger } from '../../server-kit/logger.ts';
import { startSignalingServer, type SignalingServer } from '../../signaling/server.ts';

let censored: SignalingServer;
let open: SignalingServer;

beforeAll(async () => {
  // Tor geoip format: 127.0.0.0/24 is "IR" for this test.
  const dir = await mkdtemp(join(tmpdir(), 'bu-guard-'));
  const ipv4 = join(dir, 'geoip');
  await writeFile(ipv4, '2130706432,2130706687,IR\n');
  const common = { host: '127.0.0.1', port: 0, logger: createLogger('silent') } as const;
  censored = await startSignalingServer({
    ...common,
    geoip: { ipv4 },
    censoredCountries: ['ir', 'CN'],
  });
  open = await startSignalingServer({ ...common, geoip: { ipv4 }, censoredCountries: ['CN'] });
});

afterAll(async () => {
  await censored.close();
  await open.close();
});

describe('a volunteer in a censored country', () => {
  it('learns where it is from /v1/config and refuses to share', async () => {
    const volunteer = new Volunteer({ signaling: censored.url, kind: 'node', iceServers: [] });
    const locations: Array<{ country: string; censored: boolean }> = [];
    volunteer.on('location', (location) => locations.push(location));
    const ready = new Promise<void>((resolve) => volunteer.on('ready', () => resolve()));
    await expect(volunteer.start()).rejects.toMatchObject({ code: 'ERR_CENSORED_LOCATION' });
    await ready;
    expect(locations).toEqual([{ country: 'IR', censored: true }]);
    expect(volunteer.state).toBe('off');
  });

  it('is only told where it is when its country is not on the list', async () => {
    const response = await fetch(`${open.url}v1/config`);
    const config = (await response.json()) as { country: string; censored?: string[] };
    expect(config.country).toBe('IR');
    expect(config.censored).toEqual(['CN']);
  });
});
