import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUILTIN_PROFILES, CampaignDialer, CampaignService, numberOfDialString, systemClock, type CallPlacer } from '../../src/campaign/index.ts';
import type { OutboundCallOutcome, OutboundCallRequest, PlaceCallHooks, PlaceCallResult } from '../../src/calls/index.ts';
import { newCallId } from '../../src/core/index.ts';
import { CallEngine, createFlowDialogFactory, type DialogConfig, type FlowDialogFactory } from '../../src/dialog/index.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { until } from '../support/e2e.ts';
import { InstantLeg, ScriptedSpeechEngine, ToneSpeaker } from '../engine/engine-fakes.ts';
import { log } from './helpers.ts';

/*
 * The in-call refusal -> do-not-call flow action, end to end on one store: the campaign dialer claims and places
 * calls; each answered call runs the real CallEngine with the shipped flows (configs/flows), the real flow factory
 * wired to CampaignService.recordRefusal as the app wires it, and the real SQLite store. The caller's words enter at
 * the ASR boundary (engine-fakes.ts: scripted transcripts): the tiny demo ASR model does not know 别再打了, so this
 * test claims the flow action and the ledger, not recognition.
 */

const flowsDir = fileURLToPath(new URL('../../configs/flows/', import.meta.url));
const llm = { enabled: false, baseUrl: 'http://127.0.0.1:1/v1', model: 'none', timeoutMs: 200 };
const dialogConfig: DialogConfig = {
  flowsDir,
  defaultFlow: 'demo',
  defaultLang: 'zh',
  noInputTimeoutMs: 150,
  unrecognizedSpeechMs: 800,
  bargeIn: { enabled: true, minSpeechMs: 60, backchannels: ['嗯'], backchannelsInterrupt: false, cancelEcho: false, continueTurnMs: 1000, waitOutCallerPauses: false },
  llm,
};

const REFUSER = '+8613800000101';
const NOT_INTERESTED = '+8613800000102';
const INTERESTED = '+8613800000103';
const EN_REFUSER = '+8613800000104';

/** What each number says after each prompt it hears. */
const SCRIPTS: Record<string, string[]> = {
  [REFUSER]: ['别再打了，烦不烦，我要投诉'],
  [NOT_INTERESTED]: ['不是'],
  [INTERESTED]: ['是的', '好的'],
  [EN_REFUSER]: ['stop calling me'],
};

const macrotask = (): Promise<void> => new Promise((r) => setTimeout(r, 1));

/** A CallPlacer whose calls are answered at once and run through the real CallEngine with a scripted caller. */
class EngineCallPlacer implements CallPlacer {
  readonly placed: OutboundCallRequest[] = [];
  constructor(
    private readonly engine: CallEngine,
    private readonly speech: ScriptedSpeechEngine,
  ) {}

  async placeCall(req: OutboundCallRequest, hooks?: PlaceCallHooks): Promise<PlaceCallResult> {
    this.placed.push(req);
    const callId = newCallId();
    const leg = new InstantLeg(callId);
    const answeredAt = new Date().toISOString();
    hooks?.onAnswer?.({ callId, pbxCallId: `chan-${callId}`, at: answeredAt });
    const number = numberOfDialString(req.endpoint);
    const run = this.engine.runCall({ leg, callId, pbx: 'test', direction: 'outbound', to: req.endpoint, flow: req.flow, lang: req.lang === 'en' ? 'en' : 'zh', variables: req.variables ?? {} });
    const script = SCRIPTS[`+86${number}`] ?? [];
    const caller = this.playCaller(leg, callId, script, run).catch((err: unknown) => log.error({ err }, 'scripted caller failed'));
    const outcome = run.then(async (o): Promise<OutboundCallOutcome> => {
      await caller;
      return { callId, telephony: 'answered', disposition: o.disposition, answeredAt, endedAt: new Date().toISOString(), pbxCallId: `chan-${callId}`, slots: {} };
    });
    return { callId, outcome };
  }

  /** After each prompt the caller has fully heard, says its next line. */
  private async playCaller(leg: InstantLeg, callId: string, lines: string[], done: Promise<unknown>): Promise<void> {
    let heard = 0;
    let ended = false;
    let wake: (() => void) | undefined;
    leg.on('mark', () => {
      heard++;
      wake?.();
    });
    void done.then(() => {
      ended = true;
      wake?.();
    });
    for (const [i, line] of lines.entries()) {
      while (heard < i + 1 && !ended) await new Promise<void>((r) => (wake = r));
      if (ended) return;
      await macrotask();
      const speech = this.speech.speechOf(callId);
      leg.callerFrame();
      const start = speech.startSpeech();
      for (let f = 0; f < 10; f++) leg.callerFrame();
      speech.endSpeech(line, start);
    }
  }
}

