/** gRPC: streaming ASR over the in-process speech engine and call control, with the REST API's tokens and roles. */
export { grpcConfigSchema, type GrpcConfig } from './config.ts';
export { startGrpcServer, GRPC_METHOD_ROLES, type GrpcServer, type GrpcServerOptions } from './grpc-server.ts';
export { loadCallpilotProtos, PROTO_ROOT, PROTO_FILES, PROTO_LOADER_OPTIONS, type CallpilotServices } from './protos.ts';
export type { CallControlTarget } from './call-control.ts';
export { PcmFramer, type AdmitStream } from './asr-stream.ts';
