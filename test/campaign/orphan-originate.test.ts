import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BUILTIN_PROFILES, CampaignDialer, CampaignService, systemClock } from '../../src/campaign/index.ts';
import { OutboundCallService } from '../../src/calls/index.ts';
import type { PbxAdapter } from '../../src/pbx/index.ts';
import { openSqliteStore, type AttemptRecord, type Store } from '../../src/store/index.ts';
import { startHarness } from '../pbx/asterisk/harness.ts';
import { rig, teardown } from '../pbx/freeswitch/harness.ts';
import { until } from '../support/e2e.ts';
import { ALWAYS_OPEN_PROFILE } from './crash-checks.ts';
import { log } from './helpers.ts';
import { killNode, sleep, startNode } from './node-procs.ts';

/**
 * A node that dies with an originate in flight: the channel id was chosen and committed with the claim before the
 * originate left, so a surviving node's sweep asks the PBX for that very channel (ARI `GET /channels/{id}`, ESL
 * `uuid_exists`), finds it still up and hangs it up, and the attempt ends `interrupted` from what the PBX said,
 * not `unknown`. The sweep never lists every channel on the PBX for it.
 */

const profiles = { ...BUILTIN_PROFILES, always: ALWAYS_OPEN_PROFILE };

async function oneContactCampaign(store: Store, dialPattern: string): Promise<string> {
  const service = new CampaignService({ store: store.campaigns, clock: systemClock, profiles, callerIdPool: [], defaultCountry: 'CN' });
  const c = await service.create({ name: 'orphan', flow: 'demo', dialPattern, profile: 'always', expectedCallSec: 0, cps: 50, maxConcurrent: 5, retry: { maxAttempts: 1 } });
  await store.campaigns.addContacts(c.id, [{ number: '+8613800000001', role: 'debtor', variables: {} }], new Date().toISOString());
  await service.act(c.id, 'start');
  return c.id;
}

/** Counts how the sweep asked the PBX: per channel id, or by listing everything. */
function spyOnLookups(adapter: PbxAdapter): { found: string[]; listed: number } {
  const seen = { found: [] as string[], listed: 0 };
  const find = adapter.findChannel!.bind(adapter);
  const list = adapter.listLiveCalls!.bind(adapter);
  adapter.findChannel = (id) => {
    seen.found.push(id);
    return find(id);
  };
  adapter.listLiveCalls = () => {
    seen.listed++;
    return list();
  };
  return seen;
}

/** The survivor: its own adapter on the same PBX, its own node id, the same store. */
function survivor(store: Store, adapter: PbxAdapter): CampaignDialer {
  const outbound = new OutboundCallService({ adapters: [adapter], calls: store.calls, runner: { run: async () => undefined }, log });
  return new CampaignDialer({ store: store.campaigns, calls: store.calls, placer: outbound, adapters: [adapter], clock: systemClock, nodeId: 'survivor', profiles, freeCalls: () => 10, log, leaseMs: 60_000 });
}

async function untilLeaseExpired(store: Store, attemptId: string): Promise<AttemptRecord> {
  let attempt: AttemptRecord | undefined;
  await until(async () => {
    attempt = await store.campaigns.getAttempt(attemptId);
    return attempt !== undefined && Date.parse(attempt.leaseUntil ?? '') < Date.now();
  }, 'the dead node\'s lease expired', 20_000);
  return attempt!;
}

test('FreeSWITCH: node SIGKILLed right after its originate reached the peer; the survivor hangs the parked channel up by its stored uuid', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-orphan-'));
  const dbPath = join(dir, 'callpilot.db');
  // timeScale 1: the callee answers after the captured ring, and the channel then stays parked with nobody on it.
  const r = await rig({}, { timeScale: 1 });
  r.fs.setCallee(() => 'answer');
  const eslPort = r.cfg.port;
  const setup = openSqliteStore(dbPath);
  const campaignId = await oneContactCampaign(setup, 'sofia/gateway/gw/{national}');
  await setup.close();
  const node = startNode({ sqlite: dbPath, eslPort, nodeId: 'doomed', maxCalls: 5, leaseMs: 1500, heartbeatMs: 500, talkMs: 60_000 });
  let store: Store | undefined;
  try {
    // The kill lands while the originate is in flight: the peer has it, the node has not heard back.
    const killed = new Promise<void>((resolve) => {
      const push = r.fs.originates.push.bind(r.fs.originates);
      r.fs.originates.push = (...items) => {
        node.proc.kill('SIGKILL');
        resolve();
        return push(...items);
      };
    });
    await node.ready;
    await killed;
    await node.exited;
    const originate = r.fs.originates[0]!;
    const uuid = originate.variables.origination_uuid!;
    assert.ok(uuid, 'the originate names its channel uuid');
    store = openSqliteStore(dbPath);
    const [stored] = await store.campaigns.listAttempts(campaignId);
    assert.is(stored!.id, originate.variables.callpilot_attempt);
    assert.is(stored!.pbxCallId, uuid, 'the uuid was committed with the claim before the originate was sent');
    assert.is(stored!.state, 'dialing');

    await until(() => [...r.fs.channels.values()].some((c) => c.uuid === uuid && c.answered && !c.hungUp), 'the orphan answered and parked', 20_000);
    await untilLeaseExpired(store, stored!.id);
    await r.adapter.start();
    await until(() => r.adapter.ready, 'ESL up', 5000);
    const asked = spyOnLookups(r.adapter);
    const report = await survivor(store, r.adapter).sweep();
    assert.equal(report, { checked: 1, hungUp: 1, fromCallRecord: 0, unknown: 0 });
    assert.equal(asked, { found: [uuid], listed: 0 });
    await until(() => r.fs.channels.get(uuid)?.hungUp === true, 'the orphan hung up at the peer', 5000);
    const settled = await store.campaigns.getAttempt(stored!.id);
    assert.is(settled!.state, 'done');
    assert.is(settled!.disposition, 'interrupted');
    assert.is(r.fs.originates.length, 1, 'nothing dialled twice');
  } finally {
    if (node.proc.exitCode === null) await killNode(node);
    await store?.close();
    await teardown(r);
    rmSync(dir, { recursive: true, force: true });
  }
});

