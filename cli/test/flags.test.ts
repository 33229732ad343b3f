import { afterEach, describe, expect, it } from 'vitest';
import { CliError } from '../command.ts';
import { flagHelp, parseFlags, parseHostPort, type Flag } from '../flags.ts';

const FLAGS: readonly Flag[] = [
  { name: 'port', type: 'string', arg: 'PORT', help: 'the port' },
  { name: 'on', type: 'boolean', help: 'a switch' },
  {
    name: 'allow',
    type: 'string',
    multiple: true,
    env: 'BU_TEST_ALLOW',
    separator: 'comma',
    help: 'entries',
  },
  { name: 'item', type: 'string', multiple: true, help: 'items' },
];

const saved = { ...process.env };
afterEach(() => {
  for (const name of ['BU_PORT', 'BU_ON', 'BU_TEST_ALLOW', 'BU_ITEM']) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
});

describe('parseFlags', () => {
  it('reads flags, and the environment where a flag is absent; the flag wins', () => {
    process.env['BU_PORT'] = '9';
    process.env['BU_ON'] = 'yes';
    process.env['BU_TEST_ALLOW'] = 'a:1, b:2,';
    process.env['BU_ITEM'] = 'x  y';
    const flags = parseFlags(['--port', '10'], FLAGS);
    expect(flags.integer('port', 0, 65535)).toBe(10);
    expect(flags.boolean('on')).toBe(true);
    expect(flags.list('allow')).toEqual(['a:1', 'b:2']);
    expect(flags.list('item')).toEqual(['x', 'y']);
    expect(parseFlags([], FLAGS).integer('port', 0, 65535)).toBe(9);
  });

  it('refuses bad values as usage errors (exit code 2)', () => {
    const usage = (fn: () => unknown): number | undefined => {
      try {
        fn();
      } catch (err) {
        if (err instanceof CliError) return err.exitCode;
        throw err;
      }
      return undefined;
    };
    expect(usage(() => parseFlags(['--bogus'], FLAGS))).toBe(2);
    expect(usage(() => parseFlags(['--port', 'x'], FLAGS).integer('port', 0, 65535))).toBe(2);
    expect(usage(() => parseFlags(['--port', '70000'], FLAGS).integer('port', 0, 65535))).toBe(2);
    process.env['BU_ON'] = 'maybe';
    expect(usage(() => parseFlags([], FLAGS).boolean('on'))).toBe(2);
    expect(usage(() => parseHostPort('1080', 'http'))).toBe(2);
    expect(usage(() => parseHostPort('[::1:1080', 'http'))).toBe(2);
  });

  it('parses listening addresses', () => {
    expect(parseHostPort('127.0.0.1:1080', 'http')).toEqual({ host: '127.0.0.1', port: 1080 });
    expect(parseHostPort('[::1]:0', 'http')).toEqual({ host: '::1', port: 0 });
  });

  it('documents every flag with its variable', () => {
    const help = flagHelp(FLAGS);
    expect(help).toContain('--port PORT');
    expect(help).toContain('[BU_PORT]');
    expect(help).toContain('[BU_TEST_ALLOW]');
  });
});
