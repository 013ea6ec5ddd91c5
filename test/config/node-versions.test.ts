import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/e2e.ts';

// Node 20 and Node 24 LTS are supported: package.json says so to npm, the Docker image runs 24, CI runs the suite on
// the machine's Node (20 here) and on 24 from the npm registry, and the README says which. They must not drift apart.
const read = (path: string): string => readFileSync(join(REPO_ROOT, path), 'utf8');

test('engines, Docker image, CI and README name the same supported Node versions (20 and 24 LTS)', () => {
  const pkg = JSON.parse(read('package.json')) as { engines?: { node?: string } };
  assert.is(pkg.engines?.node, '>=20', 'engines admit Node 20 and everything after it');
  const froms = [...read('docker/Dockerfile').matchAll(/^FROM\s+node:(\d+)-/gm)].map((m) => Number(m[1]));
  assert.ok(froms.length > 0, 'the Dockerfile builds on an official node image');
  assert.ok(froms.every((major) => major === 24), `Docker image on Node 24 LTS, got ${froms.join(', ')}`);
  assert.match(read('.ci/node24.sh'), /npm install [^\n]*\bnode@24\b/, 'CI installs Node 24 from the npm registry');
  assert.match(read('.ci/run'), /bash \.ci\/node24\.sh/, 'CI runs the suite on Node 24');
  assert.match(read('README.md'), /Supported Node versions: 20 and 24 LTS/);
});

test.run();
