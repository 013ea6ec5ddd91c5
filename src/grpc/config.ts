import { z } from 'zod';

/** The gRPC server (streaming ASR and call control). Off unless enabled; TLS when a certificate is given. */
export const grpcConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    host: z.string().min(1).default('127.0.0.1'),
    /** 0 = any free port (tests). */
    port: z.number().int().min(0).max(65535).default(50051),
    tls: z
      .object({
        /** PEM certificate chain and private key of the server; both or neither. */
        certFile: z.string().min(1).optional(),
        keyFile: z.string().min(1).optional(),
        /** PEM CA bundle clients' certificates are checked against (mutual TLS); needs certFile/keyFile. */
        clientCaFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({})
      .refine((t) => (t.certFile === undefined) === (t.keyFile === undefined), { message: 'grpc.tls.certFile and grpc.tls.keyFile go together' })
      .refine((t) => t.clientCaFile === undefined || t.certFile !== undefined, { message: 'grpc.tls.clientCaFile needs grpc.tls.certFile and grpc.tls.keyFile' }),
    /** Largest gRPC message accepted (an audio chunk, a request). */
    maxMessageBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
  })
  .strict()
  .prefault({});

export type GrpcConfig = z.infer<typeof grpcConfigSchema>;
