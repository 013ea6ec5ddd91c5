import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { completeInterruptedCalls } from '../../src/calls/index.ts';
import {
  encryptRecordingFile,
  encryptRecordingFolder,
  openEncryptedRecording,
  RecordingCryptoError,
  RecordingKeyring,
  recordingKeyId,
} from '../../src/media/index.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import { testLog } from '../support/run-log.ts';

/*
 * Issue 9, recordings at rest: AES-256-GCM per 64 KiB chunk, key id in the header. Round trip with ranges, every
 * kind of tampering detected, a wrong key refused, a rotated keyring still reading old files, and recordings of a
 * call a crash interrupted repaired then encrypted.
 */

const scratch = mkdtempSync(join(tmpdir(), 'callpilot-reccrypt-'));
test.after(() => rmSync(scratch, { recursive: true, force: true }));
const silent = testLog();

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const ringA = new RecordingKeyring(keyA);
let n = 0;

/** A WAV-like file: a header and 2.5 chunks of audio with a recognisable pattern (to look for it in ciphertext). */
function plainFile(bytes = 64 * 1024 * 2 + 33_333): { path: string; content: Buffer } {
  const dir = join(scratch, `f${n++}`);
  mkdirSync(dir, { recursive: true });
  const content = Buffer.alloc(bytes);
  content.write('RIFF', 0, 'ascii');
  for (let i = 44; i < bytes; i++) content[i] = (i * 7) & 0xff;
  const path = join(dir, 'caller.wav');
  writeFileSync(path, content);
  return { path, content };
}

