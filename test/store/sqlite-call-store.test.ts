import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openSqliteStore, StoreError, type CallRecord, type Store, type TurnRecord } from '../../src/store/index.ts';

const log = pino({ level: 'silent' });
const scratch = mkdtempSync(join(tmpdir(), 'callpilot-store-'));
let dbCounter = 0;
const freshPath = (): string => join(scratch, `nested/dir-${++dbCounter}/calls.db`);

function call(id: string, overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    id,
    pbx: 'asterisk',
    pbxCallId: `chan-${id}`,
    direction: 'outbound',
    to: '13800138000',
    flow: 'collections',
    lang: 'zh',
    status: 'active',
    startedAt: '2025-05-01T08:00:00.000Z',
    variables: { name: '张三', amount: '1200' },
    ...overrides,
  };
}

function turn(callId: string, seq: number, overrides: Partial<TurnRecord> = {}): TurnRecord {
  return {
    callId,
    seq,
    callerText: '你好',
    inputKind: 'speech',
    botText: '您好，请问是张三吗？',
    speechStartMs: 1000,
    speechEndMs: 1800,
    latencyMs: 240,
    bargeIn: false,
    at: '2025-05-01T08:00:05.000Z',
    ...overrides,
  };
}

async function expectStoreError(run: () => unknown, pattern: RegExp): Promise<void> {
  try {
    await run();
  } catch (err) {
    assert.instance(err, StoreError);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected StoreError matching ${pattern}`);
}

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test('creates folder, WAL mode and schema version', async () => {
  const path = freshPath();
  const store = openSqliteStore(path, { log });
  await store.close();
  assert.ok(existsSync(path));
  const raw = new Database(path, { readonly: true });
  assert.is(raw.pragma('journal_mode', { simple: true }), 'wal');
  assert.is(raw.pragma('user_version', { simple: true }), 1);
  raw.close();
});

test('calls, turns and events survive close and reopen', async () => {
  const path = freshPath();
  let store: Store = openSqliteStore(path, { log });
  await store.calls.createCall(call('a', { startedAt: '2025-05-01T08:00:00.000Z' }));
  await store.calls.createCall(call('b', { startedAt: '2025-05-01T09:00:00.000Z', direction: 'inbound', to: undefined, from: '10086' }));
  await store.calls.updateCall('a', { answeredAt: '2025-05-01T08:00:03.000Z', recordingDir: 'data/recordings/a' });
  await store.calls.addTurn(turn('a', 0));
  await store.calls.addTurn(turn('a', 1, { callerText: '是我', bargeIn: true, heardMs: 800, botText: undefined }));
  await store.calls.addEvent({ callId: 'a', at: '2025-05-01T08:00:06.000Z', type: 'bargeIn', data: { heardMs: 800, stopMs: 12 } });
  await store.calls.addEvent({ callId: 'a', at: '2025-05-01T08:00:07.000Z', type: 'final', data: { text: '是我' } });
  await store.calls.updateCall('a', { status: 'ended', endedAt: '2025-05-01T08:01:00.000Z', disposition: 'promised_to_pay', hangupCause: 16, hangupBy: 'bot', variables: { name: '张三', promiseDate: '2025-05-03' } });
  await store.close();

  store = openSqliteStore(path, { log });
  const a = await store.calls.getCall('a');
  assert.equal(a, {
    ...call('a'),
    answeredAt: '2025-05-01T08:00:03.000Z',
    recordingDir: 'data/recordings/a',
    status: 'ended',
    endedAt: '2025-05-01T08:01:00.000Z',
    disposition: 'promised_to_pay',
    hangupCause: 16,
    hangupBy: 'bot',
    variables: { name: '张三', promiseDate: '2025-05-03' },
  });
  const turns = await store.calls.listTurns('a');
  assert.is(turns.length, 2);
  assert.equal(turns[0], turn('a', 0));
  assert.is(turns[1].bargeIn, true);
  assert.is(turns[1].heardMs, 800);
  assert.not.ok('botText' in turns[1]);
  assert.equal(
    (await store.calls.listEvents('a')).map((e) => [e.type, e.data]),
    [['bargeIn', { heardMs: 800, stopMs: 12 }], ['final', { text: '是我' }]],
  );
  // Newest first; filtered by status.
  assert.equal((await store.calls.listCalls()).map((c) => c.id), ['b', 'a']);
  assert.equal((await store.calls.listCalls({ status: 'ended' })).map((c) => c.id), ['a']);
  assert.equal((await store.calls.listCalls({ status: 'active', limit: 1 })).map((c) => c.id), ['b']);
  assert.is(await store.calls.getCall('missing'), undefined);
  await store.close();
});

test('crash recovery ends active calls as interrupted, once', async () => {
  const path = freshPath();
  const crashed = openSqliteStore(path, { log });
  await crashed.calls.createCall(call('live-1'));
  await crashed.calls.createCall(call('live-2', { disposition: 'promised_to_pay' }));
  await crashed.calls.createCall(call('done', { status: 'ended', endedAt: '2025-05-01T08:02:00.000Z', disposition: 'completed' }));
  // No close(): the process died. Open a second connection as the restarted process would.
  const restarted = openSqliteStore(path, { log });
  const now = new Date('2025-05-02T00:00:00.000Z');
  const recovered = await restarted.calls.recoverInterruptedCalls(now);
  assert.equal(recovered.map((c) => c.id).sort(), ['live-1', 'live-2']);
  for (const c of recovered) {
    assert.is(c.status, 'ended');
    assert.is(c.disposition, 'interrupted');
    assert.is(c.endedAt, now.toISOString());
  }
  assert.is((await restarted.calls.getCall('live-1'))?.disposition, 'interrupted');
  assert.is((await restarted.calls.getCall('done'))?.disposition, 'completed');
  const event = (await restarted.calls.listEvents('live-2')).find((e) => e.type === 'interrupted');
  assert.is(event?.data.previousDisposition, 'promised_to_pay');
  assert.equal(await restarted.calls.recoverInterruptedCalls(now), []);
  assert.is((await restarted.calls.listCalls({ status: 'active' })).length, 0);
  await crashed.close();
  await restarted.close();
});

test('malformed input is rejected with clear errors', async () => {
  const store = openSqliteStore(':memory:', { log });
  await store.calls.createCall(call('x'));
  await expectStoreError(() => store.calls.createCall(call('x')), /createCall: call x already exists/);
  await expectStoreError(() => store.calls.createCall({ ...call('y'), direction: 'sideways' as 'inbound' }), /direction/);
  await expectStoreError(() => store.calls.createCall({ ...call('y'), startedAt: 'yesterday' }), /startedAt/);
  await expectStoreError(() => store.calls.createCall({ ...call('y'), variables: { n: 5 as unknown as string } }), /variables\.n/);
  await expectStoreError(() => store.calls.updateCall('nope', { status: 'ended' }), /no call nope/);
  await expectStoreError(() => store.calls.updateCall('x', { status: 'gone' as 'ended' }), /status/);
  await expectStoreError(() => store.calls.updateCall('x', { colour: 'red' } as Partial<CallRecord>), /colour|Unrecognized/i);
  await expectStoreError(() => store.calls.addTurn(turn('ghost', 0)), /no such call/);
  await store.calls.addTurn(turn('x', 0));
  await expectStoreError(() => store.calls.addTurn(turn('x', 0)), /turn 0 of call x already exists/);
  await expectStoreError(() => store.calls.addTurn(turn('x', 1, { seq: -1 })), /seq/);
  await expectStoreError(() => store.calls.addTurn({ ...turn('x', 2), inputKind: 'telepathy' as 'speech' }), /inputKind/);
  await expectStoreError(() => store.calls.addEvent({ callId: 'ghost', at: '2025-05-01T08:00:00Z', type: 'x', data: {} }), /no such call/);
  await expectStoreError(() => store.calls.addEvent({ callId: 'x', at: '2025-05-01T08:00:00Z', type: '', data: {} }), /type/);
  await expectStoreError(() => store.calls.addEvent({ callId: 'x', at: '2025-05-01T08:00:00Z', type: 't', data: { n: 10n } }), /JSON/);
  await expectStoreError(() => store.calls.listCalls({ limit: 0 }), /limit/);
  // Nothing half-written by the rejected calls.
  assert.equal((await store.calls.listCalls()).map((c) => c.id), ['x']);
  assert.is((await store.calls.listTurns('x')).length, 1);
  await store.close();
});

test('a database from a newer callpilot is refused', async () => {
  const path = freshPath();
  await openSqliteStore(path, { log }).close();
  const raw = new Database(path);
  raw.pragma('user_version = 99');
  raw.close();
  await expectStoreError(() => openSqliteStore(path, { log }), /schema version 99, newer/);
});

test.run();
