import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { newCallId } from '../../src/core/index.ts';
import { MediaWebSocketClient } from '../../src/media/index.ts';
import { issueToken } from '../support/auth.ts';
import { until } from '../support/e2e.ts';
import { startScriptedApp, type ScriptedApp } from './scripted-app.ts';

/*
 * Listen-in through the real app: a /media call runs, a supervisor's WebSocket on /api/listen/<callId> gets the
 * call's audio from its recording taps (the caller's frames sample for sample, the bot's prompts, their mix), the
 * end when the call ends, and each listen is audited. Auditors, strangers and unknown calls are refused.
 */

interface Listener {
  texts: Array<Record<string, unknown>>;
  frames: Int16Array[];
  closed: Promise<{ code: number; reason: string }>;
  opened: Promise<boolean>;
}

function listen(s: ScriptedApp, callId: string, token: string | undefined, mix?: string): Listener {
  const url = `${s.app.url.replace(/^http/, 'ws')}/api/listen/${callId}${mix ? `?mix=${mix}` : ''}`;
  const ws = new WebSocket(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  const l: Listener = {
    texts: [],
    frames: [],
    closed: new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }))),
    opened: new Promise((resolve) => {
      ws.on('open', () => resolve(true));
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode === 101));
      ws.on('error', () => resolve(false));
    }),
  };
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) l.frames.push(new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)));
    else l.texts.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>);
  });
  return l;
}

test('a supervisor hears a running call from its recording taps until it ends; the listen is audited', async () => {
  const s = await startScriptedApp();
  try {
    const client = new MediaWebSocketClient();
    const callId = await client.connect(s.wsUrl, { codec: 'pcmu', sampleRate: 8000, lang: 'zh', flow: 'demo' }, { token: s.token });
    const caller = listen(s, callId, s.token, 'caller');
    const both = listen(s, callId, s.token);
    assert.ok(await caller.opened, 'operator may listen');
    assert.ok(await both.opened);
    await until(() => caller.texts.length > 0 && both.texts.length > 0, 'start messages', 5000);
    assert.equal(caller.texts[0], { type: 'start', callId, sampleRate: 8000, encoding: 'pcm16le', channels: 1, frameMs: 20, mix: 'caller' });
    // The caller's frames, each a ramp that names its index: the tap must hand them over as sent, in order.
    const sent: Int16Array[] = [];
    for (let i = 0; i < 25; i++) {
      const frame = Int16Array.from({ length: 160 }, (_, k) => (i * 160 + k) % 2000);
      sent.push(frame);
      client.sendFrame(frame);
      await new Promise((r) => setTimeout(r, 5));
    }
    await until(() => caller.frames.length >= 25, 'caller frames heard', 5000);
    // μ-law on the wire: the server hears each sample within the codec's quantization step of what was sent.
    const maxError = Math.max(...caller.frames.slice(0, 25).flatMap((f, i) => [...f].map((v, k) => Math.abs(v - sent[i]![k]!))));
    assert.ok(maxError <= 64, `caller audio as sent (max error ${maxError})`);
    // The mix carries the bot's greeting (ToneSpeaker) on top of the caller, who goes on sending (silent) frames.
    const silent = new Int16Array(160);
    const botHeard = (): boolean => both.frames.some((f, i) => i < caller.frames.length && f.some((v, k) => v !== caller.frames[i]![k]));
    for (let i = 0; i < 400 && !botHeard(); i++) {
      client.sendFrame(silent);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(botHeard(), 'bot audio in the mix');

    client.hangup();
    const [closedCaller, closedBoth] = await Promise.all([caller.closed, both.closed]);
    assert.is(closedCaller.code, 1000);
    assert.is(closedBoth.code, 1000);
    assert.is(caller.texts.at(-1)?.type, 'end');
    const audits = (await s.app.store.audit.list({ limit: 100 })).filter((e) => e.action === 'call.listen');
    assert.equal(audits.map((e) => [e.target, e.detail]), [
      [callId, { mix: 'caller' }],
      [callId, { mix: 'both' }],
    ]);
  } finally {
    await s.dispose();
  }
});

test('auditors and strangers are refused at the upgrade; unknown or malformed calls are closed with 4404 / 4400', async () => {
  const s = await startScriptedApp();
  try {
    const auditor = await issueToken(s.app.store, 'auditor');
    assert.is(await listen(s, newCallId(), auditor).opened, false, 'auditor: live monitoring is admin/operator');
    assert.is(await listen(s, newCallId(), undefined).opened, false, 'no token');
    const unknown = listen(s, newCallId(), s.token);
    assert.is((await unknown.closed).code, 4404);
    assert.is(unknown.frames.length, 0);
    const malformed = listen(s, 'not-a-call', s.token);
    assert.is((await malformed.closed).code, 4400);
    const badMix = listen(s, newCallId(), s.token, 'stereo');
    assert.is((await badMix.closed).code, 4400);
  } finally {
    await s.dispose();
  }
});

test.run();
