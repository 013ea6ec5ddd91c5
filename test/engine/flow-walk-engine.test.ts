import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  CallEngine,
  createFlowDialogFactory,
  type BotAction,
  type CallTimelineEvent,
  type DialogConfig,
  type FetchLike,
  type FlowDialogFactory,
  type Lang,
  type TurnInput,
} from '../../src/dialog/index.ts';
import { newCallId } from '../../src/core/index.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { InstantLeg, ScriptedSpeechEngine, ToneSpeaker } from './engine-fakes.ts';
import { testLog } from '../support/run-log.ts';

/*
 * Every shipped flow, in both languages, walked to every end state through the real CallEngine: real flow
 * factory on configs/flows, real SQLite store, real turn loop. Caller input enters at the ASR boundary (see
 * engineFakes.ts: scripted transcripts, not recognition), DTMF on the leg, no-input by staying silent.
 */

const flowsDir = fileURLToPath(new URL('../../configs/flows/', import.meta.url));
const log = testLog();
const llm = { enabled: false, baseUrl: 'http://127.0.0.1:1/v1', model: 'none', timeoutMs: 200 };
// Wednesday 2024-05-15 10:00 Shanghai (still Tuesday evening in New York), as in test/dialog/flow-walk.test.ts.
const now = (): Date => new Date('2024-05-15T02:00:00Z');
/** Short, so no-input walks take a fraction of a second; scripted callers answer within a millisecond. */
const NO_INPUT_MS = 120;

const dialogConfig: DialogConfig = {
  flowsDir,
  defaultFlow: 'demo',
  defaultLang: 'zh',
  noInputTimeoutMs: NO_INPUT_MS,
  unrecognizedSpeechMs: 800,
  bargeIn: { enabled: true, minSpeechMs: 60, backchannels: ['嗯', '对', 'uh-huh'], backchannelsInterrupt: false, cancelEcho: false, continueTurnMs: 1000, waitOutCallerPauses: false },
  llm,
};

/** The payment webhook answers by card: 2233 paid, 4444 not found, anything else errors. */
const paymentFetch: FetchLike = async (_url, init) => {
  const body = JSON.parse(String(init.body)) as { card_last4: string };
  if (body.card_last4 === '2233') return new Response(JSON.stringify({ status: 'paid' }), { status: 200 });
  if (body.card_last4 === '4444') return new Response(JSON.stringify({ status: 'not_found' }), { status: 200 });
  return new Response('oops', { status: 503 });
};

const callVars: Record<string, Record<string, string>> = {
  demo: {},
  credit_card_overdue: { customer_name: '张先生', card_number: '6222020200112233', amount_due: '3580.5', due_date: '2024-05-10' },
  order_confirmation: { customer_name: '李女士', product_name: '空气净化器', order_id: '202405150001234', address: '世纪大道100号', delivery_date: '2024-05-17' },
  satisfaction_survey: { customer_name: '王先生', service_name: '空调安装' },
  trial_class_invitation: { customer_name: '陈女士', course_name: '少儿英语', slot1_label: '本周六上午十点', slot2_label: '本周日下午三点' },
};

/** A caller utterance (as transcribed), keypad digits, or silence (no input). */
type Step = string | { dtmf: string } | null;

interface Walk {
  steps: Step[];
  /** Expected end: a disposition, or a transfer with its reason. */
  end: { disposition: string } | { transfer: string };
  /** Call variables besides the flow's defaults (e.g. another card number for the webhook). */
  extra?: Record<string, string>;
  /** Variables the dialog must have learned and the store must hold. */
  learned?: Record<string, string>;
}

const end = (disposition: string): Walk['end'] => ({ disposition });
const transfer = (reason: string): Walk['end'] => ({ transfer: reason });

/**
 * The walks, by flow and language: those of test/dialog/flow-walk.test.ts (not exported there, so mirrored)
 * plus the end states it only walks in one language.
 */
