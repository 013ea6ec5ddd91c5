import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HttpServer } from '../../src/api/index.ts';
import { BUILTIN_PROFILES, CampaignService, systemClock } from '../../src/campaign/index.ts';
import { openSqliteStore, type CampaignRecord, type Store } from '../../src/store/index.ts';
import { issueToken } from '../support/auth.ts';
import { browserTestFor, chromiumPresent, launchChromium, signIn } from '../support/browser.ts';
import { silentLog, startServer } from './fixtures.ts';

// The console's Campaigns tab in a real headless Chromium against the real HTTP server, routes, session login and
// SQLite store: progress, live statistics, controls per role, masked numbers.
const browserTest = browserTestFor('console-campaigns.test.ts');

let browser: Browser | undefined;
let server: HttpServer;
let url: string;
let store: Store;
let service: CampaignService;
let operator: string;
let auditor: string;
let overdue: CampaignRecord;
let survey: CampaignRecord;

const NUMBERS = ['+8613812345678', '+8613912345670', '+8613700001111', '+8613600002222'];

/** Claims the next due contact of a campaign and ends the attempt as `disposition`, as the dialer would. */
async function finishOne(campaign: CampaignRecord, disposition: string, answered: boolean): Promise<void> {
  const contact = (await store.campaigns.dueContacts(campaign.id, new Date().toISOString(), 1))[0];
  if (!contact) throw new Error('no due contact');
  const now = new Date().toISOString();
  const attemptId = `att_${Date.now().toString(36)}_${contact.id}`;
  const claim = await store.campaigns.claimAttempt({ campaignId: campaign.id, contactId: contact.id, attemptId, nodeId: 'n1', now, leaseUntil: new Date(Date.now() + 60_000).toISOString(), trunk: campaign.trunk, caps: { dayStart: now, weekStart: now, nextDay: now } });
  if (!claim.ok) throw new Error(`claim refused: ${claim.reason}`);
  const endedAt = new Date(Date.now() + 42_000).toISOString();
  await store.campaigns.finishAttempt(attemptId, { disposition, endedAt, answeredAt: answered ? now : undefined, durationSec: answered ? 42 : undefined, progress: answered ? 'human' : undefined }, { state: 'done' });
}

const textOf = async (page: Page, selector: string): Promise<string> => (await page.textContent(selector)) ?? '';

test.before(async () => {
  if (!chromiumPresent) return;
  store = openSqliteStore(':memory:', { log: silentLog });
  service = new CampaignService({ store: store.campaigns, clock: systemClock, profiles: BUILTIN_PROFILES, callerIdPool: [], defaultCountry: 'CN' });
  ({ server, url } = await startServer({ store, campaigns: service }));
  operator = await issueToken(store, 'operator');
  auditor = await issueToken(store, 'auditor');
  overdue = await service.create({ name: '信用卡逾期提醒 12月', flow: 'credit_card_overdue', dialPattern: 'PJSIP/{national}@carrier', profile: 'cn-collection' });
  survey = await service.create({ name: 'satisfaction', flow: 'satisfaction_survey', dialPattern: 'PJSIP/{national}@carrier', profile: 'cn-marketing' });
  const now = new Date().toISOString();
  await store.campaigns.addContacts(overdue.id, NUMBERS.map((n) => ({ number: n, role: 'debtor' as const, variables: { card_number: '6222020200112233' } })), now);
  await store.campaigns.addContacts(survey.id, [{ number: '+8613500003333', variables: {} }], now);
  await service.act(overdue.id, 'start');
  await finishOne(overdue, 'promised_to_pay', true);
  await finishOne(overdue, 'busy', false);
  browser = await launchChromium();
});

test.after(async () => {
  if (!chromiumPresent) return;
  await browser?.close();
  await server.close();
  await store.close();
});

