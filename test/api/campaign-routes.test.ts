import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAuth, ROLES, type Role } from '../../src/auth/index.ts';
import { BUILTIN_PROFILES, CampaignService, ManualClock } from '../../src/campaign/index.ts';
import type { HttpServer } from '../../src/api/index.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { bearer, issueToken } from '../support/auth.ts';
import { silentLog, startServer } from './fixtures.ts';

/*
 * The campaign REST routes as an operator, an auditor, an admin and a PBX token use them: who may do what, what
 * hostile ids and bodies get back, import rejection reports as CSV, masking of numbers, and the webhook outbox routes.
 */

let store: Store;
let server: HttpServer;
let url: string;
const tokens = {} as Record<Role | 'unmask', string>;
let campaignId = '';
let reportId = '';
/** 2026-12-02 10:00 in Shanghai, a Wednesday. */
const clock = new ManualClock(Date.parse('2026-12-02T02:00:00Z'));

const CAMPAIGN = {
  name: '信用卡逾期提醒 12月',
  flow: 'credit_card_overdue',
  dialPattern: 'PJSIP/{national}@carrier',
  trunk: 'carrier',
  profile: 'cn-collection',
  cps: 5,
  maxConcurrent: 10,
  webhook: { url: 'http://127.0.0.1:9/crm', secret: 'a-secret-of-enough-length' },
};

