import { describe, expect, it } from 'vitest';
import { checkEgresses, parseEgressList, parseEgressSpec, resolveSettings } from '../config.ts';

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

describe('egress list files', () => {
  it('reads one entry per line, skipping blank lines and comments', () => {
    const text = `# two egresses\n\n a=ws://127.0.0.1:8001/#${KEY} \r\nb=wss://egress.example/#${KEY}\n`;
    expect(parseEgressList(text).map((e) => [e.id, e.url])).toEqual([
      ['a', 'ws://127.0.0.1:8001/'],
      ['b', 'wss://egress.example/'],
    ]);
    expect(parseEgressList('')).toEqual([]);
  });

  it('names the file and line of a bad entry', () => {
    expect(() => parseEgressList(`a=ws://127.0.0.1:8001/#${KEY}\nnonsense\n`, 'list.txt')).toThrow(
      /^list\.txt:2: egress: must be ID=URL#PUBLICKEY$/,
    );
  });

  it('checks a replacement list as the first: unique ids', () => {
    const settings = resolveSettings();
    const a = parseEgressSpec(`a=ws://127.0.0.1:8001/#${KEY}`);
    expect(checkEgresses(settings, [a])).toEqual([a]);
    expect(() => checkEgresses(settings, [a, a])).toThrow(/egress/);
  });
});
