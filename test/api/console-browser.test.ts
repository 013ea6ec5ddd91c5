import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { RawData, WebSocket } from 'ws';
import type { HttpServer } from '../../src/api/index.ts';
import type { WebSocketRoute } from '../../src/media/index.ts';
import type { Store } from '../../src/store/index.ts';
import { issueToken } from '../support/auth.ts';
import { attributes, browserTestFor, chromiumPresent, launchChromium, signIn } from '../support/browser.ts';
import { seededStore, startServer } from './fixtures.ts';
import { patient } from '../support/wait.ts';

const browserTest = browserTestFor('console-browser.test.ts');

/** Stands in for callpilot's /media route: records what the browser sends, answers like the real one. */
class FakeMediaRoute implements WebSocketRoute {
  readonly path = '/media';
  readonly roles = ['admin', 'operator', 'pbx'];
  readonly textMessages: unknown[] = [];
  readonly frameSizes: number[] = [];
  /** Loudest sample seen in the browser's frames: proves real audio, not zeros, is being captured. */
  peak = 0;
  protocol: string | undefined;
  private socket: WebSocket | undefined;

  handle(ws: WebSocket): void {
    this.socket = ws;
    this.protocol = ws.protocol;
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (isBinary) {
        const frame = data as Buffer;
        this.frameSizes.push(frame.length);
        for (let i = 0; i + 1 < frame.length; i += 2) this.peak = Math.max(this.peak, Math.abs(frame.readInt16LE(i)));
        return;
      }
      const message = JSON.parse(data.toString()) as { event: string };
      this.textMessages.push(message);
      if (message.event === 'start') {
        ws.send(JSON.stringify({ event: 'started', callId: 'browser-call' }));
        // 100 ms of a quiet 440 Hz tone as bot audio, then the console notices.
        const tone = Buffer.alloc(640);
        for (let frame = 0; frame < 5; frame++) {
          for (let i = 0; i < 320; i++) tone.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 440 * (frame * 320 + i)) / 16000)), i * 2);
          ws.send(tone, { binary: true });
        }
        ws.send(JSON.stringify({ event: 'transcript', text: '我想查一下账单', final: true }));
        ws.send(JSON.stringify({ event: 'bot', text: '好的，请稍等' }));
      }
    });
  }

  close(): void {
    this.socket?.terminate();
  }
}

let browser: Browser | undefined;
let server: HttpServer;
let url: string;
let store: Store;
let recordings: string;
let token: string;
const media = new FakeMediaRoute();

test.before(async () => {
  if (!chromiumPresent) return;
  recordings = mkdtempSync(join(tmpdir(), 'callpilot-console-'));
  mkdirSync(join(recordings, 'call-1'));
  writeFileSync(join(recordings, 'call-1', 'mixed.wav'), Buffer.alloc(44));
  store = await seededStore(join(recordings, 'call-1'));
  ({ server, url, token } = await startServer({ store, recordingsDir: recordings, webSocketRoutes: [media] }));
  browser = await launchChromium([
    '--disable-sync',
    '--disable-quic',
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
  ]);
});

test.after(async () => {
  if (!chromiumPresent) return;
  await browser?.close();
  media.close();
  await server.close();
  await store.close();
  rmSync(recordings, { recursive: true, force: true });
});

