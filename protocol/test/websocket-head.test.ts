import { describe, expect, it } from 'vitest';
import { bytesToHex, hexToBytes } from '../bytes.ts';
import { FetchHeadError } from '../errors.ts';
import { encodeFetchRequestHead, encodeFetchResponseHead, frameFetchHead } from '../fetch-head.ts';
import { encodeWebSocketFrame } from '../websocket-frame.ts';
import { encodeWispPacket } from '../wisp-codec.ts';
import {
  decodeWebSocketRequestHead,
  encodeWebSocketRequestHead,
  webSocketTarget,
} from '../websocket-head.ts';

const hex = (s: string): Uint8Array => hexToBytes(s.replace(/\s+/g, ''));

describe('websocket targets', () => {
  const cases: Array<[string, string, number, string, string]> = [
    ['ws://a.b', 'a.b', 80, 'http://a.b/', 'ws://a.b/'],
    ['wss://a.b/chat?room=1', 'a.b', 443, 'https://a.b/chat?room=1', 'wss://a.b/chat?room=1'],
    ['ws://a.b:8080/x', 'a.b', 8080, 'http://a.b:8080/x', 'ws://a.b:8080/x'],
    ['wss://a.b:80/', 'a.b', 80, 'https://a.b:80/', 'wss://a.b:80/'],
    ['ws://A.B:80/', 'a.b', 80, 'http://a.b/', 'ws://a.b/'],
    ['ws://[::1]:9000/', '::1', 9000, 'http://[::1]:9000/', 'ws://[::1]:9000/'],
    ['http://a.b/', 'a.b', 80, 'http://a.b/', 'ws://a.b/'],
    ['https://a.b/', 'a.b', 443, 'https://a.b/', 'wss://a.b/'],
    ['ws://a.b/ü x', 'a.b', 80, 'http://a.b/%C3%BC%20x', 'ws://a.b/%C3%BC%20x'],
  ];
  for (const [url, host, port, httpUrl, wsUrl] of cases) {
    it(`${url} → CONNECT ${host}:${port}, head URL ${httpUrl}`, () => {
      expect(webSocketTarget(url)).toEqual({ host, port, httpUrl, wsUrl });
    });
  }

  it('refuses other schemes, fragments, credentials and non-URLs with a TypeError', () => {
    for (const url of ['ftp://a.b/', 'ws://a.b/#x', 'ws://a.b/#', 'ws://u:p@a.b/', 'nope', '']) {
      expect(() => webSocketTarget(url), url).toThrow(TypeError);
    }
    expect(() => webSocketTarget(7 as unknown as string)).toThrow(TypeError);
  });
});

describe('websocket request heads', () => {
  it('are fetch request heads: GET, no body flag, the http(s) URL (fixed vector)', () => {
    const head = encodeWebSocketRequestHead(webSocketTarget('ws://a.b/'), [
      ['Sec-WebSocket-Protocol', 'chat'],
    ]);
    // flags 0, GET, http://a.b/, one header.
    expect(bytesToHex(head)).toBe(
      bytesToHex(
        hex(
          '00 0300 474554 0b00 687474703a2f2f612e622f 0100 1600 5365632d576562536f636b65742d50726f746f636f6c 0400 63686174',
        ),
      ),
    );
    expect(decodeWebSocketRequestHead(head)).toEqual({
      method: 'GET',
      url: 'http://a.b/',
      headers: [['Sec-WebSocket-Protocol', 'chat']],
      hasBody: false,
    });
    expect(bytesToHex(frameFetchHead(head)).slice(0, 8)).toBe('33000000');
  });

  it('refuses another method or the body flag with ERR_FETCH_HEAD_INVALID', () => {
    for (const [method, hasBody] of [
      ['POST', false],
      ['get', false],
      ['GET', true],
    ] as const) {
      const bytes = encodeFetchRequestHead({ method, url: 'http://a.b/', headers: [], hasBody });
      let code: string | undefined;
      try {
        decodeWebSocketRequestHead(bytes);
      } catch (err) {
        if (err instanceof FetchHeadError) code = err.code;
      }
      expect(code, `${method} ${hasBody}`).toBe('ERR_FETCH_HEAD_INVALID');
    }
  });
});

describe('the worked example of docs/protocol.md §3a', () => {
  it('has these exact bytes', () => {
    const target = webSocketTarget('ws://a.b/');
    const connect = encodeWispPacket({
      type: 'connect',
      streamId: 1,
      streamType: 'websocket',
      port: target.port,
      hostname: target.host,
    });
    expect(bytesToHex(connect)).toBe('0101000000815000612e62');
    const request = frameFetchHead(
      encodeWebSocketRequestHead(target, [['Sec-WebSocket-Protocol', 'chat']]),
    );
    expect(bytesToHex(request)).toBe(
      '330000000003004745540b00687474703a2f2f612e622f010016005365632d576562536f636b65742d50726f746f636f6c040063686174',
    );
    const hi = encodeWebSocketFrame({ type: 'text', payload: new TextEncoder().encode('hi') });
    expect(bytesToHex(hi)).toBe('01020000006869');
    const response = frameFetchHead(
      encodeFetchResponseHead({
        status: 101,
        statusText: '',
        headers: [['sec-websocket-protocol', 'chat']],
      }),
    );
    expect(bytesToHex(response)).toBe(
      '2400000065000000010016007365632d776562736f636b65742d70726f746f636f6c040063686174',
    );
    const close = encodeWebSocketFrame({ type: 'close', code: 1000, reason: '' });
    expect(bytesToHex(close)).toBe('080200000003e8');
  });
});
