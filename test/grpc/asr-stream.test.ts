import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallAdmission } from '../../src/calls/index.ts';
import { PcmFramer, type GrpcServer } from '../../src/grpc/index.ts';
import { speechConfigSchema } from '../../src/speech/config.ts';
import { createSpeechEngine } from '../../src/speech/speech-engine.ts';
import type { SpeechEngine } from '../../src/speech/types.ts';
import { openStore, storeConfigSchema, type Store } from '../../src/store/index.ts';
import { issueToken } from '../support/auth.ts';
import { concat, readTranscripts, readWavPcm, SHARED_MODELS, silence } from '../speech/speech-fixtures.ts';
import { asrClient, engineFinals, startAsrGrpcServer, recognize, reflectionClient, statusOf, tokenMetadata, type Client } from './grpc-client.ts';
import { testLog } from '../support/run-log.ts';

const log = testLog();

/** Rows the tiny model decodes exactly, laid out with 1.5 s of silence around each (utterances on the 160 ms grid). */
const rows = readTranscripts().filter((r) => r.text === r.decoded);
function layout(): Int16Array {
  const parts: Int16Array[] = [];
  let at = 0;
  for (const row of rows) {
    const gap = 1500 + ((160 - ((at + 1500) % 160)) % 160);
    parts.push(silence(gap, 8000));
    const { pcm } = readWavPcm(row.file);
    parts.push(pcm);
    at += gap + pcm.length / 8;
  }
  parts.push(silence(1500, 8000));
  return concat(parts);
}
const audio = layout();

let dir: string;
let store: Store;
let engine: SpeechEngine;
let server: GrpcServer;
let admission: CallAdmission;
let operator: string;
let auditor: string;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'callpilot-grpc-asr-'));
  store = await openStore(storeConfigSchema.parse({ path: join(dir, 'calls.db') }), { log });
  engine = await createSpeechEngine(speechConfigSchema.parse({ vad: { poolSize: 2 }, asr: { decodeIntervalMs: 10 } }), { log, modelsRoot: SHARED_MODELS });
  admission = new CallAdmission({ maxCalls: 2 });
  server = await startAsrGrpcServer({ store, engine, admission, log });
  operator = await issueToken(store, 'operator');
  auditor = await issueToken(store, 'auditor');
});

test.after(async () => {
  await server.close();
  await engine.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('PcmFramer: little-endian bytes in odd chunks become exact 20 ms frames', () => {
  const samples = Int16Array.from({ length: 480 }, (_, i) => (i * 977) % 65536 - 32768);
  const bytes = Buffer.from(samples.buffer);
  const out: number[] = [];
  const framer = new PcmFramer(160);
  for (let off = 0; off < bytes.length; off += 7) framer.push(bytes.subarray(off, off + 7), (f) => out.push(...f));
  assert.equal(out, [...samples]);
});

test('Recognize with a real gRPC client: the finals are the transcripts the engine gives for the same audio', async () => {
  const client = asrClient(server.address);
  try {
    const viaGrpc = await recognize(client, operator, audio);
    assert.is(viaGrpc.status, grpc.status.OK, viaGrpc.details);
    const direct = await engineFinals(engine, audio);
    assert.equal(
      viaGrpc.finals.map((f) => f.text),
      direct,
      'gRPC and in-process finals differ',
    );
    assert.equal(
      direct,
      rows.map((r) => r.decoded),
      'the engine decodes each utterance as the reference transcripts say',
    );
    assert.ok(viaGrpc.partials > 0, 'partials streamed');
    assert.is(viaGrpc.kinds[0], 'speechStart');
    viaGrpc.finals.forEach((f) => assert.ok(f.speechEndMs > f.speechStartMs && f.atMs >= f.speechEndMs, JSON.stringify(f)));
    assert.is(admission.inUse, 0, 'the stream gave its place back');
  } finally {
    client.close();
  }
});

test('Recognize: a stream that stops mid-utterance still gets that utterance final (the server flushes with silence)', async () => {
  const client = asrClient(server.address);
  try {
    const { pcm } = readWavPcm(rows[0]!.file);
    const viaGrpc = await recognize(client, operator, concat([silence(640, 8000), pcm]));
    assert.is(viaGrpc.status, grpc.status.OK, viaGrpc.details);
    assert.equal(
      viaGrpc.finals.map((f) => f.text),
      [rows[0]!.decoded],
    );
  } finally {
    client.close();
  }
});

test('Recognize refuses missing, wrong and under-privileged tokens like the REST API', async () => {
  const client = asrClient(server.address);
  try {
    const short = silence(200, 8000);
    assert.is((await recognize(client, undefined, short)).status, grpc.status.UNAUTHENTICATED);
    assert.is((await recognize(client, 'cpt_not-a-token', short)).status, grpc.status.UNAUTHENTICATED);
    const denied = await recognize(client, auditor, short);
    assert.is(denied.status, grpc.status.PERMISSION_DENIED);
    assert.match(denied.details, 'auditor');
    assert.is(admission.inUse, 0);
  } finally {
    client.close();
  }
});

test('Recognize refuses bad streams with INVALID_ARGUMENT and a full server with RESOURCE_EXHAUSTED', async () => {
  const client = asrClient(server.address);
  try {
    const bad = await recognize(client, operator, silence(100, 8000), { sampleRateHz: 44100 });
    assert.is(bad.status, grpc.status.INVALID_ARGUMENT);
    assert.match(bad.details, 'sample_rate_hz');
    const noConfig = await new Promise<grpc.StatusObject>((resolve) => {
      const call = (client.Recognize as (md: grpc.Metadata) => grpc.ClientDuplexStream<unknown, unknown>)(tokenMetadata(operator));
      call.on('status', resolve);
      call.on('error', () => undefined);
      call.write({ audio: Buffer.alloc(320) });
      call.end();
    });
    assert.is(noConfig.code, grpc.status.INVALID_ARGUMENT);
    // Both places of server.maxCalls taken by other calls: the stream is refused and takes nothing.
    const held = [admission.tryAdmit('media'), admission.tryAdmit('media')];
    try {
      const full = await recognize(client, operator, silence(100, 8000));
      assert.is(full.status, grpc.status.RESOURCE_EXHAUSTED);
    } finally {
      for (const h of held) if (h.ok) h.ticket.release();
    }
    assert.is(admission.inUse, 0);
  } finally {
    client.close();
  }
});

test('server reflection lists the services, and answers only to a token', async () => {
  const client = reflectionClient(server.address);
  const ask = (token: string | undefined): Promise<{ status: grpc.status; services: string[] }> =>
    new Promise((resolve) => {
      const services: string[] = [];
      const call = (client.ServerReflectionInfo as (md: grpc.Metadata) => grpc.ClientDuplexStream<unknown, Record<string, any>>)(tokenMetadata(token));
      call.on('data', (res) => {
        for (const s of res.list_services_response?.service ?? []) services.push(s.name);
        call.end();
      });
      call.on('status', (s: grpc.StatusObject) => resolve({ status: s.code, services }));
      call.on('error', () => undefined);
      call.write({ list_services: '' });
    });
  try {
    const listed = await ask(operator);
    assert.is(listed.status, grpc.status.OK);
    assert.ok(listed.services.includes('callpilot.v1.StreamingAsr'), listed.services.join(','));
    assert.ok(listed.services.includes('callpilot.v1.CallControl'));
    assert.is((await ask(undefined)).status, grpc.status.UNAUTHENTICATED);
  } finally {
    client.close();
  }
});

test.run();
