import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { StoreError, type CallRecord, type Store, type TurnRecord } from '../../src/store/index.ts';
import { testLog } from '../support/run-log.ts';

/**
 * The semantics every store backend must keep (SQLite, PostgreSQL): one suite, run against each. A backend gives
 * a way to open a fresh empty store and to reopen the same one, as a restarted process would.
 */
export interface StoreBackend {
  name: string;
  /** A new, empty store and a function that opens the same database again (with its own connection). */
  fresh(): Promise<{ store: Store; reopen: () => Promise<Store> }>;
  /** Makes the database look migrated by a newer callpilot; returns a function that tries to open it. */
  fromTheFuture(): Promise<() => Promise<Store>>;
}

export const silentLog = testLog();

export function call(id: string, overrides: Partial<CallRecord> = {}): CallRecord {
  return {
    id,
    pbx: 'asterisk',
    pbxCallId: `chan-${id}`,
    externalId: `ext-${id}`,
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

export function turn(callId: string, seq: number, overrides: Partial<TurnRecord> = {}): TurnRecord {
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

export async function expectStoreError(run: () => unknown, pattern: RegExp): Promise<void> {
  try {
    await run();
  } catch (err) {
    assert.instance(err, StoreError);
    assert.match((err as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected StoreError matching ${pattern}`);
}

export function callStoreContract(suite: Test, backend: StoreBackend): void {
  suite(`${backend.name}: calls, turns and events survive close and reopen`, async () => {
    const { store: first, reopen } = await backend.fresh();
    let store = first;
    await store.calls.createCall(call('a', { startedAt: '2025-05-01T08:00:00.000Z' }));
    await store.calls.createCall(call('b', { startedAt: '2025-05-01T09:00:00.000Z', direction: 'inbound', to: undefined, from: '10086' }));
    await store.calls.updateCall('a', { answeredAt: '2025-05-01T08:00:03.000Z', recordingDir: 'data/recordings/a' });
    await store.calls.addTurn(turn('a', 0));
    await store.calls.addTurn(turn('a', 1, { callerText: '是我', bargeIn: true, heardMs: 800, botText: undefined }));
    const understood = { intent: 'promise_to_pay', confidence: 0.87, slots: { date: '2025-05-03', number: '3' }, emotion: { label: 'negative' as const, score: 0.65 } };
    await store.calls.addTurn(turn('a', 2, { callerText: '烦死了，后天还', ...understood }));
    await store.calls.addTurn(turn('a', 3, { callerText: '哦不对，大后天', bargeIn: true, heardMs: 300, continuesSeq: 2 }));
    await store.calls.addEvent({ callId: 'a', at: '2025-05-01T08:00:06.000Z', type: 'bargeIn', data: { heardMs: 800, stopMs: 12 } });
    await store.calls.addEvent({ callId: 'a', at: '2025-05-01T08:00:07.000Z', type: 'final', data: { text: '是我' } });
    await store.calls.updateCall('a', {
      status: 'ended',
      endedAt: '2025-05-01T08:01:00.000Z',
      disposition: 'promised_to_pay',
      hangupCause: 16,
      hangupBy: 'bot',
      variables: { name: '张三', promiseDate: '2025-05-03' },
    });
    await store.close();

    store = await reopen();
    assert.equal(await store.calls.getCall('a'), {
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
    assert.is(turns.length, 4);
    assert.equal(turns[3], turn('a', 3, { callerText: '哦不对，大后天', bargeIn: true, heardMs: 300, continuesSeq: 2 }), 'the turn it continues comes back');
    assert.not.ok('continuesSeq' in turns[2]!);
    assert.equal(turns[2], turn('a', 2, { callerText: '烦死了，后天还', ...understood }), 'intent, confidence, slots and emotion come back');
    assert.not.ok('intent' in turns[0]! || 'slots' in turns[0]! || 'emotion' in turns[0]!);
    assert.equal(turns[0], turn('a', 0));
    assert.is(turns[1]!.bargeIn, true);
    assert.is(turns[1]!.heardMs, 800);
    assert.not.ok('botText' in turns[1]!);
    assert.equal(
      (await store.calls.listEvents('a')).map((e) => [e.type, e.data]),
      [
        ['bargeIn', { heardMs: 800, stopMs: 12 }],
        ['final', { text: '是我' }],
      ],
    );
    // Newest first; filtered by status.
    assert.equal((await store.calls.listCalls()).map((c) => c.id), ['b', 'a']);
    assert.equal((await store.calls.listCalls({ status: 'ended' })).map((c) => c.id), ['a']);
    assert.equal((await store.calls.listCalls({ status: 'active', limit: 1 })).map((c) => c.id), ['b']);
    assert.is(await store.calls.getCall('missing'), undefined);
    assert.ok(store.health().ok);
    await store.close();
  });

  suite(`${backend.name}: calls started in the same millisecond list newest first, in insertion order`, async () => {
    const { store } = await backend.fresh();
    for (const id of ['x1', 'x2', 'x3']) await store.calls.createCall(call(id));
    assert.equal((await store.calls.listCalls()).map((c) => c.id), ['x3', 'x2', 'x1']);
    await store.close();
  });

  suite(`${backend.name}: crash recovery ends active calls as interrupted, once`, async () => {
    const { store: crashed, reopen } = await backend.fresh();
    await crashed.calls.createCall(call('live-1'));
    await crashed.calls.createCall(call('live-2', { disposition: 'promised_to_pay' }));
    await crashed.calls.createCall(call('done', { status: 'ended', endedAt: '2025-05-01T08:02:00.000Z', disposition: 'completed' }));
    // No close(): the process died. A second connection, as the restarted process would open.
    const restarted = await reopen();
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

  suite(`${backend.name}: malformed input is rejected with clear errors and nothing half-written`, async () => {
    const { store } = await backend.fresh();
    const calls = store.calls;
    await calls.createCall(call('x'));
    await expectStoreError(() => calls.createCall(call('x')), /createCall: call x already exists/);
    await expectStoreError(() => calls.createCall({ ...call('y'), direction: 'sideways' as 'inbound' }), /direction/);
    await expectStoreError(() => calls.createCall({ ...call('y'), startedAt: 'yesterday' }), /startedAt/);
    await expectStoreError(() => calls.createCall({ ...call('y'), variables: { n: 5 as unknown as string } }), /variables\.n/);
    await expectStoreError(() => calls.updateCall('nope', { status: 'ended' }), /no call nope/);
    await expectStoreError(() => calls.updateCall('x', { status: 'gone' as 'ended' }), /status/);
    await expectStoreError(() => calls.updateCall('x', { colour: 'red' } as Partial<CallRecord>), /colour|Unrecognized/i);
    await expectStoreError(() => calls.addTurn(turn('ghost', 0)), /no such call/);
    await calls.addTurn(turn('x', 0));
    await expectStoreError(() => calls.addTurn(turn('x', 0)), /turn 0 of call x already exists/);
    await expectStoreError(() => calls.addTurn(turn('x', 1, { seq: -1 })), /seq/);
    await expectStoreError(() => calls.addTurn({ ...turn('x', 2), inputKind: 'telepathy' as 'speech' }), /inputKind/);
    await expectStoreError(() => calls.addEvent({ callId: 'ghost', at: '2025-05-01T08:00:00Z', type: 'x', data: {} }), /no such call/);
    await expectStoreError(() => calls.addEvent({ callId: 'x', at: '2025-05-01T08:00:00Z', type: '', data: {} }), /type/);
    await expectStoreError(() => calls.addEvent({ callId: 'x', at: '2025-05-01T08:00:00Z', type: 't', data: { n: 10n } }), /JSON/);
    await expectStoreError(() => calls.listCalls({ limit: 0 }), /limit/);
    assert.equal((await calls.listCalls()).map((c) => c.id), ['x']);
    assert.is((await calls.listTurns('x')).length, 1);
    await store.close();
  });

  suite(`${backend.name}: call-progress and AMD verdicts are stored with the call and survive reopen`, async () => {
    const { store: first, reopen } = await backend.fresh();
    let store = first;
    await store.calls.createCall(call('cp-1', { status: 'ended', disposition: 'failed' }));
    await store.calls.updateCall('cp-1', {
      progress: { kind: 'powered_off', source: 'announcement', atMs: 2140, evidence: '关机', transcript: '您拨打的电话已关机', cause: 19 },
    });
    await store.calls.createCall(call('cp-2'));
    await store.calls.updateCall('cp-2', { amd: { kind: 'assistant', reason: 'keyword', atMs: 1800, evidence: '智能助理' } });
    await store.close();
    store = await reopen();
    const cp1 = await store.calls.getCall('cp-1');
    assert.equal(cp1?.progress, { kind: 'powered_off', source: 'announcement', atMs: 2140, evidence: '关机', transcript: '您拨打的电话已关机', cause: 19 });
    assert.is(cp1?.amd, undefined);
    assert.equal((await store.calls.getCall('cp-2'))?.amd, { kind: 'assistant', reason: 'keyword', atMs: 1800, evidence: '智能助理' });
    await expectStoreError(() => store.calls.updateCall('cp-2', { amd: { kind: 'robot', reason: 'keyword', atMs: 1 } as never }), /amd\.kind/);
    await store.close();
  });

  suite(`${backend.name}: a database from a newer callpilot is refused`, async () => {
    const open = await backend.fromTheFuture();
    await expectStoreError(open, /schema version 99, newer/);
  });

  suite(`${backend.name}: call lists filter and page by cursor without repeating or skipping a call`, async () => {
    const { store } = await backend.fresh();
    const at = (minute: number) => `2025-05-01T08:${String(minute).padStart(2, '0')}:00.000Z`;
    // 12 calls, three in the same millisecond (insertion order breaks the tie), of two campaigns and flows.
    for (let i = 0; i < 12; i++) {
      await store.calls.createCall(
        call(`c${i}`, {
          startedAt: at(i < 3 ? 0 : i),
          flow: i % 2 === 0 ? 'collections' : 'survey',
          direction: i % 3 === 0 ? 'inbound' : 'outbound',
          to: `1380013${String(8000 + i).padStart(4, '0')}`,
          status: i === 11 ? 'active' : 'ended',
          disposition: i % 4 === 0 ? 'promised_to_pay' : 'no_answer',
          variables: i < 6 ? { campaign_id: 'camp-a' } : { campaign_id: 'camp-b' },
        }),
      );
    }
    const all = await store.calls.findCalls({ limit: 1000 });
    assert.equal(all.calls.map((c) => c.id), ['c11', 'c10', 'c9', 'c8', 'c7', 'c6', 'c5', 'c4', 'c3', 'c2', 'c1', 'c0']);
    assert.is(all.next, undefined);
    // Pages of 5: every call once, in the same order, the last page without a cursor.
    const seen: string[] = [];
    let page = await store.calls.findCalls({ limit: 5 });
    const sizes: number[] = [];
    for (;;) {
      seen.push(...page.calls.map((c) => c.id));
      sizes.push(page.calls.length);
      if (!page.next) break;
      page = await store.calls.findCalls({ limit: 5, after: page.next });
    }
    assert.equal(seen, all.calls.map((c) => c.id));
    assert.equal(sizes, [5, 5, 2]);
    // A page boundary inside the same millisecond: the tie is kept in insertion order.
    const p1 = await store.calls.findCalls({ limit: 10 });
    assert.equal((await store.calls.findCalls({ limit: 10, after: p1.next })).calls.map((c) => c.id), ['c1', 'c0']);
    // Filters, alone and together.
    const ids = async (q: Parameters<typeof store.calls.findCalls>[0]) => (await store.calls.findCalls({ limit: 100, ...q })).calls.map((c) => c.id);
    assert.equal(await ids({ flow: 'survey' }), ['c11', 'c9', 'c7', 'c5', 'c3', 'c1']);
    assert.equal(await ids({ direction: 'inbound' }), ['c9', 'c6', 'c3', 'c0']);
    assert.equal(await ids({ disposition: 'promised_to_pay' }), ['c8', 'c4', 'c0']);
    assert.equal(await ids({ campaign: 'camp-b', flow: 'collections' }), ['c10', 'c8', 'c6']);
    assert.equal(await ids({ since: at(5), until: at(8) }), ['c7', 'c6', 'c5']);
    assert.equal(await ids({ status: 'active' }), ['c11']);
    assert.equal(await ids({ numberSuffix: '8007' }), ['c7']);
    assert.equal(await ids({ numberSuffix: '00138' }), []);
    assert.equal(await ids({ campaign: 'camp-a', numberSuffix: '8010' }), []);
    // Filters and paging together.
    const first = await store.calls.findCalls({ limit: 2, flow: 'survey' });
    assert.equal((await store.calls.findCalls({ limit: 2, flow: 'survey', after: first.next })).calls.map((c) => c.id), ['c7', 'c5']);
    // A cursor that was altered, or is not one at all, is refused.
    await expectStoreError(() => store.calls.findCalls({ after: 'not-a-cursor!' }), /cursor/);
    await expectStoreError(() => store.calls.findCalls({ after: Buffer.from('["yesterday", 3]').toString('base64url') }), /cursor/);
    await expectStoreError(() => store.calls.findCalls({ after: Buffer.from('{"a":1}').toString('base64url') }), /cursor/);
    await expectStoreError(() => store.calls.findCalls({ since: 'tuesday' }), /since/);
    await expectStoreError(() => store.calls.findCalls({ numberSuffix: '12a' }), /digits/);
    await store.close();
  });
}
