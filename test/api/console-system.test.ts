import type { Browser, Page } from 'playwright-core';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HttpServer, OriginateCallRequest, PbxStatusView } from '../../src/api/index.ts';
import { newCallId } from '../../src/core/index.ts';
import { describeFlow, loadFlowFile, type FlowView } from '../../src/dialog/index.ts';
import type { Store } from '../../src/store/index.ts';
import { issueToken } from '../support/auth.ts';
import { attributes, browserTestFor, chromiumPresent, launchChromium, newPage, signIn } from '../support/browser.ts';
import { seededStore, startServer } from './fixtures.ts';

// The console's Flows tab (versions and step diagrams of the real example flows), the PBX status in the header, and
// placing a test call through POST /api/calls, in a real Chromium against the real HTTP server.
const browserTest = browserTestFor('console-system.test.ts');

let browser: Browser | undefined;
let server: HttpServer;
let url: string;
let store: Store;
let operator: string;
let auditor: string;
let flows: FlowView[];
const pbx: PbxStatusView[] = [
  { kind: 'asterisk', connected: true },
  { kind: 'freeswitch', connected: false, detail: 'ESL: connection refused' },
];
const placed: OriginateCallRequest[] = [];

test.before(async () => {
  flows = ['order_confirmation.en.yaml', 'order_confirmation.zh.yaml'].map((file) => {
    const { flow, problems } = loadFlowFile(new URL(`../../configs/flows/${file}`, import.meta.url).pathname);
    if (!flow) throw new Error(`${file}: ${problems.map((p) => p.message).join('; ')}`);
    return describeFlow(flow);
  });
  store = await seededStore();
  ({ server, url } = await startServer({
    store,
    flows: () => flows,
    pbx: () => pbx,
    // Stands in for the PBX adapter behind POST /api/calls: the call is stored as the outbound service would.
    originate: async (req) => {
      placed.push(req);
      const callId = newCallId();
      await store.calls.createCall({ id: callId, pbx: 'asterisk', direction: 'outbound', to: '13912345678', flow: req.flow, lang: req.lang ?? 'zh', status: 'active', startedAt: new Date().toISOString(), variables: {} });
      return { callId };
    },
  }));
  operator = await issueToken(store, 'operator');
  auditor = await issueToken(store, 'auditor');
  if (chromiumPresent) browser = await launchChromium();
});

test.after(async () => {
  await browser?.close();
  await server.close();
  await store.close();
});

test('GET /api/flows lists each language version with steps and transitions; GET /api/pbx the connections', async () => {
  const get = async (path: string, token: string) => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await (await get('/api/flows', auditor)).json()) as { flows: FlowView[] };
  assert.equal(body.flows.map((f) => `${f.name}/${f.lang}`), ['order_confirmation/en', 'order_confirmation/zh']);
  const zh = body.flows[1]!;
  assert.match(zh.version, /^[0-9a-f]{12}$/);
  assert.is(zh.start, 'greeting');
  const greeting = zh.steps.find((s) => s.name === 'greeting')!;
  assert.equal(greeting.edges, [
    { via: 'yes', to: 'confirm_order' },
    { via: 'no', to: 'end_wrong_person' },
  ]);
  assert.equal(zh.steps.find((s) => s.name === 'end_confirmed'), { name: 'end_confirmed', say: '好的，订单已确认，我们会按时为您送达。感谢您的支持，再见。', kind: 'end', outcome: 'order_confirmed', edges: [] });
  assert.ok(zh.steps.find((s) => s.name === 'ask_new_address')!.edges.some((e) => e.via === 'no_input' && e.to === 'transfer_agent'));
  assert.ok(zh.globals.some((g) => g.via === 'human' && g.to === 'transfer_agent'));
  const status = (await (await get('/api/pbx', auditor)).json()) as { pbx: PbxStatusView[] };
  assert.equal(status.pbx, pbx);
  assert.is((await fetch(`${url}/api/pbx`)).status, 401);
});