async function api(role: Role | 'unmask' | 'none', method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Response> {
  const headers: Record<string, string> = role === 'none' ? {} : bearer(tokens[role]);
  let payload: string | Buffer | undefined;
  if (body !== undefined) {
    headers['content-type'] = contentType;
    payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  }
  return fetch(`${url}${path}`, { method, headers, body: payload });
}

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

test.before(async () => {
  store = openSqliteStore(':memory:', { log: silentLog });
  const campaigns = new CampaignService({ store: store.campaigns, clock, profiles: BUILTIN_PROFILES, callerIdPool: ['+861065529988'], defaultCountry: 'CN' });
  ({ server, url } = await startServer({ store, auth: createAuth(store), campaigns }));
  for (const role of ROLES) tokens[role] = await issueToken(store, role);
  tokens.unmask = await issueToken(store, 'operator', { name: 'crm-export', grants: ['unmask'] });
});

test.after(async () => {
  await server.close();
  await store.close();
});

test('operators create campaigns; auditors and PBX tokens may not; no token is 401', async () => {
  for (const role of ['auditor', 'pbx'] as const) assert.is((await api(role, 'POST', '/api/campaigns', CAMPAIGN)).status, 403, role);
  assert.is((await api('none', 'POST', '/api/campaigns', CAMPAIGN)).status, 401);
  const res = await api('operator', 'POST', '/api/campaigns', CAMPAIGN);
  assert.is(res.status, 201);
  const { campaign } = (await json(res)) as { campaign: { id: string; state: string } };
  assert.is(campaign.state, 'draft');
  campaignId = campaign.id;
  assert.is((await store.campaigns.listCampaigns()).length, 1, 'only the operator created one');
});

test('hostile campaign bodies get a 4xx that says what is wrong, and nothing is stored', async () => {
  const cases: [unknown, number, RegExp, string?][] = [
    [{ ...CAMPAIGN, dialPattern: 'PJSIP/{national}@carrier,Dial(evil)' }, 400, /dialPattern/],
    [{ ...CAMPAIGN, dialPattern: 'PJSIP/carrier' }, 400, /dialPattern needs \{number\}/],
    [{ ...CAMPAIGN, flow: '../../etc/passwd' }, 400, /flow/],
    [{ ...CAMPAIGN, callerIds: ['+8613800138000'] }, 400, /not configured as ours/],
    [{ ...CAMPAIGN, profile: 'no-such-profile' }, 400, /unknown compliance profile/],
    [{ ...CAMPAIGN, timeZone: 'Mars/Olympus' }, 400, /time zone/],
    [{ ...CAMPAIGN, webhook: { url: 'http://x/y', secret: 'short' } }, 400, /secret needs at least 16/],
    [{ ...CAMPAIGN, webhook: { url: 'not a url', secret: 'a-secret-of-enough-length' } }, 400, /webhook\.url/],
    [{ ...CAMPAIGN, cps: -1 }, 400, /cps/],
    [{ ...CAMPAIGN, maxConcurrent: 1e9 }, 400, /maxConcurrent/],
    [{ ...CAMPAIGN, surprise: true }, 400, /surprise|Unrecognized/i],
    ['{"__proto__":{"admin":true},"name":"x"}', 400, /invalid campaign|not valid JSON|prototype/i],
    [[CAMPAIGN], 400, /object/],
    ['{"name": "broken json', 400, /JSON|Unexpected|Body/i],
    ['name=x', 415, /Unsupported Media Type|content-type/i, 'application/x-www-form-urlencoded'],
    [{ ...CAMPAIGN, name: 'x'.repeat(300 * 1024) }, 413, /limit|large/i],
  ];
  for (const [body, status, message, type] of cases) {
    const res = await api('operator', 'POST', '/api/campaigns', body, type);
    const text = await res.text();
    assert.is(res.status, status, `${JSON.stringify(body).slice(0, 80)} -> ${res.status} ${text.slice(0, 200)}`);
    assert.match(text, message, text.slice(0, 200));
  }
  assert.is((await store.campaigns.listCampaigns()).length, 1);
});

test('hostile ids and actions: 400 for malformed, 404 for unknown, never 500', async () => {
  const paths: [string, string, number][] = [
    ['GET', '/api/campaigns/..%2F..%2Fetc%2Fpasswd', 400],
    ['GET', `/api/campaigns/${'a'.repeat(65)}`, 400],
    ['GET', '/api/campaigns/%E5%BC%A0%E4%B8%89', 400],
    ['GET', "/api/campaigns/x'%20OR%201=1", 400],
    ['GET', '/api/campaigns/cmp_nope', 404],
    ['GET', '/api/campaigns/cmp_nope/stats', 404],
    ['GET', '/api/campaigns/cmp_nope/contacts', 404],
    ['GET', '/api/campaigns/cmp_nope/attempts', 404],
    ['GET', '/api/campaigns/cmp_nope/export.csv', 404],
    ['POST', '/api/campaigns/cmp_nope/start', 404],
    ['POST', `/api/campaigns/${'CAMPAIGN'}/delete`, 400],
    ['POST', '/api/campaigns/cmp_nope/contacts', 415],
    ['GET', '/api/imports/imp_nope/rejects.csv', 404],
    ['GET', '/api/imports/..%2Fx/rejects.csv', 400],
    ['GET', `/api/campaigns/${'X'}/contacts?after=abc`, 400],
    ['GET', `/api/campaigns/${'X'}/contacts?limit=0`, 400],
    ['GET', `/api/campaigns/${'X'}/attempts?limit=100001`, 400],
    ['GET', `/api/campaigns/${'X'}/attempts?after=%27%3B--`, 400],
    ['GET', '/api/dnc?scope=..%2F', 400],
    ['GET', '/api/webhooks/abc', 400],
    ['GET', '/api/webhooks/-1', 400],
    ['GET', '/api/webhooks/99999', 404],
    ['GET', '/api/webhooks?state=gone', 400],
    ['POST', '/api/webhooks/99999/replay', 404],
  ];
  for (const [method, path, status] of paths) {
    const res = await api('admin', method, path.replace('/X/', `/${campaignId}/`));
    const text = await res.text();
    assert.is(res.status, status, `${method} ${path} -> ${res.status} ${text.slice(0, 200)}`);
    assert.match(text, /"error":"[^"]{4,}/, `${path}: a JSON error body that says something`);
  }
});

