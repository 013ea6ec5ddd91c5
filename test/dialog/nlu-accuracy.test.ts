import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { loadFlowFile } from '../../src/dialog/flow/index.ts';

// Utterances written as callers speak (fillers, partial sentences, ASR-style slips, both number scripts),
// labelled with the intent the flow step should see ("-" = no intent: the step re-prompts).
const flowsDir = fileURLToPath(new URL('../../configs/flows/', import.meta.url));
const fixturesDir = fileURLToPath(new URL('./fixtures/nlu/', import.meta.url));
const now = new Date('2024-05-15T10:00:00+08:00');

for (const flowName of ['credit_card_overdue', 'order_confirmation', 'satisfaction_survey', 'trial_class_invitation']) {
  for (const lang of ['zh', 'en'] as const) {
    test(`${flowName}.${lang}: intent accuracy >= 95% over >= 40 utterances`, () => {
      const { flow, problems } = loadFlowFile(`${flowsDir}${flowName}.${lang}.yaml`);
      assert.ok(flow, JSON.stringify(problems));
      const rows = readFileSync(`${fixturesDir}${flowName}.${lang}.tsv`, 'utf8')
        .split('\n')
        .filter((l) => l.trim() && !l.startsWith('#'))
        .map((l) => l.split('\t'));
      assert.ok(rows.length >= 40, `only ${rows.length} utterances`);
      const misses: string[] = [];
      for (const [step, utterance, expected] of rows) {
        const def = flow.definition;
        const s = def.steps[step!];
        assert.ok(s, `fixture names unknown step ${step}`);
        const candidates = [...Object.keys(s.on ?? {}), ...Object.keys(def.globals)];
        const r = flow.classifier.classify(utterance!, candidates, { now, timeZone: def.settings.timezone, threshold: def.settings.confidence_threshold });
        const got = r.intent ?? '-';
        if (got !== expected) misses.push(`${step}: "${utterance}" -> ${got} (want ${expected})`);
      }
      const accuracy = 1 - misses.length / rows.length;
      assert.ok(accuracy >= 0.95, `accuracy ${(accuracy * 100).toFixed(1)}%:\n${misses.join('\n')}`);
    });
  }
}

test.run();
