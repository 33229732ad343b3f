/**
 * A pass-through in front of a Wisp server, on 127.0.0.1, port 0, that records each
 * WebSocket's handshake: the subprotocols offered and selected and the type of the server's
 * first Wisp packet, enough for `wispVersionOf`. The transport runs in bare-mux's
 * SharedWorker, out of the test's reach, so the record is taken on the wire. It forwards
 * bytes unchanged, path included, and parses nothing but the upgrade response and the first
 * frame after it.
 */
import { createServer } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { SocketRecord } from '../wisp-interop/cases.ts';

export interface WispTap {
  /** The target's URL with the tap's host and port. */
  readonly wispUrl: string;
  readonly sockets: readonly SocketRecord[];
  close(): Promise<void>;
}

const HEADER_END = '\r\n\r\n';

/** The first payload byte of the first (unmasked, server-sent) WebSocket frame in `bytes`. */
function firstPayloadByte(bytes: Buffer): number | null {
  const length = bytes[1];
  if (length === undefined) return null;
  const offset = (length & 0x7f) === 126 ? 4 : (length & 0x7f) === 127 ? 10 : 2;
  return bytes[offset] ?? null;
}

export async function startWispTap(target: string): Promise<WispTap> {
  const targetUrl = new URL(target);
  const sockets: SocketRecord[] = [];
  const open = new Set<Socket>();
  const server = createServer((_req, res) => res.writeHead(404).end());
  server.on('upgrade', (req, client: Socket, head: Buffer) => {
    const offered = req.headers['sec-websocket-protocol'];
    const record: SocketRecord = {
      url: req.url ?? '',
      offered: offered === undefined ? [] : offered.split(',').map((p) => p.trim()),
      selected: '',
      firstPacketType: null,
      closeCode: null,
      largestSent: 0,
    };
    sockets.push(record);
    const upstream = connect(Number(targetUrl.port), targetUrl.hostname);
    open.add(upstream);
    upstream.once('close', () => open.delete(upstream));
    let lines = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i + 1 < req.rawHeaders.length; i += 2)
      lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    upstream.write(lines + '\r\n');
    upstream.write(head);
    let seen = Buffer.alloc(0);
    const sniff = (chunk: Buffer): void => {
      seen = Buffer.concat([seen, chunk]);
      const end = seen.indexOf(HEADER_END);
      if (end < 0) return;
      const selected = /^sec-websocket-protocol:\s*(.*)$/im.exec(seen.subarray(0, end).toString());
      record.selected = selected?.[1]?.trim() ?? '';
      record.firstPacketType = firstPayloadByte(seen.subarray(end + HEADER_END.length));
      if (record.firstPacketType !== null) upstream.off('data', sniff);
    };
    upstream.on('data', sniff);
    upstream.pipe(client);
    client.pipe(upstream);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.once('error', end).once('close', end);
    upstream.once('error', end).once('close', end);
  });
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    wispUrl: `ws://127.0.0.1:${port}${targetUrl.pathname}`,
    sockets,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
