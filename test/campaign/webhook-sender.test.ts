import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ManualClock,
  signWebhook,
  systemClock,
  verifyWebhookSignature,
  webhookBackoffMs,
  WebhookSender,
  type WebhookSenderOptions,
} from '../../src/campaign/index.ts';
import { openPostgresStore, openSqliteStore, storeConfigSchema, type CampaignRecord, type Store } from '../../src/store/index.ts';
import { dropTestDatabases, freshDatabase, POSTGRES_URL } from '../store/postgres-harness.ts';
import { log } from './helpers.ts';

/*
 * CRM webhooks against a real HTTP receiver on loopback: signature, retries with backoff on the injected clock, the
 * dead-letter state, replay, and at-least-once delivery (same idempotency key) across a restart of the sender and
 * its store, on SQLite and, when TEST_POSTGRES_URL is set, on PostgreSQL.
 */

const SECRET = 'crm-shared-secret-0123456789';
const T0 = Date.parse('2026-03-02T02:00:00.000Z');

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

/** A CRM endpoint: records every request and answers with what `reply` says for the n-th one. */
class Receiver {
  readonly got: Received[] = [];
  reply: (n: number) => number | 'hang' | 'redirect' = () => 200;
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.got.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const r = this.reply(this.got.length - 1);
        if (r === 'hang') return;
        if (r === 'redirect') res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
        else res.writeHead(r, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/crm/hook`;
  }

  keys(): string[] {
    return this.got.map((r) => String(r.headers['idempotency-key']));
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function campaignRecord(id: string, url: string | undefined): CampaignRecord {
  return {
    id,
    name: `campaign ${id}`,
    flow: 'credit_card_overdue',
    lang: 'zh',
    dialPattern: 'PJSIP/{national}@trunk',
    trunk: 't1',
    callerIds: [],
    maxConcurrent: 5,
    cps: 5,
    priority: 0,
    profile: 'cn-collection',
    timeZone: 'Asia/Shanghai',
    expectedCallSec: 60,
    ringTimeoutSec: 30,
    retry: { maxAttempts: 3, delaysMin: {} },
    webhook: url ? { url, secret: SECRET } : undefined,
    state: 'running',
    createdAt: '2026-03-01T00:00:00.000Z',
    updatedAt: '2026-03-01T00:00:00.000Z',
  };
}

function attemptHook(campaignId: string, attemptId: string, callId?: string) {
  return {
    campaignId,
    event: 'attempt.finished',
    idempotencyKey: `attempt:${attemptId}`,
    payload: {
      event: 'attempt.finished',
      campaignId,
      attemptId,
      contactId: 1,
      attemptNo: 1,
      number: '+8613812345678',
      state: 'done',
      disposition: 'promised_to_pay',
      cause: 16,
      progress: 'human',
      endedAt: '2026-03-02T01:59:00.000Z',
      durationSec: 42,
      slots: { promised_date: '2026-03-05', card_number: '6222021234567890123' },
      callId,
    },
  };
}

interface Backend {
  name: string;
  /** Opens the store at `where` (a fresh place when undefined) and returns where it is, for reopening. */
  open(where?: string): Promise<{ store: Store; where: string }>;
}

const tmp = mkdtempSync(join(tmpdir(), 'callpilot-webhooks-'));
let files = 0;
const backends: Backend[] = [
  {
    name: 'sqlite',
    open: async (where) => {
      const file = where ?? join(tmp, `store-${++files}.db`);
      return { store: openSqliteStore(file, { log }), where: file };
    },
  },
];
if (POSTGRES_URL) {
  backends.push({
    name: 'postgres',
    open: async (where) => {
      const url = where ?? (await freshDatabase());
      return { store: await openPostgresStore(storeConfigSchema.parse({ url }), { log, nodeId: 'node-a' }), where: url };
    },
  });
} else {
  console.log('webhook-sender.test.ts: PostgreSQL part skipped, TEST_POSTGRES_URL is not set (.ci/run sets it)');
}

function sender(store: Store, clock: WebhookSenderOptions['clock'], extra: Partial<WebhookSenderOptions> = {}): WebhookSender {
  return new WebhookSender({
    store: store.campaigns,
    calls: store.calls,
    clock,
    log,
    maxTries: 4,
    backoffSec: 5,
    timeoutSec: 5,
    maskNumbers: true,
    random: () => 0.5,
    ...extra,
  });
}

const receiver = new Receiver();
test.before(() => receiver.start());
test.before.each(() => {
  receiver.got.length = 0;
  receiver.reply = () => 200;
});
test.after(async () => {
  await receiver.stop();
  await dropTestDatabases();
  rmSync(tmp, { recursive: true, force: true });
});

test('signature: HMAC-SHA256 over timestamp and body verifies; a wrong secret, a changed body or an old timestamp does not', () => {
  const body = '{"a":1}';
  const header = signWebhook(SECRET, 1_772_416_800, body);
  assert.match(header, /^t=1772416800,v1=[0-9a-f]{64}$/);
  assert.ok(verifyWebhookSignature(SECRET, header, body, 1_772_416_800 + 60));
  assert.not.ok(verifyWebhookSignature('another-secret-0123456789', header, body, 1_772_416_800));
  assert.not.ok(verifyWebhookSignature(SECRET, header, '{"a":2}', 1_772_416_800));
  assert.not.ok(verifyWebhookSignature(SECRET, header, body, 1_772_416_800 + 301), 'older than the tolerance');
  assert.not.ok(verifyWebhookSignature(SECRET, 't=1772416800,v1=zz', body, 1_772_416_800));
  assert.not.ok(verifyWebhookSignature(SECRET, undefined, body, 1_772_416_800));
});

test('backoff doubles per failure up to the cap, with half of it random', () => {
  assert.is(webhookBackoffMs(1, 5, 3600, () => 0), 2500);
  assert.is(webhookBackoffMs(1, 5, 3600, () => 0.999999), 5000);
  assert.is(webhookBackoffMs(2, 5, 3600, () => 0.5), 7500);
  assert.is(webhookBackoffMs(4, 5, 3600, () => 0), 20_000);
  assert.is(webhookBackoffMs(30, 5, 3600, () => 1), 3_600_000, 'capped');
});

for (const backend of backends) {
  const n = backend.name;

  test(`${n}: a finished attempt is delivered signed, with idempotency key, masked number, slots and masked transcript`, async () => {
    const { store } = await backend.open();
    await store.campaigns.createCampaign(campaignRecord('c1', receiver.url));
    await store.calls.createCall({ id: 'call-7', pbx: 'asterisk', direction: 'outbound', lang: 'zh', status: 'ended', flow: 'f', variables: {}, startedAt: '2026-03-02T01:58:00.000Z' });
    await store.calls.addTurn({ callId: 'call-7', seq: 0, callerText: '', inputKind: 'noInput', botText: '您好，请问是张先生吗？', bargeIn: false, at: '2026-03-02T01:58:02.000Z' });
    await store.calls.addTurn({ callId: 'call-7', seq: 1, callerText: '是我，我的新号码是13912345678', inputKind: 'speech', botText: '好的', bargeIn: false, at: '2026-03-02T01:58:06.000Z' });
    await store.calls.addTurn({ callId: 'call-7', seq: 2, callerText: '哦不对，是13912345679', inputKind: 'speech', botText: '好的，记下了', bargeIn: true, continuesSeq: 1, at: '2026-03-02T01:58:08.000Z' });
    await store.campaigns.enqueueWebhook(attemptHook('c1', 'a1', 'call-7'), '2026-03-02T01:59:00.000Z');
    const clock = new ManualClock(T0);
    assert.is(await sender(store, clock).deliverDue(), 1);
    assert.is(receiver.got.length, 1);
    const [req] = receiver.got;
    assert.ok(verifyWebhookSignature(SECRET, req!.headers['x-callpilot-signature'] as string, req!.body, T0 / 1000), 'the receiver can verify it');
    assert.is(req!.headers['x-callpilot-timestamp'], String(T0 / 1000));
    assert.is(req!.headers['idempotency-key'], 'attempt:a1');
    assert.is(req!.headers['x-callpilot-event'], 'attempt.finished');
    assert.is(req!.headers['content-type'], 'application/json');
    const body = JSON.parse(req!.body) as Record<string, unknown>;
    assert.equal([body.disposition, body.cause, body.progress, body.durationSec, body.idempotencyKey], ['promised_to_pay', 16, 'human', 42, 'attempt:a1']);
    assert.is(body.number, '+86138****5678');
    assert.equal(body.slots, { promised_date: '2026-03-05', card_number: '***************0123' });
    assert.equal(body.transcript, [
      { seq: 0, at: '2026-03-02T01:58:02.000Z', caller: '', bot: '您好，请问是张先生吗？' },
      { seq: 1, at: '2026-03-02T01:58:06.000Z', caller: '是我，我的新号码是139****5678', bot: '好的' },
      { seq: 2, at: '2026-03-02T01:58:08.000Z', caller: '哦不对，是139****5679', bot: '好的，记下了', continues: 1 },
    ]);
    assert.not.match(req!.body, /13812345678|13912345678|6222021234567890123/, 'no full number anywhere in the body');
    const [row] = await store.campaigns.listWebhooks({});
    assert.equal([row?.state, row?.tries], ['delivered', 1]);
    assert.is(await sender(store, clock).deliverDue(), 0, 'a delivered row is not sent again');
    await store.close();
  });

  test(`${n}: numbers are sent in full when masking is configured off`, async () => {
    const { store } = await backend.open();
    await store.campaigns.createCampaign(campaignRecord('c1', receiver.url));
    await store.campaigns.enqueueWebhook(attemptHook('c1', 'a1'), '2026-03-02T01:59:00.000Z');
    await sender(store, new ManualClock(T0), { maskNumbers: false }).deliverDue();
    const body = JSON.parse(receiver.got[0]!.body) as Record<string, unknown>;
    assert.is(body.number, '+8613812345678');
    assert.is((body.slots as Record<string, string>).card_number, '6222021234567890123');
    assert.is(body.transcript, undefined, 'no call, no transcript');
    await store.close();
  });

  test(`${n}: HTTP 500s are retried with exponential backoff on the injected clock until the CRM answers 2xx`, async () => {
    const { store } = await backend.open();
    await store.campaigns.createCampaign(campaignRecord('c1', receiver.url));
    await store.campaigns.enqueueWebhook(attemptHook('c1', 'a1'), '2026-03-02T01:59:00.000Z');
    receiver.reply = (i) => (i < 2 ? 500 : 204);
    const clock = new ManualClock(T0);
    const s = sender(store, clock);
    assert.is(await s.deliverDue(), 1);
    let [row] = await store.campaigns.listWebhooks({});
    assert.equal([row?.state, row?.tries, row?.lastError, row?.nextAt], ['pending', 1, 'HTTP 500', new Date(T0 + 3750).toISOString()], 'first backoff: 5 s, equal jitter at 0.5');
    clock.set(T0 + 3749);
    assert.is(await s.deliverDue(), 0, 'not before its time');
    clock.set(T0 + 3750);
    assert.is(await s.deliverDue(), 1);
    [row] = await store.campaigns.listWebhooks({});
    assert.equal([row?.tries, row?.nextAt], [2, new Date(T0 + 3750 + 7500).toISOString()], 'second backoff doubled: 10 s');
    clock.set(T0 + 3750 + 7500);
    assert.is(await s.deliverDue(), 1);
    [row] = await store.campaigns.listWebhooks({});
    assert.equal([row?.state, row?.tries, row?.lastError], ['delivered', 3, undefined]);
    assert.equal(receiver.keys(), ['attempt:a1', 'attempt:a1', 'attempt:a1'], 'every try carries the same idempotency key');
    assert.equal(receiver.got.map((r) => r.headers['x-callpilot-try']), ['1', '2', '3']);
    for (const r of receiver.got) assert.ok(verifyWebhookSignature(SECRET, r.headers['x-callpilot-signature'] as string, r.body, clock.now() / 1000));
    await store.close();
  });

  test(`${n}: after maxTries failures a delivery is dead-lettered, is not tried again, and a replay delivers it`, async () => {
    const { store } = await backend.open();
    await store.campaigns.createCampaign(campaignRecord('c1', receiver.url));
    await store.campaigns.enqueueWebhook(attemptHook('c1', 'a1'), '2026-03-02T01:59:00.000Z');
    receiver.reply = () => 503;
    const clock = new ManualClock(T0);
    const tries: string[] = [];
    const s = sender(store, clock, { maxTries: 3, onTry: (_d, result) => tries.push(result) });
    for (let i = 0; i < 6; i++) {
      await s.deliverDue();
      await clock.advance(3_600_000);
    }
    assert.is(receiver.got.length, 3, 'three tries, then no more');
    assert.equal(tries, ['retry', 'retry', 'dead']);
    const [dead] = await store.campaigns.listWebhooks({ state: 'dead' });
    assert.equal([dead?.idempotencyKey, dead?.tries, dead?.lastError], ['attempt:a1', 3, 'HTTP 503']);
    receiver.reply = () => 200;
    assert.ok(await store.campaigns.replayWebhook(dead!.id, new Date(clock.now()).toISOString()));
    assert.is(await s.deliverDue(), 1);
    assert.equal((await store.campaigns.getWebhook(dead!.id))?.state, 'delivered');
    assert.equal(receiver.keys(), ['attempt:a1', 'attempt:a1', 'attempt:a1', 'attempt:a1'], 'the replay carries the original idempotency key');
    await store.close();
  });

  test(`${n}: timeouts, redirects, refused connections and a campaign without webhook are failures, never successes`, async () => {
    const { store } = await backend.open();
    await store.campaigns.createCampaign(campaignRecord('c1', receiver.url));
    await store.campaigns.createCampaign(campaignRecord('nohook', undefined));
    // A port nothing listens on (fetch refuses well-known "bad ports" like 1 before connecting).
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    await store.campaigns.createCampaign(campaignRecord('closed', `http://127.0.0.1:${closedPort}/hook`));
    await store.campaigns.enqueueWebhook(attemptHook('c1', 'hang'), '2026-03-02T01:59:00.000Z');
    await store.campaigns.enqueueWebhook(attemptHook('c1', 'redirect'), '2026-03-02T01:59:01.000Z');
    await store.campaigns.enqueueWebhook(attemptHook('nohook', 'x'), '2026-03-02T01:59:02.000Z');
    await store.campaigns.enqueueWebhook(attemptHook('closed', 'y'), '2026-03-02T01:59:03.000Z');
    receiver.reply = (i) => (receiver.got[i]!.headers['idempotency-key'] === 'attempt:hang' ? 'hang' : 'redirect');
    await sender(store, new ManualClock(T0), { timeoutSec: 1 }).deliverDue();
    const rows = new Map((await store.campaigns.listWebhooks({})).map((w) => [w.idempotencyKey, w]));
    assert.equal([rows.get('attempt:hang')?.state, rows.get('attempt:hang')?.lastError], ['pending', 'timeout after 1 s']);
    assert.equal([rows.get('attempt:redirect')?.state, rows.get('attempt:redirect')?.lastError], ['pending', 'HTTP 302']);
    assert.equal([rows.get('attempt:x')?.state, rows.get('attempt:x')?.lastError], ['dead', 'the campaign has no webhook configured']);
    assert.is(rows.get('attempt:y')?.state, 'pending');
    assert.match(rows.get('attempt:y')?.lastError ?? '', /ECONNREFUSED/, rows.get('attempt:y')?.lastError);
    await store.close();
  });

  test(`${n}: restart: pending deliveries resume, a delivery cut between the 2xx and the store write is repeated once with the same key`, async () => {
    const first = await backend.open();
    const where = first.where;
    await first.store.campaigns.createCampaign(campaignRecord('c1', receiver.url));
    await first.store.campaigns.enqueueWebhook(attemptHook('c1', 'delivered-before'), '2026-03-02T01:59:00.000Z');
    const clock = new ManualClock(T0);
    await sender(first.store, clock).deliverDue();
    await first.store.campaigns.enqueueWebhook(attemptHook('c1', 'cut'), '2026-03-02T01:59:10.000Z');
    // The process "dies" after the CRM's 2xx and before the delivery is recorded.
    const dying = Object.create(first.store.campaigns) as Store['campaigns'];
    dying.webhookDelivered = async () => {
      throw new Error('killed');
    };
    await sender({ campaigns: dying, calls: first.store.calls } as Store, clock).deliverDue();
    await first.store.campaigns.enqueueWebhook(attemptHook('c1', 'queued-before'), '2026-03-02T01:59:20.000Z');
    await first.store.close();
    assert.equal(receiver.keys(), ['attempt:delivered-before', 'attempt:cut']);

    const second = await backend.open(where);
    // The restarted sender runs its own loop on the real clock; the cut row's lease (timeout + 15 s) has passed.
    const later = { now: () => systemClock.now() - Date.now() + T0 + 60_000, sleep: systemClock.sleep };
    const s = sender(second.store, later, { pollMs: 50 });
    s.start();
    for (let i = 0; i < 200 && receiver.got.length < 4; i++) await new Promise((r) => setTimeout(r, 25));
    // A few more polls: nothing else may arrive.
    await new Promise((r) => setTimeout(r, 300));
    await s.stop();
    assert.equal(receiver.keys().sort(), ['attempt:cut', 'attempt:cut', 'attempt:delivered-before', 'attempt:queued-before'], 'each delivered, only the cut one twice');
    assert.equal(await second.store.campaigns.countWebhooks(), { pending: 0, delivered: 3, dead: 0 });
    await second.store.close();
  });
}

test.run();
