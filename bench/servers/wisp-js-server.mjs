// The wisp-js server (@mercuryworkshop/wisp-js 0.5.0) on 127.0.0.1, a port the OS picks,
// loopback destinations allowed (the bench origin is 127.0.0.1), logging off. Set up as its
// README and our interop test (egress/test/wisp-endpoint.test.ts) do.
import { createServer } from 'node:http';
import { logging, server as wispServer } from '@mercuryworkshop/wisp-js/server';

logging.set_level(logging.NONE);
wispServer.options.allow_loopback_ips = true;
const http = createServer((_req, res) => res.end());
http.on('upgrade', (req, socket, head) => wispServer.routeRequest(req, socket, head));
http.listen(0, '127.0.0.1', () => console.log(`wisp-js listening on ${http.address().port}`));
process.on('SIGTERM', () => process.exit(0));
