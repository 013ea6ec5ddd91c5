/** The .proto files under proto/ at the repository root, loaded at run time (no generated code to keep in step). */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export const PROTO_ROOT = fileURLToPath(new URL('../../proto', import.meta.url));
export const PROTO_FILES = ['callpilot/v1/asr.proto', 'callpilot/v1/call_control.proto'] as const;

/** Field names in camelCase, 64-bit numbers as strings, oneof names set, defaults filled in. */
export const PROTO_LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

export function loadCallpilotProtos(): { packageDefinition: protoLoader.PackageDefinition; services: CallpilotServices } {
  const packageDefinition = protoLoader.loadSync([...PROTO_FILES], PROTO_LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(packageDefinition) as unknown as {
    callpilot: { v1: { StreamingAsr: grpc.ServiceClientConstructor; CallControl: grpc.ServiceClientConstructor } };
  };
  return { packageDefinition, services: { streamingAsr: loaded.callpilot.v1.StreamingAsr, callControl: loaded.callpilot.v1.CallControl } };
}

/** The service constructors: `.service` is the server-side definition, `new X(address, credentials)` a client. */
export interface CallpilotServices {
  streamingAsr: grpc.ServiceClientConstructor;
  callControl: grpc.ServiceClientConstructor;
}
