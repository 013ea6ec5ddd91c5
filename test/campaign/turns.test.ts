import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { takeTurns, type TurnResult } from '../../src/campaign/turns.ts';

/** A lane that answers from a script, one entry per turn, then `done`. */
function scripted(name: string, script: TurnResult[], log: string[]) {
  let i = 0;
  return { name, turn: async (): Promise<TurnResult> => (log.push(name), script[i++] ?? 'done') };
}

test('takeTurns: lanes alternate, a done lane drops out, a round of only waiting lanes ends the pass', async () => {
  const log: string[] = [];
  const a = scripted('a', ['progress', 'progress', 'progress'], log);
  const b = scripted('b', ['progress', 'waiting', 'progress', 'waiting', 'waiting'], log);
  await takeTurns([a, b], (l) => l.turn(), () => true);
  // Round 4: a is done, b waits: nothing progressed, so the pass ends (b's last scripted turn is never asked).
  assert.equal(log, ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
});

test('takeTurns: stops as soon as more() says so, mid-round too', async () => {
  const log: string[] = [];
  let budget = 3;
  const lanes = ['a', 'b'].map((n) => ({ turn: async (): Promise<TurnResult> => (log.push(n), budget--, 'progress') }));
  await takeTurns(lanes, (l) => l.turn(), () => budget > 0);
  assert.equal(log, ['a', 'b', 'a']);
});

test.run();
