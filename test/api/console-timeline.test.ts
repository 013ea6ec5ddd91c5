import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HttpServer } from '../../src/api/index.ts';
import { WavWriter } from '../../src/media/index.ts';
import type { NewQaHit, Store } from '../../src/store/index.ts';
import { attributes, browserTestFor, chromiumPresent, launchChromium, newPage, signIn } from '../support/browser.ts';
import { issueToken } from '../support/auth.ts';
import { seededStore, startServer } from './fixtures.ts';

// The call page's timeline in a real Chromium: both legs (the greeting and every prompt), the barge-in and the QA hits
// on the recording's time axis, and a click on a hit or a turn plays the recording from there. The QA tab: hits per
// rule, severity and flow over a period, and a hit's link that opens its call and plays from the hit.
const browserTest = browserTestFor('console-timeline.test.ts');

const CALL = 'call-tl';
const RECORDING_S = 20;

let browser: Browser | undefined;
let server: HttpServer;
let url: string;
let store: Store;
let recordings: string;
let auditor: string;

function hit(over: Partial<NewQaHit>): NewQaHit {
  return { callId: CALL, flow: 'collections', ruleSet: 'bank', ruleId: 'threat', ruleType: 'keyword', severity: 'critical', score: 20, leg: 'caller', text: '我要投诉你们', atMs: 9300, endMs: 10100, live: true, at: '2025-05-03T08:00:10.000Z', ...over };
}

test.before(async () => {
  if (!chromiumPresent) return;
  recordings = mkdtempSync(join(tmpdir(), 'callpilot-timeline-'));
  mkdirSync(join(recordings, CALL));
  // A real (silent) 20 s recording, so the player knows its duration and can seek.
  const wav = new WavWriter(join(recordings, CALL, 'mixed.wav'), 8000);
  wav.write(new Int16Array(8000 * RECORDING_S));
  await wav.close();
  store = await seededStore();
  await store.calls.createCall({
    id: CALL,
    pbx: 'asterisk',
    direction: 'outbound',
    to: '13800138000',
    lang: 'zh',
    status: 'ended',
    flow: 'collections',
    variables: {},
    startedAt: '2025-05-03T08:00:00.000Z',
    endedAt: '2025-05-03T08:00:20.000Z',
    disposition: 'promised_to_pay',
    recordingDir: join(recordings, CALL),
  });
  const turns = [
    { seq: 0, callerText: '', inputKind: 'noInput' as const, botText: '您好，这里是某某银行，本次通话可能被录音。', bargeIn: false },
    { seq: 1, callerText: '是我', inputKind: 'speech' as const, botText: '您的账单已逾期，请问什么时候还款？', speechStartMs: 4000, speechEndMs: 4800, latencyMs: 300, bargeIn: false },
    { seq: 2, callerText: '我要投诉你们', inputKind: 'speech' as const, botText: '抱歉给您带来不便。', speechStartMs: 9000, speechEndMs: 10200, latencyMs: 350, bargeIn: true, heardMs: 3200 },
  ];
  for (const t of turns) await store.calls.addTurn({ callId: CALL, ...t, at: '2025-05-03T08:00:10.000Z' });
  const events: [string, Record<string, unknown>][] = [
    ['bot', { text: turns[0]!.botText, atMs: 0, bargeIn: false }],
    ['botAudioStart', { atMs: 120 }],
    ['botAudioEnd', { atMs: 3600 }],
    ['final', { text: '是我', speechStartMs: 4000, speechEndMs: 4800, atMs: 4900, earlyEndpoint: false }],
    ['bot', { text: turns[1]!.botText, atMs: 4950, bargeIn: false }],
    ['botAudioStart', { atMs: 5100.437, latencyMs: 300 }],
    ['bargeIn', { atMs: 8300, heardMs: 3200, stopMs: 40 }],
    ['final', { text: '我要投诉你们', speechStartMs: 9000, speechEndMs: 10200, atMs: 10300, earlyEndpoint: false }],
    ['bot', { text: turns[2]!.botText, atMs: 10400, bargeIn: false }],
    ['botAudioStart', { atMs: 10550, latencyMs: 350 }],
    ['botAudioEnd', { atMs: 12800 }],
  ];
  for (const [type, data] of events) await store.calls.addEvent({ callId: CALL, at: '2025-05-03T08:00:10.000Z', type, data });
  await store.qa.addHits([
    hit({}),
    hit({ ruleId: 'no-recording-notice', ruleType: 'absence', severity: 'major', score: 10, leg: undefined, text: 'missing: 逾期', atMs: 15000, endMs: undefined, live: false }),
    hit({ callId: 'call-1', ruleId: 'threat', text: '我要投诉 138****8000', atMs: 3500, at: '2025-05-01T08:00:05.000Z' }),
    hit({ callId: 'call-2', flow: 'survey', ruleId: 'rude', ruleType: 'pinyin', severity: 'minor', score: 2, text: '烦死了', atMs: 1200, at: '2025-05-01T09:00:05.000Z' }),
    // Outside the period the dashboard is asked for.
    hit({ callId: 'call-2', ruleId: 'rude', severity: 'minor', at: '2025-04-01T09:00:05.000Z' }),
  ]);
  ({ server, url } = await startServer({ store, recordingsDir: recordings }));
  auditor = await issueToken(store, 'auditor');
  browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
});

