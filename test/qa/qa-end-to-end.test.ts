import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CallpilotApp } from '../../src/app.ts';
import type { CallEvent, NewQaHit, QaHit } from '../../src/store/index.ts';
import { type QaDemoApp, simulateDemoCall, startQaDemoApp } from '../support/qa-demo-app.ts';
import { testLog } from '../support/run-log.ts';
import { patient } from '../support/wait.ts';

/*
 * QA on a real call: the whole app answers a simulated phone (espeak caller voice, Silero VAD, sherpa ASR on the
 * tiny model, espeak TTS for the bot) on the zh demo flow, with QA rules written for what that call does. The
 * hits must be stored with the right leg and at times inside the words' audio on the call's clock (the
 * recording's timeline), and the live ones must reach a subscriber while the call is still running.
 */

const log = testLog();

const RULES = `
qa: demo-e2e
flows: [demo]
langs: [zh]
rules:
  - id: recording-notice
    type: absence
    leg: bot
    phrases: [本次通话可能被录音]
    within_s: 30
    severity: major
    score: 10
  - id: bot-says-goodbye-without-bothering
    type: keyword
    leg: bot
    phrases: [不打扰]
    severity: info
  - id: caller-refuses
    type: pinyin
    leg: caller
    # The tiny test model sometimes stutters (不需需要): the shorter phrase still finds it.
    phrases: [不需要, 需要]
    severity: minor
    score: 2
  - id: who-then-handoff
    type: sequence
    first: { leg: caller, phrases: [谁] }
    then: { leg: bot, phrases: [转人工] }
    within_s: 10
  - id: any-talk-over
    type: talk_over
    max_ratio: 0
    min_call_s: 0
  - id: never-matches
    type: keyword
    phrases: [这句话不会出现]
`;

let fixture: QaDemoApp;
let app: CallpilotApp;

test.before(async () => {
  fixture = await startQaDemoApp(RULES, { log, record: true, folderPrefix: 'callpilot-qa-e2e-' });
  app = fixture.app;
});

test.after(async () => {
  await fixture?.close();
});

function eventsOf(events: CallEvent[], type: string): Record<string, number | string | boolean>[] {
  return events.filter((e) => e.type === type).map((e) => e.data as Record<string, number | string | boolean>);
}

test('a simulated call through the real engine gets the expected hits, at the right times, live ones while it runs', async () => {
  assert.ok(app.qa, 'QA monitor running');
  const seen: { hit: NewQaHit; callEnded: boolean }[] = [];
  let callEnded = false;
  app.qa!.onHit((hit) => seen.push({ hit, callEnded }));

  const report = await simulateDemoCall(app, 'qa-e2e');
  callEnded = true;
  // The engine stores the whole-call hits before the call's run resolves; give the end a moment to land.
  const deadline = Date.now() + patient(15_000);
  let hits: QaHit[] = [];
  while (Date.now() < deadline) {
    hits = await app.store.qa.listHits({ callId: report.callId });
    if (hits.some((h) => !h.live)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const events = await app.store.calls.listEvents(report.callId);
  const detail = `hits ${JSON.stringify(hits, null, 1)}\nevents ${JSON.stringify(events.map((e) => [e.type, e.data]))}`;
  const byRule = (id: string): QaHit[] => hits.filter((h) => h.ruleId === id);

  assert.is(byRule('never-matches').length, 0, detail);
  for (const h of hits) {
    assert.is(h.flow, 'demo');
    assert.is(h.ruleSet, 'demo-e2e');
  }

  // Missing disclosure: found at the end, spans the first 30 s (or the call).
  const [notice] = byRule('recording-notice');
  assert.ok(notice, detail);
  assert.is(notice!.live, false);
  assert.is(notice!.atMs, 0);
  assert.is(notice!.severity, 'major');
  assert.is(notice!.score, 10);

  // The bot's goodbye: live, on the bot leg, inside that prompt's audio.
  const [goodbye] = byRule('bot-says-goodbye-without-bothering');
  assert.ok(goodbye, detail);
  assert.is(goodbye!.leg, 'bot');
  assert.is(goodbye!.live, true);
  assert.match(goodbye!.text, /不打扰/);
  const starts = eventsOf(events, 'botAudioStart').map((d) => Number(d['atMs']));
  const promptStart = Math.max(...starts.filter((s) => s <= goodbye!.atMs));
  assert.ok(goodbye!.atMs - promptStart < 4000, `the hit is inside the goodbye prompt that started at ${promptStart}: ${detail}`);
  const bots = eventsOf(events, 'bot').map((d) => String(d['text']));
  assert.ok(bots.some((t) => t.includes('不打扰')), detail);

  // The caller's refusal (as the tiny ASR heard it): live, caller leg, inside that utterance.
  const [refusal] = byRule('caller-refuses');
  assert.ok(refusal, detail);
  assert.is(refusal!.leg, 'caller');
  assert.is(refusal!.live, true);
  const finals = eventsOf(events, 'final');
  const heard = finals.find((f) => String(f['text']) === refusal!.text);
  assert.ok(heard, `the hit's text is a final the engine heard: ${detail}`);
  assert.ok(refusal!.atMs >= Number(heard!['speechStartMs']) && refusal!.atMs <= Number(heard!['speechEndMs']), detail);

  // "谁" was never followed by a handoff offer: a sequence hit at the question.
  const [sequence] = byRule('who-then-handoff');
  assert.ok(sequence, detail);
  assert.is(sequence!.leg, 'caller');
  const who = finals.find((f) => String(f['text']).includes('谁'));
  assert.ok(who && sequence!.atMs >= Number(who['speechStartMs']) && sequence!.atMs <= Number(who['speechEndMs']), detail);

  // The barge-in turn: caller and bot spoke at once; the hit points at that overlap, before the barge-in stop.
  const [overlap] = byRule('any-talk-over');
  assert.ok(overlap, detail);
  const bargeIn = eventsOf(events, 'bargeIn')[0];
  assert.ok(bargeIn, detail);
  assert.ok(overlap!.atMs <= Number(bargeIn!['atMs']) && overlap!.endMs! >= Number(bargeIn!['atMs']) - 1, detail);

  // Live hits reached the subscriber during the call, end-of-call ones after it.
  const liveSeen = seen.filter((s) => s.hit.callId === report.callId && s.hit.live);
  assert.ok(liveSeen.length >= 2, detail);
  assert.ok(liveSeen.every((s) => !s.callEnded), 'live hits arrived while the call was running');
  assert.equal(
    seen.filter((s) => s.hit.callId === report.callId).map((s) => s.hit.ruleId).sort(),
    hits.map((h) => h.ruleId).sort(),
    'every stored hit was published',
  );

  // Counted per rule and severity.
  const metrics = await app.metrics.render();
  assert.match(metrics, /callpilot_qa_hits_total\{rule="recording-notice",severity="major"\} 1/);
});

test.run();
