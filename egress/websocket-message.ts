/** WebSocket message helpers shared by both endpoints. */

/** A WebSocket message as bytes (ws hands out a Buffer, an ArrayBuffer or fragments). */
export function messageBytes(data: Buffer | ArrayBuffer | Buffer[]): Uint8Array {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return data;
}

/** WebSocket close codes the endpoints use (RFC 6455 §7.4.1). */
export const WS_CLOSE = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  policyViolation: 1008,
  tooLarge: 1009,
  tryAgainLater: 1013,
} as const;
