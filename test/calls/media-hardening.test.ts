import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket } from 'ws';
import { isCallId } from '../../src/core/index.ts';
import { MAX_PROTOCOL_ERRORS, MediaWebSocketClient, MAX_START_BYTES } from '../../src/media/index.ts';
import { InstantLeg } from '../engine/engine-fakes.ts';
import { startScriptedApp, type ScriptedApp } from './scripted-app.ts';
import { untilDefined } from '../support/wait.ts';

/*
 * Issue 9's probes on the /media wire, against the real app: ids from clients never reach a path or an existing
 * row, oversize and malformed starts are refused with a clear close, server.maxCalls refuses cleanly and drain
 * ends every live call with the documented `end` message.
 */

const START = { codec: 'pcmu' as const, sampleRate: 8000 as const, lang: 'zh' as const, flow: 'demo' };

interface RawOutcome {
  code: number;
  reason: string;
  messages: Record<string, unknown>[];
}

/** Opens /media, sends `payload` as the first message and collects text messages until the socket closes. */
function rawStart(s: ScriptedApp, payload: string | Buffer, binary = false): Promise<RawOutcome> {
  return new Promise((resolvePromise, reject) => {
    const ws = new WebSocket(s.wsUrl, { headers: { authorization: `Bearer ${s.token}` } });
    const messages: Record<string, unknown>[] = [];
    ws.on('open', () => ws.send(payload, { binary }));
    ws.on('message', (data, isBinary) => {
      if (!isBinary) messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
    });
    ws.on('close', (code, reason) => resolvePromise({ code, reason: reason.toString(), messages }));
    ws.on('error', reject);
  });
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

const until = <T>(get: () => T | undefined | Promise<T | undefined>, what: string, ms = 10_000): Promise<T> => untilDefined(get, what, ms);

async function healthy(s: ScriptedApp): Promise<boolean> {
  return (await fetch(`${s.app.url}/healthz`)).ok;
}

test('a client id with ../ becomes externalId; the recording folder is ours, nothing lands outside it', async () => {
  const s = await startScriptedApp();
  try {
    const hostile = '../../../../outside-recordings/callpilot-probe-x';
    const client = new MediaWebSocketClient();
    const callId = await client.connect(s.wsUrl, { ...START, callId: hostile, from: '13812345678' }, { token: s.token });
    assert.ok(isCallId(callId), `server id ${callId}`);
    await client.streamPcm(new Int16Array(160 * 10), { realtime: false });
    client.hangup();
    const call = await until(async () => {
      const c = await s.app.store.calls.getCall(callId);
      return c?.status === 'ended' ? c : undefined;
    }, 'call ended');
    assert.is(call.externalId, hostile);
    assert.ok(call.recordingDir, 'recorded');
    const inside = relative(s.recordingsDir, call.recordingDir!);
    assert.ok(!inside.startsWith('..'), inside);
    assert.ok(inside.endsWith(callId), inside);
    for (const file of filesUnder(s.dir)) {
      const rel = relative(s.dir, file);
      assert.ok(rel === 'calls.db' || rel.startsWith('calls.db-') || rel.startsWith('recordings'), `unexpected file ${rel}`);
    }
    const date = call.startedAt.slice(0, 10);
    assert.not.ok(existsSync(resolve(s.recordingsDir, date, hostile)), 'the traversal target was not written');
    assert.ok(await healthy(s));
  } finally {
    await s.dispose();
  }
});

test('NUL bytes and control characters in ids are refused with 1008; the server stays up', async () => {
  const s = await startScriptedApp();
  try {
    for (const bad of ['a\u0000b', '../../callpilot.db/x\u0000', 'x y']) {
      const out = await rawStart(s, JSON.stringify({ event: 'start', ...START, callId: bad }));
      assert.is(out.code, 1008, JSON.stringify(out));
      assert.match(out.reason, /invalid start/);
    }
    assert.ok(await healthy(s));
    assert.is((await s.app.store.calls.listCalls()).length, 0);
  } finally {
    await s.dispose();
  }
});

test('reusing an external id never touches the earlier call; an existing call id is refused by the engine', async () => {
  const s = await startScriptedApp();
  try {
    const first = new MediaWebSocketClient();
    const firstId = await first.connect(s.wsUrl, { ...START, callId: 'dup', from: '13800000001' }, { token: s.token });
    await first.streamPcm(new Int16Array(160 * 50), { realtime: false });
    first.hangup();
    const before = await until(async () => {
      const c = await s.app.store.calls.getCall(firstId);
      return c?.status === 'ended' ? c : undefined;
    }, 'first call ended');
    await new Promise((r) => setTimeout(r, 100));
    const sizes = Object.fromEntries(filesUnder(before.recordingDir!).map((f) => [f, statSync(f).size]));
    assert.ok(Object.keys(sizes).length === 3, JSON.stringify(sizes));

    const second = new MediaWebSocketClient();
    const secondId = await second.connect(s.wsUrl, { ...START, callId: 'dup', from: '13900000002' }, { token: s.token });
    assert.is.not(secondId, firstId);
    second.hangup();
    await until(async () => ((await s.app.store.calls.getCall(secondId))?.status === 'ended' ? true : undefined), 'second call ended');

    // The engine itself refuses to run a call over an id that exists.
    const leg = new InstantLeg(firstId);
    const outcome = await s.app.engine.runCall({ leg, callId: firstId, pbx: 'test', direction: 'inbound', from: '13700000003' });
    assert.is(outcome.disposition, 'error');
    assert.ok(leg.closed);
    // And it refuses ids it did not make.
    const foreign = await s.app.engine.runCall({ leg: new InstantLeg('x'), callId: '../x', pbx: 'test', direction: 'inbound' });
    assert.is(foreign.disposition, 'error');
    assert.is(await s.app.store.calls.getCall('../x'), undefined);

    const after = await s.app.store.calls.getCall(firstId);
    assert.equal(after, before, 'the first call row is untouched');
    for (const [file, size] of Object.entries(sizes)) assert.is(statSync(file).size, size, `${file} untouched`);
    assert.is((await s.app.store.calls.listCalls()).filter((c) => c.externalId === 'dup').length, 2);
  } finally {
    await s.dispose();
  }
});

test('oversize starts, oversize frames and out-of-limit fields are refused with a clear close', async () => {
  const s = await startScriptedApp();
  try {
    const big = await rawStart(s, JSON.stringify({ event: 'start', ...START, variables: { note: 'x'.repeat(MAX_START_BYTES) } }));
    assert.is(big.code, 1008);
    assert.match(big.reason, /exceeds/);

    const huge = await rawStart(s, Buffer.alloc(200_000), true);
    assert.is(huge.code, 1009, 'ws refuses a message over maxPayload before buffering it');

    const longFrom = await rawStart(s, JSON.stringify({ event: 'start', ...START, from: '1'.repeat(65) }));
    assert.is(longFrom.code, 1008);
    assert.match(longFrom.reason, /from/);

    const manyVars = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`v${i}`, 'x']));
    const tooMany = await rawStart(s, JSON.stringify({ event: 'start', ...START, variables: manyVars }));
    assert.is(tooMany.code, 1008);
    assert.match(tooMany.reason, /variables/);

    const badFlow = await rawStart(s, JSON.stringify({ event: 'start', ...START, flow: '../flows/x' }));
    assert.is(badFlow.code, 1008);

    // A live call sending an oversize binary message is closed by ws with 1009; the call is stored as ended.
    const client = new MediaWebSocketClient();
    const callId = await client.connect(s.wsUrl, START, { token: s.token });
    const closed = new Promise<number>((r) => client.once('close', (code) => r(code)));
    (client as unknown as { ws: WebSocket }).ws.send(Buffer.alloc(70_000));
    assert.is(await closed, 1009);
    await until(async () => ((await s.app.store.calls.getCall(callId))?.status === 'ended' ? true : undefined), 'oversize call ended');
    assert.ok(await healthy(s));
  } finally {
    await s.dispose();
  }
});

