import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { HttpServer } from '../../src/api/index.ts';
import { BUILTIN_PROFILES, CampaignService, systemClock } from '../../src/campaign/index.ts';
import { main } from '../../src/cli/main.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { silentLog, startServer } from '../api/fixtures.ts';
import { issueToken } from '../support/auth.ts';
import { freePort, REPO_ROOT } from '../support/e2e.ts';
import { scanChildLogs } from '../support/run-log.ts';

/*
 * `callpilot campaign ...` against a real callpilot HTTP server (fastify, the real campaign routes, token auth and
 * roles, SQLite store): what an operator types, and what they see.
 */

const work = mkdtempSync(join(tmpdir(), 'callpilot-campaign-cli-'));
let store: Store;
let server: HttpServer;
let url: string;
let operator: string;
let auditor: string;

test.before(async () => {
  store = openSqliteStore(':memory:', { log: silentLog });
  const campaigns = new CampaignService({ store: store.campaigns, clock: systemClock, profiles: BUILTIN_PROFILES, callerIdPool: ['+861065529988'], defaultCountry: 'CN' });
  await campaigns.addDnc({ numbers: ['13900000009'], reason: 'complaint' });
  ({ server, url } = await startServer({ store, campaigns }));
  operator = await issueToken(store, 'operator');
  auditor = await issueToken(store, 'auditor');
});

test.after(async () => {
  await server.close();
  await store.close();
  rmSync(work, { recursive: true, force: true });
});

interface Run {
  code: number;
  out: string;
  err: string;
  progress: string[];
}

/** `token` null: none on the command line. */
async function cli(argv: string[], token: string | null = operator): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const progress: string[] = [];
  const auth = token === null ? [] : ['--token', token];
  const code = await main(['campaign', ...argv, ...(argv.includes('--help') || argv.length === 0 ? [] : ['--url', url, ...auth])], {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    progress: (t) => progress.push(t),
  });
  return { code, out: out.join('\n'), err: err.join('\n'), progress };
}

const CAMPAIGN_YAML = `# 信用卡逾期提醒
name: 信用卡逾期提醒 12月
flow: credit_card_overdue
lang: zh
dialPattern: PJSIP/{national}@carrier
trunk: carrier
profile: cn-collection
cps: 5
maxConcurrent: 20
callerIds: ["010-6552 9988"]
retry: { maxAttempts: 3, delaysMin: { busy: 10, no-answer: 60 } }
`;

const CSV = ['手机号,姓名,金额,到期日,角色', '13800138000,张三,3580.50,2026-12-10,本人', '12345,王五,1,2026-12-12,debtor', '13800138000,张三重复,1,2026-12-12,debtor', '13900000009,黑名单,1,2026-12-12,debtor', '13800138001,李四,200,2026-12-11,debtor', ''].join('\n');

let campaignId = '';

test('--help and usage errors: exit 0 with the usage on stdout, exit 2 naming the mistake', async () => {
  const help = await cli(['--help']);
  assert.is(help.code, 0);
  assert.match(help.out, 'usage: callpilot campaign');
  for (const sub of ['create', 'import', 'start', 'pause', 'resume', 'stop', 'status', 'export']) assert.match(help.out, sub);
  assert.match((await cli(['status', '--help'])).out, 'usage: callpilot campaign');
  const cases: Array<[string[], RegExp, string | null]> = [
    [[], /missing command/, operator],
    [['launch'], /unknown command "campaign launch"/, operator],
    [['start'], /missing campaign id/, operator],
    [['start', '../etc/passwd'], /not a campaign id/, operator],
    [['start', 'cmp_1', 'extra'], /unexpected argument/, operator],
    [['status', '--bogus'], /Unknown option '--bogus'/, operator],
    [['create', '--name', 'x', '--cps', 'fast'], /--cps needs a number/, operator],
    [['create'], /give a campaign file/, operator],
    [['create', join(work, 'missing.yaml')], /cannot read/, operator],
    [['import', 'cmp_1'], /missing the contact file/, operator],
    [['status'], /no API token/, null],
  ];
  const saved = process.env.CALLPILOT_TOKEN;
  delete process.env.CALLPILOT_TOKEN;
  try {
    for (const [argv, re, token] of cases) {
      const r = argv.length === 0 ? await main(['campaign'], { out: () => undefined, err: () => undefined }).then((code) => ({ code, err: 'missing command' })) : await cli(argv, token);
      assert.is(r.code, 2, `${argv.join(' ')}: exit 2`);
      assert.match(r.err, re, `${argv.join(' ')}: ${r.err}`);
    }
  } finally {
    if (saved !== undefined) process.env.CALLPILOT_TOKEN = saved;
  }
});

