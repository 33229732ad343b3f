import type { IncomingMessage } from 'node:http';

/**
 * The caller's address as one spelling: IPv4 peers on a dual-stack socket appear as
 * `::ffff:a.b.c.d`, and the same-address rule and per-address counts must see one address.
 * Proxy headers are not trusted: the server is meant to face clients directly.
 */
export function clientIp(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
