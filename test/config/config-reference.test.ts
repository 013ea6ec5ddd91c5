import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { configReferenceRows } from '../../src/config/index.ts';

test('every config key in the reference has a description, so the README table is complete', () => {
  const rows = configReferenceRows();
  assert.ok(rows.length > 50);
  const missing = rows.filter((r) => !r.description || r.description.trim() === '').map((r) => r.key);
  assert.equal(missing, []);
});

test.run();
