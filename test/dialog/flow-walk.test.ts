import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFlowDialogFactory, type FetchLike, type FlowDialogFactory } from '../../src/dialog/flow/index.ts';
import type { BotAction, Lang, TurnInput } from '../../src/dialog/types.ts';
import { testLog } from '../support/run-log.ts';

const flowsDir = fileURLToPath(new URL('../../configs/flows/', import.meta.url));
const log = testLog();
const llm = { enabled: false, baseUrl: 'http://127.0.0.1:1/v1', model: 'none', timeoutMs: 200 };
// Wednesday 2024-05-15 10:00 Shanghai (still Tuesday evening in New York).
const now = (): Date => new Date('2024-05-15T02:00:00Z');

/** The payment webhook answers by card: 2233 paid, 4444 not found, anything else errors. */
const paymentFetch: FetchLike = async (_url, init) => {
  const body = JSON.parse(String(init.body)) as { card_last4: string };
  if (body.card_last4 === '2233') return new Response(JSON.stringify({ status: 'paid' }), { status: 200 });
  if (body.card_last4 === '4444') return new Response(JSON.stringify({ status: 'not_found' }), { status: 200 });
  return new Response('oops', { status: 503 });
};

let factory: FlowDialogFactory;

const vars: Record<string, Record<string, string>> = {
  demo: {},
  credit_card_overdue: { customer_name: '张先生', card_number: '6222020200112233', amount_due: '3580.5', due_date: '2024-05-10' },
  order_confirmation: { customer_name: '李女士', product_name: '空气净化器', order_id: '202405150001234', address: '世纪大道100号', delivery_date: '2024-05-17' },
  satisfaction_survey: { customer_name: '王先生', service_name: '空调安装' },
  trial_class_invitation: { customer_name: '陈女士', course_name: '少儿英语', slot1_label: '本周六上午十点', slot2_label: '本周日下午三点' },
};

type Step = string | { dtmf: string } | null;
const toInput = (s: Step): TurnInput => (s === null ? { kind: 'noInput' } : typeof s === 'string' ? { kind: 'speech', text: s } : { kind: 'dtmf', digits: s.dtmf });

async function walk(flow: string, lang: Lang, steps: Step[], extraVars: Record<string, string> = {}) {
  const session = factory.create({ callId: `t-${flow}-${lang}`, lang, flow, direction: 'outbound', to: '13812345678', variables: { ...vars[flow], ...extraVars } });
  const actions: BotAction[] = [await session.begin()];
  for (const s of steps) {
    assert.is(actions[actions.length - 1]!.kind, 'say', `flow ended before input ${JSON.stringify(s)}: ${JSON.stringify(actions)}`);
    actions.push(await session.next(toInput(s)));
  }
  return { actions, last: actions[actions.length - 1]!, session };
}

function assertEnd(last: BotAction, disposition: string): void {
  assert.is(last.kind, 'end', JSON.stringify(last));
  if (last.kind === 'end') assert.is(last.disposition, disposition);
}

function assertTransfer(last: BotAction, reason: string): void {
  assert.is(last.kind, 'transfer', JSON.stringify(last));
  if (last.kind === 'transfer') assert.is(last.reason, reason);
}

test.before(async () => {
  factory = await createFlowDialogFactory({ flowsDir, defaultFlow: 'demo', defaultLang: 'zh', llm, log, now, watch: false, fetch: paymentFetch });
  const loaded = factory.flows();
  for (const name of Object.keys(vars)) assert.equal(loaded[name]?.sort(), ['en', 'zh'], `${name} not loaded`);
});

test.after(() => factory.close());