test('contacts import: operators upload, the report counts rows, rejects come back with row, column and reason and as CSV', async () => {
  const csv = [
    '手机号,姓名,金额,卡号,角色',
    '13800138000,张三,1200.50,6222021234567890123,本人',
    '13800138000,张三重复,1,1,本人',
    '12345,李四,3,1,本人',
    '"13900139000","王五, 先生",88,2,亲属',
    '13700137000,赵六,1,1,第三方',
    '',
    '13600136000,钱七,1,1,债务人',
  ].join('\r\n');
  assert.is((await api('auditor', 'POST', `/api/campaigns/${campaignId}/contacts`, csv, 'text/csv')).status, 403);
  assert.is((await api('operator', 'POST', `/api/campaigns/${campaignId}/contacts`, { rows: [] })).status, 415, 'JSON is not a contact file');
  const res = await api('operator', 'POST', `/api/campaigns/${campaignId}/contacts?file=overdue.csv`, csv, 'text/csv');
  assert.is(res.status, 201, await res.clone().text());
  const { report, rejects } = (await json(res)) as { report: { id: string; rows: number; accepted: number; rejected: number }; rejects: { row: number; column: string; reason: string; value?: string }[] };
  assert.equal([report.accepted, report.rejected], [3, 3]);
  reportId = report.id;
  assert.equal(
    rejects.map((r) => [r.row, r.column]),
    [
      [3, '手机号'],
      [4, '手机号'],
      [6, '角色'],
    ],
  );
  for (const r of rejects) assert.ok(r.reason.length > 3, 'a reason in words');
  assert.not.match(JSON.stringify(rejects), /13800138000|13700137000/, 'rejected numbers are masked in the response');
  const download = await api('auditor', 'GET', `/api/imports/${reportId}/rejects.csv`);
  assert.is(download.status, 200);
  assert.match(download.headers.get('content-type') ?? '', /^text\/csv/);
  assert.match(download.headers.get('content-disposition') ?? '', /attachment; filename=".*-rejects\.csv"/);
  const lines = (await download.text()).replace(/^\uFEFF/, '').trim().split('\n');
  assert.is(lines[0], 'row,column,reason,value');
  assert.is(lines.length, 4);
  assert.match(lines[1]!, /^3,手机号,/);
  assert.match(lines[3]!, /^6,角色,/);
  assert.not.match(lines.join('\n'), /13800138000|13700137000/, 'masked for a reader without unmask');
  assert.is((await api('auditor', 'GET', `/api/imports/${reportId}/rejects.csv?unmask=true`)).status, 403, 'auditor without the grant');
  const full = await (await api('unmask', 'GET', `/api/imports/${reportId}/rejects.csv?unmask=true`)).text();
  assert.match(full, /13800138000/, 'the unmask grant shows the values');
});

test('bad contact files: a corrupt XLSX or CSV is a 400 that says why; a file without a number column is a report that says so', async () => {
  const zipHeaderGarbage = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(200, 7)]);
  for (const [body, type] of [
    [zipHeaderGarbage, 'application/octet-stream'],
    ['number\n"13800138000,unterminated', 'text/csv'],
  ] as const) {
    const res = await api('operator', 'POST', `/api/campaigns/${campaignId}/contacts?file=bad`, body, type);
    const text = await res.text();
    assert.is(res.status, 400, `${type} -> ${res.status} ${text.slice(0, 200)}`);
    assert.match(text, /cannot read the contact file: \S+/);
  }
  for (const body of ['name,amount\n张三,12\n', '']) {
    const res = await api('operator', 'POST', `/api/campaigns/${campaignId}/contacts?file=bad`, body, 'text/csv');
    assert.is(res.status, 201);
    const { report, rejects } = (await json(res)) as { report: { accepted: number }; rejects: { row: number; column: string; reason: string }[] };
    assert.is(report.accepted, 0);
    assert.equal([rejects[0]?.row, rejects[0]?.column], [1, '(header)']);
    assert.match(rejects[0]!.reason, /no phone number column/);
  }
  assert.is((await store.campaigns.listContacts(campaignId)).length, 3, 'nothing added by a bad file');
});

test('reads: auditors list contacts and attempts with numbers masked; unmask needs the grant and is audited', async () => {
  const res = await api('auditor', 'GET', `/api/campaigns/${campaignId}/contacts`);
  assert.is(res.status, 200);
  const { contacts } = (await json(res)) as { contacts: { number: string; variables: Record<string, string> }[] };
  assert.equal(contacts.map((c) => c.number), ['+86138****8000', '+86139****9000', '+86136****6000']);
  assert.is(contacts[0]!.variables.card_no, '***************0123');
  assert.is((await api('pbx', 'GET', `/api/campaigns/${campaignId}/contacts`)).status, 403);
  assert.is((await api('auditor', 'GET', `/api/campaigns/${campaignId}/contacts?unmask=true`)).status, 403);
  const before = (await store.audit.list({ limit: 1000 })).filter((e) => e.action === 'campaign.unmasked').length;
  const full = (await json(await api('unmask', 'GET', `/api/campaigns/${campaignId}/contacts?unmask=true`))) as { contacts: { number: string }[] };
  assert.is(full.contacts[0]!.number, '+8613800138000');
  const after = (await store.audit.list({ limit: 1000 })).filter((e) => e.action === 'campaign.unmasked').length;
  assert.is(after, before + 1, 'the unmasked read is in the audit log');
  const paged = (await json(await api('auditor', 'GET', `/api/campaigns/${campaignId}/contacts?limit=1&state=pending`))) as { contacts: unknown[] };
  assert.is(paged.contacts.length, 1);
});