async function readAll(path: string, ring: RecordingKeyring, start?: number, end?: number): Promise<Buffer> {
  const rec = await openEncryptedRecording(path, ring);
  const parts: Buffer[] = [];
  for await (const part of rec.stream(start, end)) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

async function failure(run: () => Promise<unknown>): Promise<RecordingCryptoError> {
  try {
    await run();
  } catch (err) {
    assert.instance(err, RecordingCryptoError);
    return err as RecordingCryptoError;
  }
  throw new assert.Assertion({ message: 'expected a RecordingCryptoError', operator: 'throws', expects: 'error', actual: 'none' });
}

async function verifyFile(path: string, ring: RecordingKeyring): Promise<void> {
  const rec = await openEncryptedRecording(path, ring);
  try {
    await rec.verify();
  } finally {
    await rec.close();
  }
}

test('round trip: the .enc replaces the WAV, holds none of its bytes, and decrypts whole and by range', async () => {
  const { path, content } = plainFile();
  const enc = await encryptRecordingFile(path, ringA);
  assert.is(enc, `${path}.enc`);
  assert.not.ok(existsSync(path), 'the plaintext is removed');
  assert.is(statSync(enc).mode & 0o777, 0o600);
  const sealed = readFileSync(enc);
  assert.is(sealed.indexOf(content.subarray(1000, 1064)), -1, 'audio bytes appear in the encrypted file');
  const rec = await openEncryptedRecording(enc, ringA);
  assert.is(rec.size, content.length);
  assert.is(rec.keyId, recordingKeyId(keyA));
  await rec.close();
  assert.ok((await readAll(enc, ringA)).equals(content));
  for (const [start, end] of [[0, 43], [65_530, 65_545], [131_071, 131_072], [100, content.length - 1], [content.length - 1, content.length - 1]] as const) {
    assert.ok((await readAll(enc, ringA, start, end)).equals(content.subarray(start, end + 1)), `range ${start}-${end}`);
  }
  // Two encryptions of the same audio differ (random nonce per file).
  const again = plainFile();
  const other = readFileSync(await encryptRecordingFile(again.path, ringA));
  assert.not.ok(other.subarray(32).equals(sealed.subarray(32)));
});

test('an empty recording and one of exactly one chunk round-trip', async () => {
  for (const bytes of [0, 64 * 1024]) {
    const { path, content } = plainFile(bytes);
    const enc = await encryptRecordingFile(path, ringA);
    assert.ok((await readAll(enc, ringA)).equals(content), `${bytes} bytes`);
  }
});

test('tampering is detected: a flipped bit, a cut file, swapped chunks, an edited length or key id', async () => {
  const make = async (): Promise<{ enc: string; bytes: Buffer }> => {
    const enc = await encryptRecordingFile(plainFile().path, ringA);
    return { enc, bytes: readFileSync(enc) };
  };
  const cases: [string, (b: Buffer) => Buffer][] = [
    ['bit flipped in chunk 1', (b) => (b[32 + 65_536 + 16 + 500] ^= 0x01, b)],
    ['bit flipped in a tag', (b) => (b[32 + 65_536 + 3] ^= 0x80, b)],
    ['last byte cut', (b) => b.subarray(0, b.length - 1)],
    ['last chunk dropped', (b) => b.subarray(0, 32 + 2 * (65_536 + 16))],
    ['chunks 0 and 1 swapped', (b) => Buffer.concat([b.subarray(0, 32), b.subarray(32 + 65_552, 32 + 2 * 65_552), b.subarray(32, 32 + 65_552), b.subarray(32 + 2 * 65_552)])],
    ['nonce prefix edited', (b) => (b[17] ^= 0x01, b)],
  ];
  for (const [name, tamper] of cases) {
    const { enc, bytes } = await make();
    writeFileSync(enc, tamper(Buffer.from(bytes)));
    const err = await failure(() => verifyFile(enc, ringA));
    assert.is(err.reason, 'tampered', `${name}: ${err.message}`);
  }
  // A length edited along with the file size still fails: the header is authenticated in every chunk.
  const { enc, bytes } = await make();
  const edited = Buffer.from(bytes.subarray(0, bytes.length - 16 - 1));
  edited.writeBigUInt64BE(edited.readBigUInt64BE(24) - 1n, 24);
  writeFileSync(enc, edited);
  assert.is((await failure(() => verifyFile(enc, ringA))).reason, 'tampered');
  // Streaming a tampered file errors rather than handing out unauthenticated audio.
  const flipped = await make();
  flipped.bytes[40] ^= 0xff;
  writeFileSync(flipped.enc, flipped.bytes);
  assert.is((await failure(() => readAll(flipped.enc, ringA))).reason, 'tampered');
});

test('a wrong key is refused: unknown key id, or a key id pointed at another key', async () => {
  const enc = await encryptRecordingFile(plainFile().path, ringA);
  const unknown = await failure(() => verifyFile(enc, new RecordingKeyring(keyB)));
  assert.is(unknown.reason, 'unknown-key');
  assert.match(unknown.message, new RegExp(recordingKeyId(keyA)));
  // Someone rewrites the key id to one the server has: decryption with that key fails authentication.
  const bytes = readFileSync(enc);
  Buffer.from(recordingKeyId(keyB), 'hex').copy(bytes, 8);
  writeFileSync(enc, bytes);
  assert.is((await failure(() => verifyFile(enc, new RecordingKeyring(keyB, [keyA])))).reason, 'tampered');
  assert.is((await failure(() => openEncryptedRecording(plainFile().path, ringA))).reason, 'format');
});

test('after a key rotation old recordings stay readable and new ones use the new key', async () => {
  const old = plainFile();
  const oldEnc = await encryptRecordingFile(old.path, ringA);
  const rotated = RecordingKeyring.fromConfig(keyB.toString('base64'), `${keyA.toString('hex')}`);
  assert.is(rotated.activeKeyId, recordingKeyId(keyB));
  assert.ok((await readAll(oldEnc, rotated)).equals(old.content));
  const fresh = plainFile();
  const freshEnc = await encryptRecordingFile(fresh.path, rotated);
  assert.is((await openEncryptedRecording(freshEnc, rotated)).keyId, recordingKeyId(keyB));
  assert.is((await failure(() => verifyFile(freshEnc, ringA))).reason, 'unknown-key');
  assert.throws(() => RecordingKeyring.fromConfig('c2hvcnQ='), /32 bytes/);
});

test('a call a crash interrupted: its WAVs are repaired, then encrypted; leftovers of a crash mid-encryption are cleared', async () => {
  const recordingsDir = join(scratch, 'recordings');
  const dir = join(recordingsDir, '2026-12-02', 'call-crashed');
  mkdirSync(dir, { recursive: true });
  // A WAV killed between its data write and its header patch: the header says 0 data bytes.
  const audio = Buffer.alloc(16_000, 0x11);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36, 4);
  header.write('WAVEfmt ', 8, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(8000, 24);
  header.writeUInt32LE(16000, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(0, 40);
  writeFileSync(join(dir, 'caller.wav'), Buffer.concat([header, audio]));
  writeFileSync(join(dir, 'bot.wav'), Buffer.concat([header, audio.subarray(0, 800)]));
  // Killed mid-encryption of mixed.wav: a temp file next to the intact plaintext.
  writeFileSync(join(dir, 'mixed.wav'), Buffer.concat([header, audio.subarray(0, 1600)]));
  writeFileSync(join(dir, 'mixed.wav.enc.tmp'), randomBytes(100));

  const store = openSqliteStore(':memory:', { log: silent });
  try {
    await store.calls.createCall({ id: 'call-crashed', pbx: 'websocket', direction: 'inbound', lang: 'zh', status: 'active', startedAt: '2026-12-02T01:00:00.000Z', recordingDir: join('2026-12-02', 'call-crashed'), variables: {} });
    const interrupted = await store.calls.recoverInterruptedCalls(new Date('2026-12-02T01:05:00.000Z'));
    assert.is(interrupted.length, 1);
    const report = await completeInterruptedCalls(store.calls, interrupted, recordingsDir, silent, ringA);
    assert.is(report.wavsRepaired, 3);
    assert.is(report.wavsEncrypted, 3);
  } finally {
    await store.close();
  }
  for (const [name, dataBytes] of [['caller', 16_000], ['bot', 800], ['mixed', 1600]] as const) {
    assert.not.ok(existsSync(join(dir, `${name}.wav`)), `${name}.wav plaintext left`);
    const wav = await readAll(join(dir, `${name}.wav.enc`), ringA);
    assert.is(wav.length, 44 + dataBytes);
    assert.is(wav.readUInt32LE(40), dataBytes, `${name}: data size in the decrypted header`);
    assert.is(wav.readUInt32LE(4), 36 + dataBytes);
  }
  assert.not.ok(existsSync(join(dir, 'mixed.wav.enc.tmp')));
  // Running it again (a second crash during recovery) changes nothing.
  assert.equal(await encryptRecordingFolder(dir, ringA), []);
});

test.run();
