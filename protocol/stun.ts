/**
 * The little of STUN (RFC 8489) that the NAT probe needs: a Binding request in, a Binding
 * success response with XOR-MAPPED-ADDRESS out. Browsers and libjuice send exactly this to the
 * STUN servers in their ICE configuration while gathering candidates. No I/O here.
 */

export const STUN_MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const XOR_MAPPED_ADDRESS = 0x0020;
const HEADER_BYTES = 20;
/** Larger requests are not ours to answer (a browser's is 20 bytes, libjuice's under 100). */
export const MAX_STUN_REQUEST_BYTES = 548;

/** The 12-byte transaction id of a well-formed Binding request; undefined for anything else. */
export function parseBindingRequest(packet: Uint8Array): Uint8Array | undefined {
  if (packet.length < HEADER_BYTES || packet.length > MAX_STUN_REQUEST_BYTES) return undefined;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const type = view.getUint16(0);
  const length = view.getUint16(2);
  if (type !== BINDING_REQUEST || view.getUint32(4) !== STUN_MAGIC_COOKIE) return undefined;
  if (length % 4 !== 0 || HEADER_BYTES + length !== packet.length) return undefined;
  return packet.slice(8, 20);
}

/** A Binding success response telling the sender the address (4 or 16 bytes) and port it came from. */
export function encodeBindingSuccess(
  transactionId: Uint8Array,
  address: Uint8Array,
  port: number,
): Uint8Array {
  if (transactionId.length !== 12 || (address.length !== 4 && address.length !== 16)) {
    throw new RangeError(
      'a STUN response needs a 12-byte transaction id and a 4 or 16-byte address',
    );
  }
  const v4 = address.length === 4;
  const valueBytes = 4 + address.length;
  const packet = new Uint8Array(HEADER_BYTES + 4 + valueBytes);
  const view = new DataView(packet.buffer);
  view.setUint16(0, BINDING_SUCCESS);
  view.setUint16(2, 4 + valueBytes);
  view.setUint32(4, STUN_MAGIC_COOKIE);
  packet.set(transactionId, 8);
  view.setUint16(20, XOR_MAPPED_ADDRESS);
  view.setUint16(22, valueBytes);
  view.setUint8(25, v4 ? 0x01 : 0x02);
  view.setUint16(26, port ^ (STUN_MAGIC_COOKIE >>> 16));
  // The address is XORed with the cookie, then (IPv6) the transaction id: packet bytes 4..19.
  for (let i = 0; i < address.length; i++)
    packet[28 + i] = (address[i] ?? 0) ^ (packet[4 + i] ?? 0);
  return packet;
}

/** Reads XOR-MAPPED-ADDRESS from a Binding success response (for tests and clients). */
export function parseBindingSuccess(
  packet: Uint8Array,
): { transactionId: Uint8Array; ip: string; port: number } | undefined {
  if (packet.length < HEADER_BYTES) return undefined;
  const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  if (view.getUint16(0) !== BINDING_SUCCESS || view.getUint32(4) !== STUN_MAGIC_COOKIE) {
    return undefined;
  }
  let at = HEADER_BYTES;
  while (at + 4 <= packet.length) {
    const type = view.getUint16(at);
    const length = view.getUint16(at + 2);
    if (at + 4 + length > packet.length) return undefined;
    if (type === XOR_MAPPED_ADDRESS && (length === 8 || length === 20)) {
      const port = view.getUint16(at + 6) ^ (STUN_MAGIC_COOKIE >>> 16);
      const bytes = Array.from(
        packet.subarray(at + 8, at + 4 + length),
        (b, i) => b ^ (packet[4 + i] ?? 0),
      );
      const ip =
        length === 8
          ? bytes.join('.')
          : Array.from({ length: 8 }, (_, i) =>
              (((bytes[i * 2] ?? 0) << 8) | (bytes[i * 2 + 1] ?? 0)).toString(16),
            ).join(':');
      return { transactionId: packet.slice(8, 20), ip, port };
    }
    at += 4 + Math.ceil(length / 4) * 4;
  }
  return undefined;
}

/** A Binding request with `transactionId` (12 random bytes) and no attributes. */
export function encodeBindingRequest(transactionId: Uint8Array): Uint8Array {
  if (transactionId.length !== 12) throw new RangeError('a STUN transaction id is 12 bytes');
  const packet = new Uint8Array(HEADER_BYTES);
  const view = new DataView(packet.buffer);
  view.setUint16(0, BINDING_REQUEST);
  view.setUint32(4, STUN_MAGIC_COOKIE);
  packet.set(transactionId, 8);
  return packet;
}
