import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PbxCallRunner } from '../../src/calls/index.ts';
import type { CallEngine } from '../../src/dialog/index.ts';
import type { AudioLeg } from '../../src/media/index.ts';
import type { PbxCall, PbxCallEvents, PbxCallInfo } from '../../src/pbx/index.ts';
import { openSqliteStore, type Store } from '../../src/store/index.ts';
import { testLog } from '../support/run-log.ts';

const log = testLog();

/** A PBX call whose media set-up does what the test says; records what the runner asked of it. */
class ScriptedCall extends EventEmitter<PbxCallEvents> {
  readonly info: PbxCallInfo = { pbx: 'asterisk', pbxCallId: '1796202356.134', direction: 'inbound', from: '13800138000', to: '100', flow: 'demo', lang: 'zh', variables: {} };
  hungUpWith: number | undefined;
  constructor(private readonly media: () => Promise<AudioLeg>) {
    super();
  }
  async answer(): Promise<void> {}
  openMedia(): Promise<AudioLeg> {
    return this.media();
  }
  async hangup(cause = 16): Promise<void> {
    this.hungUpWith ??= cause;
  }
  async transfer(): Promise<void> {}
  async setVariable(): Promise<void> {}
}

function withStore(run: (store: Store) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'callpilot-runner-'));
    const store = openSqliteStore(join(dir, 'calls.db'));
    // The runner's waits use unref'd timers (they must not hold a server open); keep the test process alive.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await run(store);
    } finally {
      clearInterval(keepAlive);
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'a call whose media set-up fails is stored as ended with disposition and cause, and counted',
  withStore(async (store) => {
    const failed: string[] = [];
    const engine = { runCall: () => Promise.reject(new Error('engine must not run')) } as unknown as CallEngine;
    const runner = new PbxCallRunner({ engine, calls: store.calls, log, metrics: { callFailed: (d) => failed.push(d) } });
    const call = new ScriptedCall(() => Promise.reject(new Error('opening audiosocket media failed: ARI externalMedia: An internal error prevented this request from being handled')));
    await runner.run(call as unknown as PbxCall);
    assert.is(call.hungUpWith, 41, 'the answered caller is released');
    const [stored] = await store.calls.listCalls();
    assert.ok(stored, 'the call is a record');
    assert.is(stored.status, 'ended');
    assert.is(stored.disposition, 'media_failed');
    assert.is(stored.hangupCause, 41);
    assert.is(stored.pbxCallId, '1796202356.134');
    assert.equal(failed, ['media_failed']);
    const events = await store.calls.listEvents(stored.id);
    assert.match(String(events.find((e) => e.type === 'setupFailed')?.data.error), /internal error/);
  }),
);

test(
  'the caller hanging up during set-up is stored as such, with the PBX cause',
  withStore(async (store) => {
    const engine = { runCall: () => Promise.reject(new Error('engine must not run')) } as unknown as CallEngine;
    const runner = new PbxCallRunner({ engine, calls: store.calls, log });
    let call!: ScriptedCall;
    call = new ScriptedCall(async () => {
      call.emit('hangup', { cause: 0, causeText: 'Unknown', by: 'caller' });
      throw new Error('the call ended while its media was being set up');
    });
    await runner.run(call as unknown as PbxCall);
    const [stored] = await store.calls.listCalls();
    assert.is(stored?.disposition, 'caller_hangup');
    assert.is(stored?.hangupCause, 0);
    assert.is(stored?.hangupBy, 'caller');
  }),
);

test(
  'a cause learned after the call (PBX reconnected) is stored when it comes, and a corrected one replaces it',
  withStore(async (store) => {
    const leg = new EventEmitter() as unknown as AudioLeg;
    Object.assign(leg, { closed: false, close: async () => undefined });
    const engine = {
      runCall: async (req: { pbxCallId: string }) => {
        await store.calls.createCall({ id: 'c1', pbx: 'asterisk', pbxCallId: req.pbxCallId, direction: 'inbound', lang: 'zh', status: 'ended', startedAt: new Date().toISOString(), variables: {} });
        return { callId: 'c1', disposition: 'pbx_gone', endedBy: 'error', transcript: [] };
      },
    } as unknown as CallEngine;
    const runner = new PbxCallRunner({ engine, calls: store.calls, log, causeWaitMs: 50 });
    const call = new ScriptedCall(async () => leg);
    await runner.run(call as unknown as PbxCall);
    assert.is((await store.calls.getCall('c1'))?.hangupCause, undefined, 'nothing known yet');
    call.emit('hangup', { cause: 38, causeText: 'Network out of order (Asterisk unreachable)', by: 'pbx' });
    await new Promise((r) => setTimeout(r, 20));
    assert.is((await store.calls.getCall('c1'))?.hangupCause, 38);
    call.emit('causeUpdate', { cause: 16, causeText: 'Normal Clearing', by: 'caller' });
    await new Promise((r) => setTimeout(r, 20));
    const stored = await store.calls.getCall('c1');
    assert.is(stored?.hangupCause, 16);
    assert.is(stored?.hangupBy, 'caller');
  }),
);

test(
  'a transfer the PBX refused (dialog ended as error, the bot hung up) is stored transfer_failed with the bot\'s cause',
  withStore(async (store) => {
    const leg = new EventEmitter() as unknown as AudioLeg;
    Object.assign(leg, { closed: false, close: async () => undefined });
    let call!: ScriptedCall;
    const engine = {
      runCall: async (req: { pbxCallId: string }) => {
        await store.calls.createCall({ id: 'c2', pbx: 'asterisk', pbxCallId: req.pbxCallId, direction: 'inbound', lang: 'zh', status: 'ended', startedAt: new Date().toISOString(), disposition: 'error', variables: {} });
        call.emit('transferOutcome', { result: 'failed', target: 'IAX2/agent-1', detail: 'ARI refused the transfer: 422' });
        call.emit('hangup', { cause: 16, causeText: 'Normal Clearing', by: 'bot' });
        return { callId: 'c2', disposition: 'error', endedBy: 'error', transcript: [] };
      },
    } as unknown as CallEngine;
    const runner = new PbxCallRunner({ engine, calls: store.calls, log, causeWaitMs: 50 });
    call = new ScriptedCall(async () => leg);
    await runner.run(call as unknown as PbxCall);
    const stored = await store.calls.getCall('c2');
    assert.is(stored?.disposition, 'transfer_failed');
    assert.is(stored?.hangupCause, 16);
    assert.is(stored?.hangupBy, 'bot');
    const events = await store.calls.listEvents('c2');
    assert.match(String(events.find((e) => e.type === 'transferOutcome')?.data.detail), /422/);
  }),
);

test.run();
