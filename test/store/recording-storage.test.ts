import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FilesystemRecordingStorage, openRecordingStorage, storeConfigSchema, type RecordingStorage } from '../../src/store/index.ts';
import { seededStore, startServer } from '../api/fixtures.ts';
import { S3_CREDENTIALS as CREDENTIALS, startS3 } from '../support/s3-server.ts';

/**
 * The recording storage behind the call path, the API download and retention: the filesystem one, and the S3 one
 * against s3rver, a local S3-compatible server (real HTTP, SigV4-signed requests, objects on disk).
 */

const DAY = 24 * 60 * 60 * 1000;

function s3Storage(root: string, endpoint: string): Promise<RecordingStorage> {
  return openRecordingStorage(
    storeConfigSchema.parse({ recordingsDir: root, recordingStorage: 's3', s3: { endpoint, bucket: 'calls', prefix: 'rec/', ...CREDENTIALS } }),
    '/',
  );
}

/** A finished call's folder as the call engine leaves it: `<root>/<date>/<call id>/<leg>.wav`. */
function callFolder(root: string, callId: string, legs: Record<string, string>): string {
  const folder = join(root, '2026-12-02', callId);
  mkdirSync(folder, { recursive: true });
  for (const [name, text] of Object.entries(legs)) writeFileSync(join(folder, name), text);
  return folder;
}

test('config: s3 needs its bucket settings; the secret key is a secret key', () => {
  assert.throws(() => storeConfigSchema.parse({ recordingStorage: 's3' }), /store\.s3|needs/);
  assert.throws(() => storeConfigSchema.parse({ recordingStorage: 's3', s3: { bucket: 'Bad_Bucket' } }), /bucket/);
  assert.is(storeConfigSchema.parse({}).recordingStorage, 'filesystem');
});

test('filesystem: files are served from the folder only when inside the root; commit keeps them where they are', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-recstore-'));
  try {
    const root = join(dir, 'rec');
    const storage = new FilesystemRecordingStorage(root);
    const folder = callFolder(root, 'call-a', { 'caller.wav': 'RIFF caller' });
    await storage.commit();
    assert.is(await storage.localFile(folder, 'caller.wav'), join(folder, 'caller.wav'));
    assert.is(await storage.localFile(folder, 'bot.wav'), undefined);
    writeFileSync(join(dir, 'secret.wav'), 'not a recording');
    assert.is(await storage.localFile(join(root, '..'), 'secret.wav'), undefined, 'a folder outside the root has no files');
    assert.is(await storage.localFile('/', 'etc/passwd'), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('s3: commit uploads every file and removes the local copy; another node fetches the recording it never had', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-recstore-'));
  const s3 = await startS3(dir);
  try {
    const nodeA = await s3Storage(join(dir, 'node-a'), s3.endpoint);
    const nodeB = await s3Storage(join(dir, 'node-b'), s3.endpoint);
    const folder = callFolder(nodeA.root, 'call-a', { 'caller.wav': 'RIFF caller audio', 'bot.wav.enc': 'CPREC1 encrypted bot' });
    await nodeA.commit(folder);
    assert.equal(await s3.keys(), ['rec/2026-12-02/call-a/bot.wav.enc', 'rec/2026-12-02/call-a/caller.wav']);
    assert.not.ok(existsSync(folder), 'the local copy is removed once every file is in the bucket');
    // The call row names node A's folder; node B reads it under its own root by the same relative path.
    const relative = '2026-12-02/call-a';
    const fetched = await nodeB.localFile(relative, 'caller.wav');
    assert.ok(fetched);
    assert.is(readFileSync(fetched, 'utf8'), 'RIFF caller audio');
    assert.is(readFileSync((await nodeB.localFile(relative, 'bot.wav.enc'))!, 'utf8'), 'CPREC1 encrypted bot', 'uploaded as it was: encrypted stays encrypted');
    assert.is(await nodeB.localFile(relative, 'mixed.wav'), undefined);
    assert.is(await nodeB.localFile('../node-a', 'caller.wav'), undefined);
    nodeA.close?.();
    nodeB.close?.();
  } finally {
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('s3: an upload that fails keeps the local files; the sweep uploads idle leftovers and applies retention to the bucket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-recstore-'));
  const s3 = await startS3(dir);
  try {
    const root = join(dir, 'node');
    const down = await s3Storage(root, 'http://127.0.0.1:9');
    const folder = callFolder(root, 'call-b', { 'caller.wav': 'RIFF b' });
    let failed = false;
    await down.commit(folder).catch(() => (failed = true));
    assert.ok(failed, 'commit rejects while the bucket is unreachable');
    assert.ok(existsSync(join(folder, 'caller.wav')), 'and nothing local is lost');
    down.close?.();

    const storage = await s3Storage(root, s3.endpoint);
    const live = callFolder(root, 'call-live', { 'caller.wav': 'still being written' });
    const idle = new Date(Date.now() - 11 * 60 * 1000);
    utimesSync(join(folder, 'caller.wav'), idle, idle);
    utimesSync(folder, idle, idle);
    assert.is(await storage.sweep(90, new Date()), 0, 'nothing is old enough to delete');
    assert.equal(await s3.keys(), ['rec/2026-12-02/call-b/caller.wav'], 'the idle leftover is uploaded, the live folder is not');
    assert.ok(existsSync(join(live, 'caller.wav')));
    // 91 days on, the object is past a 90-day retention.
    assert.ok((await storage.sweep(90, new Date(Date.now() + 91 * DAY))) >= 1);
    assert.equal(await s3.keys(), []);
    storage.close?.();
  } finally {
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('API: a recording uploaded by one node is downloaded through another node, byte ranges too', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-recstore-'));
  const s3 = await startS3(dir);
  const recorder = await s3Storage(join(dir, 'node-a'), s3.endpoint);
  const server = await s3Storage(join(dir, 'node-b'), s3.endpoint);
  const store = await seededStore('2026-12-02/call-1');
  const { server: http, url, token } = await startServer({ store, recordingsDir: server.root, recordingStorage: server });
  try {
    const wav = Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(100, 7)]);
    const folder = callFolder(recorder.root, 'call-1', {});
    writeFileSync(join(folder, 'caller.wav'), wav);
    await recorder.commit(folder);
    const whole = await fetch(`${url}/api/calls/call-1/recordings/caller.wav`, { headers: { authorization: `Bearer ${token}` } });
    assert.is(whole.status, 200);
    assert.equal(Buffer.from(await whole.arrayBuffer()), wav);
    const part = await fetch(`${url}/api/calls/call-1/recordings/caller`, { headers: { authorization: `Bearer ${token}`, range: 'bytes=0-3' } });
    assert.is(part.status, 206);
    assert.is(Buffer.from(await part.arrayBuffer()).toString(), 'RIFF');
    const missing = await fetch(`${url}/api/calls/call-1/recordings/bot`, { headers: { authorization: `Bearer ${token}` } });
    assert.is(missing.status, 404);
  } finally {
    await http.close();
    await store.close();
    recorder.close?.();
    server.close?.();
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