interface Rig {
  store: Store;
  service: CampaignService;
  dialer: CampaignDialer;
  placer: EngineCallPlacer;
  factory: FlowDialogFactory;
}

async function rig(): Promise<Rig> {
  const store = openSqliteStore(':memory:', { log });
  // A profile open all day, so the test does not depend on the hour it runs.
  const profiles = { ...BUILTIN_PROFILES, always: { ...BUILTIN_PROFILES['cn-marketing']!, windows: { default: ['00:00-24:00'] }, excludedDates: [], maxAttemptsPerNumberPerDay: undefined, maxAttemptsPerNumberPerWeek: undefined, maxConnectedPerNumberPerDay: undefined } };
  const service = new CampaignService({ store: store.campaigns, clock: systemClock, profiles, callerIdPool: [], defaultCountry: 'CN' });
  const factory = await createFlowDialogFactory({ flowsDir, defaultFlow: 'demo', defaultLang: 'zh', llm, log, watch: false, doNotCall: async (req) => void (await service.recordRefusal(req)) });
  const speech = new ScriptedSpeechEngine();
  const engine = new CallEngine({ speech, speaker: new ToneSpeaker(), dialogs: factory, store: store.calls, dialogConfig, log });
  const placer = new EngineCallPlacer(engine, speech);
  const dialer = new CampaignDialer({ store: store.campaigns, calls: store.calls, placer, adapters: [], clock: systemClock, nodeId: 'n1', profiles, freeCalls: () => 100, log, tickMs: 20 });
  return { store, service, dialer, placer, factory };
}

async function campaign(r: Rig, name: string, flow: string, lang: 'zh' | 'en', numbers: string[]) {
  const c = await r.service.create({ name, flow, lang, dialPattern: 'PJSIP/{national}@trunk', profile: 'always', expectedCallSec: 0, cps: 100, maxConcurrent: 10, retry: { maxAttempts: 3, delaysMin: { busy: 0 } } });
  const vars: Record<string, string> = flow === 'credit_card_overdue' ? { customer_name: '张先生', card_number: '6222020200112233', amount_due: '3580.5', due_date: '2024-05-10' } : {};
  await r.store.campaigns.addContacts(c.id, numbers.map((n) => ({ number: n, role: 'debtor' as const, variables: vars })), new Date().toISOString());
  return c;
}

async function runToEnd(r: Rig, ids: string[]): Promise<void> {
  for (const id of ids) await r.service.act(id, 'start');
  await r.dialer.start();
  try {
    await until(async () => {
      for (const id of ids) if ((await r.service.get(id)).state !== 'finished') return false;
      return true;
    }, 'campaigns finished', 20_000);
  } finally {
    await r.dialer.stop();
    await r.dialer.settled();
  }
}

