import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import pino from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallAdmission } from '../../src/calls/index.ts';
import { newCallId } from '../../src/core/index.ts';
import type { GrpcServer } from '../../src/grpc/index.ts';
import { speechConfigSchema } from '../../src/speech/config.ts';
import { createSpeechEngine } from '../../src/speech/speech-engine.ts';
import type { SpeechEngine } from '../../src/speech/types.ts';
import { openStore, storeConfigSchema, type Store } from '../../src/store/index.ts';
import { issueToken } from '../support/auth.ts';
import { concat, readTranscripts, readWavPcm, SHARED_MODELS, silence } from '../speech/speech-fixtures.ts';
import { asrClient, callControlClient, engineFinals, startAsrGrpcServer, recognize, statusOf, tokenMetadata, unary, type Client } from './grpc-client.ts';
import { testLog } from '../support/run-log.ts';

/*
 * gRPC over TLS with certificates made by openssl for this run: a CA, a server certificate for 127.0.0.1 and
 * localhost, a client certificate from the same CA, and a second, untrusted CA with its own client. The streaming
 * ASR (on the tiny model) and call control answer over TLS; a plaintext client, a client that does not trust the
 * server's CA, a bad token and (with grpc.tls.clientCaFile) a client without a trusted certificate are refused.
 */

const log = testLog();
const dir = mkdtempSync(join(tmpdir(), 'callpilot-grpc-tls-'));
const file = (name: string): string => join(dir, name);

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A P-256 CA; `name.key`, `name.crt`. */
function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
}

/** A leaf certificate signed by `ca` with the given extensions; `name.key`, `name.crt`. */
function makeLeaf(name: string, ca: string, extensions: string): void {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
  writeFileSync(file(`${name}.ext`), extensions);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-out', `${name}.crt`, '-extfile', `${name}.ext`);
}

