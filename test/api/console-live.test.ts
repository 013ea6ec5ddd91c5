import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HttpServer } from '../../src/api/index.ts';
import { AuditLog } from '../../src/auth/index.ts';
import { createListenRoute, LiveFeed } from '../../src/calls/index.ts';
import { newCallId } from '../../src/core/index.ts';
import type { Store } from '../../src/store/index.ts';
import { issueToken } from '../support/auth.ts';
import { attributes, browserTestFor, chromiumPresent, launchChromium, newPage, signIn } from '../support/browser.ts';
import { seededStore, silentLog, startServer } from './fixtures.ts';
import { patient } from '../support/wait.ts';

// The operator console in a real Chromium: search and filters on the call list, and the live transcript of a
// running call fed by the live feed (structure, not pixels).
const browserTest = browserTestFor('console-live.test.ts');

let browser: Browser | undefined;
let server: HttpServer;
let url: string;
let store: Store;
let live: LiveFeed;
let operator: string;
let auditor: string;

/** Stands in for the engine's recording taps: 20 ms frames of 8 kHz audio every 20 ms until the tap is stopped. */
const taps = {
  tapped: [] as string[],
  stopped: 0,
  tapAudio(callId: string, listener: (caller: Int16Array, bot: Int16Array, mixed: Int16Array) => void) {
    taps.tapped.push(callId);
    const frame = Int16Array.from({ length: 160 }, (_, i) => Math.round(3000 * Math.sin(i / 3)));
    const timer = setInterval(() => listener(frame, frame, frame), 20);
    return {
      sampleRate: 8000,
      stop: () => {
        clearInterval(timer);
        taps.stopped++;
      },
    };
  },
};

const rowIds = (page: Page): Promise<(string | null)[]> => attributes(page, '#calls tbody tr', 'data-call-id');

test.before(async () => {
  if (!chromiumPresent) return;
  store = await seededStore();
  live = new LiveFeed({ log: silentLog });
  const listen = createListenRoute({ taps: () => taps, audit: new AuditLog(store.audit), log: silentLog });
  ({ server, url } = await startServer({ store, live, webSocketRoutes: [listen] }));
  operator = await issueToken(store, 'operator');
  auditor = await issueToken(store, 'auditor');
  browser = await launchChromium();
});

test.after(async () => {
  if (!chromiumPresent) return;
  await browser?.close();
  await server.close();
  await store.close();
});

browserTest('search: a number suffix and filters narrow the call list; a new search starts at the newest page', async () => {
  const page = await (browser as Browser).newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await signIn(page, url, operator);
  await page.waitForSelector('#calls tbody tr[data-call-id="call-1"]');
  assert.equal(await rowIds(page), ['call-3', 'call-2', 'call-1']);
  await page.fill('#filter-number', '9000');
  await page.click('#call-filters button[type=submit]');
  await page.waitForFunction(`document.querySelectorAll('#calls tbody tr').length === 1`);
  assert.equal(await rowIds(page), ['call-2']);
  assert.match((await page.textContent('#calls tbody tr')) ?? '', /139\*\*\*\*9000/);
  await page.fill('#filter-number', '');
  await page.selectOption('#filter-direction', 'inbound');
  await page.click('#call-filters button[type=submit]');
  await page.waitForFunction(`document.querySelector('#calls tbody tr')?.getAttribute('data-call-id') === 'call-3'`);
  assert.equal(await rowIds(page), ['call-3']);
  assert.ok(await page.isDisabled('#page-next'), 'one page only');
  assert.equal(errors, []);
  await page.close();
});

