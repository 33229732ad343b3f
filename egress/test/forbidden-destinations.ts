/**
 * Destinations the egress must refuse with CLOSE 0x48, whatever the endpoint. Names resolve
 * through FORBIDDEN_LOOKUP (a fixed table), so no test ever asks real DNS; every address is
 * refused before any connection attempt.
 */
import type { PolicyRefusal } from '../errors.ts';
import { tableLookup } from '../resolver.ts';

export interface ForbiddenDestination {
  readonly host: string;
  readonly port: number;
  readonly refusal: PolicyRefusal;
}

export const FORBIDDEN_DESTINATIONS: readonly ForbiddenDestination[] = [
  { host: 'localhost', port: 80, refusal: 'loopback' },
  { host: 'LOCALHOST.', port: 80, refusal: 'loopback' },
  { host: 'app.localhost', port: 80, refusal: 'loopback' },
  { host: '0.0.0.0', port: 80, refusal: 'unspecified' },
  { host: '[::1]', port: 80, refusal: 'loopback' },
  { host: '::1', port: 80, refusal: 'loopback' },
  { host: '[::]', port: 80, refusal: 'unspecified' },
  { host: '[::ffff:127.0.0.1]', port: 80, refusal: 'loopback' },
  { host: '[::ffff:7f00:1]', port: 80, refusal: 'loopback' },
  { host: '[::127.0.0.1]', port: 80, refusal: 'loopback' },
  { host: '[::ffff:169.254.169.254]', port: 80, refusal: 'link-local' },
  { host: '[64:ff9b::10.0.0.1]', port: 80, refusal: 'private' },
  { host: '[2002:c0a8:101::1]', port: 80, refusal: 'private' },
  { host: '2130706433', port: 80, refusal: 'odd-spelling' },
  { host: '0177.0.0.1', port: 80, refusal: 'odd-spelling' },
  { host: '0x7f.0.0.1', port: 80, refusal: 'odd-spelling' },
  { host: '0x7f000001', port: 80, refusal: 'odd-spelling' },
  { host: '127.1', port: 80, refusal: 'odd-spelling' },
  { host: '127.0.0.1', port: 80, refusal: 'loopback' },
  { host: '127.255.255.254', port: 443, refusal: 'loopback' },
  { host: '10.0.0.1', port: 80, refusal: 'private' },
  { host: '172.16.5.4', port: 80, refusal: 'private' },
  { host: '192.168.1.1', port: 80, refusal: 'private' },
  { host: '169.254.169.254', port: 80, refusal: 'link-local' },
  { host: '100.64.0.1', port: 80, refusal: 'cgnat' },
  { host: '224.0.0.1', port: 80, refusal: 'multicast' },
  { host: '255.255.255.255', port: 80, refusal: 'broadcast' },
  { host: '192.0.2.7', port: 80, refusal: 'documentation' },
  { host: '198.18.0.1', port: 80, refusal: 'reserved' },
  { host: '240.0.0.1', port: 80, refusal: 'reserved' },
  { host: 'fc00::1', port: 80, refusal: 'unique-local' },
  { host: '[fd12:3456::1]', port: 80, refusal: 'unique-local' },
  { host: 'fe80::1', port: 80, refusal: 'link-local' },
  { host: 'ff02::1', port: 80, refusal: 'multicast' },
  { host: '2001:db8::1', port: 80, refusal: 'documentation' },
  { host: 'metadata.test', port: 80, refusal: 'link-local' },
  { host: 'intranet.test', port: 443, refusal: 'private' },
  { host: 'rebind.test', port: 80, refusal: 'loopback' },
  { host: 'mapped.test', port: 80, refusal: 'loopback' },
  { host: 'mail.example.test', port: 25, refusal: 'port' },
];

/** A public address (TEST-NET would be refused itself, so a real global one that is never dialled). */
export const PUBLIC_ADDRESS = '93.184.215.14';

export const FORBIDDEN_LOOKUP = tableLookup({
  localhost: ['127.0.0.1', '::1'],
  'metadata.test': ['169.254.169.254'],
  'intranet.test': ['10.1.2.3'],
  // One public and one loopback answer: every answer is checked, not just the first.
  'rebind.test': [PUBLIC_ADDRESS, '127.0.0.1'],
  'mapped.test': ['::ffff:127.0.0.1'],
  'mail.example.test': [PUBLIC_ADDRESS],
});