test('demo zh: greeting renders variables and every end state is reachable', async () => {
  const first = await walk('demo', 'zh', []);
  assert.ok(first.last.kind === 'say' && first.last.text.includes('小智科技'));
  assertEnd((await walk('demo', 'zh', ['是的', '好的'])).last, 'interested');
  assertEnd((await walk('demo', 'zh', ['不是'])).last, 'refused');
  assertEnd((await walk('demo', 'zh', ['是的', '不需要'])).last, 'refused');
  assertEnd((await walk('demo', 'zh', ['稍后再打'])).last, 'callback_requested');
  assertEnd((await walk('demo', 'zh', ['打错了'])).last, 'wrong_person');
  assertEnd((await walk('demo', 'zh', ['不要再打了'])).last, 'do_not_call');
  assertEnd((await walk('demo', 'zh', [null, null])).last, 'no_answer');
  assertTransfer((await walk('demo', 'zh', ['转人工'])).last, 'caller_requested_human');
  assertTransfer((await walk('demo', 'zh', ['我家猫刚生了小猫', '小猫很可爱'])).last, 'caller_requested_human');
});

test('demo zh: repeat, who-is-this and no-input re-prompt stay in the step', async () => {
  const { actions } = await walk('demo', 'zh', ['再说一遍', '请问你是谁', null, '是的', '好的']);
  const [greet, repeat, who, reprompt] = actions as Array<BotAction & { kind: 'say' }>;
  assert.is(repeat!.text, greet!.text);
  assert.ok(who!.text.startsWith('我是小智科技的智能客服小智。') && who!.text.endsWith(greet!.text), who!.text);
  assert.ok(reprompt!.text.startsWith('喂，您好，能听到吗？'), reprompt!.text);
  assertEnd(actions[actions.length - 1]!, 'interested');
});

test('demo en: yes/no/who/agent/repeat/busy walk to the right ends', async () => {
  assertEnd((await walk('demo', 'en', ['yes', 'yes'])).last, 'interested');
  assertEnd((await walk('demo', 'en', ['no'])).last, 'refused');
  assertEnd((await walk('demo', 'en', ['who is this', 'please repeat', 'yes', 'no'])).last, 'refused');
  assertEnd((await walk('demo', 'en', ['call me later'])).last, 'callback_requested');
  assertEnd((await walk('demo', 'en', ['wrong number'])).last, 'wrong_person');
  assertEnd((await walk('demo', 'en', ['stop calling'])).last, 'do_not_call');
  assertTransfer((await walk('demo', 'en', ['talk to an agent'])).last, 'caller_requested_human');
});

test('demo: expected answers use phrases the test ASR model can output', async () => {
  const session = factory.create({ callId: 'x', lang: 'zh', flow: 'demo', direction: 'outbound', variables: {} });
  await session.begin();
  const expected = session.expectedAnswers();
  for (const phrase of ['是的', '不是', '请问你是谁', '转人工', '人工服务', '再说一遍', '稍后再打', '打错了']) assert.ok(expected.includes(phrase), phrase);
  const en = factory.create({ callId: 'y', lang: 'en', flow: 'demo', direction: 'outbound', variables: {} });
  await en.begin();
  for (const phrase of ['yes', 'no', 'who is this', 'talk to an agent', 'repeat', 'call me later', 'wrong number']) assert.ok(en.expectedAnswers().includes(phrase), phrase);
});

test('a step that asks for a date gives the end of turn a check of whether a transcript holds one; a yes/no step gives none', async () => {
  const greeting = factory.create({ callId: 'v', lang: 'zh', flow: 'credit_card_overdue', direction: 'outbound', variables: vars.credit_card_overdue! });
  await greeting.begin();
  assert.is(greeting.valueCheck?.(), undefined);
  const { session } = await walk('credit_card_overdue', 'zh', ['是的', '是的']);
  assert.is(session.expectedKind?.(), 'date');
  const holds = session.valueCheck?.();
  assert.ok(holds, 'the date step has a check');
  for (const t of ['我下周三还吧', '明天', '月底', '十五号', '下午三点']) assert.ok(holds(t), t);
  for (const t of ['', '我想想', '就是那个', '十五', '我现下九七下']) assert.not.ok(holds(t), t);
  const en = await walk('credit_card_overdue', 'en', ['yes', 'yes']);
  const enHolds = en.session.valueCheck?.();
  assert.ok(enHolds && enHolds('next friday') && !enHolds('let me see'));
});