test('a refusal heard in a call blocks the number for every campaign at the claim; the ledger keeps the call id and the words', async () => {
  const r = await rig();
  try {
    const first = await campaign(r, 'first', 'demo', 'zh', [REFUSER, NOT_INTERESTED, INTERESTED]);
    // The English refusal comes in a campaign of the English flow.
    const english = await campaign(r, 'english', 'demo', 'en', [EN_REFUSER]);
    await runToEnd(r, [first.id, english.id]);

    const attempts = await r.store.campaigns.listAttempts(first.id);
    const byNumber = Object.fromEntries(attempts.map((a) => [a.number, a]));
    assert.is(byNumber[REFUSER]?.disposition, 'do_not_call');
    assert.is(byNumber[NOT_INTERESTED]?.disposition, 'refused');
    assert.is(byNumber[INTERESTED]?.disposition, 'interested');

    // The ledger proves why: the call that heard it and the words.
    const refused = await r.store.campaigns.findDnc(REFUSER, undefined, new Date().toISOString());
    assert.ok(refused, 'the refuser is on the ledger');
    assert.is(refused!.scope, 'global');
    assert.is(refused!.source, 'call');
    assert.is(refused!.callId, byNumber[REFUSER]!.callId);
    assert.is(refused!.words, '别再打了，烦不烦，我要投诉');
    const call = await r.store.calls.getCall(byNumber[REFUSER]!.callId!);
    assert.is(call?.variables.do_not_call, 'recorded', 'the stored call says the refusal was recorded');

    const enAttempt = (await r.store.campaigns.listAttempts(english.id))[0]!;
    assert.is(enAttempt.disposition, 'do_not_call');
    const enEntry = (await r.store.campaigns.listDnc()).find((e) => e.number === EN_REFUSER && e.scope === 'global');
    assert.is(enEntry?.words, 'stop calling me');
    assert.is(enEntry?.callId, enAttempt.callId);

    // "Not interested" in a marketing flow is recorded for that campaign only.
    const notInterested = (await r.store.campaigns.listDnc()).filter((e) => e.number === NOT_INTERESTED);
    assert.equal(notInterested.map((e) => [e.scope, e.words]), [[first.id, '不是']]);
    assert.not.ok((await r.store.campaigns.listDnc()).some((e) => e.number === INTERESTED), 'a caller who said yes is not blocked');

    // The next attempt of every other campaign, on every flow, is refused by the claim for both refusers.
    const placedBefore = r.placer.placed.length;
    const second = await campaign(r, 'second', 'demo', 'zh', [REFUSER, NOT_INTERESTED, EN_REFUSER]);
    const third = await campaign(r, 'third', 'credit_card_overdue', 'zh', [REFUSER, EN_REFUSER, INTERESTED]);
    await runToEnd(r, [second.id, third.id]);
    const dialled = r.placer.placed.slice(placedBefore).map((p) => `+86${numberOfDialString(p.endpoint)}`);
    assert.not.ok(dialled.includes(REFUSER), 'the refuser is never dialled again');
    assert.not.ok(dialled.includes(EN_REFUSER), 'the English refuser is never dialled again');
    assert.ok(dialled.includes(NOT_INTERESTED), 'a campaign-scoped refusal leaves other campaigns free');
    assert.ok(dialled.includes(INTERESTED));
    for (const c of [second, third]) {
      const contacts = await r.store.campaigns.listContacts(c.id);
      for (const n of [REFUSER, EN_REFUSER]) {
        const contact = contacts.find((x) => x.number === n);
        assert.is(contact?.state, 'blocked', `${c.name}: ${n} blocked by the claim`);
        assert.is(contact?.lastDisposition, 'dnc');
      }
      assert.not.ok((await r.store.campaigns.listAttempts(c.id)).some((a) => a.number === REFUSER || a.number === EN_REFUSER), `${c.name}: no attempt row for a refuser`);
    }
    // And straight at the claim: a fresh contact of the refuser in a running campaign is refused as dnc.
    const fourth = await campaign(r, 'fourth', 'order_confirmation', 'zh', [REFUSER]);
    await r.service.act(fourth.id, 'start');
    const contact = (await r.store.campaigns.listContacts(fourth.id))[0]!;
    const now = new Date().toISOString();
    const claim = await r.store.campaigns.claimAttempt({ campaignId: fourth.id, contactId: contact.id, attemptId: 'att_direct', nodeId: 'n1', now, leaseUntil: new Date(Date.now() + 60_000).toISOString(), trunk: 'default', caps: { dayStart: now, weekStart: now, nextDay: now } });
    assert.equal(claim.ok ? 'claimed' : claim.reason, 'dnc');
  } finally {
    r.factory.close();
    await r.store.close();
  }
});

test('recordRefusal reads the number out of a dial string and refuses a call without one', async () => {
  const r = await rig();
  try {
    const entry = await r.service.recordRefusal({ callId: 'c1', number: 'sofia/gateway/gw/13800000555', scope: 'global', reason: 'asked', words: '别再打了' });
    assert.is(entry.number, '+8613800000555');
    const pjsip = await r.service.recordRefusal({ callId: 'c2', number: 'PJSIP/013800000556@trunk', scope: 'global', reason: 'asked', words: 'x' });
    assert.is(pjsip.number, '+8613800000556');
    let failed = '';
    await r.service.recordRefusal({ callId: 'c3', number: 'PJSIP/agents@trunk', scope: 'global', reason: 'asked', words: 'x' }).catch((err: Error) => (failed = err.message));
    assert.match(failed, /no phone number/);
    failed = '';
    await r.service.recordRefusal({ callId: 'c4', number: '+8613800000557', scope: 'campaign', reason: 'asked', words: 'x' }).catch((err: Error) => (failed = err.message));
    assert.match(failed, /needs the campaign/);
  } finally {
    r.factory.close();
    await r.store.close();
  }
});

test.run();
