import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HttpServer, PbxStatusView } from '../../src/api/index.ts';
import { AuditLog } from '../../src/auth/index.ts';
import { BUILTIN_PROFILES, CampaignService, systemClock } from '../../src/campaign/index.ts';
import { createListenRoute, LiveFeed } from '../../src/calls/index.ts';
import { describeFlow, loadFlowFile, type FlowView } from '../../src/dialog/index.ts';
import type { Store } from '../../src/store/index.ts';
import { issueToken } from '../support/auth.ts';
import { browserTestFor, chromiumPresent, launchChromium, newPage, signIn } from '../support/browser.ts';
import { seededStore, silentLog, startServer } from './fixtures.ts';

// The console in Chinese: after switching the UI language to zh, no tab (calls, a call page with its timeline, the live
// transcript, campaigns, QA, flows) may show an English UI string. Checked on what a user sees or hears from a screen
// reader: visible text nodes and the title, placeholder and aria-label attributes.
const browserTest = browserTestFor('console-i18n.test.ts');

/** Terms a Chinese bank's operator reads as they are: products, protocols, formats, units. */
const LEGITIMATE_TERMS = ['ASR', 'PBX', 'FreeSWITCH', 'Asterisk', 'CSV', 'English', 'callpilot', 'Webhook', 'PJSIP', 'trunk', 'cps', 'Cookie'];

let browser: Browser | undefined;
let server: HttpServer;
let url: string;
let store: Store;
let live: LiveFeed;
let operator: string;
let flows: FlowView[];
/** Identifiers the test's own data puts on screen (flow, step, rule and campaign ids, dispositions, token names). */
const dataTerms = new Set<string>();
const pbx: PbxStatusView[] = [
  { kind: 'asterisk', connected: true },
  { kind: 'freeswitch', connected: false },
];

test.before(async () => {
  if (!chromiumPresent) return;
  flows = ['order_confirmation.zh.yaml'].map((file) => {
    const { flow, problems } = loadFlowFile(new URL(`../../configs/flows/${file}`, import.meta.url).pathname);
    if (!flow) throw new Error(`${file}: ${problems.map((p) => p.message).join('; ')}`);
    return describeFlow(flow);
  });
  store = await seededStore();
  // call-1 on the timeline: the greeting, a reply cut by a barge-in, and a QA hit.
  await store.calls.addEvent({ callId: 'call-1', at: '2025-05-01T08:00:05.000Z', type: 'bot', data: { text: '您的账单已逾期，请问什么时候方便还款？', atMs: 4400, bargeIn: true } });
  await store.calls.addEvent({ callId: 'call-1', at: '2025-05-01T08:00:05.000Z', type: 'bargeIn', data: { atMs: 5200, heardMs: 700, stopMs: 30 } });
  await store.qa.addHits([{ callId: 'call-1', flow: 'collections', ruleSet: 'bank', ruleId: 'threat', ruleType: 'keyword', severity: 'critical', score: 20, leg: 'caller', text: '什么事', atMs: 3200, endMs: 4000, live: false, at: new Date().toISOString() }]);
  live = new LiveFeed({ log: silentLog });
  const listen = createListenRoute({ taps: () => undefined, audit: new AuditLog(store.audit), log: silentLog });
  const campaigns = new CampaignService({ store: store.campaigns, clock: systemClock, profiles: BUILTIN_PROFILES, callerIdPool: [], defaultCountry: 'CN' });
  ({ server, url } = await startServer({ store, live, campaigns, flows: () => flows, pbx: () => pbx, webSocketRoutes: [listen] }));
  const campaign = await campaigns.create({ name: '信用卡逾期提醒', flow: 'credit_card_overdue', dialPattern: 'PJSIP/{national}@carrier', profile: 'cn-collection' });
  await store.campaigns.addContacts(campaign.id, [{ number: '+8613812345678', role: 'debtor', variables: {} }], new Date().toISOString());
  await campaigns.act(campaign.id, 'start');
  operator = await issueToken(store, 'operator', { name: '张三' });
  for (const term of [campaign.id, campaign.flow, campaign.profile, campaign.trunk, 'collections', 'threat', 'promised_to_pay', 'no-answer', 'call-1', 'call-2', 'call-3', 'bank', 'name']) dataTerms.add(term);
  for (const flow of flows) {
    dataTerms.add(flow.name);
    for (const step of flow.steps) for (const term of [step.name, step.outcome, ...step.edges.flatMap((e) => [e.via, e.to])]) if (term) dataTerms.add(term);
    for (const edge of flow.globals) dataTerms.add(edge.via);
  }
  browser = await launchChromium();
});

test.after(async () => {
  if (!chromiumPresent) return;
  await browser?.close();
  await server.close();
  await store.close();
});

interface Shown {
  where: string;
  text: string;
}

/**
 * What the page shows: text of visible elements (outside <code> and <pre>, which hold commands, ids, versions and the
 * raw event log) and the
 * title, placeholder and aria-label of visible elements. An option counts as visible when its select is.
 */
// A string, not a function: tsx would wrap the function's inner helpers in a `__name` the page does not have.
const SHOWN_TEXTS = `(() => {
  const shown = [];
  const visible = (element) => (element.closest('select') ?? element).checkVisibility();
  const describe = (element) => element.tagName.toLowerCase() + (element.id ? '#' + element.id : '') + (typeof element.className === 'string' && element.className ? '.' + element.className.split(' ').join('.') : '');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    const text = (node.nodeValue ?? '').trim();
    if (!text || !parent || parent.closest('script, style, code, pre') || !visible(parent)) continue;
    shown.push({ where: describe(parent), text });
  }
  for (const element of document.body.querySelectorAll('[title], [placeholder], [aria-label]')) {
    if (!visible(element)) continue;
    for (const name of ['title', 'placeholder', 'aria-label']) {
      const value = element.getAttribute(name)?.trim();
      if (value) shown.push({ where: describe(element) + '[' + name + ']', text: value });
    }
  }
  return shown;
})()`;

