import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket, type RawData } from 'ws';
import { startCallpilot, type CallpilotApp } from '../../src/app.ts';
import { demoConversation, synthesizeCallerTurns } from '../../src/cli/caller-voice.ts';
import { configSchema } from '../../src/config/index.ts';
import type { Lang } from '../../src/dialog/index.ts';
import { createCodec } from '../../src/media/index.ts';
import { runSimulatedCall, runSimulatedCallOnOwnThread, type CallerTurn, type SimulatedCallReport } from '../../src/pbx/index.ts';
import type { CallRecord, TurnRecord } from '../../src/store/index.ts';
import { bearer, issueToken } from '../support/auth.ts';
import { testLog } from '../support/run-log.ts';
import { untilDefined } from '../support/wait.ts';

/*
 * Issue #2's end-to-end tests: the whole app (startCallpilot) answering a simulated phone on the media WebSocket in
 * real time, with real speech on every side: espeak caller voice, Silero VAD, sherpa ASR on the tiny test model,
 * espeak TTS for the bot. Transcripts asserted here are what the ASR really heard; the tiny model makes small
 * errors, so they are checked against the words the flow's intents need, never against the script's text.
 */

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODELS = fileURLToPath(new URL('../../../shared/models/', import.meta.url));
const log = testLog();
/** Generous: the benchmarks hold the real barge-in target; this only catches a bot that keeps talking. */
const BARGE_IN_STOP_BOUND_MS = 500;

let dir: string;
let app: CallpilotApp;
let wsBase: string;
/** Operator token: the media WebSocket needs credentials. */
let token: string;
/**
 * The zh and en demo calls run at the same time (each is ~25 s of real-time audio; one after the other would not
 * fit the file's time budget). Two concurrent calls are also what a server must handle anyway.
 */
let demoCalls: Record<Lang, Promise<DemoCall>>;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'callpilot-sim-'));
  const config = configSchema.parse({
    server: { host: '127.0.0.1', port: 0 },
    log: { level: 'silent' },
    store: { path: join(dir, 'calls.db'), recordingsDir: join(dir, 'recordings') },
    dialog: { flowsDir: join(REPO_ROOT, 'configs/flows'), defaultFlow: 'demo', defaultLang: 'zh' },
    media: { record: true },
  });
  app = await startCallpilot(config, { log, modelsRoot: MODELS, cwd: REPO_ROOT });
  wsBase = app.url.replace(/^http/, 'ws');
  token = await issueToken(app.store, 'operator');
  demoCalls = { zh: demoCall('zh'), en: demoCall('en') };
  // Awaited by their tests; a rejection must not surface as unhandled before that.
  for (const call of Object.values(demoCalls)) call.catch(() => undefined);
});

test.after(async () => {
  await app?.close();
  rmSync(dir, { recursive: true, force: true });
});

const until = <T>(get: () => T | undefined | Promise<T | undefined>, what: string, ms = 10_000): Promise<T> => untilDefined(get, what, ms);

/** The stored call once the engine has finalized it. */
function endedCall(callId: string, ms?: number): Promise<CallRecord> {
  return until(async () => {
    const call = await app.store.calls.getCall(callId);
    return call?.status === 'ended' ? call : undefined;
  }, `call ${callId} stored as ended`, ms);
}

async function describeTurns(turns: TurnRecord[]): Promise<string> {
  const callId = turns[0]?.callId;
  const events = callId ? (await app.store.calls.listEvents(callId)).map((e) => `${e.type}${JSON.stringify(e.data)}`) : [];
  return JSON.stringify(turns.map((t) => ({ caller: t.callerText, bot: t.botText, bargeIn: t.bargeIn }))) + `\nevents:\n${events.join('\n')}`;
}

function assertRecordings(call: CallRecord): void {
  assert.ok(call.recordingDir, 'the call has a recording folder');
  for (const name of ['caller.wav', 'bot.wav', 'mixed.wav']) {
    const file = join(call.recordingDir, name);
    assert.ok(existsSync(file), `${name} exists`);
    // A WAV header is 44 bytes; a call of several seconds at 8 kHz PCM16 is far more.
    assert.ok(statSync(file).size > 16_000, `${name} holds audio (${statSync(file).size} B)`);
  }
}

