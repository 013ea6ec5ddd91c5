import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MediaWebSocketClient } from '../../src/media/index.ts';
import { issueToken } from '../support/auth.ts';
import { S3_CREDENTIALS, startS3 } from '../support/s3-server.ts';
import { startScriptedApp, type ScriptedApp } from './scripted-app.ts';
import { untilDefined } from '../support/wait.ts';

/*
 * Issue 9, recordings at rest, through the real app: a /media call's recordings end up as .wav.enc only, the
 * recordings API streams the decrypted WAV (whole and by range) to the roles that may read calls and to nobody
 * else, and a server without the key says so instead of serving ciphertext.
 */

const START = { codec: 'pcmu' as const, sampleRate: 8000 as const, lang: 'zh' as const, flow: 'demo' };
const KEY = randomBytes(32).toString('base64');

const until = <T>(get: () => T | undefined | Promise<T | undefined>, what: string, ms = 15_000): Promise<T> => untilDefined(get, what, ms);

async function oneCall(s: ScriptedApp): Promise<{ callId: string; dir: string }> {
  const client = new MediaWebSocketClient();
  const callId = await client.connect(s.wsUrl, { ...START, from: '13812345678' }, { token: s.token });
  const tone = new Int16Array(160 * 50);
  for (let i = 0; i < tone.length; i++) tone[i] = Math.round(6000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  await client.streamPcm(tone, { realtime: false });
  client.hangup();
  const call = await until(async () => {
    const c = await s.app.store.calls.getCall(callId);
    return c?.status === 'ended' ? c : undefined;
  }, 'call ended');
  assert.ok(call.recordingDir, 'the call was recorded');
  return { callId, dir: call.recordingDir! };
}

test('recordings are stored encrypted and downloaded decrypted by allowed roles only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-encrec-'));
  let s = await startScriptedApp({}, { dir, store: { recordingKey: KEY } });
  try {
    const { callId, dir: recDir } = await oneCall(s);
    const names = readdirSync(recDir).sort();
    assert.equal(names, ['bot.wav.enc', 'caller.wav.enc', 'mixed.wav.enc']);
    assert.not.ok(readFileSync(join(recDir, 'caller.wav.enc')).subarray(0, 4).toString('latin1') === 'RIFF');

    const auditor = await issueToken(s.app.store, 'auditor');
    const res = await fetch(`${s.app.url}/api/calls/${callId}/recordings/caller`, { headers: { authorization: `Bearer ${auditor}` } });
    assert.is(res.status, 200);
    const wav = Buffer.from(await res.arrayBuffer());
    assert.is(wav.toString('latin1', 0, 4), 'RIFF');
    assert.is(wav.readUInt32LE(4), wav.length - 8, 'the decrypted WAV header matches its length');
    assert.is(Number(res.headers.get('content-length')), wav.length);
    assert.ok(wav.length > 44 + 8000, `caller audio: ${wav.length} bytes`);

    const ranged = await fetch(`${s.app.url}/api/calls/${callId}/recordings/caller`, { headers: { authorization: `Bearer ${auditor}`, range: 'bytes=40-99' } });
    assert.is(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(wav.subarray(40, 100)));

    const pbx = await issueToken(s.app.store, 'pbx');
    assert.is((await fetch(`${s.app.url}/api/calls/${callId}/recordings/caller`, { headers: { authorization: `Bearer ${pbx}` } })).status, 403);
    assert.is((await fetch(`${s.app.url}/api/calls/${callId}/recordings/caller`)).status, 401);

    const audit = await s.app.store.audit.list({ limit: 100 });
    assert.ok(audit.some((e) => e.action === 'recording.download' && e.target === callId && (e.detail as { encrypted?: boolean } | undefined)?.encrypted === true), 'download audited');

    // The same data on a server without the key: a clear refusal, never the ciphertext as audio.
    await s.dispose();
    s = await startScriptedApp({}, { dir });
    const admin = await issueToken(s.app.store, 'admin');
    const keyless = await fetch(`${s.app.url}/api/calls/${callId}/recordings/mixed`, { headers: { authorization: `Bearer ${admin}` } });
    assert.is(keyless.status, 500);
    assert.match(((await keyless.json()) as { error: string }).error, /store\.recordingKey/);
    assert.ok(existsSync(join(recDir, 'mixed.wav.enc')));
  } finally {
    await s.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('object storage: the ended call\'s encrypted recordings go to the bucket, the local copy goes, the API serves them decrypted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-s3rec-'));
  const s3 = await startS3(dir);
  const s = await startScriptedApp({}, { dir, store: { recordingKey: KEY, recordingStorage: 's3', s3: { endpoint: s3.endpoint, bucket: s3.bucket, prefix: 'rec/', ...S3_CREDENTIALS } } });
  try {
    const { callId, dir: recDir } = await oneCall(s);
    const keys = await until(async () => ((await s3.keys()).length === 3 ? s3.keys() : undefined), 'three legs uploaded');
    assert.ok(keys.every((k) => k.startsWith('rec/') && k.includes(`/${callId}/`) && k.endsWith('.wav.enc')), keys.join(', '));
    assert.not.ok(existsSync(recDir), 'the local copy is removed after the upload');
    const auditor = await issueToken(s.app.store, 'auditor');
    const res = await fetch(`${s.app.url}/api/calls/${callId}/recordings/caller`, { headers: { authorization: `Bearer ${auditor}` } });
    assert.is(res.status, 200);
    const wav = Buffer.from(await res.arrayBuffer());
    assert.is(wav.toString('latin1', 0, 4), 'RIFF', 'fetched from the bucket and decrypted');
    assert.is(wav.readUInt32LE(4), wav.length - 8);
  } finally {
    await s.dispose();
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
