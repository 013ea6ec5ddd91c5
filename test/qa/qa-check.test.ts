import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../src/cli/main.ts';
import { checkQaSource, loadQaRules, QaRulesError } from '../../src/qa/index.ts';

const SHIPPED = fileURLToPath(new URL('../../configs/qa/', import.meta.url));

async function run(args: string[]): Promise<{ code: number; out: string[] }> {
  const out: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => out.push(l) });
  return { code, out };
}

test('the shipped rule files are valid and load', async () => {
  const { code, out } = await run(['qa', 'check', SHIPPED]);
  assert.is(code, 0, out.join('\n'));
  assert.match(out.join('\n'), /0 error\(s\)/);
  const rules = loadQaRules([SHIPPED]);
  assert.ok(rules.size >= 10);
  const types = new Set(rules.rules.map((r) => r.def.type));
  for (const type of ['keyword', 'pinyin', 'regex', 'absence', 'sequence', 'silence', 'talk_over']) assert.ok(types.has(type as never), `an example of ${type}`);
});

test('errors carry file:line:col of the offending value', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-qa-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      [
        'qa: bad',
        'rules:',
        '  - id: ok-rule',
        '    type: keyword',
        '    phrases: [骗子]',
        '  - id: broken',
        '    type: regex',
        '    pattern: "投诉("',
        '  - id: ok-rule',
        '    type: silence',
        '    max_ratio: 0.5',
      ].join('\n'),
    );
    const { code, out } = await run(['qa', 'check', file]);
    assert.is(code, 1);
    const text = out.join('\n');
    assert.match(text, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:8:\\d+: error rules\\.1\\.pattern: not a valid regular expression`));
    assert.match(text, /:9:\d+: error rules\.2\.id: "ok-rule" is already the id of rule 0/);

    const typo = checkQaSource(['qa: x', 'rules:', '  - id: a', '    type: keywords', '    phrases: [a]'].join('\n'), 'x.yaml');
    assert.is(typo.problems[0]!.line, 4);
    assert.match(typo.problems[0]!.message, /rules\.0\.type/);
    const unknownKey = checkQaSource(['qa: x', 'rules:', '  - id: a', '    type: silence', '    max_ratio: 2', '    within: 3'].join('\n'), 'x.yaml');
    assert.equal(unknownKey.problems.map((p) => p.line).sort(), [3, 5]);
    const syntax = checkQaSource('qa: x\nrules:\n  - id: a\n   type: [', 'x.yaml');
    assert.match(syntax.problems[0]!.message, /YAML syntax/);

    assert.throws(() => loadQaRules([dir]), (err: unknown) => err instanceof QaRulesError && /bad\.yaml:8:/.test((err as Error).message));
    assert.is((await run(['qa', 'check'])).code, 2);
    assert.is((await run(['qa', 'lint', file])).code, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