interface DemoCall {
  report: SimulatedCallReport;
  turns: CallerTurn[];
}

async function demoCall(lang: Lang): Promise<DemoCall> {
  const turns = await synthesizeCallerTurns(demoConversation(lang), lang, 8000);
  const report = await runSimulatedCall({
    url: `${wsBase}/media`,
    token,
    start: { codec: 'pcmu', sampleRate: 8000, lang, flow: 'demo', from: 'simulated-test' },
    turns,
    hangupAfterQuietMs: 1500,
    maxCallMs: 60_000,
  });
  return { report, turns };
}

test('demo zh: who-is-calling, barge-in with 是的, then 不需要 -> refused, real transcripts, recordings', async () => {
  const { report } = await demoCalls.zh;
  const call = await endedCall(report.callId);
  const turns = await app.store.calls.listTurns(report.callId);
  const detail = `report ${JSON.stringify(report)} turns ${await describeTurns(turns)}`;
  assert.is(call.disposition, 'refused', detail);
  assert.is(call.hangupBy, 'bot', detail);
  assert.is(call.flow, 'demo');
  assert.is(call.lang, 'zh');
  assert.is(turns.length, 3, detail);
  assert.ok(turns[0]!.callerText.includes('谁'), `who-is-this heard: ${detail}`);
  assert.ok(turns[0]!.botText?.startsWith('我是小智科技'), detail);
  assert.ok(turns[1]!.callerText.includes('是'), `yes heard: ${detail}`);
  assert.ok(turns[2]!.callerText.includes('需要'), `not-needed heard: ${detail}`);
  assert.ok(turns[2]!.botText?.includes('不打扰'), detail);
  assert.equal(turns.map((t) => t.bargeIn), [false, true, false], `exactly the second turn barged in: ${detail}`);
  const stop = report.turns[1]?.bargeInStopMs;
  assert.ok(stop !== undefined && stop < BARGE_IN_STOP_BOUND_MS, `bot stopped ${stop} ms after the caller started: ${detail}`);
  assertRecordings(call);
});

test('demo en: who is this, barge-in with yes, then not interested -> refused, real transcripts, recordings', async () => {
  const { report } = await demoCalls.en;
  const call = await endedCall(report.callId);
  const turns = await app.store.calls.listTurns(report.callId);
  const detail = `report ${JSON.stringify(report)} turns ${await describeTurns(turns)}`;
  assert.is(call.disposition, 'refused', detail);
  assert.is(call.lang, 'en');
  assert.is(turns.length, 3, detail);
  assert.ok(/\bwho\b/.test(turns[0]!.callerText), `who-is-this heard: ${detail}`);
  assert.ok(/\byes\b/.test(turns[1]!.callerText), `yes heard: ${detail}`);
  // The tiny demo model sometimes hears a fast "not" as "nine"; the refusal must end the call as refused either way
  // (the disposition above), which is what the caller-facing behaviour depends on.
  assert.ok(/interested/.test(turns[2]!.callerText), `not-interested heard: ${detail}`);
  assert.equal(turns.map((t) => t.bargeIn), [false, true, false], `exactly the second turn barged in: ${detail}`);
  const stop = report.turns[1]?.bargeInStopMs;
  assert.ok(stop !== undefined && stop < BARGE_IN_STOP_BOUND_MS, `bot stopped ${stop} ms after the caller started: ${detail}`);
  assertRecordings(call);
});

// ---- bad input on the media WebSocket ------------------------------------------------------------------------------

/** A bare `ws` client that records everything the server sends, to speak the protocol wrongly on purpose. */
interface RawClient {
  ws: WebSocket;
  /** JSON text messages from the server, in order. */
  messages: Record<string, unknown>[];
  botFrames: number;
  closed: Promise<{ code: number; reason: string }>;
}

async function openRaw(): Promise<RawClient> {
  const ws = new WebSocket(`${wsBase}/media`, { headers: bearer(token) });
  const client: RawClient = {
    ws,
    messages: [],
    botFrames: 0,
    closed: new Promise((resolve) => ws.on('close', (code: number, reason: Buffer) => resolve({ code, reason: reason.toString() }))),
  };
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) client.botFrames++;
    else client.messages.push(JSON.parse(data.toString()) as Record<string, unknown>);
  });
  ws.on('error', () => undefined); // surfaces as 'close'; the test asserts on that
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return client;
}

