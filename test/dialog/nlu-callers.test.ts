import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadFlowFile } from '../../src/dialog/flow/index.ts';
import { isDoubtfulConsent } from '../../src/dialog/flow/session.ts';

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
const flowsDir = fileURLToPath(new URL('../../configs/flows/', import.meta.url));
const fixturesDir = fileURLToPath(new URL('./fixtures/callers/', import.meta.url));
/** Written after the first set's figure was known, before the rules it checks were coded: how the rules generalize. */
const heldOutDir = fileURLToPath(new URL('./fixtures/callers-heldout/', import.meta.url));
const now = new Date('2024-05-15T10:00:00+08:00');
const REFUSALS = new Set(['no', 'not_interested', 'refuse_pay', 'stop_calling', 'wrong_number', 'cancel_order']);

interface Outcome {
  total: number;
  correct: number;
  /** Correct, or another intent the step maps to the same action. */
  sameAction: number;
  refusalsAsConsent: string[];
  misses: string[];
}

function evaluate(dir: string, file: string): Outcome {
  const [flowName, lang] = file.replace(/\.tsv$/, '').split('.') as [string, string];
  const { flow, problems } = loadFlowFile(`${flowsDir}${flowName}.${lang}.yaml`);
  assert.ok(flow, JSON.stringify(problems));
  const def = flow.definition;
  const out: Outcome = { total: 0, correct: 0, sameAction: 0, refusalsAsConsent: [], misses: [] };
  for (const line of readFileSync(`${dir}${file}`, 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [stepName, utterance, expected] = line.split('\t') as [string, string, string];
    const step = def.steps[stepName];
    assert.ok(step, `${file}: unknown step ${stepName}`);
    const own = Object.keys(step.on ?? {});
    const candidates = [...own, ...Object.keys(def.globals).filter((g) => !own.includes(g))];
    const r = flow.classifier.classify(utterance, candidates, { now, timeZone: def.settings.timezone, threshold: def.settings.confidence_threshold });
    let got = r.intent ?? (own.includes('any') ? 'any' : '-');
    if (isDoubtfulConsent(step, r, undefined, def.settings.consent_min_confidence)) got = '-';
    out.total++;
    if (got === expected) out.correct++;
    const on = step.on as Record<string, unknown> | undefined;
    const actsSame = got === expected || (on?.[got] !== undefined && JSON.stringify(on[got]) === JSON.stringify(on[expected]));
    if (actsSame) out.sameAction++;
    if (got !== expected) out.misses.push(`${file} ${stepName}: ${utterance} -> ${got} (want ${expected})`);
    if (got === 'yes' && REFUSALS.has(expected)) out.refusalsAsConsent.push(`${file} ${stepName}: ${utterance}`);
  }
  return out;
}

function evaluateDir(dir: string): { all: Outcome; perFile: string[] } {
  const all: Outcome = { total: 0, correct: 0, sameAction: 0, refusalsAsConsent: [], misses: [] };
  const perFile: string[] = [];
  for (const f of readdirSync(dir).filter((name) => name.endsWith('.tsv'))) {
    const o = evaluate(dir, f);
    perFile.push(`${f} ${o.correct}/${o.total}`);
    all.total += o.total;
    all.correct += o.correct;
    all.sameAction += o.sameAction;
    all.refusalsAsConsent.push(...o.refusalsAsConsent);
    all.misses.push(...o.misses);
  }
  return { all, perFile };
}

function report(label: string, { all, perFile }: { all: Outcome; perFile: string[] }): number {
  const accuracy = all.correct / all.total;
  if (process.env.CALLPILOT_NLU_REPORT) {
    console.log(`${label}: accuracy ${(accuracy * 100).toFixed(1)} % (${all.correct}/${all.total}); same action ${((all.sameAction / all.total) * 100).toFixed(1)} % (${all.sameAction})\n${perFile.join('\n')}\n${all.misses.join('\n')}`);
  }
  return accuracy;
}

test('caller-style utterances with ASR errors: >= 300, intent accuracy >= 93 %, no refusal read as consent', () => {
  const result = evaluateDir(fixturesDir);
  const accuracy = report('caller-style set', result);
  assert.ok(result.all.total >= 300, `only ${result.all.total} utterances`);
  assert.equal(result.all.refusalsAsConsent, [], 'refusals read as consent');
  assert.ok(accuracy >= MIN_ACCURACY, `accuracy ${(accuracy * 100).toFixed(1)} %; misses:\n${result.all.misses.join('\n')}`);
});

test('held-out caller-style utterances: no refusal read as consent, accuracy above its floor', () => {
  const result = evaluateDir(heldOutDir);
  const accuracy = report('held-out set', result);
  assert.equal(result.all.refusalsAsConsent, [], 'refusals read as consent');
  assert.ok(accuracy >= MIN_HELD_OUT_ACCURACY, `accuracy ${(accuracy * 100).toFixed(1)} %; misses:\n${result.all.misses.join('\n')}`);
});

test.run();
