#!/usr/bin/env node
/**
 * `bu`: the Browsers Unbounded command. One entry point; each subcommand
 * lives in its own module and is loaded only when asked for.
 */
import { readFileSync } from 'node:fs';
import { installCryptoPrimitives } from '../server-kit/native-crypto.ts';
import { CliError, type Command } from './command.ts';

const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: async () => (await import('./serve.ts')).serve,
  volunteer: async () => (await import('./volunteer.ts')).volunteer,
  proxy: async () => (await import('./proxy.ts')).proxy,
  keygen: async () => (await import('./keygen.ts')).keygen,
  egress: async () => (await import('./egress.ts')).egress,
  signaling: async () => (await import('./signaling.ts')).signaling,
  sites: async () => (await import('./sites.ts')).sites,
  'demo-site': async () => (await import('./demo-site-command.ts')).demoSite,
};

function version(): string {
  const pkg: unknown = JSON.parse(
    readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
  );
  return typeof pkg === 'object' &&
    pkg !== null &&
    'version' in pkg &&
    typeof pkg.version === 'string'
    ? pkg.version
    : 'unknown';
}

async function usage(): Promise<string> {
  const lines = ['Usage: bu COMMAND [OPTIONS]', '', 'Commands:'];
  for (const [name, load] of Object.entries(COMMANDS)) {
    lines.push(`  ${name.padEnd(12)}${(await load()).summary}`);
  }
  lines.push('', 'Run `bu COMMAND --help` for the options of one command.');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    console.log(version());
    return 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    console.error(`bu: unknown command ${JSON.stringify(name)}\n\n${await usage()}`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    // Native ChaCha20-Poly1305, X25519 and SHA-256 for every Node end (BU_CRYPTO=noble: not).
    installCryptoPrimitives();
  } catch (err) {
    console.error(`bu: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof CliError) {
      console.error(`bu ${name}: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}

process.exitCode = await main(process.argv.slice(2));