const errorsOf = (c: RawClient): string[] => c.messages.filter((m) => m.event === 'error').map((m) => String(m.message));

/** Sends a valid start and waits for `started`; returns the call id. */
async function startRaw(c: RawClient, lang: Lang = 'zh'): Promise<string> {
  c.ws.send(JSON.stringify({ event: 'start', codec: 'pcmu', sampleRate: 8000, flow: 'demo', lang, from: 'raw-test' }));
  const started = await until(() => c.messages.find((m) => m.event === 'started'), 'started');
  return String(started.callId);
}

/** A client that breaks the protocol before `start` is refused with an error text and close code 1008. */
async function assertRefused(send: (ws: WebSocket) => void, expected: RegExp): Promise<void> {
  const c = await openRaw();
  send(c.ws);
  const { code, reason } = await c.closed;
  assert.is(code, 1008, `close code for ${expected}`);
  assert.match(reason, expected);
  assert.ok(errorsOf(c).some((e) => expected.test(e)), `error text ${JSON.stringify(c.messages)}`);
}

test('bad input on the media WebSocket: clear errors, calls finalized in the store, and the server keeps serving', async () => {
  const callsBefore = (await app.store.calls.listCalls({ limit: 1000 })).length;
  await assertRefused((ws) => ws.send(Buffer.alloc(160, 0xff)), /binary audio before start/);
  await assertRefused((ws) => ws.send('hello?'), /JSON start/);
  await assertRefused((ws) => ws.send(JSON.stringify({ event: 'start', codec: 'opus', sampleRate: 8000 })), /invalid start: codec/);
  assert.is((await app.store.calls.listCalls({ limit: 1000 })).length, callsBefore, 'refused connections create no call');

  // A live call survives malformed frames and text: each gets an error message, the bot keeps talking.
  const live = await openRaw();
  const liveId = await startRaw(live);
  await until(() => (live.botFrames > 5 ? true : undefined), 'greeting audio');
  // (A frame over the protocol's size limit closes the socket with 1009 instead: test/calls/media-hardening.test.ts.)
  live.ws.send(Buffer.alloc(161, 0xff)); // odd length: not a whole number of 160 B mu-law frames
  live.ws.send('}{ not json');
  live.ws.send(JSON.stringify({ event: 'dance' }));
  await until(() => (errorsOf(live).length >= 3 ? true : undefined), 'three error messages');
  const errors = errorsOf(live);
  assert.match(errors[0]!, /161 B is not a multiple of the 160 B frame/);
  assert.match(errors[1]!, /not JSON/);
  assert.match(errors[2]!, /bad control message "dance"/);
  const framesAfterErrors = live.botFrames;
  await until(() => (live.botFrames > framesAfterErrors + 10 ? true : undefined), 'bot audio after the errors');
  assert.is(live.ws.readyState, WebSocket.OPEN, 'the call survived the bad input');
  live.ws.send(JSON.stringify({ event: 'hangup' }));
  assert.is((await live.closed).code, 1000);
  const liveCall = await endedCall(liveId);
  assert.is(liveCall.disposition, 'caller_hangup');
  assert.is(liveCall.hangupBy, 'caller');

  // A caller that asks who is calling over the greeting and vanishes (no close handshake) while the bot answers.
  const [question] = await synthesizeCallerTurns([{ text: '请问你是谁', mode: 'atStart' }], 'zh', 8000);
  const gone = await openRaw();
  const goneId = await startRaw(gone);
  await until(() => (gone.botFrames > 0 ? true : undefined), 'greeting audio');
  const mulaw = createCodec('pcmu');
  const pcm = question!.pcm;
  // Half a second of silence after the words, so the endpointer can close the turn.
  const padded = new Int16Array(Math.ceil((pcm.length + 4000) / 160) * 160);
  padded.set(pcm);
  const began = performance.now();
  for (let at = 0; at < padded.length && gone.ws.readyState === WebSocket.OPEN; at += 160) {
    gone.ws.send(mulaw.encode(padded.subarray(at, at + 160)));
    const wait = began + ((at / 160 + 1) * 20) - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const answer = await until(() => gone.messages.find((m) => m.event === 'bot' && String(m.text).startsWith('我是')), 'the bot answering who it is', 15_000);
  gone.ws.terminate();
  const goneCall = await endedCall(goneId);
  assert.is(goneCall.disposition, 'transport_error', 'an abrupt disconnect is stored as a transport error');
  assert.is(goneCall.hangupBy, 'error');
  assert.ok(goneCall.endedAt, 'the end time is stored');
  const goneTurns = await app.store.calls.listTurns(goneId);
  assert.is(goneTurns.length, 1, await describeTurns(goneTurns));
  assert.ok(goneTurns[0]!.callerText.includes('谁'), `what the caller said is kept: ${await describeTurns(goneTurns)}`);
  assert.is(goneTurns[0]!.botText, answer.text, 'and what the bot was answering');
  assert.ok((await app.store.calls.listEvents(goneId)).some((e) => e.type === 'end'), 'the end is in the event log');
  assert.is(app.engine.activeCalls, 0, 'no call is left running');

  // The server is still healthy and takes a new call end to end: "转人工" over the greeting -> transfer.
  const health = (await (await fetch(`${app.url}/healthz`)).json()) as { ok?: boolean };
  assert.is(health.ok, true);
  const report = await runSimulatedCall({
    url: `${wsBase}/media`,
    token,
    start: { codec: 'pcmu', sampleRate: 8000, lang: 'zh', flow: 'demo', from: 'after-bad-input' },
    turns: await synthesizeCallerTurns([{ text: '转人工', mode: 'bargeIn', bargeInAfterMs: 600 }], 'zh', 8000),
    hangupAfterQuietMs: 1000,
    maxCallMs: 30_000,
  });
  const next = await endedCall(report.callId);
  const nextTurns = await app.store.calls.listTurns(report.callId);
  assert.is(next.disposition, 'transferred', `report ${JSON.stringify(report)} turns ${await describeTurns(nextTurns)}`);
  assert.is(next.variables.transfer_reason, 'caller_requested_human');
  assert.ok(nextTurns[0]?.callerText.includes('人工'), await describeTurns(nextTurns));
});

test('a phone on a thread of its own places the same call, and its report and notices come on this thread\'s clock', async () => {
  const turns = await synthesizeCallerTurns([{ text: '转人工', mode: 'bargeIn', bargeInAfterMs: 600 }], 'zh', 8000);
  const notices: Array<{ event: unknown; atMs: number }> = [];
  const before = performance.now();
  const report = await runSimulatedCallOnOwnThread({
    url: `${wsBase}/media`,
    token,
    start: { codec: 'pcmu', sampleRate: 8000, lang: 'zh', flow: 'demo', from: 'own-thread' },
    turns,
    hangupAfterQuietMs: 1000,
    maxCallMs: 30_000,
    onNotice: (notice, atMs) => notices.push({ event: notice.event, atMs }),
  });
  const after = performance.now();
  const call = await endedCall(report.callId);
  const stored = await app.store.calls.listTurns(report.callId);
  const detail = `report ${JSON.stringify(report)} turns ${await describeTurns(stored)}`;
  assert.is(call.disposition, 'transferred', detail);
  assert.ok(stored[0]?.callerText.includes('人工'), detail);
  // The phone's times are read on the worker's performance.now() and must come out on this thread's clock.
  assert.ok(report.connectedAt >= before && report.connectedAt <= after, `connected within the call on this clock: ${detail}`);
  const turn = report.turns[0];
  assert.ok(turn && turn.speechStartAt >= report.connectedAt && turn.speechEndAt >= turn.speechStartAt && turn.speechEndAt <= after, detail);
  assert.ok(turn.bargeInStopMs !== undefined, `the barge-in was measured: ${detail}`);
  // Not after connectedAt: the greeting's first frame can come in with the server's `started`, before connect() resolves.
  assert.ok(report.botBursts.length > 0 && report.botBursts.every((b) => b.startAt >= before && b.lastAt <= after), detail);
  assert.ok(notices.some((n) => n.event === 'timeline'), `timeline notices reached this thread: ${JSON.stringify(notices)}`);
  assert.ok(notices.every((n) => n.atMs >= before && n.atMs <= after), `notice times on this clock: ${JSON.stringify(notices)}`);
});

test.run();
