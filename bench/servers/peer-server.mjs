// The stock PeerJS server (`peer` 1.0.2) through its own API, as its README shows, on
// 127.0.0.1 and a port the OS picks. No per-connection logging (its CLI logs every connect
// and disconnect to stdout, which would cost it CPU that ours does not spend).
// argv: [concurrent_limit]
import { PeerServer } from 'peer';

const concurrentLimit = Number(process.argv[2] ?? 5000);
PeerServer(
  { host: '127.0.0.1', port: 0, path: '/', key: 'peerjs', concurrent_limit: concurrentLimit },
  (server) => {
    const address = server.address();
    console.log(`peer listening on ${typeof address === 'object' ? address.port : address}`);
  },
);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