makeCa('ca');
makeCa('rogue-ca');
makeLeaf('server', 'ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
makeLeaf('client', 'ca', 'extendedKeyUsage=clientAuth\n');
makeLeaf('rogue-client', 'rogue-ca', 'extendedKeyUsage=clientAuth\n');
const pem = (name: string): Buffer => readFileSync(file(name));

const row = readTranscripts().find((r) => r.text === r.decoded)!;
const utterance = concat([silence(1000, 8000), readWavPcm(row.file).pcm, silence(1500, 8000)]);

let store: Store;
let engine: SpeechEngine;
let tlsServer: GrpcServer;
let mtlsServer: GrpcServer;
let operator: string;
let auditor: string;

function serve(tls: Record<string, string>): Promise<GrpcServer> {
  return startAsrGrpcServer({ store, engine, admission: new CallAdmission({ maxCalls: 4 }), log, tls });
}

test.before(async () => {
  store = await openStore(storeConfigSchema.parse({ path: file('calls.db') }), { log });
  engine = await createSpeechEngine(speechConfigSchema.parse({ vad: { poolSize: 1 }, asr: { decodeIntervalMs: 10 } }), { log, modelsRoot: SHARED_MODELS });
  tlsServer = await serve({ certFile: file('server.crt'), keyFile: file('server.key') });
  mtlsServer = await serve({ certFile: file('server.crt'), keyFile: file('server.key'), clientCaFile: file('ca.crt') });
  operator = await issueToken(store, 'operator');
  auditor = await issueToken(store, 'auditor');
});

test.after(async () => {
  await tlsServer?.close();
  await mtlsServer?.close();
  await engine?.close();
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

const trusting = (ca = 'ca.crt', client?: string): grpc.ChannelCredentials =>
  client ? grpc.credentials.createSsl(pem(ca), pem(`${client}.key`), pem(`${client}.crt`)) : grpc.credentials.createSsl(pem(ca));

/** Clients closed after each use, so a refused handshake does not linger in the next check. */
async function withClient<T>(make: () => Client, use: (c: Client) => Promise<T>): Promise<T> {
  const client = make();
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

/** A well-formed call id of no running call: the handler answers NOT_FOUND, so the call got through TLS and auth. */
const hangupUnknown = (c: Client, token: string): Promise<unknown> => unary(c, 'Hangup', { callId: newCallId(), disposition: 'operator_hangup' }, tokenMetadata(token));

test('the servers say they run TLS, and only the mutual one asks for client certificates', () => {
  assert.ok(tlsServer.tls);
  assert.ok(mtlsServer.tls);
  assert.match(tlsServer.address, /^127\.0\.0\.1:\d+$/);
});

test('streaming ASR over TLS gives the transcript the engine gives for the same audio', async () => {
  const direct = await engineFinals(engine, utterance);
  assert.is(direct.length, 1, 'one utterance, one final');
  const result = await withClient(() => asrClient(tlsServer.address, trusting()), (c) => recognize(c, operator, utterance));
  assert.is(result.status, grpc.status.OK, result.details);
  assert.equal(result.finals.map((f) => f.text), direct);
});

test('call control over TLS reaches its handler: an unknown call is NOT_FOUND, a role without the right is PERMISSION_DENIED', async () => {
  await withClient(
    () => callControlClient(tlsServer.address, trusting()),
    async (c) => {
      assert.is(await statusOf(hangupUnknown(c, operator)), grpc.status.NOT_FOUND);
      assert.is(await statusOf(hangupUnknown(c, auditor)), grpc.status.PERMISSION_DENIED);
    },
  );
});

test('a bad token is refused over TLS, on both services', async () => {
  await withClient(
    () => callControlClient(tlsServer.address, trusting()),
    async (c) => assert.is(await statusOf(hangupUnknown(c, 'cp_not-a-real-token')), grpc.status.UNAUTHENTICATED),
  );
  const asr = await withClient(() => asrClient(tlsServer.address, trusting()), (c) => recognize(c, 'cp_not-a-real-token', silence(200, 8000)));
  assert.is(asr.status, grpc.status.UNAUTHENTICATED);
});

test('a plaintext client gets no answer from a TLS server (the handshake fails before any method runs)', async () => {
  await withClient(
    () => callControlClient(tlsServer.address, grpc.credentials.createInsecure()),
    async (c) => assert.is(await statusOf(hangupUnknown(c, operator)), grpc.status.UNAVAILABLE),
  );
  const asr = await withClient(() => asrClient(tlsServer.address, grpc.credentials.createInsecure()), (c) => recognize(c, operator, silence(200, 8000)));
  assert.is(asr.status, grpc.status.UNAVAILABLE);
});

test('a client that does not trust the server certificate refuses it', async () => {
  await withClient(
    () => callControlClient(tlsServer.address, trusting('rogue-ca.crt')),
    async (c) => assert.is(await statusOf(hangupUnknown(c, operator)), grpc.status.UNAVAILABLE),
  );
});

test('mutual TLS: a client certificate from the configured CA is let in; none, or one from another CA, is refused', async () => {
  await withClient(
    () => callControlClient(mtlsServer.address, trusting('ca.crt', 'client')),
    async (c) => assert.is(await statusOf(hangupUnknown(c, operator)), grpc.status.NOT_FOUND),
  );
  await withClient(
    () => callControlClient(mtlsServer.address, trusting()),
    async (c) => assert.is(await statusOf(hangupUnknown(c, operator)), grpc.status.UNAVAILABLE),
  );
  await withClient(
    () => callControlClient(mtlsServer.address, trusting('ca.crt', 'rogue-client')),
    async (c) => assert.is(await statusOf(hangupUnknown(c, operator)), grpc.status.UNAVAILABLE),
  );
  const asr = await withClient(() => asrClient(mtlsServer.address, trusting('ca.crt', 'client')), (c) => recognize(c, operator, utterance));
  assert.is(asr.status, grpc.status.OK, asr.details);
  assert.equal(asr.finals.map((f) => f.text), await engineFinals(engine, utterance));
});

test.run();