test.after(async () => {
  if (!chromiumPresent) return;
  await browser?.close();
  await server.close();
  await store.close();
  rmSync(recordings, { recursive: true, force: true });
});

/** Resolves when the mixed player has finished seeking; its position in ms. */
async function playerPositionMs(page: Page): Promise<number> {
  await page.waitForFunction(`(() => { const a = document.querySelector('audio[data-leg="mixed"]'); return a && a.readyState >= 1 && !a.seeking && a.currentTime > 0; })()`, undefined, { timeout: 10000 });
  return page.evaluate(`document.querySelector('audio[data-leg="mixed"]').currentTime * 1000`) as Promise<number>;
}

browserTest('the timeline lays out both legs, the greeting, the barge-in and QA hits on the recording time axis', async () => {
  const { page, errors } = await newPage(browser as Browser);
  try {
    await signIn(page, url, auditor, `/#call=${CALL}`, '#timeline');
    assert.equal(await attributes(page, '#timeline [data-lane="bot"] .tl-item', 'data-at-ms'), ['120', '5100', '10550'], 'prompts start when their audio went on the wire');
    assert.equal(await attributes(page, '#timeline [data-lane="caller"] .tl-item', 'data-at-ms'), ['4000', '9000']);
    assert.equal(await attributes(page, '#timeline [data-lane="marks"] .tl-item', 'data-kind'), ['barge', 'qa', 'qa']);
    assert.equal(await attributes(page, '#timeline [data-lane="marks"] .tl-item', 'data-at-ms'), ['8300', '9300', '15000']);
    // The cut prompt ends at the barge-in: its bar is narrower than the time to the next prompt.
    const [greeting, cut] = await page.locator('#timeline [data-lane="bot"] .tl-item').evaluateAll((nodes) => nodes.map((n) => (n as unknown as { style: { width: string } }).style.width));
    assert.ok(parseFloat(cut!) < parseFloat(greeting!) * 1.1, `cut prompt ${cut} vs greeting ${greeting}`);
    // The transcript carries the greeting as a timed line, every prompt, and the hit on the caller's turn.
    assert.match((await page.textContent('#transcript li.bot[data-seq="0"]')) ?? '', /bot \(greeting\)[\s\S]*本次通话可能被录音/);
    assert.equal(await attributes(page, '#transcript li.bot', 'data-at-ms'), ['120', '5100', '10550']);
    assert.equal(await attributes(page, '#transcript .badge.qa', 'data-at-ms'), ['9300']);
    // Numbers are masked for an auditor in the header and in the events.
    assert.not.match((await page.textContent('#call-detail')) ?? '', /13800138000/);
    assert.equal(errors, []);
  } finally {
    await page.close();
  }
});

