/** Real @grpc/grpc-js clients for callpilot's services, built from the same proto files the server loads. */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Logger } from 'pino';
import { createAuth } from '../../src/auth/index.ts';
import type { CallAdmission } from '../../src/calls/index.ts';
import { grpcConfigSchema, loadCallpilotProtos, startGrpcServer, type GrpcServer } from '../../src/grpc/index.ts';
import type { CallSpeechEvents, SpeechEngine } from '../../src/speech/types.ts';
import type { Store } from '../../src/store/index.ts';

export type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

/** callpilot's gRPC server for the ASR tests: the store's tokens, the given engine, streams admitted like calls, no live calls. */
export function startAsrGrpcServer(opts: { store: Store; engine: SpeechEngine; admission: CallAdmission; log: Logger; tls?: Record<string, string> }): Promise<GrpcServer> {
  const { admission } = opts;
  return startGrpcServer({
    config: grpcConfigSchema.parse({ enabled: true, port: 0, ...(opts.tls ? { tls: opts.tls } : {}) }),
    auth: createAuth(opts.store),
    log: opts.log,
    speech: () => opts.engine,
    admitAsrStream: () => {
      const r = admission.tryAdmit('grpc-asr');
      return r.ok ? { ok: true, release: r.ticket.release } : { ok: false, detail: r.detail };
    },
    calls: () => ({ liveCall: () => undefined, onLiveEvent: () => () => undefined }),
  });
}

type Final = CallSpeechEvents['final'][0];

export function asrClient(address: string, credentials = grpc.credentials.createInsecure()): Client {
  return new (loadCallpilotProtos().services.streamingAsr)(address, credentials) as Client;
}

export function callControlClient(address: string, credentials = grpc.credentials.createInsecure()): Client {
  return new (loadCallpilotProtos().services.callControl)(address, credentials) as Client;
}

/** The v1 reflection client from the protos @grpc/reflection ships. */
export function reflectionClient(address: string): Client {
  const require = createRequire(import.meta.url);
  const root = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto');
  const def = protoLoader.loadSync('grpc/reflection/v1/reflection.proto', { includeDirs: [root], keepCase: true, defaults: true, oneofs: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } };
  return new pkg.grpc.reflection.v1.ServerReflection(address, grpc.credentials.createInsecure()) as Client;
}

export function tokenMetadata(token: string | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `Bearer ${token}`);
  return md;
}

/** A unary call as a promise; rejects with the ServiceError (code, details). */
export function unary<Res>(client: Client, method: string, req: unknown, md: grpc.Metadata): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    (client[method] as (r: unknown, m: grpc.Metadata, cb: (err: grpc.ServiceError | null, res: Res) => void) => void)(req, md, (err, res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** The status a failed call ended with. */
export async function statusOf(p: Promise<unknown>): Promise<grpc.status> {
  try {
    await p;
  } catch (err) {
    return (err as grpc.ServiceError).code;
  }
  return grpc.status.OK;
}

export interface StreamResult {
  finals: Final[];
  partials: number;
  kinds: string[];
  status: grpc.status;
  details: string;
}

/**
 * Streams `pcm` (8 kHz) in 100 ms chunks of 1601 bytes and less (odd sizes: frames straddle messages), pausing a
 * little between chunks so partials come back while audio flows, as on a live line but faster.
 */
export function recognize(client: Client, token: string | undefined, pcm: Int16Array, config: Record<string, unknown> = { sampleRateHz: 8000, lang: 'zh' }): Promise<StreamResult> {
  return new Promise((resolve) => {
    const result: StreamResult = { finals: [], partials: 0, kinds: [], status: grpc.status.OK, details: '' };
    const call = (client.Recognize as (md: grpc.Metadata) => grpc.ClientDuplexStream<unknown, Record<string, unknown>>)(tokenMetadata(token));
    call.on('data', (res) => {
      const kind = String(res.event);
      result.kinds.push(kind);
      if (kind === 'partial') result.partials++;
      if (kind === 'final') result.finals.push(res.final as Final);
    });
    call.on('status', (s: grpc.StatusObject) => {
      result.status = s.code;
      result.details = s.details;
      resolve(result);
    });
    call.on('error', () => undefined);
    const bytes = Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    void (async () => {
      call.write({ config });
      for (let off = 0; off < bytes.length; off += 1601) {
        call.write({ audio: bytes.subarray(off, Math.min(bytes.length, off + 1601)) });
        await new Promise((r) => setTimeout(r, 12));
      }
      call.end();
    })();
  });
}

/** The same audio through the engine directly, in 20 ms frames, with the same pacing. */
export async function engineFinals(engine: SpeechEngine, pcm: Int16Array): Promise<string[]> {
  const call = engine.createCall('direct', 8000, 'zh');
  const finals: string[] = [];
  call.on('final', (e) => finals.push(e.text));
  const frame = new Int16Array(160);
  for (let f = 0; (f + 1) * 160 <= pcm.length; f++) {
    frame.set(pcm.subarray(f * 160, (f + 1) * 160));
    call.push(frame);
    if (f % 5 === 4) await new Promise((r) => setTimeout(r, 12));
  }
  for (let i = 0; i < 500 && call.busy; i++) await new Promise((r) => setTimeout(r, 10));
  call.close();
  return finals;
}