test('lifecycle: operators start, pause, resume, stop; auditors cannot; a wrong transition is 409 with the reason', async () => {
  assert.is((await api('auditor', 'POST', `/api/campaigns/${campaignId}/start`)).status, 403);
  assert.is((await api('pbx', 'POST', `/api/campaigns/${campaignId}/start`)).status, 403);
  let res = await api('operator', 'POST', `/api/campaigns/${campaignId}/pause`);
  assert.is(res.status, 409);
  assert.match(await res.text(), /cannot pause a campaign that is draft/);
  for (const [action, state] of [['start', 'running'], ['pause', 'paused'], ['resume', 'running']] as const) {
    res = await api('operator', 'POST', `/api/campaigns/${campaignId}/${action}`);
    assert.is(res.status, 200);
    assert.is(((await json(res)) as { campaign: { state: string } }).campaign.state, state);
  }
  assert.equal((await store.campaigns.listWebhooks({})).map((w) => w.event), ['campaign.state', 'campaign.state', 'campaign.state'], 'each change queued for the CRM');
  const stats = (await json(await api('auditor', 'GET', `/api/campaigns/${campaignId}/stats`))) as { stats: { contacts: number; pending: number; window: unknown } };
  assert.equal([stats.stats.contacts, stats.stats.pending], [3, 3]);
  assert.equal(stats.stats.window, { timeZone: 'Asia/Shanghai', open: true, closesAt: '2026-12-02T14:00:00.000Z' }, 'cn-collection: open until 22:00 local');
  clock.set(Date.parse('2026-12-02T14:30:00Z'));
  const night = (await json(await api('auditor', 'GET', `/api/campaigns/${campaignId}/stats`))) as { stats: { window: { open: boolean; nextOpen: string; reason: string } } };
  assert.equal([night.stats.window.open, night.stats.window.nextOpen], [false, '2026-12-03T00:00:00.000Z'], '22:30 local: next window 08:00 tomorrow');
  assert.match(night.stats.window.reason, /outside the calling window/);
  clock.set(Date.parse('2026-12-02T02:00:00Z'));
  const one = (await json(await api('auditor', 'GET', `/api/campaigns/${campaignId}`))) as { campaign: { id: string }; stats: unknown };
  assert.is(one.campaign.id, campaignId);
  const list = (await json(await api('auditor', 'GET', '/api/campaigns'))) as { campaigns: unknown[] };
  assert.is(list.campaigns.length, 1);
});