function shownTexts(page: Page): Promise<Shown[]> {
  return page.evaluate(SHOWN_TEXTS) as Promise<Shown[]>;
}

/** The English strings of the console's table that have a Chinese translation different from themselves. */
function englishSources(page: Page): Promise<string[]> {
  return page.evaluate(`import('/console/i18n.js').then(({ TRANSLATIONS }) => Object.keys(TRANSLATIONS).filter((en) => TRANSLATIONS[en] !== en))`) as Promise<string[]>;
}

/** Each shown text that is an English source string or holds a run of 4+ ASCII letters not allowed. */
function englishLeft(shown: Shown[], sources: ReadonlySet<string>): string[] {
  const allowed = new Set([...LEGITIMATE_TERMS, ...dataTerms].map((t) => t.toLowerCase()));
  const bad: string[] = [];
  for (const { where, text } of shown) {
    // A flow's own ids (an intent named `human`) may equal an English UI word; they are data, shown as written.
    if (sources.has(text) && !dataTerms.has(text)) {
      bad.push(`${where}: "${text}" is an untranslated source string`);
      continue;
    }
    // Identifiers (ids, flow step names, dial strings) are kept whole: split on spaces and punctuation only. A prompt's
    // {{variables}} are the flow's data.
    const words = text.replace(/\{\{[^}]*\}\}/g, ' ').split(/[\s,;:()（）·/@=→›‹"“”'。，：！？?!]+/).filter(Boolean);
    const english = words.filter((word) => /[A-Za-z]{4,}/.test(word) && !allowed.has(word.toLowerCase()) && !/^[\w.-]*[_\d][\w.-]*$/.test(word));
    if (english.length > 0) bad.push(`${where}: "${text}" (${english.join(', ')})`);
  }
  return bad;
}

async function expectChinese(page: Page, view: string, sources: ReadonlySet<string>, found: string[]): Promise<void> {
  for (const line of englishLeft(await shownTexts(page), sources)) found.push(`${view}: ${line}`);
}

browserTest('in Chinese, no tab shows an English UI string (text, title, placeholder, aria-label)', async () => {
  const { page, errors } = await newPage(browser as Browser);
  await signIn(page, url, operator);
  // The switch a user makes: the page reloads in Chinese.
  await Promise.all([page.waitForEvent('load'), page.selectOption('#ui-lang', 'zh')]);
  await page.waitForSelector('#calls tbody tr[data-call-id="call-1"]');
  assert.is(await page.getAttribute('html', 'lang'), 'zh-CN');
  const sources = new Set(await englishSources(page));
  assert.ok(sources.has('Calls') && sources.size > 100, 'the table is read from the page');
  const found: string[] = [];

  await page.waitForSelector('#pbx-status [data-kind=freeswitch]');
  await page.click('#test-call-box summary');
  await expectChinese(page, 'calls', sources, found);

  await page.click('#calls tbody tr[data-call-id="call-1"]');
  await page.waitForSelector('#timeline .tl-item[data-kind=qa]');
  await page.click('#call-detail details summary');
  await expectChinese(page, 'call page', sources, found);

  // A running call: its live transcript and the listen-in controls.
  live.callStarted({ callId: 'call-3', flow: 'collections', lang: 'zh', direction: 'inbound', pbx: 'asterisk', from: '10086' });
  live.event('call-3', { type: 'bot', text: '您好，请问有什么可以帮您？', atMs: 0, bargeIn: true });
  live.event('call-3', { type: 'botAudioStart', atMs: 100 });
  await page.click('#calls tbody tr[data-call-id="call-3"]');
  await page.waitForSelector('#live-transcript li.live-bot');
  live.event('call-3', { type: 'bargeIn', atMs: 900, heardMs: 800, stopMs: 40, promptMs: 3200 });
  live.event('call-3', { type: 'final', text: '我想查账单', speechStartMs: 700, speechEndMs: 1600, atMs: 1800, earlyEndpoint: false });
  await page.waitForSelector('#live-transcript li.live-bot.cut');
  await page.waitForSelector('#listen');
  await expectChinese(page, 'live', sources, found);

  await page.click('#tabs a[data-tab=campaigns]');
  await page.click('#campaigns tbody tr');
  await page.waitForSelector('#campaign-detail [data-stat=connected]');
  await expectChinese(page, 'campaigns', sources, found);

  await page.click('#tabs a[data-tab=qa]');
  await page.waitForSelector('#qa-hits tbody tr');
  await expectChinese(page, 'QA', sources, found);

  await page.click('#tabs a[data-tab=flows]');
  await page.click('#flows tbody tr');
  await page.waitForSelector('#flow-diagram .step');
  await expectChinese(page, 'flows', sources, found);

  // Signed out, the login page keeps the language.
  await Promise.all([page.waitForURL(/\/login/), page.click('#logout')]);
  await page.waitForSelector('#login #token');
  await expectChinese(page, 'login', sources, found);

  assert.equal(found, [], `English left in the Chinese UI:\n${found.join('\n')}`);
  assert.equal(errors, []);
  await page.close();
});

test.run();
