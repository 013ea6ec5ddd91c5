/** Real @grpc/grpc-js clients for callpilot's services, built from the same proto files the server loads. */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { loadCallpilotProtos } from '../../src/grpc/index.ts';

export type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

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