test('credit card zh: every end state', async () => {
  const promised = await walk('credit_card_overdue', 'zh', ['嗯，是我', '对', '我下周三还吧', '对的']);
  assertEnd(promised.last, 'promised_to_pay');
  assert.is(promised.session.variables().promised_date, '2024-05-22');
  const stated = promised.actions[2] as BotAction & { kind: 'say' };
  assert.ok(stated.text.includes('3580.50元') && stated.text.includes('5月10日'), stated.text);
  assert.ok((promised.actions[1] as { text: string }).text.includes('尾号2233') && !(promised.actions[1] as { text: string }).text.includes('6222'));
  assertEnd((await walk('credit_card_overdue', 'zh', ['是的', '是的', '我已经还款了'])).last, 'already_paid');
  assertEnd((await walk('credit_card_overdue', 'zh', ['是的', '是的', '我已经还了'], { card_number: '6222000011115555' })).last, 'already_paid');
  const notFound = await walk('credit_card_overdue', 'zh', ['是的', '是的', '已经还了', '前天还的'], { card_number: '6222000011114444' });
  assertEnd(notFound.last, 'already_paid');
  assert.is(notFound.session.variables().paid_date, '2024-05-13');
  assertTransfer((await walk('credit_card_overdue', 'zh', ['是的', '是的', '这笔不是我刷的'])).last, 'billing_dispute');
  assertTransfer((await walk('credit_card_overdue', 'zh', ['是的', '是的', '最近失业了没钱', '好的'])).last, 'hardship');
  assertEnd((await walk('credit_card_overdue', 'zh', ['是的', '是的', '我不还', '不还'])).last, 'refused');
  assertEnd((await walk('credit_card_overdue', 'zh', ['不是，你打错了'])).last, 'wrong_person');
  const cb = await walk('credit_card_overdue', 'zh', ['在开车，不方便', '明天下午三点吧']);
  assertEnd(cb.last, 'callback_requested');
  assert.is(cb.session.variables().callback_at, '2024-05-16T15:00');
  assertEnd((await walk('credit_card_overdue', 'zh', ['您拨打的电话暂时无法接听，请在提示音后留言'])).last, 'voicemail');
  assertEnd((await walk('credit_card_overdue', 'zh', [null, null])).last, 'no_answer');
  assertTransfer((await walk('credit_card_overdue', 'zh', ['是的', '不是这张卡'])).last, 'identity_mismatch');
  const human = await walk('credit_card_overdue', 'zh', ['是的', '转人工']);
  assertTransfer(human.last, 'caller_requested_human');
  assert.ok(human.session.variables().transfer_transcript?.includes('caller: 转人工'));
  assertTransfer((await walk('credit_card_overdue', 'zh', ['是的', '你们烦不烦啊，有病吧！'])).last, 'caller_requested_human');
  assertTransfer((await walk('credit_card_overdue', 'zh', [{ dtmf: '1' }, { dtmf: '2' }])).last, 'identity_mismatch');
});

test('speech the recognizer made nothing of is a no-match, not silence: the step says it did not catch that, then an agent', async () => {
  const unheard = await walk('credit_card_overdue', 'zh', ['', '']);
  const sorry = unheard.actions[1] as BotAction & { kind: 'say' };
  assert.ok(sorry.text.includes('不好意思，我没有听清楚'), sorry.text);
  assertTransfer(unheard.last, 'caller_requested_human');
  assert.ok(unheard.session.variables().transfer_transcript?.includes('caller: (speech not recognized)'));
  // Silence in the same step asks whether the caller can hear, and ends as no answer.
  const silent = await walk('credit_card_overdue', 'zh', [null]);
  assert.ok((silent.last as { text: string }).text.includes('能听到'), JSON.stringify(silent.last));
});

