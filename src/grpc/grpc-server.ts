import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import type { Logger } from 'pino';
import { ROLE_SETS, ROLES, type Auth } from '../auth/index.ts';
import type { SpeechEngine } from '../speech/index.ts';
import { recognizeHandler, type AdmitStream } from './asr-stream.ts';
import { callControlHandlers, type CallControlTarget } from './call-control.ts';
import type { GrpcConfig } from './config.ts';
import { guardService, type MethodRoles } from './grpc-auth.ts';
import { loadCallpilotProtos } from './protos.ts';

export interface GrpcServerOptions {
  config: GrpcConfig;
  auth: Auth;
  log: Logger;
  /** The shared speech engine once the models are loaded. */
  speech: () => SpeechEngine | undefined;
  /** One place of server.maxCalls per ASR stream. */
  admitAsrStream: AdmitStream;
  /** The running app's call side (engine, outbound service, flow check). */
  calls: () => CallControlTarget;
  /** Resolve relative TLS file paths against this folder. */
  readFile?: (path: string) => Buffer;
}

export interface GrpcServer {
  /** host:port the server listens on (port resolved when the config said 0). */
  readonly address: string;
  readonly port: number;
  readonly tls: boolean;
  close(): Promise<void>;
}

/** Roles per method: the same sets as the REST routes doing the same thing. */
export const GRPC_METHOD_ROLES: Readonly<Record<'StreamingAsr' | 'CallControl' | 'ServerReflection', MethodRoles>> = {
  StreamingAsr: { Recognize: ROLE_SETS.operate },
  CallControl: {
    Originate: ROLE_SETS.operate,
    Hangup: ROLE_SETS.operate,
    Transfer: ROLE_SETS.operate,
    PlayPrompt: ROLE_SETS.operate,
    SubscribeCallEvents: ROLE_SETS.readCalls,
  },
  // Reflection only describes the protos in proto/, but still answers only to a valid token.
  ServerReflection: { ServerReflectionInfo: ROLES },
};

/** Wait for running calls to finish on close, then cut the rest (ASR streams, subscriptions). */
const SHUTDOWN_GRACE_MS = 2000;

export async function startGrpcServer(o: GrpcServerOptions): Promise<GrpcServer> {
  const log = o.log.child({ component: 'grpc' });
  const read = o.readFile ?? ((path: string) => readFileSync(path));
  const { packageDefinition, services } = loadCallpilotProtos();
  const server = new grpc.Server({
    'grpc.max_receive_message_length': o.config.maxMessageBytes,
    'grpc.max_send_message_length': o.config.maxMessageBytes,
  });
  const asrDefinition = services.streamingAsr.service;
  server.addService(
    asrDefinition,
    guardService(asrDefinition, { Recognize: () => recognizeHandler({ speech: o.speech, admit: o.admitAsrStream, log }) as never }, GRPC_METHOD_ROLES.StreamingAsr, o.auth, log),
  );
  const controlDefinition = services.callControl.service;
  server.addService(
    controlDefinition,
    guardService(controlDefinition, callControlHandlers({ target: o.calls, audit: o.auth.audit, log }) as never, GRPC_METHOD_ROLES.CallControl, o.auth, log),
  );
  new ReflectionService(packageDefinition).addToServer({
    addService: (definition, impl) => {
      const handlers = Object.fromEntries(Object.entries(impl).map(([name, handler]) => [name, () => handler]));
      server.addService(definition, guardService(definition, handlers as never, GRPC_METHOD_ROLES.ServerReflection, o.auth, log));
    },
  });

  const { certFile, keyFile, clientCaFile } = o.config.tls;
  const tls = certFile !== undefined && keyFile !== undefined;
  const credentials = tls
    ? grpc.ServerCredentials.createSsl(clientCaFile ? read(clientCaFile) : null, [{ cert_chain: read(certFile), private_key: read(keyFile) }], clientCaFile !== undefined)
    : grpc.ServerCredentials.createInsecure();
  const host = o.config.host.includes(':') && !o.config.host.startsWith('[') ? `[${o.config.host}]` : o.config.host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${o.config.port}`, credentials, (err, bound) => (err ? reject(new Error(`gRPC server cannot listen on ${host}:${o.config.port}: ${err.message}`)) : resolve(bound))),
  );
  const address = `${host}:${port}`;
  log.info({ address, tls, mutualTls: clientCaFile !== undefined }, 'gRPC server listening');
  let closing: Promise<void> | undefined;
  return {
    address,
    port,
    tls,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      })),
  };
}