test('garbage after a valid start: an error for each, then the call ends protocol_error, close 1008; stored and recorded', async () => {
  const s = await startScriptedApp();
  try {
    const client = new MediaWebSocketClient();
    const callId = await client.connect(s.wsUrl, START, { token: s.token });
    const errors: string[] = [];
    client.on('serverError', (message) => errors.push(message));
    const ended = new Promise<[string, string | undefined]>((r) => client.once('end', (reason, detail) => r([reason, detail])));
    const closed = new Promise<[number, string]>((r) => client.once('close', (code, reason) => r([code, reason])));
    await client.streamPcm(new Int16Array(160 * 10).fill(3000), { realtime: false });
    const raw = (client as unknown as { ws: WebSocket }).ws;
    const garbage: (string | Buffer)[] = ['{not json', JSON.stringify({ event: 'dance' }), JSON.stringify({ event: 'dtmf', digit: '55' }), 'x'.repeat(2000), Buffer.alloc(161)];
    for (let i = 0; i < MAX_PROTOCOL_ERRORS - 1; i++) raw.send(garbage[i % garbage.length]!);
    await until(() => (errors.length === MAX_PROTOCOL_ERRORS - 1 ? true : undefined), 'an error for each bad message');
    assert.is((await s.app.store.calls.getCall(callId))?.status, 'active', 'a few bad messages do not end the call');
    assert.is(raw.readyState, WebSocket.OPEN);
    raw.send(Buffer.alloc(161));
    assert.equal(await ended, ['protocol_error', `${MAX_PROTOCOL_ERRORS} malformed messages from the client (last: wrong-sized audio message)`]);
    const [code, reason] = await closed;
    assert.is(code, 1008);
    assert.match(reason, /malformed messages/);
    const call = await until(async () => {
      const c = await s.app.store.calls.getCall(callId);
      return c?.status === 'ended' ? c : undefined;
    }, 'call stored as ended');
    assert.equal([call.disposition, call.hangupBy], ['protocol_error', 'error']);
    const end = (await s.app.store.calls.listEvents(callId)).find((e) => e.type === 'end');
    assert.match(String(end?.data.detail), /malformed messages from the client/);
    const recorded = filesUnder(call.recordingDir!).filter((f) => statSync(f).size > 44);
    assert.ok(recorded.length > 0, 'the recording of the call is kept');
    assert.ok(await healthy(s));
  } finally {
    await s.dispose();
  }
});

