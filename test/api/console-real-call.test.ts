import type { Browser } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CallpilotApp } from '../../src/app.ts';
import type { QaHit } from '../../src/store/index.ts';
import { issueToken } from '../support/auth.ts';
import { attributes, browserTestFor, chromiumPresent, launchChromium, newPage, signIn } from '../support/browser.ts';
import { type QaDemoApp, simulateDemoCall, startQaDemoApp } from '../support/qa-demo-app.ts';
import { testLog } from '../support/run-log.ts';
import { patient } from '../support/wait.ts';

// The call page's timeline on a real call: the whole app answers a simulated phone (espeak caller, real VAD and ASR
// on the tiny model, espeak bot) on the zh demo flow with a QA rule; the console must lay out what the engine stored
// (every prompt from the greeting on, every final, the hit) and play the recording from the hit.
const browserTest = browserTestFor('console-real-call.test.ts');
const log = testLog();

const RULES = `
qa: console-e2e
flows: [demo]
langs: [zh]
rules:
  - id: caller-refuses
    type: pinyin
    leg: caller
    phrases: [不需要, 需要]
    severity: minor
`;

let fixture: QaDemoApp | undefined;
let app: CallpilotApp;
let browser: Browser | undefined;

test.before(async () => {
  if (!chromiumPresent) return;
  fixture = await startQaDemoApp(RULES, { log, record: true, folderPrefix: 'callpilot-console-e2e-' });
  app = fixture.app;
  browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
});

test.after(async () => {
  await browser?.close();
  await fixture?.close();
});

browserTest('a real call: greeting, every prompt and final, and the QA hit on the timeline; clicking the hit plays from it', async () => {
  const report = await simulateDemoCall(app, 'console-e2e');
  const deadline = Date.now() + patient(15_000);
  let hits: QaHit[] = [];
  while (Date.now() < deadline && (hits.length === 0 || (await app.store.calls.getCall(report.callId))?.status !== 'ended')) {
    hits = await app.store.qa.listHits({ callId: report.callId });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const events = await app.store.calls.listEvents(report.callId);
  const detail = JSON.stringify(events.map((e) => [e.type, e.data]));
  const starts = events.filter((e) => e.type === 'botAudioStart').map((e) => Math.round(Number(e.data['atMs'])));
  const finals = events.filter((e) => e.type === 'final').map((e) => Math.round(Number(e.data['speechStartMs'])));
  const hit = hits.find((h) => h.ruleId === 'caller-refuses');
  assert.ok(hit, `the refusal is a QA hit: ${detail}`);

  const { page, errors } = await newPage(browser as Browser);
  try {
    await signIn(page, app.url, await issueToken(app.store, 'operator'), `/#call=${report.callId}`, '#timeline .tl-item');
    // Every prompt that went on the wire, from the greeting on, at its first frame; every final at its speech start.
    assert.equal((await attributes(page, '#timeline [data-lane="bot"] .tl-item', 'data-at-ms')).map(Number), starts, detail);
    assert.ok(starts.length >= 2 && starts[0]! < 1000, `the greeting opens the call: ${detail}`);
    assert.equal((await attributes(page, '#timeline [data-lane="caller"] .tl-item', 'data-at-ms')).map(Number), finals, detail);
    // The transcript tells the same: the greeting first (it is no turn of its own), then every prompt and final.
    assert.match((await page.textContent('#transcript li.bot:first-child')) ?? '', /bot \(greeting\)/);
    assert.equal((await attributes(page, '#transcript li.bot', 'data-at-ms')).map(Number), starts);
    assert.equal((await attributes(page, '#transcript li.caller', 'data-at-ms')).map(Number), finals);
    const at = Math.round(hit!.atMs);
    await page.click(`#timeline .tl-item.qa[data-at-ms="${at}"]`);
    await page.waitForFunction(`(() => { const a = document.querySelector('audio[data-leg="mixed"]'); return a && a.readyState >= 1 && !a.seeking && a.currentTime > 0; })()`, undefined, { timeout: 10000 });
    const position = (await page.evaluate(`document.querySelector('audio[data-leg="mixed"]').currentTime * 1000`)) as number;
    assert.ok(position >= at - 1 && position < at + 3000, `player at ${position} ms after clicking the hit at ${at} ms`);
    assert.equal(errors, []);
  } finally {
    await page.close();
  }
});

test.run();