const WALKS: Record<string, Record<Lang, Walk[]>> = {
  demo: {
    zh: [
      { steps: ['是的', '好的'], end: end('interested'), learned: { interested: 'yes' } },
      { steps: ['不是'], end: end('refused') },
      { steps: ['是的', '不需要'], end: end('refused'), learned: { interested: 'no' } },
      { steps: ['稍后再打'], end: end('callback_requested') },
      { steps: ['打错了'], end: end('wrong_person') },
      { steps: ['不要再打了'], end: end('do_not_call') },
      { steps: [null, null], end: end('no_answer') },
      { steps: ['转人工'], end: transfer('caller_requested_human') },
      { steps: ['我家猫刚生了小猫', '小猫很可爱'], end: transfer('caller_requested_human') },
      { steps: ['再说一遍', '请问你是谁', null, '是的', '好的'], end: end('interested') },
    ],
    en: [
      { steps: ['yes', 'yes'], end: end('interested'), learned: { interested: 'yes' } },
      { steps: ['no'], end: end('refused') },
      { steps: ['who is this', 'please repeat', 'yes', 'no'], end: end('refused'), learned: { interested: 'no' } },
      { steps: ['call me later'], end: end('callback_requested') },
      { steps: ['wrong number'], end: end('wrong_person') },
      { steps: ['stop calling'], end: end('do_not_call') },
      { steps: [null, null], end: end('no_answer') },
      { steps: ['talk to an agent'], end: transfer('caller_requested_human') },
    ],
  },
  credit_card_overdue: {
    zh: [
      { steps: ['别再打了，我要投诉'], end: end('do_not_call') },
      { steps: ['嗯，是我', '对', '我下周三还吧', '对的'], end: end('promised_to_pay'), learned: { promised_date: '2024-05-22' } },
      { steps: ['是的', '是的', '我已经还款了'], end: end('already_paid'), learned: { payment_status: 'paid' } },
      { steps: ['是的', '是的', '我已经还了'], extra: { card_number: '6222000011115555' }, end: end('already_paid') },
      { steps: ['是的', '是的', '已经还了', '前天还的'], extra: { card_number: '6222000011114444' }, end: end('already_paid'), learned: { paid_date: '2024-05-13', payment_status: 'not_found' } },
      { steps: ['是的', '是的', '这笔不是我刷的'], end: transfer('billing_dispute') },
      { steps: ['是的', '是的', '最近失业了没钱', '好的'], end: transfer('hardship') },
      { steps: ['是的', '是的', '我不还', '不还'], end: end('refused') },
      { steps: ['不是，你打错了'], end: end('wrong_person') },
      { steps: ['在开车，不方便', '明天下午三点吧'], end: end('callback_requested'), learned: { callback_at: '2024-05-16T15:00' } },
      { steps: ['您拨打的电话暂时无法接听，请在提示音后留言'], end: end('voicemail') },
      { steps: [null, null], end: end('no_answer') },
      { steps: ['是的', '不是这张卡'], end: transfer('identity_mismatch') },
      { steps: ['是的', '转人工'], end: transfer('caller_requested_human') },
      { steps: ['是的', '你们烦不烦啊，有病吧！'], end: transfer('caller_requested_human') },
      { steps: [{ dtmf: '1' }, { dtmf: '2' }], end: transfer('identity_mismatch') },
    ],
    en: [
      { steps: ['stop calling me'], end: end('do_not_call') },
      // New York is still on Tuesday 2024-05-14: next Friday is 2024-05-24.
      { steps: ['yes speaking', 'yes', 'i can pay next friday', 'yes'], end: end('promised_to_pay'), learned: { promised_date: '2024-05-24' } },
      { steps: ['yes', 'yes', 'i already paid'], end: end('already_paid'), learned: { payment_status: 'paid' } },
      { steps: ['yes', 'yes', "that's not my charge"], end: transfer('billing_dispute') },
      { steps: ['yes', 'yes', 'i lost my job', 'yes please'], end: transfer('hardship') },
      { steps: ['yes', 'yes', 'i refuse to pay', 'no'], end: end('refused') },
      { steps: ['wrong number'], end: end('wrong_person') },
      { steps: ["i'm driving", 'tomorrow at 3 pm'], end: end('callback_requested') },
      { steps: ['please leave a message after the tone'], end: end('voicemail') },
      { steps: [null, null], end: end('no_answer') },
      { steps: ['yes', 'operator'], end: transfer('caller_requested_human') },
      { steps: [{ dtmf: '1' }, { dtmf: '2' }], end: transfer('identity_mismatch') },
    ],
  },
  order_confirmation: {
    zh: [
      { steps: ['不要再打了'], end: end('do_not_call') },
      { steps: ['是我', '对，是我买的', '地址对的', '可以'], end: end('order_confirmed') },
      { steps: ['是我', '是的', '地址不对', '浦东新区张江路1号', '方便'], end: end('order_confirmed'), learned: { new_address: '浦东新区张江路1号' } },
      { steps: ['是我', '是的', '对', '那天不在家，改到下周六吧'], end: end('delivery_rescheduled'), learned: { requested_delivery_date: '2024-05-25' } },
      { steps: ['是我', '是的', '对', { dtmf: '2' }, '后天'], end: end('delivery_rescheduled') },
      { steps: ['是我', '我不想要了，取消吧', '确定'], end: end('order_cancelled') },
      { steps: ['是我', '不是我下的'], end: transfer('order_not_placed_by_customer') },
      { steps: ['打错了'], end: end('wrong_person') },
      { steps: ['在忙'], end: end('callback_requested') },
      { steps: [null, null], end: end('no_answer') },
      { steps: ['转人工'], end: transfer('caller_requested_human') },
    ],
    en: [
      { steps: ['stop calling me'], end: end('do_not_call') },
      { steps: ['yes', 'yes', 'correct', 'sure'], end: end('order_confirmed') },
      { steps: ['yes', 'yes', 'no i moved', '5 Elm Street', 'yes'], end: end('order_confirmed'), learned: { new_address: '5 Elm Street' } },
      { steps: ['yes', 'yes', 'yes', "i won't be home, can we do next monday"], end: end('delivery_rescheduled') },
      { steps: ['yes', 'cancel it', 'yes'], end: end('order_cancelled') },
      { steps: ['yes', 'i want to talk to a human'], end: transfer('caller_requested_human') },
      { steps: ['yes', 'no'], end: transfer('order_not_placed_by_customer') },
      { steps: ['wrong number'], end: end('wrong_person') },
      { steps: ['call me later'], end: end('callback_requested') },
      { steps: [null, null], end: end('no_answer') },
    ],
  },
  satisfaction_survey: {
    zh: [
      { steps: ['别再打了'], end: end('do_not_call') },
      { steps: ['可以', '五分', '师傅很准时，下次还找你们'], end: end('survey_completed'), learned: { score: '5', comment: '师傅很准时，下次还找你们' } },
      { steps: ['好的', { dtmf: '2' }, '来得太晚了'], end: end('survey_complaint'), learned: { score: '2' } },
      { steps: ['好的', '非常满意', '没有了'], end: end('survey_completed') },
      { steps: ['好的', '我家猫刚生了小猫', '我也说不上来'], end: end('survey_incomplete') },
      { steps: ['好的', '太差了！！烦死了！！'], end: transfer('complaint') },
      { steps: ['不需要'], end: end('refused') },
      { steps: ['现在没时间'], end: end('callback_requested') },
      { steps: [null, null], end: end('no_answer') },
      { steps: ['打错了'], end: end('wrong_person') },
      { steps: ['转人工'], end: transfer('caller_requested_human') },
    ],
    en: [
      { steps: ['take me off your list'], end: end('do_not_call') },
      { steps: ['sure', 'five', 'no that is all'], end: end('survey_completed'), learned: { score: '5' } },
      { steps: ['okay', { dtmf: '1' }, 'nobody showed up on time'], end: end('survey_complaint'), learned: { score: '1', comment: 'nobody showed up on time' } },
      { steps: ['no thanks'], end: end('refused') },
      { steps: ['wrong number'], end: end('wrong_person') },
      { steps: ['okay', 'my cat just had kittens', 'i really could not say'], end: end('survey_incomplete') },
      { steps: ['okay', 'this is terrible!! i am so angry!!'], end: transfer('complaint') },
      { steps: ['not a good time'], end: end('callback_requested') },
      { steps: [null, null], end: end('no_answer') },
      { steps: ['talk to an agent'], end: transfer('caller_requested_human') },
    ],
  },
  trial_class_invitation: {
    zh: [
      { steps: ['以后别打了'], end: end('do_not_call') },
      { steps: ['是我', '好啊', '第一个', '对'], end: end('booked'), learned: { booked_slot: '本周六上午十点' } },
      { steps: ['是我', '可以', '都不行，下周三下午三点可以吗', '对'], end: end('booked'), learned: { booked_slot: '5月22日星期三下午3点' } },
      { steps: ['是我', '多少钱', '那可以', { dtmf: '2' }, '是的'], end: end('booked'), learned: { booked_slot: '本周日下午三点' } },
      { steps: ['是我', '我考虑一下'], end: end('info_sent') },
      { steps: ['是我', '不感兴趣'], end: end('refused') },
      { steps: ['是我', '我在上班，晚点再打'], end: end('callback_requested') },
      { steps: ['你打错了'], end: end('wrong_person') },
      { steps: [null, null], end: end('no_answer') },
      { steps: ['转人工'], end: transfer('caller_requested_human') },
    ],
    en: [
      { steps: ['do not call me again'], end: end('do_not_call') },
      { steps: ['yes', 'sure', 'the second one', 'yes'], end: end('booked'), learned: { booked_slot: '本周日下午三点' } },
      { steps: ['yes', 'sounds good', 'neither, how about next saturday at 10 am', 'correct'], end: end('booked') },
      { steps: ['yes', 'sure', { dtmf: '1' }, 'yes'], end: end('booked'), learned: { booked_slot: '本周六上午十点' } },
      { steps: ['yes', 'just text me the details'], end: end('info_sent') },
      { steps: ['yes', 'not interested'], end: end('refused') },
      { steps: ['yes', 'i am at work, call me later'], end: end('callback_requested') },
      { steps: ['wrong number'], end: end('wrong_person') },
      { steps: [null, null], end: end('no_answer') },
      { steps: ['talk to an agent'], end: transfer('caller_requested_human') },
    ],
  },
};

