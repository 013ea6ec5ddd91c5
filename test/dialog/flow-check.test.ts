import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkFlowFile, compileFlowSource, runFlowsCheck, type FlowProblem } from '../../src/dialog/flow/index.ts';

const bad = fileURLToPath(new URL('./fixtures/flows-bad/', import.meta.url));
const flowsDir = fileURLToPath(new URL('../../configs/flows/', import.meta.url));

function find(problems: FlowProblem[], code: string, text?: string): FlowProblem {
  const p = problems.find((x) => x.code === code && (text === undefined || x.message.includes(text)));
  assert.ok(p, `no ${code}${text ? ` mentioning "${text}"` : ''} in:\n${problems.map((x) => `${x.line}:${x.column} ${x.code} ${x.message}`).join('\n')}`);
  return p!;
}

test('shipped flows check clean (no errors, no warnings)', () => {
  for (const name of ['demo', 'credit_card_overdue', 'order_confirmation', 'satisfaction_survey', 'trial_class_invitation']) {
    for (const lang of ['zh', 'en']) {
      const problems = checkFlowFile(join(flowsDir, `${name}.${lang}.yaml`));
      assert.equal(problems, [], `${name}.${lang}: ${JSON.stringify(problems)}`);
    }
  }
});

test('YAML syntax error: line and column of the break, a hint, no crash', () => {
  const problems = checkFlowFile(join(bad, 'syntax.yaml'));
  const p = find(problems, 'yaml-syntax');
  assert.is(p.severity, 'error');
  assert.ok(p.line >= 7 && p.line <= 9, `line ${p.line}`);
  assert.ok(p.hint.length > 0);
  assert.ok(problems.length <= 3, 'echo errors after the first are cut');
});

test('unquoted {{template}} in a flow map: the hint says to quote it', () => {
  const p = find(checkFlowFile(join(bad, 'unquoted-template.yaml')), 'yaml-syntax');
  assert.is(p.line, 5);
  assert.match(p.hint, /quotes/);
});

test('wrong types and unknown keys: each at its line with a hint', () => {
  const problems = checkFlowFile(join(bad, 'wrong-types.yaml'));
  assert.is(find(problems, 'schema', 'flow:').line, 1);
  assert.match(find(problems, 'schema', 'lang').hint, /zh, en/);
  assert.is(find(problems, 'schema', 'confidence_threshold').line, 5);
  assert.is(find(problems, 'schema', 'steps.greeting.say').line, 8);
  assert.is(find(problems, 'schema', 'steps.greeting.on').line, 9);
  assert.is(find(problems, 'schema', 'retries').line, 10);
  const typo = find(problems, 'schema', 'gotoo');
  assert.match(typo.hint, /did you mean "goto"/);
});

test('semantic problems: unknown target, undefined intent and variable, unknown formatter, unreachable, no-input', () => {
  const problems = checkFlowFile(join(bad, 'semantic.yaml'));
  const target = find(problems, 'unknown-step', 'byebye');
  assert.is(target.line, 19);
  assert.match(target.hint, /did you mean "bye"/);
  const intent = find(problems, 'undefined-intent', 'promise_to_pay');
  assert.is(intent.line, 20);
  assert.match(intent.hint, /intents:/);
  const variable = find(problems, 'undefined-variable', 'customer_nam');
  assert.is(variable.line, 16);
  assert.match(variable.hint, /did you mean "customer_name"/);
  find(problems, 'undefined-variable', '"amount"');
  find(problems, 'unknown-formatter', 'shout');
  const orphan = find(problems, 'unreachable-step', 'orphan');
  assert.is(orphan.severity, 'warning');
  assert.is(orphan.line, 26);
  const noInput = find(problems, 'missing-no-input', 'greeting');
  assert.is(noInput.line, 15);
  assert.match(noInput.hint, /no_input/);
  assert.not.ok(problems.some((p) => p.code === 'missing-no-input' && p.message.includes('"confirm"')));
});

test('loops with no exit and goto cycles are errors', () => {
  const problems = checkFlowFile(join(bad, 'cycle.yaml'));
  const stuck = find(problems, 'no-exit', '"ask"');
  assert.is(stuck.line, 14);
  find(problems, 'no-exit', '"ask_again"');
  find(problems, 'goto-loop');
});

