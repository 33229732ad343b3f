/** Starts the built `bu signaling` as a child process and reads its URL from the log. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const BU = new URL('../../dist/cli/bu.js', import.meta.url).pathname;

export interface SignalingProcess {
  readonly child: ChildProcess;
  /** `http://host:port{path}` from the "listening" log line. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

export function startSignalingProcess(args: string[]): Promise<SignalingProcess> {
  const child = spawn(process.execPath, [BU, 'signaling', '--port', '0', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const seen: string[] = [];
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stderr }).on('line', (line) => {
      seen.push(line);
      const entry = JSON.parse(line) as { event?: string; url?: string };
      if (entry.event !== 'listening' || entry.url === undefined) return;
      const url = new URL(entry.url);
      resolve({
        child,
        url: entry.url,
        host: url.hostname,
        port: Number(url.port),
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done();
            child.on('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    });
    child.on('exit', (code) =>
      reject(new Error(`bu signaling exited (${code}): ${seen.join('\n')}`)),
    );
  });
}