browserTest('live transcript: the selected running call shows finals, prompts with latency, what a barge-in cut and QA hits as they happen', async () => {
  const callId = newCallId();
  await store.calls.createCall({ id: callId, pbx: 'asterisk', direction: 'outbound', to: '13800138000', flow: 'collections', lang: 'zh', status: 'active', startedAt: new Date().toISOString(), variables: {} });
  live.callStarted({ callId, flow: 'collections', lang: 'zh', direction: 'outbound', pbx: 'asterisk', to: '13800138000' });
  live.event(callId, { type: 'bot', text: '您好，这里是某某银行，请问是张三先生吗？', atMs: 0, bargeIn: true });
  live.event(callId, { type: 'botAudioStart', atMs: 100 });

  const page = await (browser as Browser).newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await signIn(page, url, operator);
  await page.click(`#calls tbody tr[data-call-id="${callId}"]`);
  // What happened before the page opened comes from the feed's backlog: the greeting.
  await page.waitForSelector('#live-transcript li.live-bot');
  assert.match((await page.textContent('#live-status')) ?? '', /live/);

  live.event(callId, { type: 'bargeIn', atMs: 1720, heardMs: 1600, stopMs: 40, promptMs: 3200 });
  live.event(callId, { type: 'partial', text: '是我', atMs: 1900 });
  await page.waitForFunction(`document.querySelector('#live-partial')?.textContent === '是我'`);
  live.event(callId, { type: 'final', text: '是我，我的电话是13800138000', speechStartMs: 1500, speechEndMs: 2600, atMs: 3000, earlyEndpoint: false });
  live.event(callId, { type: 'understood', atMs: 3010, seq: 1, intent: 'yes', confidence: 0.9, slots: {} });
  live.followQa({ onHit: (listener) => (listener({ callId, ruleSet: 'bank', ruleId: 'caller-number', ruleType: 'regex', severity: 'minor', score: 1, leg: 'caller', text: '我的电话', atMs: 2000, live: true, at: new Date().toISOString() }), () => undefined) });
  live.event(callId, { type: 'bot', text: '好的，再见。', atMs: 3050, bargeIn: true });
  live.event(callId, { type: 'botAudioStart', atMs: 3300, latencyMs: 310 });
  await page.waitForFunction(`document.querySelectorAll('#live-transcript li').length >= 4`);

  const items = page.locator('#live-transcript li');
  const texts: string[] = [];
  for (let i = 0; i < (await items.count()); i++) texts.push(((await items.nth(i).textContent()) ?? '').replace(/\s+/g, ' '));
  assert.is(texts.length, 4, texts.join(' | '));
  assert.match(texts[0]!, /^bot您好，这里是某某银行，请问是张三先生吗？heard: 您好，这里是某某银行$/);
  assert.match(texts[1]!, /^caller是我，我的电话是138\*\*\*\*8000yes 90%$/);
  assert.match(texts[2]!, /^QA minorcaller-number: 我的电话$/);
  assert.match(texts[3]!, /^bot好的，再见。310 ms$/);
  assert.ok(await page.locator('#live-transcript li.live-bot.cut').count() === 1, 'the cut greeting is marked');
  assert.not.match(texts.join(''), /13800138000/);

  await live.callEnded(callId, { disposition: 'confirmed', endedBy: 'bot' });
  await page.waitForFunction(`document.querySelector('#live-status')?.textContent === 'ended: confirmed'`);
  assert.equal(errors, []);
  await page.close();
});

browserTest('listen-in: an operator hears a running call from the call page (audited); an auditor has no button', async () => {
  const callId = newCallId();
  await store.calls.createCall({ id: callId, pbx: 'freeswitch', direction: 'inbound', from: '13900139000', lang: 'zh', status: 'active', startedAt: new Date().toISOString(), variables: {} });
  const { page, errors } = await newPage(browser as Browser);
  try {
    await signIn(page, url, operator, `/#call=${callId}`, '#listen');
    assert.is(await page.textContent('#listen'), '🎧 Listen in');
    await page.click('#listen');
    await page.waitForFunction(`Number(document.querySelector('#listen-status')?.dataset.frames) >= 10`, undefined, { timeout: 10000 });
    assert.is(await page.textContent('#listen-status'), 'listening (8 kHz)');
    assert.equal(taps.tapped, [callId]);
    const audits = await store.audit.list({ limit: 20 });
    assert.ok(audits.some((a) => a.action === 'call.listen' && a.target === callId), 'the listen is audited');
    await page.click('#listen');
    await page.waitForFunction(`document.querySelector('#listen-status')?.textContent === 'stopped'`, undefined, { timeout: 10000 });
    const deadline = Date.now() + patient(5000);
    while (taps.stopped === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.is(taps.stopped, 1, 'closing the socket stops the tap');
    assert.equal(errors, []);
  } finally {
    await page.close();
  }
  const { page: auditorPage } = await newPage(browser as Browser);
  try {
    await signIn(auditorPage, url, auditor, `/#call=${callId}`, `#call-detail[data-call-id="${callId}"]`);
    assert.is(await auditorPage.locator('#listen').count(), 0, 'no listen button for an auditor');
    assert.not.match((await auditorPage.textContent('#call-detail')) ?? '', /13900139000/);
  } finally {
    await auditorPage.close();
  }
});

test.run();
