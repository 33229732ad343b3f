/** `bu demo-site` as a process: the built CLI on port 0, asked over real sockets. */
import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/wait-for.ts';

const BU = new URL('../../dist/cli/bu.js', import.meta.url).pathname;
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  readonly lines: string[];
}

function start(args: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [BU, 'demo-site', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const match = /^demo site on (http:\/\/\S+)\/$/.exec(line);
      if (match?.[1] !== undefined) resolve({ child, url: match[1], lines });
    });
    child.once('exit', (code) => reject(new Error(`bu demo-site exited with ${code}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}

describe('bu demo-site', () => {
  it('serves pages that exercise the proxy, and says who asked for each', async () => {
    const { child, url, lines } = await start();
    const home = await fetch(`${url}/`);
    expect(home.status).toBe(200);
    const text = await home.text();
    expect(text).toContain('href="second.html"');
    expect(text).toContain(`href="${url}/dir/third.html"`);
    expect(await (await fetch(`${url}/style.css`)).text()).toContain('@import "imported.css"');
    expect(await (await fetch(`${url}/api/data?via=xhr`)).json()).toEqual({ value: 'xhr' });
    const redirect = await fetch(`${url}/redirect`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([302, '/second.html']);
    const cookie = await fetch(`${url}/set-cookie`);
    expect(cookie.headers.getSetCookie()).toContain('flavour=oat; Path=/; HttpOnly');
    expect((await fetch(`${url}/nothing-here`)).status).toBe(404);
    // Node's fetch sends Sec-Fetch-Mode as browsers do; node:http, like the egress, does not.
    await new Promise<void>((resolve, reject) =>
      get(`${url}/pixel.png`, (res) => res.resume().on('end', resolve)).on('error', reject),
    );
    const browser = 'GET /  ← a browser, directly';
    const notBrowser = 'GET /pixel.png  ← not a browser (the egress, or curl)';
    await waitFor(() => lines.includes(notBrowser), 'the log line for /pixel.png');
    expect(lines).toContain(browser);
    expect(lines).toContain(notBrowser);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('posts a form, escapes what it echoes, and refuses an oversized body', async () => {
    const { url } = await start();
    const posted = await fetch(`${url}/submit`, {
      method: 'POST',
      body: 'who=<script>x</script>',
      redirect: 'manual',
    });
    expect(posted.status).toBe(303);
    const location = posted.headers.get('location') ?? '';
    const page = await (await fetch(new URL(location, url))).text();
    expect(page).toContain('posted &#60;script&#62;x&#60;/script&#62;');
    expect(page).not.toContain('<script>x');
    const read = await (await fetch(`${url}/read-cookie`, { headers: { cookie: 'a=<b>' } })).text();
    expect(read).toContain('cookie: a=&#60;b&#62;');
    const big = await fetch(`${url}/submit`, { method: 'POST', body: 'x'.repeat(10_000) });
    expect(big.status).toBe(413);
    expect((await fetch(`${url}/submit`)).status).toBe(405);
  });

  it('refuses a bad port with exit code 2 and a message', async () => {
    const child = spawn(process.execPath, [BU, 'demo-site', '--port', '70000'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    expect(await exited(child)).toBe(2);
    expect(stderr).toContain('--port must be in 0..65535');
  });
});