browserTest('operator: campaign list with progress, live statistics, masked numbers, and start/pause/resume/stop', async () => {
  const page = await (browser as Browser).newPage();
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  try {
    await signIn(page, url, operator, '/#campaigns', '#campaigns tbody tr');
    assert.ok(await page.isHidden('main'), 'the calls view is hidden on the Campaigns tab');
    const row = `#campaigns tbody tr[data-campaign-id="${overdue.id}"]`;
    await page.waitForSelector(row);
    const rowText = await textOf(page, row);
    assert.match(rowText, /信用卡逾期提醒 12月/);
    assert.match(rowText, /running/);
    assert.match(rowText, /2\/4/, 'progress: 2 of 4 contacts done');
    assert.is(await textOf(page, `${row} .dialled`), '2');
    assert.is(await textOf(page, `${row} .connected`), '1');
    assert.match(await textOf(page, `#campaigns tbody tr[data-campaign-id="${survey.id}"]`), /draft/);

    await page.click(row);
    await page.waitForSelector(`#campaign-detail[data-campaign-id="${overdue.id}"] #attempts tbody tr`);
    assert.is(await textOf(page, '[data-stat=dialled] b'), '2');
    assert.is(await textOf(page, '[data-stat=connected] b'), '1');
    assert.is(await textOf(page, '[data-stat=answerRate] b'), '50.0 %');
    assert.is(await textOf(page, '[data-stat=pending] b'), '2');
    assert.match(await textOf(page, '#dispositions'), /promised_to_pay: 1/);
    // Numbers masked: the page never holds a full number of a contact.
    const numbers = await page.locator('#attempts td.number').allTextContents();
    assert.is(numbers.length, 2);
    for (const n of numbers) assert.match(n, /\*{4}/, `masked: ${n}`);
    const html = await page.content();
    for (const n of NUMBERS) assert.not.ok(html.includes(n.slice(3)), `full number ${n} not in the page`);

    // Live statistics: an attempt ends on the server; the open page shows it without a reload.
    await finishOne(overdue, 'refused', true);
    await page.waitForSelector('[data-stat=dialled] b:text-is("3")', { timeout: 10000 });
    assert.match(await textOf(page, row), /3\/4/);

    // Controls follow the state, and act on the server.
    assert.equal(await page.locator('#campaign-detail .controls button').evaluateAll((bs) => bs.map((b) => b.getAttribute('data-action'))), ['pause', 'stop']);
    await page.click('[data-action=pause]');
    await page.waitForSelector('#campaign-detail[data-state=paused] [data-action=resume]');
    assert.is((await store.campaigns.getCampaign(overdue.id))?.state, 'paused');
    await page.click('[data-action=resume]');
    await page.waitForSelector('#campaign-detail[data-state=running] [data-action=pause]');
    assert.is((await store.campaigns.getCampaign(overdue.id))?.state, 'running');

    // The state moved behind the page's back (another operator's CLI): the click is refused and the page says why.
    await service.act(overdue.id, 'pause');
    await page.click('[data-action=pause]').catch(() => undefined);
    await page.waitForSelector('#campaign-message:not([hidden])', { timeout: 10000 });
    assert.match(await textOf(page, '#campaign-message'), /Cannot pause: cannot pause a campaign that is paused/);
    await page.waitForSelector('#campaign-detail[data-state=paused]');

    await page.click('[data-action=stop]');
    await page.waitForSelector('#campaign-detail[data-state=stopped]');
    assert.is((await store.campaigns.getCampaign(overdue.id))?.state, 'stopped');
    assert.is(await page.locator('#campaign-detail .controls button').count(), 0, 'a stopped campaign has no controls');

    // The draft campaign offers Start.
    await page.click(`#campaigns tbody tr[data-campaign-id="${survey.id}"]`);
    await page.waitForSelector(`#campaign-detail[data-campaign-id="${survey.id}"] [data-action=start]`);
    await page.click('[data-action=start]');
    await page.waitForSelector(`#campaign-detail[data-campaign-id="${survey.id}"][data-state=running]`);
    assert.is((await store.campaigns.getCampaign(survey.id))?.state, 'running');

    // The Calls tab is still there.
    await page.click('#tabs a[data-tab=calls]');
    await page.waitForSelector('#calls', { state: 'visible' });
    assert.ok(await page.isHidden('#campaigns-page'));
    assert.equal(pageErrors, []);
  } finally {
    await page.close();
  }
});

browserTest('auditor: reads the campaigns and their statistics, gets no controls, and the server refuses a forged one', async () => {
  const page = await (browser as Browser).newPage();
  try {
    await signIn(page, url, auditor, `/#campaign=${survey.id}`, '#campaigns tbody tr');
    await page.waitForSelector(`#campaign-detail[data-campaign-id="${survey.id}"]`);
    assert.is(await page.locator('#campaign-detail .controls button').count(), 0);
    assert.match(await textOf(page, '#campaign-detail .controls'), /Controls are for operators and admins/);
    assert.match(await textOf(page, '#campaigns-role'), /Read-only for the auditor role/);
    const status = await page.evaluate(async (id) => (await fetch(`/api/campaigns/${id}/stop`, { method: 'POST' })).status, survey.id);
    assert.is(status, 403);
    assert.is((await store.campaigns.getCampaign(survey.id))?.state, 'running', 'nothing changed');
  } finally {
    await page.close();
  }
});

test('campaign API masks contact and attempt numbers (and card numbers); unmask needs the grant and is audited', async () => {
  if (!chromiumPresent) {
    store = openSqliteStore(':memory:', { log: silentLog });
    service = new CampaignService({ store: store.campaigns, clock: systemClock, profiles: BUILTIN_PROFILES, callerIdPool: [], defaultCountry: 'CN' });
    ({ server, url } = await startServer({ store, campaigns: service }));
    operator = await issueToken(store, 'operator');
    overdue = await service.create({ name: 'x', flow: 'demo', dialPattern: 'PJSIP/{national}@t', profile: 'cn-collection' });
    await store.campaigns.addContacts(overdue.id, [{ number: NUMBERS[0]!, variables: { card_number: '6222020200112233' } }], new Date().toISOString());
  }
  const get = async (path: string, token: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const contacts = (await (await get(`/api/campaigns/${overdue.id}/contacts`, operator)).json()) as { contacts: Array<{ number: string; variables: Record<string, string> }> };
  assert.match(contacts.contacts[0]!.number, /\*{4}/);
  assert.not.ok(JSON.stringify(contacts).includes('6222020200112233'), 'card number masked');
  assert.not.ok(JSON.stringify(contacts).includes('13812345678'));
  assert.is((await get(`/api/campaigns/${overdue.id}/contacts?unmask=true`, operator)).status, 403, 'an operator has no unmask grant');
  const admin = await issueToken(store, 'admin', { grants: ['unmask'] });
  const full = (await (await get(`/api/campaigns/${overdue.id}/contacts?unmask=true`, admin)).json()) as { contacts: Array<{ number: string }> };
  assert.ok(full.contacts.some((c) => c.number === NUMBERS[0]));
  const audit = await store.audit.list({ limit: 50 });
  assert.ok(audit.some((e) => e.action === 'campaign.unmasked' && e.target === overdue.id), 'the unmasked read is audited');
  const csv = await (await get(`/api/campaigns/${overdue.id}/export.csv`, operator)).text();
  assert.not.ok(csv.includes('13812345678'), 'export masked by default');
});

test.run();