test('not a map, unreadable file and missing-global warnings', () => {
  find(checkFlowFile(join(bad, 'empty.yaml')), 'schema');
  find(checkFlowFile(join(bad, 'does-not-exist.yaml')), 'io');
  const minimal = compileFlowSource(
    ['flow: tiny', 'lang: en', 'start: a', 'steps:', '  a:', '    say: "hi"', '    end: done'].join('\n'),
    'tiny.yaml',
  );
  assert.ok(minimal.flow, 'warnings alone do not stop a flow from loading');
  assert.is(minimal.problems.filter((p) => p.code === 'missing-global').length, 5);
});

test('runFlowsCheck: prints file:line:col with hints and returns exit codes', async () => {
  const lines: string[] = [];
  const code = await runFlowsCheck([join(bad, 'semantic.yaml')], (l) => lines.push(l));
  assert.is(code, 1);
  assert.ok(lines.some((l) => /semantic\.yaml:19:\d+: error \[unknown-step\]/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => l.trim().startsWith('hint:')));
  const okLines: string[] = [];
  assert.is(await runFlowsCheck([flowsDir], (l) => okLines.push(l)), 0);
  assert.match(okLines[okLines.length - 1]!, /10 file\(s\) checked: 0 error\(s\), 0 warning\(s\)/);
  assert.is(await runFlowsCheck([], () => {}), 2);
  const dir = mkdtempSync(join(tmpdir(), 'flows-'));
  try {
    writeFileSync(join(dir, 'w.yaml'), ['flow: w', 'lang: en', 'start: a', 'steps:', '  a:', '    end: done'].join('\n'));
    assert.is(await runFlowsCheck([join(dir, 'w.yaml')], () => {}), 0);
    assert.is(await runFlowsCheck(['--strict', join(dir, 'w.yaml')], () => {}), 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('do_not_call: a stop_calling handler that never records the refusal is flagged; a bad scope is a schema error', () => {
  const flow = (endStep: string, extra = ''): string =>
    [
      'flow: dnc_check',
      'lang: zh',
      'start: greeting',
      'defaults:',
      '  no_input: { retries: 0, goto: bye }',
      '  no_match: { retries: 0, goto: bye }',
      'globals:',
      '  repeat: { repeat: true }',
      '  who_are_you: { say: 客服 }',
      '  human: { goto: bye }',
      '  wrong_number: { goto: bye }',
      '  busy: { goto: bye }',
      '  stop_calling: { goto: sorry }',
      'steps:',
      '  greeting:',
      '    say: 您好',
      '    on: { yes: bye, stop_calling: bye }',
      '  sorry:',
      '    say: 好的',
      '    goto: dnc_end',
      '  dnc_end:',
      endStep,
      '    end: do_not_call',
      '  bye:',
      '    say: 再见',
      `    end: done${extra}`,
    ].join('\n');
  // Recorded through a goto chain: the global is fine; the step's own stop_calling -> bye is not.
  const recorded = compileFlowSource(flow('    do_not_call: { scope: global, reason: asked }'), 'dnc.yaml');
  const warnings = recorded.problems.filter((p) => p.code === 'refusal-not-recorded');
  assert.is(warnings.length, 1, JSON.stringify(recorded.problems));
  assert.match(warnings[0]!.message, /"bye"/);
  assert.is(warnings[0]!.severity, 'warning');
  assert.is(warnings[0]!.line, 17);
  assert.ok(recorded.flow, 'a warning does not stop the flow loading');
  // Not recorded anywhere: the global is flagged too.
  const none = compileFlowSource(flow('    say: 好'), 'dnc.yaml');
  assert.is(none.problems.filter((p) => p.code === 'refusal-not-recorded').length, 2);
  // A scope that is not global or campaign is refused.
  const bad = compileFlowSource(flow('    do_not_call: { scope: everywhere }'), 'dnc.yaml');
  assert.not.ok(bad.flow);
  const schema = find(bad.problems, 'schema');
  assert.is(schema.line, 22);
});

test.run();
