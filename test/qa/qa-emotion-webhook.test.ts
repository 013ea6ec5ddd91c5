import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../src/campaign/index.ts';
import type { LiveCallEvent } from '../../src/dialog/index.ts';
import { MediaWebSocketClient } from '../../src/media/index.ts';
import { bearer } from '../support/auth.ts';
import { until } from '../support/e2e.ts';
import { startScriptedApp } from '../calls/scripted-app.ts';

/*
 * The caller's emotion through the real app: flows, NLU and the QA monitor run as in production around scripted
 * transcripts (the ASR seam; the tiny test model knows no angry words). Each turn is stored with what the dialog
 * understood, the emotion rules fire live, and hits of the configured severity reach the CRM endpoint signed, through
 * the campaign webhook outbox.
 */

const SECRET = 'qa-webhook-secret-0123456789';
const RULES = `
qa: emotion-e2e
rules:
  - id: angry-caller
    type: emotion
    emotions: [angry]
    severity: major
    score: 5
  - id: unhappy-call
    type: sentiment
    below: -0.2
    min_turns: 2
    severity: critical
    score: 10
  - id: said-yes
    type: keyword
    leg: caller
    phrases: [是的]
    severity: minor
`;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

test('turns carry intent, confidence, slots and emotion; emotion and sentiment hits fire and reach the CRM webhook signed', async () => {
  const received: Received[] = [];
  const crm = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => crm.listen(0, '127.0.0.1', r));
  const rulesDir = mkdtempSync(join(tmpdir(), 'callpilot-qa-emotion-'));
  writeFileSync(join(rulesDir, 'emotion.yaml'), RULES);
  const s = await startScriptedApp({}, {
    sections: {
      qa: { rulesDir, webhookUrl: `http://127.0.0.1:${(crm.address() as AddressInfo).port}/qa`, webhookSecret: SECRET, webhookMinSeverity: 'major' },
      campaigns: { webhookPollMs: 50 },
    },
  });
  try {
    const live: LiveCallEvent[] = [];
    s.app.engine.onLiveEvent((e) => live.push(e));
    const client = new MediaWebSocketClient();
    const callId = await client.connect(s.wsUrl, { codec: 'pcmu', sampleRate: 8000, lang: 'zh', flow: 'demo' }, { token: s.token });
    const speech = s.speech.speechOf(callId);
    const say = async (text: string): Promise<void> => {
      const frames = () => speech.nowMs;
      const before = frames();
      // Bot prompts play on the leg; the caller answers after the audio clock moved on.
      await until(() => frames() > before, 'audio flows', 5000);
      const at = speech.startSpeech();
      client.sendFrame(new Int16Array(160));
      speech.endSpeech(text, at);
    };
    client.sendFrame(new Int16Array(160));
    await until(() => live.some((e) => e.kind === 'timeline' && e.callId === callId && e.event.type === 'botAudioStart'), 'greeting plays', 5000);
    await say('是的，我有3分钟');
    await until(() => live.filter((e) => e.kind === 'timeline' && e.event.type === 'understood').length === 1, 'first turn understood', 5000);
    await say('烦死了，什么玩意！！');
    await new Promise((r) => client.once('close', () => r(undefined)));

    // The stored turns, through the API: what the dialog understood of each.
    await until(async () => (await s.app.store.qa.listHits({ callId })).some((h) => !h.live), 'end-of-call QA', 10_000);
    const res = await fetch(`${s.app.url}/api/calls/${callId}`, { headers: bearer(s.token) });
    assert.is(res.status, 200);
    const detail = (await res.json()) as { turns: any[]; qaHits: any[] };
    const [yes, angry] = detail.turns.filter((t) => t.inputKind === 'speech');
    assert.ok(yes && angry, JSON.stringify(detail.turns));
    assert.is(yes.intent, 'yes');
    assert.ok(yes.confidence > 0.5 && yes.confidence <= 1, `confidence ${yes.confidence}`);
    assert.is(yes.slots.number, '3');
    assert.is(yes.emotion.label, 'neutral');
    assert.is(angry.emotion.label, 'angry');
    assert.ok(angry.emotion.score >= 0.6);
    assert.equal(angry.qaHits.map((h: any) => h.ruleId), ['angry-caller', 'unhappy-call'], 'the emotion hit and the sentiment hit that points at it are on its turn');
    assert.equal(yes.qaHits.map((h: any) => h.ruleId), ['said-yes']);
    const byRule = (id: string): any[] => detail.qaHits.filter((h) => h.ruleId === id);
    assert.is(byRule('angry-caller')[0].live, true);
    assert.is(byRule('angry-caller')[0].atMs, angry.speechStartMs, 'at the angry utterance in the recording');
    // (0 + -score) / 2 < -0.2: the whole-call sentiment rule, at the angry utterance.
    assert.is(byRule('unhappy-call').length, 1);
    assert.is(byRule('unhappy-call')[0].live, false);
    assert.is(byRule('unhappy-call')[0].atMs, angry.speechStartMs);

    // The live feed saw what the dialog understood.
    const understood = live.filter((e) => e.kind === 'timeline' && e.callId === callId && e.event.type === 'understood');
    assert.is(understood.length, 2);

    // major and critical hits went to the CRM, signed; the minor keyword hit did not.
    await until(() => received.length >= 2, 'webhooks delivered', 10_000);
    const bodies = received.map((r) => JSON.parse(r.body) as Record<string, any>);
    assert.equal(bodies.map((b) => b.ruleId).sort(), ['angry-caller', 'unhappy-call']);
    for (const r of received) {
      assert.is(r.headers['x-callpilot-event'], 'qa.hit');
      assert.ok(verifyWebhookSignature(SECRET, r.headers[SIGNATURE_HEADER] as string, r.body, Math.floor(Date.now() / 1000)), 'signed with qa.webhookSecret');
      assert.ok(r.headers['idempotency-key'], 'an idempotency key');
    }
    const hit = bodies.find((b) => b.ruleId === 'angry-caller')!;
    assert.is(hit.callId, callId);
    assert.is(hit.severity, 'major');
    assert.is(hit.detail.emotion, 'angry');
  } finally {
    await s.dispose();
    crm.close();
    rmSync(rulesDir, { recursive: true, force: true });
  }
});

test.run();
