import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import type { CallpilotApp } from '../../src/app.ts';
import type { LiveMessage } from '../../src/calls/index.ts';
import type { NewQaHit } from '../../src/store/index.ts';
import { bearer, issueToken } from '../support/auth.ts';
import { type QaDemoApp, simulateDemoCall, startQaDemoApp } from '../support/qa-demo-app.ts';
import { testLog } from '../support/run-log.ts';
import { patient } from '../support/wait.ts';

/*
 * The live feed on a real call: the whole app answers a simulated phone (espeak caller, Silero VAD, the tiny sherpa
 * model, espeak TTS) on the zh demo flow, and an operator follows /api/live over WebSocket. What arrives is checked
 * for order and content (not wall time): the call's start, the greeting, finals, what the caller heard of the
 * prompt cut by the barge-in, the dialog's intents, a live QA hit right after the final it is about and before the
 * bot answers it, the end-of-call hit before `call.ended`.
 */

const log = testLog();

const RULES = `
qa: live-e2e
flows: [demo]
langs: [zh]
rules:
  - id: caller-refuses
    type: pinyin
    leg: caller
    # The tiny test model sometimes stutters (不需需要): the shorter phrase still finds it.
    phrases: [不需要, 需要]
    severity: minor
  - id: recording-notice
    type: absence
    leg: bot
    phrases: [本次通话可能被录音]
    within_s: 30
    severity: major
`;

let fixture: QaDemoApp;
let app: CallpilotApp;

test.before(async () => {
  fixture = await startQaDemoApp(RULES, { log, record: false, folderPrefix: 'callpilot-live-e2e-' });
  app = fixture.app;
});

test.after(async () => {
  await fixture?.close();
});

type Message = LiveMessage & Record<string, unknown>;

test('an operator following /api/live sees the call as it happens, QA hits included, in order', async () => {
  const operator = await issueToken(app.store, 'operator');
  const ws = new WebSocket(`${app.url.replace(/^http/, 'ws')}/api/live`, { headers: bearer(operator) });
  const messages: Message[] = [];
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Message));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });

  const report = await simulateDemoCall(app, '13800138000');
  const deadline = Date.now() + patient(20_000);
  while (!messages.some((m) => m.type === 'call.ended' && m.callId === report.callId) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  ws.close();

  const ofCall = messages.filter((m) => m.callId === report.callId);
  const types = ofCall.map((m) => m.type);
  const detail = JSON.stringify(ofCall.map((m) => [m.seq, m.type, m['text'] ?? m['intent'] ?? (m['hit'] as NewQaHit | undefined)?.ruleId ?? '']));
  assert.is(messages[0]!.type, 'snapshot');
  assert.is(types[0], 'call.started', detail);
  assert.is(types[types.length - 1], 'call.ended', detail);
  const seqs = ofCall.map((m) => m.seq);
  assert.equal(seqs, [...seqs].sort((a, b) => a - b), 'seq increases');

  // Numbers are masked for an operator: the caller id 13800138000 never appears.
  assert.is((ofCall[0]!['call'] as { from: string }).from, '138****8000', detail);
  assert.not.match(JSON.stringify(messages), /13800138000/);

  // Both legs: the greeting as spoken (with its latency-free start), finals of the caller, every prompt.
  const bots = ofCall.filter((m) => m.type === 'bot');
  const spoken = ofCall.filter((m) => m.type === 'bot.spoken');
  assert.ok(bots.length >= 3, detail);
  assert.is(spoken[0]!['text'], bots[0]!['text'], 'the greeting is on the feed as spoken');
  assert.ok(spoken.slice(1).some((m) => typeof m['latencyMs'] === 'number'), `answers carry their latency: ${detail}`);
  const finals = ofCall.filter((m) => m.type === 'final');
  assert.ok(finals.length >= 2, detail);
  assert.ok(ofCall.some((m) => m.type === 'partial'), 'partials are streamed');

  // The barge-in: what the caller heard of the cut prompt is a proper beginning of it.
  const cut = ofCall.find((m) => m.type === 'bot.heard' && m['cut'] === true);
  assert.ok(cut, `a prompt cut by the barge-in: ${detail}`);
  const cutText = String(cut!['text']);
  const heardText = String(cut!['heardText']);
  assert.ok(heardText.length < [...cutText].length && cutText.startsWith(heardText), `${heardText} / ${cutText}`);

  // The dialog's reading of each answer.
  const understood = ofCall.filter((m) => m.type === 'understood');
  assert.ok(understood.length >= 2, detail);
  assert.ok(understood.some((m) => typeof m['intent'] === 'string'), detail);

  // The live QA hit comes right after the final it is about, before the bot answers it and before the end.
  const liveHitIndex = ofCall.findIndex((m) => m.type === 'qa.hit' && (m['hit'] as NewQaHit).ruleId === 'caller-refuses');
  assert.ok(liveHitIndex > 0, detail);
  const hit = ofCall[liveHitIndex]!['hit'] as NewQaHit;
  assert.is(hit.live, true);
  const before = ofCall.slice(0, liveHitIndex).filter((m) => m.type === 'final');
  assert.is(before[before.length - 1]!['text'], hit.text, detail);
  const nextBot = ofCall.findIndex((m, i) => i > liveHitIndex && m.type === 'bot');
  const lastFinalIndex = ofCall.lastIndexOf(before[before.length - 1]!);
  assert.ok(nextBot === -1 || nextBot > liveHitIndex, detail);
  assert.ok(ofCall.slice(lastFinalIndex + 1, liveHitIndex).every((m) => m.type !== 'bot'), `nothing of the bot between the final and its hit: ${detail}`);

  // The end-of-call rule (a missing disclosure) is on the feed before the call's end.
  const endHit = ofCall.findIndex((m) => m.type === 'qa.hit' && (m['hit'] as NewQaHit).ruleId === 'recording-notice');
  assert.ok(endHit > liveHitIndex && endHit < ofCall.length - 1, detail);
  assert.is((ofCall[endHit]!['hit'] as NewQaHit).live, false);
});

test.run();