test('create from a YAML file with a flag override; status lists it and shows it as a draft', async () => {
  const file = join(work, 'campaign.yaml');
  writeFileSync(file, CAMPAIGN_YAML);
  const r = await cli(['create', file, '--max-concurrent', '30']);
  assert.is(r.code, 0, r.err);
  const m = /^created (cmp_[a-z0-9]+) 信用卡逾期提醒 12月 \(draft; flow credit_card_overdue\/zh, profile cn-collection\)$/.exec(r.out);
  assert.ok(m, r.out);
  campaignId = m![1]!;
  const stored = await store.campaigns.getCampaign(campaignId);
  assert.is(stored?.maxConcurrent, 30, 'the flag overrides the file');
  assert.equal(stored?.callerIds, ['+861065529988'], 'caller id normalised by the server');

  const list = await cli(['status']);
  assert.is(list.code, 0);
  assert.match(list.out, new RegExp(`${campaignId}\\s+draft\\s+credit_card_overdue/zh\\s+cn-collection\\s+信用卡逾期提醒 12月`));
  const one = await cli(['status', campaignId, '--json']);
  assert.is(JSON.parse(one.out).campaign.state, 'draft');

  // A campaign the server refuses (caller id not ours): exit 1 with the server's reason.
  writeFileSync(join(work, 'spoofed.yaml'), CAMPAIGN_YAML.replace('010-6552 9988', '13912345678'));
  const spoofed = await cli(['create', join(work, 'spoofed.yaml')]);
  assert.is(spoofed.code, 1);
  assert.match(spoofed.err, /400 .*caller ids not configured as ours/);
});

