import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { configReferenceRows, renderConfigReference } from '../../src/config/index.ts';

test('every config key in the reference has a description, so the README table is complete', () => {
  const rows = configReferenceRows();
  assert.ok(rows.length > 50);
  const missing = rows.filter((r) => !r.description || r.description.trim() === '').map((r) => r.key);
  assert.equal(missing, []);
});

test('the README carries the current config reference (regenerate with `callpilot config reference`)', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  assert.ok(readme.includes(renderConfigReference().trim()), 'README.md config reference is out of date');
});

test.run();
