import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CALLER_SET_DIR, emptyScore, HELD_OUT_SET_DIR, percent, readCallerSet, scoreAnswer, stepAnswer, type SetScore } from './caller-set.ts';

/*
 * Issue 12: intent understanding on utterances written as callers speak, with the errors ASR makes (homophones such
 * as 转仁工 / 换款 / 部需要, stutters, dropped characters, misheard English words), over every shipped flow in both
 * languages. Target: >= 93 % of utterances get the intent the flow should act on, and no refusal is ever read as
 * consent. A sound-alike-only yes in a step that can take a refusal is labelled "-": the step asks again.
 * Measured (bench/RESULTS.md, issue 12 section): 88.9 % when the set was first written, 92.3 % at the last stop,
 * 92.8 % now (A-not-A questions, clause breaks, negated keywords without a negation): the 93 % target is not
 * met by intent name. The report also counts the answers the flow acts on the same way (another intent of the step
 * that the step maps to the very same action, as yes and cancel_order in a "cancel it?" step); the assertion guards
 * the by-name figure so that it cannot silently fall.
 */
const MIN_ACCURACY = 0.93;
const MIN_HELD_OUT_ACCURACY = 0.85;

function evaluateDir(dir: string): { all: SetScore; perFile: string[] } {
  const all = emptyScore();
  const byFile = new Map<string, SetScore>();
  for (const line of readCallerSet(dir)) {
    const got = stepAnswer(line, line.utterance);
    scoreAnswer(all, line, got);
    const own = byFile.get(line.file) ?? emptyScore();
    scoreAnswer(own, line, got);
    byFile.set(line.file, own);
  }
  return { all, perFile: [...byFile].map(([file, o]) => `${file} ${o.correct}/${o.total}`) };
}

function report(label: string, { all, perFile }: { all: SetScore; perFile: string[] }): number {
  const accuracy = all.correct / all.total;
  if (process.env.CALLPILOT_NLU_REPORT) {
    console.log(`${label}: accuracy ${percent(all.correct, all.total)} (${all.correct}/${all.total}); same action ${percent(all.sameAction, all.total)} (${all.sameAction})\n${perFile.join('\n')}\n${all.misses.join('\n')}`);
  }
  return accuracy;
}

test('caller-style utterances with ASR errors: >= 300, intent accuracy >= 93 %, no refusal read as consent', () => {
  const result = evaluateDir(CALLER_SET_DIR);
  const accuracy = report('caller-style set', result);
  assert.ok(result.all.total >= 300, `only ${result.all.total} utterances`);
  assert.equal(result.all.refusalsAsConsent, [], 'refusals read as consent');
  assert.ok(accuracy >= MIN_ACCURACY, `accuracy ${(accuracy * 100).toFixed(1)} %; misses:\n${result.all.misses.join('\n')}`);
});

test('held-out caller-style utterances: no refusal read as consent, accuracy above its floor', () => {
  const result = evaluateDir(HELD_OUT_SET_DIR);
  const accuracy = report('held-out set', result);
  assert.equal(result.all.refusalsAsConsent, [], 'refusals read as consent');
  assert.ok(accuracy >= MIN_HELD_OUT_ACCURACY, `accuracy ${(accuracy * 100).toFixed(1)} %; misses:\n${result.all.misses.join('\n')}`);
});

test.run();
