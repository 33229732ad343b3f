// A local origin for the egress benches. Each TCP connection first sends a u32 LE byte count
// (0xffffffff: without end); the origin then writes that many bytes as fast as the socket
// takes them, honouring backpressure, and ends. Listens on 127.0.0.1 only.
import { createServer } from 'node:net';

const CHUNK = Buffer.alloc(64 * 1024, 0x5a);
const UNLIMITED = 0xffffffff;

const server = createServer((socket) => {
  socket.on('error', () => socket.destroy());
  let head = Buffer.alloc(0);
  const onData = (data) => {
    head = Buffer.concat([head, data]);
    if (head.length < 4) return;
    socket.off('data', onData);
    const wanted = head.readUInt32LE(0);
    let left = wanted === UNLIMITED ? Number.POSITIVE_INFINITY : wanted;
    const pump = () => {
      while (left > 0) {
        const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
        left -= chunk.length;
        if (!socket.write(chunk)) {
          socket.once('drain', pump);
          return;
        }
      }
      socket.end();
    };
    socket.resume(); // drain anything the client sends after the count
    pump();
  };
  socket.on('data', onData);
});
server.listen(0, '127.0.0.1', () => console.log(`origin listening on ${server.address().port}`));
process.on('SIGTERM', () => process.exit(0));