/** POST /channels exactly as the dead node's adapter sent it (channelId chosen in advance, attempt variable). */
function rawOriginate(url: string, q: Record<string, string>, variables: Record<string, string>): Promise<number> {
  const u = new URL(`${url.replace(/\/$/, '')}/ari/channels`);
  for (const [k, v] of Object.entries(q)) u.searchParams.set(k, v);
  const body = JSON.stringify({ variables });
  return new Promise((resolve, reject) => {
    const req = request(u, { method: 'POST', auth: 'bot:bot', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('Asterisk: originate in flight from a node that died; the survivor finds the ringing channel by its stored id and hangs it up', async () => {
  // Ringing for the captured no-answer time (tens of seconds at timeScale 1): the sweep meets it mid-ring.
  const h = await startHarness({}, { timeScale: 1 });
  h.asterisk.outcomeByEndpoint.set('PJSIP/13800000001@sipp-uas', 'no-answer');
  const store = openSqliteStore(':memory:');
  try {
    const campaignId = await oneContactCampaign(store, 'PJSIP/{national}@sipp-uas');
    const [contact] = await store.campaigns.listContacts(campaignId);
    const now = new Date().toISOString();
    // What the dead node did before it died: the claim, with the channel id its adapter chose, committed first...
    const channelId = h.adapter.newChannelId();
    const claim = await store.campaigns.claimAttempt({
      campaignId, contactId: contact!.id, attemptId: 'att_orphan', nodeId: 'doomed', now,
      leaseUntil: new Date(Date.now() + 300).toISOString(), trunk: 'default', caps: { dayStart: now, weekStart: now, nextDay: now }, pbxCallId: channelId,
    });
    assert.ok(claim.ok);
    // ...then the originate on the wire, and nothing more from it.
    const status = await rawOriginate(h.asterisk.url, { endpoint: 'PJSIP/13800000001@sipp-uas', app: 'doomed', channelId, timeout: '30' }, { CALLPILOT_ATTEMPT: 'att_orphan' });
    assert.is(status, 200);
    await untilLeaseExpired(store, 'att_orphan');
    const asked = spyOnLookups(h.adapter);
    const report = await survivor(store, h.adapter).sweep();
    assert.equal(report, { checked: 1, hungUp: 1, fromCallRecord: 0, unknown: 0 });
    assert.equal(asked, { found: [channelId], listed: 0 });
    assert.ok(h.asterisk.requests.some((q) => q.method === 'DELETE' && q.path.endsWith(`/channels/${channelId}`)), 'hung up by id');
    await until(() => !h.asterisk.liveChannelIds().includes(channelId), 'the channel gone at the peer', 5000);
    const settled = await store.campaigns.getAttempt('att_orphan');
    assert.is(settled!.disposition, 'interrupted');
    assert.is(settled!.state, 'done');
  } finally {
    await store.close();
    await h.close();
  }
});

test('a stored channel id the PBX no longer has: the attempt is unknown, never re-dialled, and no channel is listed', async () => {
  const r = await rig();
  await r.adapter.start();
  await until(() => r.adapter.ready, 'ESL up', 5000);
  const store = openSqliteStore(':memory:');
  try {
    const campaignId = await oneContactCampaign(store, 'sofia/gateway/gw/{national}');
    const [contact] = await store.campaigns.listContacts(campaignId);
    const now = new Date().toISOString();
    const gone = r.adapter.newChannelId();
    assert.ok(
      (await store.campaigns.claimAttempt({ campaignId, contactId: contact!.id, attemptId: 'att_gone', nodeId: 'doomed', now, leaseUntil: now, trunk: 'default', caps: { dayStart: now, weekStart: now, nextDay: now }, pbxCallId: gone })).ok,
    );
    await sleep(5);
    const asked = spyOnLookups(r.adapter);
    const report = await survivor(store, r.adapter).sweep();
    assert.equal(report, { checked: 1, hungUp: 0, fromCallRecord: 0, unknown: 1 });
    assert.equal(asked, { found: [gone], listed: 0 });
    assert.is((await store.campaigns.getContact(contact!.id))!.state, 'unknown');
  } finally {
    await store.close();
    await teardown(r);
  }
});

test.run();