browserTest('clicking a QA hit or a turn plays the recording from its time', async () => {
  const { page, errors } = await newPage(browser as Browser);
  try {
    await signIn(page, url, auditor, `/#call=${CALL}`, '#timeline');
    await page.click('#timeline .tl-item.qa[data-at-ms="9300"]');
    const atHit = await playerPositionMs(page);
    // Playing moves on from the hit; a busy machine may let it run a while, never backwards or before it.
    assert.ok(atHit >= 9300 && atHit < 9300 + 3000, `player at ${atHit} ms after clicking the hit at 9300 ms`);

    await page.click('#transcript li.caller[data-seq="1"]');
    await page.waitForFunction(`document.querySelector('audio[data-leg="mixed"]').currentTime < 9`, undefined, { timeout: 10000 });
    const atTurn = await playerPositionMs(page);
    assert.ok(atTurn >= 4000 && atTurn < 4000 + 3000, `player at ${atTurn} ms after clicking the turn at 4000 ms`);

    await page.click('#transcript .badge.qa');
    await page.waitForFunction(`document.querySelector('audio[data-leg="mixed"]').currentTime >= 9.3`, undefined, { timeout: 10000 });
    assert.equal(errors, []);
  } finally {
    await page.close();
  }
});

const cells = async (page: Page, selector: string): Promise<string[][]> =>
  page.locator(`${selector} tbody tr`).evaluateAll((rows) => rows.map((r) => Array.from((r as unknown as { cells: ArrayLike<{ textContent: string }> }).cells).map((c) => c.textContent.trim())));

browserTest('QA tab: hits per rule, severity and flow over a period; a hit opens its call and plays from the hit', async () => {
  const { page, errors } = await newPage(browser as Browser);
  try {
    await signIn(page, url, auditor, '/#qa', '#qa-page:not([hidden])');
    await page.fill('#qa-from', '2025-05-01');
    await page.fill('#qa-to', '2025-05-31');
    await page.click('#qa-filters button[type=submit]');
    await page.waitForFunction(`document.querySelectorAll('#qa-hits tbody tr').length === 4`, undefined, { timeout: 10000 });
    // Newest first: what was just found is on top.
    const hitIds = (await attributes(page, '#qa-hits tbody tr', 'data-hit-id')).map(Number);
    assert.equal(hitIds, [...hitIds].sort((a, b) => b - a));
    assert.not.equal(hitIds, [...hitIds].sort((a, b) => a - b));
    assert.equal(await cells(page, '#qa-by-rule'), [
      ['threat', '2', '2', '40'],
      ['no-recording-notice', '1', '1', '10'],
      ['rude', '1', '1', '2'],
    ]);
    assert.equal((await cells(page, '#qa-by-flow')).map((r) => r.slice(0, 3)), [['collections', '3', '2'], ['survey', '1', '1']]);
    assert.ok((await cells(page, '#qa-by-severity')).some((r) => r[0] === 'critical' && r[1] === '2'));
    // Masked as stored, and the CSV link carries the same period.
    assert.match((await page.textContent('#qa-hits')) ?? '', /138\*\*\*\*8000/);
    assert.match((await page.getAttribute('#qa-csv', 'href')) ?? '', /^\/api\/qa\/hits\.csv\?from=2025-0[45]/);

    // A rule's row narrows the hits to it.
    await page.click('#qa-by-rule tbody tr[data-key="rude"]');
    await page.waitForFunction(`document.querySelectorAll('#qa-hits tbody tr').length === 1`, undefined, { timeout: 10000 });
    assert.is(await page.getAttribute('#qa-hits tbody tr', 'data-call-id'), 'call-2');
    await page.click('#qa-clear');
    await page.waitForFunction(`document.querySelectorAll('#qa-hits tbody tr').length === 4`, undefined, { timeout: 10000 });

    // The hit's link opens the Calls tab on its call and plays the recording from the hit.
    await page.click(`#qa-hits tr[data-call-id="${CALL}"] a.play-hit[data-at-ms="9300"]`);
    await page.waitForSelector('main:not([hidden]) #call-detail[data-call-id="call-tl"]', { timeout: 10000 });
    assert.ok(await page.isHidden('#qa-page'));
    const at = await playerPositionMs(page);
    assert.ok(at >= 9300 && at < 9300 + 3000, `player at ${at} ms after opening the hit at 9300 ms`);
    assert.match(page.url(), /#call=call-tl$/);
    assert.equal(errors, []);
  } finally {
    await page.close();
  }
});

test.run();