test('server.maxCalls: the call over the limit gets end "refused" and close 1013, counted; a freed place is taken again', async () => {
  const s = await startScriptedApp({ maxCalls: 2 });
  try {
    const clients = [new MediaWebSocketClient(), new MediaWebSocketClient()];
    const ids = await Promise.all(clients.map((c) => c.connect(s.wsUrl, START, { token: s.token })));
    assert.is(s.app.admission.free, 0);
    const refused = await rawStart(s, JSON.stringify({ event: 'start', ...START }));
    assert.is(refused.code, 1013);
    assert.match(refused.reason, /maxCalls 2/);
    assert.equal(refused.messages.map((m) => [m.event, m.reason]), [['end', 'refused']]);
    const metrics = await (await fetch(`${s.app.url}/metrics`, { headers: { authorization: `Bearer ${s.token}` } })).text();
    assert.match(metrics, /callpilot_calls_refused_total\{reason="capacity",wire="media"\} 1/);

    clients[0]!.hangup();
    await until(async () => ((await s.app.store.calls.getCall(ids[0]!))?.status === 'ended' ? true : undefined), 'first call ended');
    await until(() => (s.app.admission.free === 1 ? true : undefined), 'place freed');
    const again = new MediaWebSocketClient();
    assert.ok(isCallId(await again.connect(s.wsUrl, START, { token: s.token })));
  } finally {
    await s.dispose();
  }
});

test('drain with 50 live calls: readyz 503 draining, every client gets end "shutdown" and close 1000, 0 rows active', async () => {
  // All 50 at once on purpose: the admission ramp (server.rampCalls) would refuse most of such a burst.
  const s = await startScriptedApp({ maxCalls: 60, rampCalls: 0 });
  let disposed = false;
  try {
    const clients = Array.from({ length: 50 }, () => new MediaWebSocketClient());
    const ends = clients.map(
      (c) =>
        new Promise<{ end?: string; code: number }>((r) => {
          let end: string | undefined;
          c.on('end', (reason) => (end = reason));
          c.on('close', (code) => r({ end, code }));
        }),
    );
    const ids = await Promise.all(clients.map((c) => c.connect(s.wsUrl, START, { token: s.token })));
    assert.is(new Set(ids).size, 50);
    await until(() => (s.app.engine.activeCalls === 50 ? true : undefined), '50 calls live');

    // Calls get 5 s to end on their own before drain ends them: long enough that readyz and the late start below are
    // answered while the server still drains, even on a busy machine.
    const draining = s.app.drain(5000);
    const ready = await fetch(`${s.app.url}/readyz`);
    assert.is(ready.status, 503);
    assert.is(((await ready.json()) as { status?: string }).status, 'draining');
    const late = await rawStart(s, JSON.stringify({ event: 'start', ...START }));
    assert.is(late.code, 1013, 'new calls are refused while draining');
    await draining;
    disposed = true;

    const outcomes = await Promise.all(ends);
    assert.equal(outcomes.filter((o) => o.end !== 'shutdown' || o.code !== 1000), [], 'every client got end shutdown + 1000');
    // The store was closed last: reopen the file to look.
    const { openSqliteStore } = await import('../../src/store/index.ts');
    const store = openSqliteStore(join(s.dir, 'calls.db'));
    try {
      assert.is((await store.calls.listCalls({ status: 'active' })).length, 0);
      const ended = await store.calls.listCalls({ limit: 100 });
      assert.is(ended.filter((c) => ids.includes(c.id) && c.status === 'ended' && c.hangupBy === 'shutdown').length, 50);
    } finally {
      await store.close();
    }
  } finally {
    if (!disposed) await s.dispose();
    else await s.dispose().catch(() => undefined);
  }
});

test.run();
