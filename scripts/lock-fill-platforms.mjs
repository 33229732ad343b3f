#!/usr/bin/env node
// Adds lockfile entries for platform-specific optional packages (such as
// @rollup/rollup-darwin-arm64) that the package registry reachable from the
// machine that wrote the lockfile did not serve. Without them `npm ci`
// refuses the lockfile as out of sync. The entries carry only version, os,
// cpu and libc, so npm skips them on other platforms and, on the matching
// platform, fetches them by version.
//
// Run after `npm install` changes package-lock.json:
//   node scripts/lock-fill-platforms.mjs && npm ci --dry-run
import { readFileSync, writeFileSync } from 'node:fs';

const LOCK = new URL('../package-lock.json', import.meta.url);
const lock = JSON.parse(readFileSync(LOCK, 'utf8'));
const packages = lock.packages;

const OS = [
  'android',
  'darwin',
  'freebsd',
  'linux',
  'openbsd',
  'openharmony',
  'sunos',
  'win32',
  'aix',
  'netbsd',
];
const CPU = [
  'arm64',
  'arm',
  'x64',
  'ia32',
  'loong64',
  'ppc64',
  'riscv64',
  's390x',
  'mips64el',
  'wasm32',
];

function platformOf(name) {
  const tokens = name.split('/').pop().split('-');
  const os = tokens.find((t) => OS.includes(t));
  const cpu = tokens.find((t) => CPU.includes(t));
  if (!os || !cpu) return undefined;
  const platform = { os: [os], cpu: [cpu] };
  if (os === 'linux') {
    if (tokens.some((t) => t.startsWith('musl'))) platform.libc = ['musl'];
    else if (tokens.some((t) => t.startsWith('gnu'))) platform.libc = ['glibc'];
  }
  return platform;
}

let added = 0;
for (const [path, entry] of Object.entries(packages)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const hoisted = `node_modules/${name}`;
    const nested = `${path}/node_modules/${name}`;
    if (packages[hoisted] || packages[nested]) continue;
    const platform = platformOf(name);
    if (!platform) {
      console.warn(
        `left alone: ${name}@${version} (optional dependency of ${path}): no platform in its name`,
      );
      continue;
    }
    packages[hoisted] = {
      version,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...platform,
    };
    added++;
  }
}
lock.packages = Object.fromEntries(
  Object.entries(packages).sort(([a], [b]) =>
    a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0,
  ),
);
writeFileSync(LOCK, JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} platform entries to package-lock.json`);
