import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { attemptClaimedAt, newAttemptId, TokenBucket, trunkBurst } from '../../src/campaign/index.ts';
import { maxInWindow, sharedBucketAllows } from './pace-checks.ts';

test('attemptClaimedAt reads back the claim time an attempt id carries', () => {
  const at = Date.parse('2026-12-02T22:50:00.123Z');
  assert.is(attemptClaimedAt(newAttemptId(at)), at);
  assert.is(attemptClaimedAt('att_zz'), undefined);
  assert.is(attemptClaimedAt('call-1'), undefined);
});

test('maxInWindow: the most events in any closed window', () => {
  assert.is(maxInWindow([], 1000), 0);
  assert.is(maxInWindow([0, 500, 1000, 1001, 3000], 1000), 3, '[0, 1000] and [500, 1500] hold three');
  assert.is(maxInWindow([0, 500, 1000, 1001, 3000], 0), 1);
  assert.is(maxInWindow([0, 0, 0, 10], 5), 3);
});

test('sharedBucketAllows: one node taking as fast as its bucket lets it reaches the bound without a straddle', () => {
  // One bucket left to fill for 5 s, then taken greedily every millisecond for 20 s: the takes in any window never
  // exceed burst + rate x window, and come within one of it (the bound is tight, so a pace above the target fails it).
  const rate = 15;
  const bucket = new TokenBucket(rate, 0);
  const taken: number[] = [];
  for (let t = 5000; t <= 25_000; t++) while (bucket.take(t)) taken.push(t);
  for (const w of [1000, 5000, 10_000]) {
    const most = maxInWindow(taken, w);
    const bucketOnly = sharedBucketAllows(rate, w, 0);
    assert.ok(most <= bucketOnly, `${most} takes in ${w} ms > ${bucketOnly}`);
    assert.ok(most >= bucketOnly - 1, `${most} takes in ${w} ms: the bound ${bucketOnly} is loose`);
  }
  assert.is(sharedBucketAllows(rate, 1000, 3), Math.floor(trunkBurst(rate) + rate) + 3 * Math.floor(trunkBurst(rate)));
  // Three nodes each at the full rate (pacing per node, not shared) break the bound within 10 s.
  assert.ok(3 * rate * 10 > sharedBucketAllows(rate, 10_000, 3));
});

test.run();