browserTest('console lists the stored calls and shows a transcript with latencies, barge-ins and recordings', async () => {
  const page = await (browser as Browser).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  try {
    await signIn(page, url, token);
    await page.waitForSelector('#calls tbody tr[data-call-id="call-1"]', { timeout: 10000 });
    const ids = await attributes(page, '#calls tbody tr', 'data-call-id');
    assert.equal(ids, ['call-3', 'call-2', 'call-1']);
    assert.match((await page.textContent('#calls tbody tr[data-call-id="call-1"]')) ?? '', /promised_to_pay/);

    await page.click('#calls tbody tr[data-call-id="call-1"]');
    await page.waitForSelector('#transcript li.bot', { timeout: 10000 });
    const transcript = (await page.textContent('#transcript')) ?? '';
    assert.match(transcript, /是我，什么事/);
    assert.match(transcript, /您的账单已逾期/);
    assert.match(transcript, /明天还/);
    const latencies = await page.locator('#transcript .latency').allTextContents();
    assert.equal(latencies, ['287 ms', '412 ms']);
    assert.ok(await page.$('#transcript .latency.slow'), 'a turn over 350 ms is flagged');
    assert.match((await page.textContent('#transcript .barge')) ?? '', /barge-in after 1500 ms/);
    const players = await attributes(page, '#call-detail audio', 'src');
    assert.ok(players.includes('/api/calls/call-1/recordings/mixed'));
    assert.match(page.url(), /#call=call-1$/);

    // A call without recordings says so.
    await page.click('#calls tbody tr[data-call-id="call-2"]');
    await page.waitForFunction(`document.querySelector('#call-detail')?.getAttribute('data-call-id') === 'call-2'`);
    assert.match((await page.textContent('#call-detail')) ?? '', /No recordings/);

    // The filter asks the API for active calls only.
    await page.selectOption('#status-filter', 'active');
    await page.waitForFunction(`document.querySelectorAll('#calls tbody tr').length === 1`);
    assert.is(await page.getAttribute('#calls tbody tr', 'data-call-id'), 'call-3');
    assert.equal(pageErrors, []);
  } finally {
    await page.close();
  }
});

browserTest('Talk to the bot: fake mic, start message, 640-byte L16 frames, notices shown', async () => {
  const page = await (browser as Browser).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  try {
    await signIn(page, url, token);
    await page.click('#talk');
    await page.waitForFunction(`(document.querySelector('#talk-status')?.textContent ?? '').includes('browser-call')`, undefined, {
      timeout: 10000,
    });
    assert.equal(media.textMessages[0], { event: 'start', codec: 'l16', sampleRate: 16000, lang: 'zh' });
    assert.is(media.protocol, 'callpilot-media');
    await page.waitForSelector('#talk-transcript li.bot', { timeout: 10000 });
    assert.match((await page.textContent('#talk-transcript')) ?? '', /我想查一下账单[\s\S]*好的，请稍等/);
    // Chromium's fake microphone plays a beep; after a second some dozens of frames must have arrived.
    const deadline = Date.now() + patient(10000);
    while ((media.frameSizes.length < 10 || media.peak < 1000) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(media.frameSizes.length >= 10, `got ${media.frameSizes.length} frames`);
    assert.ok(media.frameSizes.every((size) => size === 640), 'every frame is 20 ms of 16 kHz L16');
    assert.ok(media.peak >= 1000, `fake microphone beep reaches the server (peak ${media.peak})`);

    await page.click('#talk'); // hang up
    await page.waitForFunction(`document.querySelector('#talk-status')?.textContent === 'hung up'`);
    const deadlineHangup = Date.now() + patient(5000);
    while (!media.textMessages.some((m) => (m as { event: string }).event === 'hangup') && Date.now() < deadlineHangup) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(media.textMessages.some((m) => (m as { event: string }).event === 'hangup'), 'hangup sent');
    assert.equal(pageErrors, []);
  } finally {
    await page.close();
  }
});

browserTest('behind login: masked numbers for an operator, an audited reveal for an admin, sign-out', async () => {
  const page = await (browser as Browser).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  try {
    // Without a session the console sends the browser to the login page; a bad token is refused there.
    await page.goto(`${url}/#call=call-1`);
    await page.waitForSelector('#login #token', { timeout: 10000 });
    await page.fill('#token', 'cpt_not-a-token');
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#login-error:not([hidden])', { timeout: 10000 });
    assert.match((await page.textContent('#login-error')) ?? '', /Sign-in failed/);

    const operator = await issueToken(store, 'operator', { name: 'desk-7' });
    await page.fill('#token', operator);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#calls tbody tr[data-call-id="call-1"]', { timeout: 10000 });
    // The session cookie is HttpOnly: page scripts cannot read it.
    assert.is(await page.evaluate('document.cookie'), '');
    assert.match((await page.textContent('#user')) ?? '', /desk-7 \(operator\)/);
    const listText = (await page.textContent('#calls')) ?? '';
    assert.match(listText, /138\*{4}8000/);
    assert.not.match(listText, /13800138000/);
    await page.waitForFunction(`document.querySelector('#call-detail')?.getAttribute('data-call-id') === 'call-1'`);
    assert.match((await page.textContent('#call-detail')) ?? '', /masked for your role/);
    assert.is(await page.$('#unmask'), null);

    await page.click('#logout');
    await page.waitForSelector('#login #token', { timeout: 10000 });
    const after = await page.evaluate(`fetch('/api/calls').then((r) => r.status)`);
    assert.is(after, 401);

    await page.fill('#token', token);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#calls tbody tr[data-call-id="call-1"]', { timeout: 10000 });
    await page.click('#calls tbody tr[data-call-id="call-1"]');
    await page.waitForSelector('#unmask', { timeout: 10000 });
    const auditBefore = (await store.audit.list({ limit: 1000 })).length;
    await page.click('#unmask');
    await page.waitForFunction(`document.querySelector('#call-detail')?.dataset.masked === 'false'`, undefined, { timeout: 10000 });
    assert.match((await page.textContent('#call-detail')) ?? '', /13800138000/);
    const audited = await store.audit.list({ after: auditBefore, limit: 100 });
    assert.ok(audited.some((e) => e.action === 'call.unmasked' && e.target === 'call-1' && e.actor === 'test-admin'), JSON.stringify(audited));
    assert.equal(pageErrors, []);
  } finally {
    await page.close();
  }
});

browserTest('a turn that continues an earlier one (the caller went on after a pause) is marked, in English and Chinese', async () => {
  await store.calls.createCall({ id: 'call-4', pbx: 'asterisk', direction: 'outbound', lang: 'zh', status: 'ended', flow: 'collections', variables: {}, to: '13700137000', startedAt: '2025-05-01T07:00:00.000Z', endedAt: '2025-05-01T07:00:40.000Z', disposition: 'refused' });
  await store.calls.addTurn({ callId: 'call-4', seq: 1, callerText: '是的', inputKind: 'speech', botText: '好的，我们本周有一个新的服务……', latencyMs: 300, bargeIn: false, at: '2025-05-01T07:00:10.000Z' });
  await store.calls.addTurn({ callId: 'call-4', seq: 2, callerText: '哦不对，没有了', inputKind: 'speech', botText: '好的，不打扰您了，再见。', latencyMs: 320, bargeIn: true, heardMs: 240, continuesSeq: 1, at: '2025-05-01T07:00:13.000Z' });
  const page = await (browser as Browser).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  try {
    await signIn(page, url, token);
    await page.waitForSelector('#calls tbody tr[data-call-id="call-4"]', { timeout: 10000 });
    await page.click('#calls tbody tr[data-call-id="call-4"]');
    await page.waitForSelector('#transcript li.bot', { timeout: 10000 });
    const badges = await page.locator('#transcript .continued').allTextContents();
    assert.equal(badges, ['continues turn 1']);
    const marked = await page.locator('#transcript li.caller:has(.continued)').textContent();
    assert.match(marked ?? '', /哦不对，没有了/);
    await page.evaluate(`localStorage.setItem('callpilot.lang', 'zh')`);
    await page.reload();
    await page.waitForSelector('#transcript .continued', { timeout: 10000 });
    assert.equal(await page.locator('#transcript .continued').allTextContents(), ['接上第 1 轮']);
    assert.equal(pageErrors, []);
  } finally {
    await page.close();
  }
});

browserTest('a turn whose speech the recognizer made nothing of reads as not recognized, in English and Chinese', async () => {
  await store.calls.createCall({ id: 'call-5', pbx: 'asterisk', direction: 'outbound', lang: 'zh', status: 'ended', flow: 'collections', variables: {}, to: '13700137001', startedAt: '2025-05-01T07:10:00.000Z', endedAt: '2025-05-01T07:10:40.000Z', disposition: 'transferred' });
  await store.calls.addTurn({ callId: 'call-5', seq: 1, callerText: '', inputKind: 'speech', botText: '不好意思，我没有听清楚。', latencyMs: 310, bargeIn: false, at: '2025-05-01T07:10:10.000Z' });
  const page = await (browser as Browser).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  try {
    await signIn(page, url, token);
    await page.waitForSelector('#calls tbody tr[data-call-id="call-5"]', { timeout: 10000 });
    await page.click('#calls tbody tr[data-call-id="call-5"]');
    await page.waitForSelector('#transcript li.bot', { timeout: 10000 });
    assert.equal(await page.locator('#transcript li.caller .who').allTextContents(), ['caller (not recognized)']);
    await page.evaluate(`localStorage.setItem('callpilot.lang', 'zh')`);
    await page.reload();
    await page.waitForSelector('#transcript li.caller', { timeout: 10000 });
    assert.equal(await page.locator('#transcript li.caller .who').allTextContents(), ['客户（未识别）']);
    assert.equal(pageErrors, []);
  } finally {
    await page.close();
  }
});

test.run();
