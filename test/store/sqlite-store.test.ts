import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { openSqliteStore, StoreError, type CallRecord, type CallStore, type TurnRecord } from '../../src/store/index.ts';

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

function expectStoreError(run: () => unknown, pattern: RegExp): void {
  try {
    run();
  } catch (err) {
    assert.instance(err, StoreError);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected StoreError matching ${pattern}`);
}

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test('creates folder, WAL mode and schema version', () => {
  const path = freshPath();
  const store = openSqliteStore(path, { log });
  store.close();
  assert.ok(existsSync(path));
  const raw = new Database(path, { readonly: true });
  assert.is(raw.pragma('journal_mode', { simple: true }), 'wal');
  assert.is(raw.pragma('user_version', { simple: true }), 1);
  raw.close();
});

test('calls, turns and events survive close and reopen', () => {
  const path = freshPath();
  let store: CallStore = openSqliteStore(path, { log });
  store.createCall(call('a', { startedAt: '2025-05-01T08:00:00.000Z' }));
  store.createCall(call('b', { startedAt: '2025-05-01T09:00:00.000Z', direction: 'inbound', to: undefined, from: '10086' }));
  store.updateCall('a', { answeredAt: '2025-05-01T08:00:03.000Z', recordingDir: 'data/recordings/a' });
  store.addTurn(turn('a', 0));
  store.addTurn(turn('a', 1, { callerText: '是我', bargeIn: true, heardMs: 800, botText: undefined }));
  store.addEvent({ callId: 'a', at: '2025-05-01T08:00:06.000Z', type: 'bargeIn', data: { heardMs: 800, stopMs: 12 } });
  store.addEvent({ callId: 'a', at: '2025-05-01T08:00:07.000Z', type: 'final', data: { text: '是我' } });
  store.updateCall('a', { status: 'ended', endedAt: '2025-05-01T08:01:00.000Z', disposition: 'promised_to_pay', hangupCause: 16, hangupBy: 'bot', variables: { name: '张三', promiseDate: '2025-05-03' } });
  store.close();

  store = openSqliteStore(path, { log });
  const a = store.getCall('a');
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
  const turns = store.listTurns('a');
  assert.is(turns.length, 2);
  assert.equal(turns[0], turn('a', 0));
  assert.is(turns[1].bargeIn, true);
  assert.is(turns[1].heardMs, 800);
  assert.not.ok('botText' in turns[1]);
  assert.equal(
    store.listEvents('a').map((e) => [e.type, e.data]),
    [['bargeIn', { heardMs: 800, stopMs: 12 }], ['final', { text: '是我' }]],
  );
  // Newest first; filtered by status.
  assert.equal(store.listCalls().map((c) => c.id), ['b', 'a']);
  assert.equal(store.listCalls({ status: 'ended' }).map((c) => c.id), ['a']);
  assert.equal(store.listCalls({ status: 'active', limit: 1 }).map((c) => c.id), ['b']);
  assert.is(store.getCall('missing'), undefined);
  store.close();
});

test('crash recovery ends active calls as interrupted, once', () => {
  const path = freshPath();
  const crashed = openSqliteStore(path, { log });
  crashed.createCall(call('live-1'));
  crashed.createCall(call('live-2', { disposition: 'promised_to_pay' }));
  crashed.createCall(call('done', { status: 'ended', endedAt: '2025-05-01T08:02:00.000Z', disposition: 'completed' }));
  // No close(): the process died. Open a second connection as the restarted process would.
  const restarted = openSqliteStore(path, { log });
  const now = new Date('2025-05-02T00:00:00.000Z');
  const recovered = restarted.recoverInterruptedCalls(now);
  assert.equal(recovered.map((c) => c.id).sort(), ['live-1', 'live-2']);
  for (const c of recovered) {
    assert.is(c.status, 'ended');
    assert.is(c.disposition, 'interrupted');
    assert.is(c.endedAt, now.toISOString());
  }
  assert.is(restarted.getCall('live-1')?.disposition, 'interrupted');
  assert.is(restarted.getCall('done')?.disposition, 'completed');
  const event = restarted.listEvents('live-2').find((e) => e.type === 'interrupted');
  assert.is(event?.data.previousDisposition, 'promised_to_pay');
  assert.equal(restarted.recoverInterruptedCalls(now), []);
  assert.is(restarted.listCalls({ status: 'active' }).length, 0);
  crashed.close();
  restarted.close();
});

test('malformed input is rejected with clear errors', () => {
  const store = openSqliteStore(':memory:', { log });
  store.createCall(call('x'));
  expectStoreError(() => store.createCall(call('x')), /createCall: call x already exists/);
  expectStoreError(() => store.createCall({ ...call('y'), direction: 'sideways' as 'inbound' }), /direction/);
  expectStoreError(() => store.createCall({ ...call('y'), startedAt: 'yesterday' }), /startedAt/);
  expectStoreError(() => store.createCall({ ...call('y'), variables: { n: 5 as unknown as string } }), /variables\.n/);
  expectStoreError(() => store.updateCall('nope', { status: 'ended' }), /no call nope/);
  expectStoreError(() => store.updateCall('x', { status: 'gone' as 'ended' }), /status/);
  expectStoreError(() => store.updateCall('x', { colour: 'red' } as Partial<CallRecord>), /colour|Unrecognized/i);
  expectStoreError(() => store.addTurn(turn('ghost', 0)), /no such call/);
  store.addTurn(turn('x', 0));
  expectStoreError(() => store.addTurn(turn('x', 0)), /turn 0 of call x already exists/);
  expectStoreError(() => store.addTurn(turn('x', 1, { seq: -1 })), /seq/);
  expectStoreError(() => store.addTurn({ ...turn('x', 2), inputKind: 'telepathy' as 'speech' }), /inputKind/);
  expectStoreError(() => store.addEvent({ callId: 'ghost', at: '2025-05-01T08:00:00Z', type: 'x', data: {} }), /no such call/);
  expectStoreError(() => store.addEvent({ callId: 'x', at: '2025-05-01T08:00:00Z', type: '', data: {} }), /type/);
  expectStoreError(() => store.addEvent({ callId: 'x', at: '2025-05-01T08:00:00Z', type: 't', data: { n: 10n } }), /JSON/);
  expectStoreError(() => store.listCalls({ limit: 0 }), /limit/);
  // Nothing half-written by the rejected calls.
  assert.equal(store.listCalls().map((c) => c.id), ['x']);
  assert.is(store.listTurns('x').length, 1);
  store.close();
});

test('a database from a newer callpilot is refused', () => {
  const path = freshPath();
  openSqliteStore(path, { log }).close();
  const raw = new Database(path);
  raw.pragma('user_version = 99');
  raw.close();
  expectStoreError(() => openSqliteStore(path, { log }), /schema version 99, newer/);
});

test.run();