test('credit card en: every end state', async () => {
  const promised = await walk('credit_card_overdue', 'en', ['yes speaking', 'yes', 'i can pay next friday', 'yes']);
  assertEnd(promised.last, 'promised_to_pay');
  // New York is still on Tuesday 2024-05-14: next Friday is 2024-05-24.
  assert.is(promised.session.variables().promised_date, '2024-05-24');
  assert.ok((promised.actions[2] as { text: string }).text.includes('$3,580.50'));
  assertEnd((await walk('credit_card_overdue', 'en', ['yes', 'yes', 'i already paid'])).last, 'already_paid');
  assertTransfer((await walk('credit_card_overdue', 'en', ['yes', 'yes', "that's not my charge"])).last, 'billing_dispute');
  assertTransfer((await walk('credit_card_overdue', 'en', ['yes', 'yes', 'i lost my job', 'yes please'])).last, 'hardship');
  assertEnd((await walk('credit_card_overdue', 'en', ['yes', 'yes', 'i refuse to pay', 'no'])).last, 'refused');
  assertEnd((await walk('credit_card_overdue', 'en', ['wrong number'])).last, 'wrong_person');
  assertEnd((await walk('credit_card_overdue', 'en', ["i'm driving", 'tomorrow at 3 pm'])).last, 'callback_requested');
  assertEnd((await walk('credit_card_overdue', 'en', ['please leave a message after the tone'])).last, 'voicemail');
  assertEnd((await walk('credit_card_overdue', 'en', [null, null])).last, 'no_answer');
  assertTransfer((await walk('credit_card_overdue', 'en', ['yes', 'operator'])).last, 'caller_requested_human');
});

test('order confirmation zh/en: confirmed, new address, rescheduled, cancelled, wrong person, order issue', async () => {
  assertEnd((await walk('order_confirmation', 'zh', ['是我', '对，是我买的', '地址对的', '可以'])).last, 'order_confirmed');
  const moved = await walk('order_confirmation', 'zh', ['是我', '是的', '地址不对', '浦东新区张江路1号', '方便']);
  assertEnd(moved.last, 'order_confirmed');
  assert.is(moved.session.variables().new_address, '浦东新区张江路1号');
  const resched = await walk('order_confirmation', 'zh', ['是我', '是的', '对', '那天不在家，改到下周六吧']);
  assertEnd(resched.last, 'delivery_rescheduled');
  assert.is(resched.session.variables().requested_delivery_date, '2024-05-25');
  assertEnd((await walk('order_confirmation', 'zh', ['是我', '是的', '对', { dtmf: '2' }, '后天'])).last, 'delivery_rescheduled');
  assertEnd((await walk('order_confirmation', 'zh', ['是我', '我不想要了，取消吧', '确定'])).last, 'order_cancelled');
  assertTransfer((await walk('order_confirmation', 'zh', ['是我', '不是我下的'])).last, 'order_not_placed_by_customer');
  assertEnd((await walk('order_confirmation', 'zh', ['打错了'])).last, 'wrong_person');
  assertEnd((await walk('order_confirmation', 'zh', ['在忙'])).last, 'callback_requested');
  assertEnd((await walk('order_confirmation', 'zh', [null, null])).last, 'no_answer');
  assertEnd((await walk('order_confirmation', 'en', ['yes', 'yes', 'correct', 'sure'])).last, 'order_confirmed');
  assertEnd((await walk('order_confirmation', 'en', ['yes', 'yes', 'no i moved', '5 Elm Street', 'yes'])).last, 'order_confirmed');
  assertEnd((await walk('order_confirmation', 'en', ['yes', 'yes', 'yes', "i won't be home, can we do next monday"])).last, 'delivery_rescheduled');
  assertEnd((await walk('order_confirmation', 'en', ['yes', 'cancel it', 'yes'])).last, 'order_cancelled');
  assertTransfer((await walk('order_confirmation', 'en', ['yes', 'i want to talk to a human'])).last, 'caller_requested_human');
});