const toInput = (s: Step): TurnInput => (s === null ? { kind: 'noInput' } : typeof s === 'string' ? { kind: 'speech', text: s } : { kind: 'dtmf', digits: s.dtmf });
const macrotask = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

let dir: string;
let store: Store;
let factory: FlowDialogFactory;
let speech: ScriptedSpeechEngine;
let engine: CallEngine;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'callpilot-engine-walk-'));
  store = openSqliteStore(join(dir, 'calls.db'), { log });
  factory = await createFlowDialogFactory({ flowsDir, defaultFlow: 'demo', defaultLang: 'zh', llm, log, now, watch: false, fetch: paymentFetch });
  speech = new ScriptedSpeechEngine();
  engine = new CallEngine({ speech, speaker: new ToneSpeaker(), dialogs: factory, store: store.calls, dialogConfig, log });
});

test.after(async () => {
  factory.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** What the dialog alone answers to these inputs: the oracle for the bot texts the engine must play and store. */
async function dialogActions(flow: string, lang: Lang, walk: Walk, variables: Record<string, string>): Promise<BotAction[]> {
  const session = factory.create({ callId: 'oracle', lang, flow, direction: 'outbound', to: '13812345678', variables });
  const actions = [await session.begin()];
  for (const s of walk.steps) actions.push(await session.next(toInput(s)));
  return actions;
}

/**
 * Plays the caller: after each prompt the caller has fully heard (its end mark), it answers with the next step.
 * Silence steps just let the engine's no-input timer fire.
 */
async function playCaller(leg: InstantLeg, callId: string, steps: Step[], done: Promise<unknown>): Promise<void> {
  let promptsHeard = 0;
  let wake: (() => void) | undefined;
  leg.on('mark', () => {
    promptsHeard++;
    wake?.();
  });
  let ended = false;
  void done.then(() => {
    ended = true;
    wake?.();
  });
  const waitForPrompts = async (n: number): Promise<void> => {
    while (promptsHeard < n && !ended) await new Promise<void>((r) => (wake = r));
  };
  // The engine stores the call (asynchronously) before it builds the call's speech pipeline.
  await waitForPrompts(1);
  const callSpeech = speech.speechOf(callId);
  for (const [i, step] of steps.entries()) {
    await waitForPrompts(i + 1);
    if (ended) throw new Error(`call ended before step ${i} ${JSON.stringify(step)}`);
    // The turn loop goes back to listening in the promise chain behind the mark.
    await macrotask();
    if (step === null) continue;
    leg.callerFrame();
    if (typeof step === 'string') {
      const startMs = callSpeech.startSpeech();
      for (let f = 0; f < 10; f++) leg.callerFrame();
      callSpeech.endSpeech(step, startMs);
    } else {
      for (const digit of step.dtmf) leg.dtmf(digit);
      leg.dtmf('#');
    }
  }
}

async function runWalk(flow: string, lang: Lang, walk: Walk): Promise<void> {
  const label = `${flow}/${lang} ${JSON.stringify(walk.steps)}`;
  const variables = { ...callVars[flow], ...walk.extra };
  const expected = await dialogActions(flow, lang, walk, variables);
  const last = expected[expected.length - 1]!;
  // The table and the dialog must agree, or the walk tests nothing.
  if ('disposition' in walk.end) assert.ok(last.kind === 'end' && last.disposition === walk.end.disposition, `${label}: dialog alone ends ${JSON.stringify(last)}`);
  else assert.ok(last.kind === 'transfer' && last.reason === walk.end.transfer, `${label}: dialog alone ends ${JSON.stringify(last)}`);

  // The engine runs only ids callpilot made (they name recording folders).
  const callId = newCallId();
  const leg = new InstantLeg(callId);
  const events: CallTimelineEvent[] = [];
  const outcomeP = engine.runCall({ leg, callId, pbx: 'test', direction: 'outbound', to: '13812345678', flow, lang, variables, onEvent: (e) => events.push(e) });
  const guard = setTimeout(() => void leg.close({ code: 'timeout', detail: 'walk took too long' }), 5000 + walk.steps.length * 4 * NO_INPUT_MS);
  try {
    await playCaller(leg, callId, walk.steps, outcomeP);
    const outcome = await outcomeP;
    const isTransfer = 'transfer' in walk.end;
    const disposition = 'disposition' in walk.end ? walk.end.disposition : 'transferred';
    assert.is(outcome.disposition, disposition, `${label}: outcome`);
    assert.is(leg.closeReason?.code, isTransfer ? 'transfer' : 'bot_hangup', `${label}: leg closed`);
    assert.ok(speech.speechOf(callId).closed, `${label}: the call's speech pipeline was closed`);

    const stored = await store.calls.getCall(callId);
    assert.ok(stored, `${label}: call stored`);
    assert.is(stored.status, 'ended', label);
    assert.is(stored.disposition, disposition, `${label}: stored disposition`);
    assert.is(stored.hangupBy, isTransfer ? 'transfer' : 'bot', label);
    assert.ok(stored.endedAt !== undefined && stored.endedAt >= stored.startedAt, label);
    assert.is(stored.flow, flow);
    assert.is(stored.lang, lang);
    assert.is(stored.variables.disposition, disposition, `${label}: disposition variable`);
    if ('transfer' in walk.end) assert.is(stored.variables.transfer_reason, walk.end.transfer, `${label}: transfer reason`);
    for (const [k, v] of Object.entries(variables)) assert.is(stored.variables[k], v, `${label}: call variable ${k} kept`);
    for (const [k, v] of Object.entries(walk.learned ?? {})) assert.is(stored.variables[k], v, `${label}: learned ${k}`);

    const turns = await store.calls.listTurns(callId);
    assert.is(turns.length, walk.steps.length, `${label}: one stored turn per caller input: ${JSON.stringify(turns)}`);
    for (const [i, step] of walk.steps.entries()) {
      const turn = turns[i]!;
      const input = toInput(step);
      const answer = expected[i + 1]!;
      assert.is(turn.seq, i + 1, label);
      assert.is(turn.inputKind, input.kind, `${label}: turn ${i + 1} kind`);
      assert.is(turn.callerText, input.kind === 'speech' ? input.text : input.kind === 'dtmf' ? input.digits : '', `${label}: turn ${i + 1} caller`);
      assert.is(turn.botText, answer.text, `${label}: turn ${i + 1} bot`);
      assert.is(turn.bargeIn, false, label);
      // Wall-clock latency: the bound only says the bot replied in this turn, not how fast (that is bench/'s job); a
      // busy 2-core machine can stall the loop for seconds.
      if (answer.text) assert.ok(turn.latencyMs !== undefined && turn.latencyMs >= 0 && turn.latencyMs < 15_000, `${label}: turn ${i + 1} latency ${turn.latencyMs}`);
    }
    // Every prompt, greeting included, went to the caller and into the event log, in order.
    const spoken = expected.map((a) => a.text).filter((t): t is string => t !== undefined && t !== '');
    const botEvents = (await store.calls.listEvents(callId)).filter((e) => e.type === 'bot').map((e) => e.data.text);
    assert.equal(botEvents, spoken, `${label}: prompts`);
    assert.is(events.filter((e) => e.type === 'noInput').length, walk.steps.filter((s) => s === null).length, `${label}: no-input turns`);
    assert.ok(leg.framesPlayed >= spoken.length, `${label}: bot audio played`);
  } finally {
    clearTimeout(guard);
  }
}

/**
 * End dispositions and transfer reasons a flow declares in its steps. The step an AI-assistant verdict jumps to is
 * entered by the call-progress detector, not by anything a caller says: assistant-branch.test.ts walks it.
 */
function declaredEnds(flow: string, lang: Lang): string[] {
  const compiled = factory.flow(flow, lang);
  assert.ok(compiled, `${flow}/${lang} is loaded`);
  const assistant = compiled.definition.assistant;
  const assistantStep = typeof assistant === 'object' && 'goto' in assistant ? assistant.goto : undefined;
  const ends = new Set<string>();
  for (const [name, step] of Object.entries(compiled.definition.steps)) {
    if (name === assistantStep) continue;
    if (step.end) ends.add(`end:${step.end}`);
    if (step.transfer) ends.add(`transfer:${step.transfer.reason}`);
  }
  return [...ends].sort();
}

test('the walks cover every end state of every shipped flow in both languages', () => {
  const loaded = factory.flows();
  assert.equal(Object.keys(loaded).sort(), Object.keys(WALKS).sort(), 'a walk table per shipped flow');
  for (const [flow, byLang] of Object.entries(WALKS)) {
    assert.equal(loaded[flow]?.slice().sort(), ['en', 'zh'], `${flow} loaded in both languages`);
    for (const lang of ['zh', 'en'] as const) {
      const walked = new Set(byLang[lang].map((w) => ('disposition' in w.end ? `end:${w.end.disposition}` : `transfer:${w.end.transfer}`)));
      const missing = declaredEnds(flow, lang).filter((e) => !walked.has(e));
      assert.equal(missing, [], `${flow}/${lang}: end states without a walk`);
      assert.ok(byLang[lang].some((w) => w.steps.includes(null)), `${flow}/${lang}: a no-input walk`);
    }
  }
});

for (const [flow, byLang] of Object.entries(WALKS)) {
  for (const lang of ['zh', 'en'] as const) {
    const kinds = [...new Set(byLang[lang].flatMap((w) => w.steps.map((s) => (s === null ? 'no-input' : typeof s === 'string' ? 'speech' : 'DTMF'))))].join(', ');
    test(`${flow} ${lang}: every end state through the CallEngine (${kinds}), stored with turns and variables`, async () => {
      for (const walk of byLang[lang]) await runWalk(flow, lang, walk);
    });
  }
}

test('a caller hanging up mid-flow ends the call as caller_hangup, keeping the turns and variables so far', async () => {
  const callId = newCallId();
  const leg = new InstantLeg(callId);
  const variables = callVars.credit_card_overdue!;
  const outcomeP = engine.runCall({ leg, callId, pbx: 'test', direction: 'outbound', flow: 'credit_card_overdue', lang: 'zh', variables });
  const steps: Step[] = ['是的', '是的', '我下周三还吧'];
  await playCaller(leg, callId, steps, outcomeP);
  // Hang up while the bot reads back the promise (the prompt after the third answer).
  await macrotask();
  await leg.close({ code: 'caller_hangup', detail: 'caller hung up' });
  const outcome = await outcomeP;
  assert.is(outcome.disposition, 'caller_hangup');
  assert.is(outcome.endedBy, 'caller');
  const stored = await store.calls.getCall(callId);
  assert.is(stored?.status, 'ended');
  assert.is(stored?.disposition, 'caller_hangup');
  assert.is(stored?.hangupBy, 'caller');
  assert.is(stored?.variables.promised_date, '2024-05-22', 'the promise heard before the hangup is kept');
  assert.is(stored?.variables.customer_name, '张先生');
  assert.equal((await store.calls.listTurns(callId)).map((t) => t.callerText), steps);
});

test.run();