test('import uploads with a progress bar and prints the per-row rejection report; --rejects saves the CSV', async () => {
  const file = join(work, 'overdue.csv');
  writeFileSync(file, CSV);
  const rejects = join(work, 'rejects.csv');
  const r = await cli(['import', campaignId, file, '--rejects', rejects]);
  assert.is(r.code, 0, r.err);
  assert.ok(r.progress.length >= 2, 'progress shown');
  assert.match(r.progress[0]!, /uploading overdue\.csv \[\.+\]\s+0 %/);
  assert.match(r.progress[r.progress.length - 1]!, /\[#{30}\] 100 %/);
  assert.match(r.out, /^import imp_\S+: 5 rows, 2 accepted, 3 rejected$/m);
  assert.match(r.out, /^row\s+column\s+reason$/m);
  assert.match(r.out, /^3\s+手机号\s+invalid number/m);
  assert.match(r.out, /^4\s+手机号\s+duplicate/m);
  assert.match(r.out, /^5\s+手机号\s+on the global do-not-call list \(complaint\)$/m);
  const saved = readFileSync(rejects, 'utf8');
  assert.match(saved, /row,column,reason/);
  assert.is(saved.trim().split('\n').length, 4, 'header + 3 rejected rows');
  assert.is((await store.campaigns.listContacts(campaignId)).length, 2);
});

test('start, pause, resume, stop through the API; a transition the state forbids is exit 1 with the reason', async () => {
  for (const [action, state] of [['start', 'running'], ['pause', 'paused'], ['resume', 'running']] as const) {
    const r = await cli([action, campaignId]);
    assert.is(r.code, 0, r.err);
    assert.is(r.out, `${campaignId} 信用卡逾期提醒 12月: ${state}`);
    assert.is((await store.campaigns.getCampaign(campaignId))?.state, state);
  }
  const again = await cli(['resume', campaignId]);
  assert.is(again.code, 1);
  assert.match(again.err, /409 cannot resume a campaign that is running/);
  const status = await cli(['status', campaignId]);
  assert.is(status.code, 0);
  assert.match(status.out, /^state\s+running$/m);
  assert.match(status.out, /^contacts\s+2 \(pending 2/m);
  const missing = await cli(['status', 'cmp_nonexistent']);
  assert.is(missing.code, 1);
  assert.match(missing.err, /404 no campaign cmp_nonexistent/);
});

test('export --unmask: full numbers for admins and tokens with the unmask grant only, each such export audited', async () => {
  const [contact] = await store.campaigns.listContacts(campaignId, { limit: 1 });
  const now = new Date().toISOString();
  const claimed = await store.campaigns.claimAttempt({
    campaignId,
    contactId: contact!.id,
    attemptId: 'att_cli_unmask',
    nodeId: 'n1',
    now,
    leaseUntil: new Date(Date.now() + 60_000).toISOString(),
    trunk: 'carrier',
    caps: { dayStart: now, weekStart: now, nextDay: now },
  });
  assert.ok(claimed.ok, JSON.stringify(claimed));
  await store.campaigns.finishAttempt('att_cli_unmask', { disposition: 'busy', cause: 17, endedAt: now }, { state: 'done' });
  const audited = async (): Promise<number> => (await store.audit.list({ limit: 1000 })).filter((e) => e.action === 'campaign.unmasked').length;
  const before = await audited();

  const masked = await cli(['export', campaignId], auditor);
  assert.is(masked.code, 0, masked.err);
  assert.match(masked.out, /^att_cli_unmask,\d+,1,\+86138\*{4}8000,done,busy,17,/m);
  assert.not.match(masked.out, /13800138000/);

  for (const [who, token] of [['auditor', auditor], ['operator', operator]] as const) {
    const refused = await cli(['export', campaignId, '--unmask'], token);
    assert.is(refused.code, 1, `${who} without the unmask grant`);
    assert.match(refused.err, /403.*unmask grant/);
    assert.not.match(refused.out, /13800138000/);
  }
  assert.is(await audited(), before, 'a refused unmask writes nothing and shows nothing');

  const grantedAuditor = await issueToken(store, 'auditor', { name: 'compliance-review', grants: ['unmask'] });
  const out = join(work, 'unmasked.csv');
  const granted = await cli(['export', campaignId, '--unmask', '--out', out], grantedAuditor);
  assert.is(granted.code, 0, granted.err);
  assert.match(readFileSync(out, 'utf8'), /^att_cli_unmask,\d+,1,\+8613800138000,done,busy,17,/m);
  const admin = await cli(['export', campaignId, '--unmask'], await issueToken(store, 'admin'));
  assert.is(admin.code, 0, admin.err);
  assert.match(admin.out, /\+8613800138000/);
  const entries = (await store.audit.list({ limit: 1000 })).filter((e) => e.action === 'campaign.unmasked');
  assert.is(entries.length, before + 2, 'each unmasked export is in the audit log');
  assert.equal(entries.slice(-2).map((e) => [e.target, e.detail.what]).sort(), [[campaignId, 'export'], [campaignId, 'export']]);
});

test('roles: an auditor reads status and exports but cannot start or stop; a bad token is refused', async () => {
  const stop = await cli(['stop', campaignId], auditor);
  assert.is(stop.code, 1);
  assert.match(stop.err, /403/);
  assert.is((await store.campaigns.getCampaign(campaignId))?.state, 'running', 'nothing changed');
  assert.is((await cli(['status', campaignId], auditor)).code, 0);
  const bad = await cli(['status'], 'cp_not-a-real-token');
  assert.is(bad.code, 1);
  assert.match(bad.err, /401/);
  const out = join(work, 'outcomes.csv');
  const exp = await cli(['export', campaignId, '--out', out], auditor);
  assert.is(exp.code, 0, exp.err);
  assert.match(readFileSync(out, 'utf8'), /^\uFEFF?id,contactId,attemptNo,number,state,disposition/);
  const stdout = await cli(['export', campaignId]);
  assert.match(stdout.out, /id,contactId,attemptNo/);
  assert.is((await cli(['stop', campaignId])).code, 0);
  assert.is((await store.campaigns.getCampaign(campaignId))?.state, 'stopped');
});

test('a server that is not running: exit 1 saying so', async () => {
  const port = await freePort();
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['campaign', 'status', '--url', `http://127.0.0.1:${port}`, '--token', operator], { out: (l) => out.push(l), err: (l) => err.push(l) });
  assert.is(code, 1);
  assert.match(err.join('\n'), /cannot reach callpilot at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
});

test('the real command in a child process: CALLPILOT_TOKEN and CALLPILOT_URL from the environment; exit 2 without a token', async () => {
  const spawn = (args: string[], env: Record<string, string | undefined>): Promise<{ code: number; out: string; err: string }> =>
    new Promise((resolve) => {
      const childEnv = { ...process.env, ...env };
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete childEnv[k];
      execFile(process.execPath, [join(REPO_ROOT, 'bin/callpilot.js'), ...args], { cwd: work, env: childEnv, timeout: 60_000 }, (error, stdout, stderr) => {
        scanChildLogs(stdout);
        scanChildLogs(stderr);
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, out: stdout, err: stderr });
      });
    });
  const ok = await spawn(['campaign', 'status'], { CALLPILOT_TOKEN: auditor, CALLPILOT_URL: url });
  assert.is(ok.code, 0, ok.err);
  assert.match(ok.out, campaignId);
  const noToken = await spawn(['campaign', 'status'], { CALLPILOT_TOKEN: undefined, CALLPILOT_URL: url });
  assert.is(noToken.code, 2);
  assert.match(noToken.err, /no API token/);
});

test.run();
