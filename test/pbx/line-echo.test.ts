import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LineEcho } from '../../src/pbx/simulator/index.ts';

/** The simulated line's hybrid echo (bench `--echo-loss-db`): late, quieter, one bot frame per 20 ms tick. */

const frame = (value: number): Int16Array => new Int16Array(160).fill(value);

test('the bot frame returns delayMs later, lossDb down, added to what the caller sends', () => {
  const echo = new LineEcho({ delayMs: 100, lossDb: 20 }, 160);
  echo.heard(frame(10_000), 0);
  const caller = frame(50);
  assert.is(echo.mix(caller, 80), caller, 'not due yet: the frame goes out untouched');
  const out = echo.mix(caller, 100);
  assert.is(out[0], 1050, '10000 at -20 dB is 1000, on top of the caller');
  assert.is(caller[0], 50, "the caller's frame is not changed");
  assert.is(echo.mix(caller, 120), caller, 'each bot frame echoes once');
});

test('a burst of bot frames plays out one per 20 ms, in order, and the sum is clipped', () => {
  const echo = new LineEcho({ delayMs: 40, lossDb: 0 }, 160);
  for (let i = 0; i < 3; i++) echo.heard(frame(1000 * (i + 1)), 0);
  const silent = frame(0);
  assert.is(echo.mix(silent, 40)[0], 1000);
  assert.is(echo.mix(silent, 50), silent, 'the second frame is due 20 ms after the first');
  assert.is(echo.mix(silent, 60)[0], 2000);
  assert.is(echo.mix(frame(32_000), 80)[0], 32_767);
});

test.run();