test('attempts and the CSV export: readable by auditors, numbers masked, 403 for PBX tokens', async () => {
  const [contact] = await store.campaigns.listContacts(campaignId, { limit: 1 });
  const now = '2026-12-02T02:00:01.000Z';
  const claim = await store.campaigns.claimAttempt({
    campaignId,
    contactId: contact!.id,
    attemptId: 'att_routes_1',
    nodeId: 'n1',
    now,
    leaseUntil: '2026-12-02T02:01:00.000Z',
    trunk: 'carrier',
    caps: { dayStart: '2026-12-01T16:00:00.000Z', weekStart: '2026-11-29T16:00:00.000Z', nextDay: '2026-12-02T16:00:00.000Z' },
  });
  assert.ok(claim.ok, JSON.stringify(claim));
  await store.campaigns.finishAttempt('att_routes_1', { disposition: 'busy', cause: 17, endedAt: '2026-12-02T02:00:20.000Z', note: 'callee 13800138000 busy' }, { state: 'pending', nextAt: '2026-12-02T02:10:00.000Z' });
  const res = await api('auditor', 'GET', `/api/campaigns/${campaignId}/attempts`);
  assert.is(res.status, 200);
  const { attempts } = (await json(res)) as { attempts: { id: string; number: string; disposition: string; note: string }[] };
  assert.equal(attempts.map((a) => [a.id, a.number, a.disposition]), [['att_routes_1', '+86138****8000', 'busy']]);
  assert.not.match(attempts[0]!.note, /13800138000/);
  assert.is((await api('pbx', 'GET', `/api/campaigns/${campaignId}/attempts`)).status, 403);
  const { stats } = (await json(await api('auditor', 'GET', `/api/campaigns/${campaignId}/stats`))) as { stats: Record<string, unknown> };
  assert.equal([stats.attempts, stats.connected, stats.answerRate, stats.byDisposition, stats.nextAt], [1, 0, 0, { busy: 1 }, '2026-12-02T02:00:00.000Z'], 'the two contacts not yet called are due now');
  assert.is(stats.attemptsLeft, 2 + 3 + 3, 'exact: the busy contact used one of its three attempts, the other two none');
  const csv = await api('auditor', 'GET', `/api/campaigns/${campaignId}/export.csv`);
  assert.is(csv.status, 200);
  assert.match(csv.headers.get('content-type') ?? '', /^text\/csv/);
  const lines = (await csv.text()).replace(/^\uFEFF/, '').trim().split('\n');
  assert.match(lines[0]!, /^id,contactId,attemptNo,number,state,disposition,cause/);
  assert.match(lines[1]!, /^att_routes_1,\d+,1,\+86138\*\*\*\*8000,done,busy,17,/);
  const full = await (await api('unmask', 'GET', `/api/campaigns/${campaignId}/export.csv?unmask=true`)).text();
  assert.match(full, /\+8613800138000/);
  assert.is((await api('pbx', 'GET', `/api/campaigns/${campaignId}/export.csv`)).status, 403);
});

test('DNC: operators add (invalid numbers listed back), auditors read masked, unknown campaign scope is 404, bad expiry 400', async () => {
  assert.is((await api('auditor', 'POST', '/api/dnc', { numbers: ['13500135000'] })).status, 403);
  const res = await api('operator', 'POST', '/api/dnc', { numbers: ['13500135000', 'not-a-number'], reason: '投诉' });
  assert.is(res.status, 201);
  const added = (await json(res)) as { added: { number: string }[]; invalid: string[] };
  assert.equal([added.added.map((e) => e.number), added.invalid], [['+8613500135000'], ['not-a-number']]);
  assert.is((await api('operator', 'POST', '/api/dnc', { numbers: ['13500135000'], scope: 'cmp_nope' })).status, 404);
  assert.is((await api('operator', 'POST', '/api/dnc', { numbers: ['13500135000'], expiresAt: 'tomorrow' })).status, 400);
  assert.is((await api('operator', 'POST', '/api/dnc', { numbers: [] })).status, 400);
  assert.is((await api('operator', 'POST', '/api/dnc', { numbers: ['1'.repeat(41)] })).status, 400);
  // fastify's schema check drops fields the schema does not name (removeAdditional): ignored, never stored.
  const extra = await api('operator', 'POST', '/api/dnc', { numbers: ['13500135000'], reason: '投诉', admin: true });
  assert.is(extra.status, 201);
  assert.not.match(await extra.text(), /admin/);
  const list = (await json(await api('auditor', 'GET', '/api/dnc'))) as { entries: { number: string; reason: string }[] };
  assert.equal(list.entries.map((e) => [e.number, e.reason]), [['+86135****5000', '投诉']]);
  assert.is((await api('pbx', 'GET', '/api/dnc')).status, 403);
});

