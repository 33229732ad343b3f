/**
 * What the two streams that carry an HTTP request head share (fetch, type 0x80, and websocket,
 * type 0x81): a bad head closes the stream with 0x41, and the head's URL must name the host
 * and port that the CONNECT named and the policy approved.
 */
import { normalizeHost, type Destination } from './destination-policy.ts';
import { StreamFailure } from './errors.ts';

export function invalid(message: string): StreamFailure {
  return new StreamFailure('ERR_EGRESS_INVALID', message);
}

/**
 * The head's URL when it names `destination`, else the failure to close the stream with.
 * Checked only once the policy has approved the destination: a refused destination reports
 * 0x48, not 0x41.
 */
export function approvedUrl(headUrl: string, destination: Destination): URL | StreamFailure {
  const url = new URL(headUrl);
  const port = url.port === '' ? defaultPort(url.protocol) : Number(url.port);
  if (normalizeHost(url.hostname) !== destination.host || port !== destination.port) {
    return invalid('the request URL does not match the stream destination');
  }
  return url;
}

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}