browserTest('Flows tab: versions per language and a step diagram whose transitions lead to their steps', async () => {
  const { page, errors } = await newPage(browser as Browser);
  try {
    await signIn(page, url, auditor, '/#flows', '#flows tbody tr');
    assert.equal(await attributes(page, '#flows tbody tr', 'data-flow'), ['order_confirmation/en', 'order_confirmation/zh']);
    assert.match((await page.textContent('#flows tbody tr[data-flow="order_confirmation/zh"]')) ?? '', new RegExp(flows[1]!.version));
    await page.click('#flows tbody tr[data-flow="order_confirmation/zh"]');
    await page.waitForSelector('#flow-diagram .step');
    const steps = await attributes(page, '#flow-diagram .step', 'data-step');
    assert.equal(steps, flows[1]!.steps.map((s) => s.name));
    assert.is(await page.getAttribute('#flow-diagram .step.start', 'data-step'), 'greeting');
    assert.equal(await attributes(page, '#flow-diagram .step[data-step="greeting"] .edges li', 'data-to'), ['confirm_order', 'end_wrong_person']);
    assert.match((await page.textContent('#flow-diagram .step[data-step="end_confirmed"]')) ?? '', /ends: order_confirmed/);
    // Following a transition marks the step it leads to.
    await page.click('#flow-diagram .step[data-step="greeting"] .edges li[data-via="yes"] a');
    assert.is(await page.getAttribute('#flow-diagram .step.focused', 'data-step'), 'confirm_order');
    assert.match(page.url(), /#flow=order_confirmation%2Fzh$/);
    assert.equal(errors, []);
  } finally {
    await page.close();
  }
});

async function pbxPills(page: Page): Promise<string[]> {
  await page.waitForSelector('#pbx-status .pill');
  return page.locator('#pbx-status .pill').allTextContents();
}

browserTest('PBX status in the header; an operator places a test call and sees it masked; an auditor cannot', async () => {
  const { page, errors } = await newPage(browser as Browser);
  try {
    await signIn(page, url, operator);
    assert.equal(await pbxPills(page), ['Asterisk connected', 'FreeSWITCH disconnected']);
    assert.is(await page.getAttribute('#pbx-status .pill[data-kind="freeswitch"]', 'title'), 'ESL: connection refused');
    await page.click('#test-call-box summary');
    await page.waitForSelector('#test-flow option[value="order_confirmation"]', { state: 'attached' });
    await page.fill('#test-endpoint', 'PJSIP/13912345678@trunk');
    await page.selectOption('#test-flow', 'order_confirmation');
    await page.selectOption('#test-lang', 'zh');
    await page.click('#test-call button[type=submit]');
    await page.waitForSelector('#test-call-result[data-call-id]', { timeout: 10000 });
    assert.equal(placed, [{ endpoint: 'PJSIP/13912345678@trunk', flow: 'order_confirmation', lang: 'zh' }]);
    const result = (await page.textContent('#test-call-result')) ?? '';
    assert.match(result, /139\*\*\*\*5678/);
    assert.is(await page.inputValue('#test-endpoint'), '', 'the typed number is cleared');
    assert.not.match((await page.textContent('body')) ?? '', /13912345678/);
    // The placed call opens from the result.
    await page.click('#test-call-result a');
    await page.waitForSelector(`#call-detail[data-call-id="${await page.getAttribute('#test-call-result', 'data-call-id')}"]`);
    assert.equal(errors, []);
  } finally {
    await page.close();
  }
  const { page: auditorPage } = await newPage(browser as Browser);
  try {
    await signIn(auditorPage, url, auditor);
    assert.equal(await pbxPills(auditorPage), ['Asterisk connected', 'FreeSWITCH disconnected']);
    assert.ok(await auditorPage.isHidden('#test-call-box'), 'auditors cannot place calls');
  } finally {
    await auditorPage.close();
  }
});

browserTest('zh/en switch: the choice translates the page, survives a reload, and switches back', async () => {
  const { page, errors } = await newPage(browser as Browser);
  const tabs = (): Promise<string[]> => page.locator('#tabs a').allTextContents();
  try {
    await signIn(page, url, operator, '/#flows', '#flows tbody tr');
    assert.equal(await tabs(), ['Calls', 'Campaigns', 'QA', 'Flows']);
    await Promise.all([page.waitForEvent('load'), page.selectOption('#ui-lang', 'zh')]);
    await page.waitForSelector('#flows tbody tr');
    assert.equal(await tabs(), ['通话', '外呼任务', '质检', '流程']);
    assert.is(await page.getAttribute('html', 'lang'), 'zh-CN');
    assert.is(await page.inputValue('#ui-lang'), 'zh');
    assert.equal(await pbxPills(page), ['Asterisk 已连接', 'FreeSWITCH 未连接']);
    assert.is(await page.getAttribute('#filter-number', 'placeholder'), '号码尾号');
    await page.click('#flows tbody tr[data-flow="order_confirmation/zh"]');
    assert.match((await page.textContent('#flow-diagram .step[data-step="end_confirmed"]')) ?? '', /结束: order_confirmed/);
    // Remembered: a new load of the page comes up in Chinese.
    await page.reload();
    await page.waitForSelector('#flows tbody tr');
    assert.equal(await tabs(), ['通话', '外呼任务', '质检', '流程']);
    // The sign-in page follows the choice too.
    await page.goto(`${url}/login`);
    await page.waitForSelector('#login button[type=submit]');
    assert.is(await page.textContent('#login button[type=submit]'), '登录');
    assert.match((await page.textContent('#login')) ?? '', /还没有令牌？请在服务器上运行/);
    await page.goto(`${url}/#flows`);
    await page.waitForSelector('#flows tbody tr');
    await Promise.all([page.waitForEvent('load'), page.selectOption('#ui-lang', 'en')]);
    await page.waitForSelector('#flows tbody tr');
    assert.equal(await tabs(), ['Calls', 'Campaigns', 'QA', 'Flows']);
    assert.equal(errors, []);
  } finally {
    await page.close();
  }
});

test.run();
