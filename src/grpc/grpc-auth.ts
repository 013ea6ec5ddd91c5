/**
 * The REST API's tokens and roles on gRPC: `authorization: Bearer <token>` in the call metadata, checked before a
 * handler runs. Every method names its roles; a method without a declaration is refused, as HTTP routes are.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { allows, type Auth, type Principal, type Role } from '../auth/index.ts';

/** Roles per method name of one service (`Recognize`, `Originate`, ...). */
export type MethodRoles = Readonly<Record<string, readonly Role[]>>;

/** What handlers get besides the call: who is calling. */
export type Authorized<H> = (principal: Principal) => H;

export class GrpcRefusal extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
    this.name = 'GrpcRefusal';
  }
}

/** The status a handler's error maps to: refusals keep their code, anything else is INTERNAL without details. */
export function toServiceError(err: unknown, log: Logger): Partial<grpc.StatusObject> {
  if (err instanceof GrpcRefusal) return { code: err.code, details: err.message };
  log.error({ err }, 'gRPC handler failed');
  return { code: grpc.status.INTERNAL, details: 'internal error' };
}

export async function principalFromMetadata(metadata: grpc.Metadata, auth: Auth): Promise<{ presented: boolean; principal?: Principal }> {
  const values = metadata.get('authorization');
  const header = typeof values[0] === 'string' ? values[0] : undefined;
  if (!header) return { presented: false };
  const match = /^bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) return { presented: true };
  return { presented: true, principal: await auth.tokens.authenticate(match[1]!, 'bearer') };
}

type AnyCall = grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;
type AnyHandler = (call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => void;

/**
 * Wraps every method of `impl` so it runs only for a principal whose role the method admits: UNAUTHENTICATED
 * without a valid token, PERMISSION_DENIED for a role the method does not name.
 */
export function guardService(
  definition: grpc.ServiceDefinition,
  impl: Record<string, (principal: Principal) => AnyHandler>,
  roles: MethodRoles,
  auth: Auth,
  log: Logger,
): grpc.UntypedServiceImplementation {
  const guarded: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    const allowed = roles[name];
    const handlerOf = impl[name];
    const unary = !method.requestStream && !method.responseStream;
    guarded[name] = ((call: AnyCall, callback?: grpc.sendUnaryData<unknown>) => {
      const fail = (status: Partial<grpc.StatusObject>): void => {
        if (unary) callback!(status as grpc.ServiceError, null);
        else call.emit('error', status);
      };
      if (!allowed || !handlerOf) {
        fail({ code: grpc.status.UNIMPLEMENTED, details: `${name} declares no roles` });
        return;
      }
      principalFromMetadata(call.metadata, auth).then(
        ({ presented, principal }) => {
          if (!principal) {
            fail({
              code: grpc.status.UNAUTHENTICATED,
              details: presented ? 'invalid, expired or revoked token' : 'authentication required: send metadata authorization: Bearer <token>',
            });
            return;
          }
          if (!allows(allowed, principal)) {
            fail({ code: grpc.status.PERMISSION_DENIED, details: `role ${principal.role} may not call ${name} (allowed: ${allowed.join(', ')})` });
            return;
          }
          handlerOf(principal)(call, callback);
        },
        (err: unknown) => fail(toServiceError(err, log)),
      );
    }) as grpc.UntypedHandleCall;
  }
  return guarded;
}