test('webhook outbox: auditors list dead letters (masked), operators replay one or all, auditors cannot replay', async () => {
  const hooks = await store.campaigns.listWebhooks({});
  for (const h of hooks) await store.campaigns.webhookFailed(h.id, 'HTTP 500', undefined);
  await store.campaigns.enqueueWebhook({ campaignId, event: 'attempt.finished', idempotencyKey: 'attempt:x', payload: { number: '+8613800138000', endedAt: '2026-12-02T02:00:20.000Z' } }, '2026-12-02T02:00:21.000Z');
  const [attemptHook] = await store.campaigns.listWebhooks({ state: 'pending' });
  await store.campaigns.webhookFailed(attemptHook!.id, 'timeout', undefined);
  const res = await api('auditor', 'GET', `/api/webhooks?state=dead&campaign=${campaignId}`);
  assert.is(res.status, 200);
  const { deliveries } = (await json(res)) as { deliveries: { id: number; state: string; lastError: string; payload: Record<string, unknown> }[] };
  assert.is(deliveries.length, 4);
  assert.equal(deliveries[0]!.payload, { number: '+86138****8000', endedAt: '2026-12-02T02:00:20.000Z' }, 'number masked, times intact');
  assert.is((await api('pbx', 'GET', '/api/webhooks')).status, 403);
  assert.is((await api('auditor', 'POST', `/api/webhooks/${deliveries[0]!.id}/replay`)).status, 403);
  const one = await api('operator', 'POST', `/api/webhooks/${deliveries[0]!.id}/replay`);
  assert.is(one.status, 200);
  assert.equal(((await json(one)) as { delivery: { state: string; tries: number } }).delivery.state, 'pending');
  const again = await api('operator', 'POST', `/api/webhooks/${deliveries[0]!.id}/replay`);
  assert.is(again.status, 409);
  assert.match(await again.text(), /is pending; only dead letters are replayed/);
  assert.is((await api('auditor', 'POST', '/api/webhooks/replay', {})).status, 403);
  assert.is((await api('operator', 'POST', '/api/webhooks/replay', { campaign: '../x' })).status, 400);
  const all = await api('operator', 'POST', '/api/webhooks/replay', { campaign: campaignId });
  assert.equal(await json(all), { replayed: 3, more: false });
  assert.equal(await store.campaigns.countWebhooks(), { pending: 4, delivered: 0, dead: 0 });
  const single = (await json(await api('auditor', 'GET', `/api/webhooks/${deliveries[0]!.id}`))) as { delivery: { idempotencyKey: string } };
  assert.is(single.delivery.idempotencyKey, 'attempt:x');
});

test('contacts into a campaign that ran dry start it dialling again; into a stopped one they are refused (409) and not stored', async () => {
  const created = (await json(await api('operator', 'POST', '/api/campaigns', { ...CAMPAIGN, name: 'appended daily' }))) as { campaign: { id: string } };
  const id = created.campaign.id;
  assert.is((await api('operator', 'POST', `/api/campaigns/${id}/start`)).status, 200);
  // What the dialer does when no contact is left.
  assert.ok(await store.campaigns.setState(id, ['running'], 'finished', new Date(clock.now()).toISOString()));
  const stateHooks = async (): Promise<unknown[]> =>
    (await store.campaigns.listWebhooks({})).filter((w) => w.campaignId === id).map((w) => (w.payload as { state?: string }).state);
  const hooksBefore = (await stateHooks()).length;
  const csv = '手机号,角色\r\n15912345678,本人\r\n';
  const res = await api('operator', 'POST', `/api/campaigns/${id}/contacts?file=day2.csv`, csv, 'text/csv');
  assert.is(res.status, 201, await res.clone().text());
  const body = (await json(res)) as { report: { accepted: number }; campaignState: string };
  assert.equal([body.report.accepted, body.campaignState], [1, 'running']);
  const now = (await json(await api('auditor', 'GET', `/api/campaigns/${id}`))) as { campaign: { state: string } };
  assert.is(now.campaign.state, 'running', 'the dialer picks the new contacts up');
  assert.equal((await stateHooks()).slice(hooksBefore), ['running'], 'the CRM hears it reopen');

  assert.is((await api('operator', 'POST', `/api/campaigns/${id}/stop`)).status, 200);
  const refused = await api('operator', 'POST', `/api/campaigns/${id}/contacts?file=day3.csv`, '手机号,角色\r\n15912345679,本人\r\n', 'text/csv');
  assert.is(refused.status, 409);
  assert.match(await refused.text(), /stopped/);
  const stats = (await json(await api('auditor', 'GET', `/api/campaigns/${id}/stats`))) as { stats: { contacts: number } };
  assert.is(stats.stats.contacts, 1, 'nothing stored from the refused file');
});

test.run();
