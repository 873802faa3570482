#!/usr/bin/env node
// Fails when an installed dependency's `engines.node` does not cover every Node.js version that
// package.json promises: such a package may refuse to run (or crash) on a version we claim to support.
// Reads package-lock.json, so it checks exactly what `npm ci` installs. Platform-specific optional
// packages (binaries for other systems, never installed here) are skipped.
import { readFileSync } from 'node:fs';
import semver from 'semver';

const root = new URL('../', import.meta.url);
const promised = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).engines?.node;
if (!promised) {
  console.error('check-engines: package.json has no engines.node to check against');
  process.exit(1);
}
const lock = JSON.parse(readFileSync(new URL('package-lock.json', root), 'utf8'));
const bad = [];
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  if (!path || entry.optional || typeof entry.engines?.node !== 'string') continue;
  if (!semver.subset(promised, entry.engines.node)) bad.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version} needs node ${entry.engines.node}`);
}
if (bad.length > 0) {
  console.error(`check-engines: package.json promises node ${promised}, but:\n  ${bad.join('\n  ')}`);
  process.exit(1);
}
console.log(`check-engines: every dependency runs on node ${promised}`);
