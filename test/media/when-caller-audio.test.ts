import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeLeg, sleep } from './fake-leg.ts';

test('whenCallerAudio resolves on the first caller frame, and at once after that', async () => {
  const leg = new FakeLeg();
  let resolved = false;
  void leg.whenCallerAudio().then(() => (resolved = true));
  await sleep(5);
  assert.not.ok(resolved, 'no audio yet');
  leg.callerFrame(new Int16Array(160));
  await sleep(1);
  assert.ok(resolved);
  let again = false;
  await leg.whenCallerAudio().then(() => (again = true));
  assert.ok(again);
  await leg.close({ code: 'bot_hangup' });
});

test('whenCallerAudio resolves when the leg closes without audio (the caller hung up during set-up)', async () => {
  const leg = new FakeLeg();
  const waiting = leg.whenCallerAudio();
  await leg.close({ code: 'caller_hangup' });
  await waiting;
  assert.is(leg.stats.framesIn, 0);
});

test('a wrong-size frame does not count as audio flowing', async () => {
  const leg = new FakeLeg();
  let resolved = false;
  void leg.whenCallerAudio().then(() => (resolved = true));
  leg.callerFrame(new Int16Array(7));
  await sleep(2);
  assert.not.ok(resolved);
  await leg.close({ code: 'bot_hangup' });
});

test.run();
