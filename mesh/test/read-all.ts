/** Reads `length` bytes from `readable` (fewer if it ends first) and releases its reader. */
export async function readAll(
  readable: ReadableStream<Uint8Array>,
  length: number,
): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let received = 0;
  const reader = readable.getReader();
  while (received < length) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
  }
  reader.releaseLock();
  return Buffer.concat(chunks);
}
