import { describe, expect, it } from 'vitest';
import { parseEgressSpec, resolveSettings } from '../config.ts';

const KEY = 'pOCSkrZRwni5dyxWn1-puxPZBrRqtoyd-dwrRAn4ogk';

describe('settings', () => {
  it('fills in defaults', () => {
    const settings = resolveSettings();
    expect(settings).toMatchObject({
      path: '/',
      key: 'peerjs',
      allowSameIp: false,
      aliveTimeoutMs: 60_000,
      expireTimeoutMs: 5_000,
      volunteerTimeoutMs: 60_000,
      concurrentLimit: 5000,
    });
  });

  it.each([
    [{ path: 'signal' }, /path/],
    [{ path: '/signal' }, /path/],
    [{ key: 'a b' }, /key/],
    [{ concurrentLimit: 0 }, /concurrentLimit/],
    [{ aliveTimeoutMs: 3_600_001 }, /aliveTimeoutMs/],
    [{ cors: ['https://a.example/path'] }, /cors/],
    [{ iceServers: [{ urls: 'http://x' }] }, /config/],
    [{ egresses: [{ id: 'a', url: 'http://x/', publicKey: KEY }] }, /config/],
  ])('refuses %j with ERR_SIGNALING_CONFIG', (options, message) => {
    expect(() => resolveSettings(options)).toThrow(message);
    expect(() => resolveSettings(options)).toThrow(
      expect.objectContaining({ code: 'ERR_SIGNALING_CONFIG' }),
    );
  });

  it('parses ID=URL#PUBLICKEY egress specs', () => {
    expect(parseEgressSpec(`local=ws://127.0.0.1:8080/#${KEY}`)).toEqual({
      id: 'local',
      url: 'ws://127.0.0.1:8080/',
      publicKey: KEY,
    });
    for (const bad of [
      'local',
      `=ws://a/#${KEY}`,
      `local=ws://a/`,
      `local=ws://a#${KEY}`,
      `local=ws://a/#short`,
      `bad id=ws://a/#${KEY}`,
    ]) {
      expect(() => parseEgressSpec(bad)).toThrow(/egress/);
    }
  });
});