test('satisfaction survey zh/en: scores by voice and keypad, comments, complaint, refusal', async () => {
  const high = await walk('satisfaction_survey', 'zh', ['可以', '五分', '师傅很准时，下次还找你们']);
  assertEnd(high.last, 'survey_completed');
  assert.is(high.session.variables().score, '5');
  assert.is(high.session.variables().comment, '师傅很准时，下次还找你们');
  const low = await walk('satisfaction_survey', 'zh', ['好的', { dtmf: '2' }, '来得太晚了']);
  assertEnd(low.last, 'survey_complaint');
  assert.is(low.session.variables().score, '2');
  assertEnd((await walk('satisfaction_survey', 'zh', ['好的', '非常满意', '没有了'])).last, 'survey_completed');
  assertEnd((await walk('satisfaction_survey', 'zh', ['好的', '我家猫刚生了小猫', '我也说不上来'])).last, 'survey_incomplete');
  assertTransfer((await walk('satisfaction_survey', 'zh', ['好的', '太差了！！烦死了！！'])).last, 'complaint');
  assertEnd((await walk('satisfaction_survey', 'zh', ['不需要'])).last, 'refused');
  assertEnd((await walk('satisfaction_survey', 'zh', ['现在没时间'])).last, 'callback_requested');
  assertEnd((await walk('satisfaction_survey', 'zh', [null, null])).last, 'no_answer');
  assertEnd((await walk('satisfaction_survey', 'en', ['sure', 'five', 'no that is all'])).last, 'survey_completed');
  assertEnd((await walk('satisfaction_survey', 'en', ['okay', { dtmf: '1' }, 'nobody showed up on time'])).last, 'survey_complaint');
  assertEnd((await walk('satisfaction_survey', 'en', ['no thanks'])).last, 'refused');
  assertEnd((await walk('satisfaction_survey', 'en', ['wrong number'])).last, 'wrong_person');
});

test('trial class zh/en: booking by choice, keypad and own time; info, refusal, callback', async () => {
  const first = await walk('trial_class_invitation', 'zh', ['是我', '好啊', '第一个', '对']);
  assertEnd(first.last, 'booked');
  assert.is(first.session.variables().booked_slot, '本周六上午十点');
  const own = await walk('trial_class_invitation', 'zh', ['是我', '可以', '都不行，下周三下午三点可以吗', '对']);
  assertEnd(own.last, 'booked');
  assert.is(own.session.variables().booked_slot, '5月22日星期三下午3点');
  assertEnd((await walk('trial_class_invitation', 'zh', ['是我', '多少钱', '那可以', { dtmf: '2' }, '是的'])).last, 'booked');
  assertEnd((await walk('trial_class_invitation', 'zh', ['是我', '我考虑一下'])).last, 'info_sent');
  assertEnd((await walk('trial_class_invitation', 'zh', ['是我', '不感兴趣'])).last, 'refused');
  assertEnd((await walk('trial_class_invitation', 'zh', ['是我', '我在上班，晚点再打'])).last, 'callback_requested');
  assertEnd((await walk('trial_class_invitation', 'zh', ['你打错了'])).last, 'wrong_person');
  assertEnd((await walk('trial_class_invitation', 'zh', [null, null])).last, 'no_answer');
  assertTransfer((await walk('trial_class_invitation', 'zh', ['转人工'])).last, 'caller_requested_human');
  assertEnd((await walk('trial_class_invitation', 'en', ['yes', 'sure', 'the second one', 'yes'])).last, 'booked');
  assertEnd((await walk('trial_class_invitation', 'en', ['yes', 'sounds good', 'neither, how about next saturday at 10 am', 'correct'])).last, 'booked');
  assertEnd((await walk('trial_class_invitation', 'en', ['yes', 'just text me the details'])).last, 'info_sent');
  assertEnd((await walk('trial_class_invitation', 'en', ['yes', 'not interested'])).last, 'refused');
});

test('an ended session keeps returning its final action', async () => {
  const { session, last } = await walk('demo', 'zh', ['不是']);
  assert.equal(await session.next({ kind: 'speech', text: '是的' }), last);
  assert.equal(session.expectedAnswers(), []);
  assert.is(session.variables().disposition, 'refused');
});

test.run();
