import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { newCallId } from '../../src/core/index.ts';
import { CallEngine, compileFlowSource, createFlowDialogFactory, type CallTimelineEvent, type DialogConfig } from '../../src/dialog/index.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { InstantLeg, ScriptedSpeechEngine, ToneSpeaker } from './engine-fakes.ts';
import { testLog } from '../support/run-log.ts';

/*
 * The flow's assistant branch through the real CallEngine, turn loop, flow factory on configs/flows and SQLite store:
 * when the answering detector hears a carrier's AI assistant (您好，我是机主的智能助理), the call's `branch('assistant')`
 * cuts the greeting and the dialog goes on from the flow's `assistant: { goto: ... }` step. The detector itself
 * (audio -> verdict) is tested in test/speech/amd.test.ts; here the verdict arrives while the greeting is spoken.
 */

const flowsDir = fileURLToPath(new URL('../../configs/flows/', import.meta.url));
const log = testLog();
const llm = { enabled: false, baseUrl: 'http://127.0.0.1:1/v1', model: 'none', timeoutMs: 200 };
const dialogConfig: DialogConfig = {
  flowsDir,
  defaultFlow: 'demo',
  defaultLang: 'zh',
  noInputTimeoutMs: 2000,
  unrecognizedSpeechMs: 800,
  bargeIn: { enabled: true, minSpeechMs: 60, backchannels: ['嗯'], backchannelsInterrupt: false, cancelEcho: false, continueTurnMs: 1000, waitOutCallerPauses: false },
  llm,
};
const VARS = { customer_name: '张先生', card_number: '6222020200112233', amount_due: '3580.5', due_date: '2024-05-10', bank_name: '示例银行' };

let dir: string;
let store: Store;
let engine: CallEngine;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'callpilot-assistant-branch-'));
  store = openSqliteStore(join(dir, 'calls.db'), { log });
  const factory = await createFlowDialogFactory({ flowsDir, defaultFlow: 'demo', defaultLang: 'zh', llm, log, now: () => new Date('2024-05-15T02:00:00Z'), watch: false });
  engine = new CallEngine({ speech: new ScriptedSpeechEngine(), speaker: new ToneSpeaker(), dialogs: factory, store: store.calls, dialogConfig, log });
});

test.after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs a call and takes the assistant branch the moment the greeting starts; returns what happened. The caller
 * hangs up once the greeting played when `hangUpAfterGreeting` (a flow with no branch goes on otherwise).
 */
async function callWithAssistant(flow: string, lang: 'zh' | 'en', opts: { variables?: Record<string, string>; hangUpAfterGreeting?: boolean } = {}) {
  const callId = newCallId();
  const leg = new InstantLeg(callId);
  const events: CallTimelineEvent[] = [];
  let taken: boolean | undefined;
  const outcomeP = engine.runCall({
    leg,
    callId,
    pbx: 'test',
    direction: 'outbound',
    to: '13812345678',
    flow,
    lang,
    variables: opts.variables ?? VARS,
    onEvent: (e) => {
      events.push(e);
      // The verdict comes while the greeting is being spoken, before its audio went out.
      if (e.type === 'bot' && taken === undefined) taken = engine.liveCall(callId)?.branch('assistant');
      if (opts.hangUpAfterGreeting && e.type === 'botAudioEnd') setImmediate(() => void leg.close({ code: 'caller_hangup' }));
    },
  });
  const guard = setTimeout(() => void leg.close({ code: 'timeout', detail: 'call took too long' }), 10_000);
  const outcome = await outcomeP.finally(() => clearTimeout(guard));
  return { callId, leg, events, taken, outcome };
}

test('credit card zh: an assistant answering cuts the greeting; the flow leaves word for the owner and ends assistant_message', async () => {
  const { callId, leg, events, taken, outcome } = await callWithAssistant('credit_card_overdue', 'zh');
  assert.is(taken, true);
  assert.is(outcome.disposition, 'assistant_message');
  assert.is(leg.closeReason?.code, 'bot_hangup');
  const kinds = events.map((e) => e.type).filter((t) => t === 'bot' || t === 'branch' || t === 'botAudioEnd' || t === 'end');
  assert.equal(kinds, ['bot', 'branch', 'bot', 'botAudioEnd', 'end'], 'greeting cut before its end, then the branch prompt played to its end');
  const said = events.filter((e): e is Extract<CallTimelineEvent, { type: 'bot' }> => e.type === 'bot').map((e) => e.text);
  assert.match(said[0]!, /请问您是张先生本人吗|请问是张先生吗/);
  assert.match(said[1]!, /麻烦转告张先生/);
  assert.not.match(said[1]!, /3580|2233/, 'no amount or card digits for a third party');
  const stored = await store.calls.getCall(callId);
  assert.equal([stored?.disposition, stored?.variables.answered_by], ['assistant_message', 'assistant']);
  const storedEvents = await store.calls.listEvents(callId);
  assert.ok(storedEvents.some((e) => e.type === 'branch'), 'the branch is on the stored timeline');
});

test('credit card en: the same branch in English', async () => {
  const { taken, outcome, events } = await callWithAssistant('credit_card_overdue', 'en');
  assert.is(taken, true);
  assert.is(outcome.disposition, 'assistant_message');
  const said = events.filter((e): e is Extract<CallTimelineEvent, { type: 'bot' }> => e.type === 'bot').map((e) => e.text);
  assert.match(said[1]!, /Please ask 张先生 to take care/);
});

test('a flow without an assistant branch: branch() is false and the call goes on untouched', async () => {
  const { taken, outcome, events } = await callWithAssistant('demo', 'zh', { variables: {}, hangUpAfterGreeting: true });
  assert.is(taken, false);
  assert.is(outcome.disposition, 'caller_hangup');
  assert.not.ok(events.some((e) => e.type === 'branch'));
  assert.ok(events.some((e) => e.type === 'botAudioEnd'), 'the greeting played to its end');
});

test('flow loader: the assistant branch must name a step; goto and action do not mix', () => {
  const flow = (assistant: string): string => `flow: t
lang: zh
start: hello
${assistant}
steps:
  hello:
    say: 您好
    end: done
  leave_word:
    say: 请转告机主回电
    end: assistant_message
`;
  assert.equal(compileFlowSource(flow('assistant: { goto: leave_word }'), 't.yaml').problems.filter((p) => p.severity === 'error'), []);
  const unknown = compileFlowSource(flow('assistant: { goto: leave_wrod }'), 't.yaml').problems;
  assert.ok(unknown.some((p) => p.code === 'unknown-step' && /leave_wrod/.test(p.message) && /leave_word/.test(p.hint) && p.line === 4), JSON.stringify(unknown));
  const mixed = compileFlowSource(flow('assistant: { goto: leave_word, action: hangup }'), 't.yaml');
  assert.is(mixed.flow, undefined);
  assert.ok(mixed.problems.some((p) => p.code === 'schema' && p.line === 4), JSON.stringify(mixed.problems));
});

test.run();
