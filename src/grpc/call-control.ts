/**
 * CallControl: originate through the one outbound path (OutboundCallService, as POST /api/calls), act on calls
 * running in this process's engine (hang up, transfer, play a prompt) and follow them live. Every action is
 * audited like its REST counterpart; numbers and transcripts are masked unless the token may unmask.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { mayUnmask, type AuditLog, type Principal } from '../auth/index.ts';
import { isCallId, maskText } from '../core/index.ts';
import type { CallTimelineEvent, LiveCallControl, LiveCallEvent, LiveCallInfo } from '../dialog/index.ts';
import { originateCallRequestSchema, type CallTargetVerdict, type OriginateCallRequest, type OriginateOutcome } from '../api/index.ts';
import { GrpcRefusal, toServiceError } from './grpc-auth.ts';

/** What call control needs from the running app (the engine may still be loading). */
export interface CallControlTarget {
  /** Places a call (OutboundCallService.placeCall); undefined without a PBX. */
  originate?: (req: OriginateCallRequest) => Promise<OriginateOutcome>;
  checkCallTarget?: (target: { flow?: string; lang?: string }) => CallTargetVerdict;
  liveCall(callId: string): LiveCallControl | undefined;
  onLiveEvent(listener: (event: LiveCallEvent) => void): () => void;
}

export interface CallControlOptions {
  target: () => CallControlTarget;
  audit: AuditLog;
  log: Logger;
}

const MAX_PROMPT_CHARS = 2000;

type Unary<Req, Res> = (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => void;

/** Handlers per method, each made for the principal the guard authenticated. */
export function callControlHandlers(o: CallControlOptions): Record<string, (principal: Principal) => (call: never, callback?: never) => void> {
  const unary =
    <Req, Res>(run: (req: Req, principal: Principal, log: Logger) => Promise<Res>) =>
    (principal: Principal): Unary<Req, Res> =>
    (call, callback) => {
      run(call.request, principal, o.log).then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err, o.log) as grpc.ServiceError, null),
      );
    };
  return {
    Originate: unary(async (req: OriginateWire, principal) => originate(o, req, principal)),
    Hangup: unary(async (req: { callId: string; disposition: string }, principal) => {
      const call = liveCallOrThrow(o, req.callId);
      const disposition = req.disposition.trim() || 'operator_hangup';
      if (!/^[a-z0-9_.-]{1,64}$/i.test(disposition)) throw new GrpcRefusal(grpc.status.INVALID_ARGUMENT, 'disposition: letters, digits, "_", "." and "-", at most 64');
      await o.audit.record(principal, 'call.hangup', call.info.callId, { disposition, via: 'grpc' });
      await call.hangup(disposition);
      o.log.info({ callId: call.info.callId, by: principal.name }, 'call hung up over gRPC');
      return {};
    }),
    Transfer: unary(async (req: { callId: string; target: string; reason: string }, principal) => {
      const call = liveCallOrThrow(o, req.callId);
      const target = req.target.trim() || undefined;
      if (target !== undefined && (target.length > 256 || /[\r\n\0]/.test(target))) {
        throw new GrpcRefusal(grpc.status.INVALID_ARGUMENT, 'target: at most 256 characters on one line');
      }
      const reason = req.reason.trim().slice(0, 200) || 'operator';
      await o.audit.record(principal, 'call.transfer', call.info.callId, { target: target ? maskText(target) : null, reason, via: 'grpc' });
      await call.transfer(reason, target);
      o.log.info({ callId: call.info.callId, by: principal.name }, 'call transferred over gRPC');
      return {};
    }),
    PlayPrompt: unary(async (req: { callId: string; text: string; noBargeIn: boolean }, principal) => {
      const call = liveCallOrThrow(o, req.callId);
      const text = req.text.trim();
      if (text === '' || text.length > MAX_PROMPT_CHARS) throw new GrpcRefusal(grpc.status.INVALID_ARGUMENT, `text: 1 to ${MAX_PROMPT_CHARS} characters`);
      await o.audit.record(principal, 'call.prompt', call.info.callId, { chars: text.length, via: 'grpc' });
      await call.say(text, !req.noBargeIn);
      return {};
    }),
    SubscribeCallEvents: (principal: Principal) => (call: grpc.ServerWritableStream<{ callId: string; includePartials: boolean }, unknown>) => {
      const { callId, includePartials } = call.request;
      if (callId !== '' && !isCallId(callId)) {
        call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: 'call_id is not a callpilot call id' });
        return;
      }
      const unmask = mayUnmask(principal);
      const unsubscribe = o.target().onLiveEvent((event) => {
        const id = event.kind === 'started' ? event.call.callId : event.callId;
        if (callId !== '' && id !== callId) return;
        if (event.kind === 'timeline' && event.event.type === 'partial' && !includePartials) return;
        call.write(toWire(event, unmask));
        // Following one call: its end ends the stream.
        if (callId !== '' && event.kind === 'timeline' && event.event.type === 'end') {
          unsubscribe();
          call.end();
        }
      });
      call.on('cancelled', unsubscribe);
      call.on('close', unsubscribe);
      call.on('error', unsubscribe);
      // Tells the client the subscription is in place (headers before the first event), so nothing it triggers next is missed.
      call.sendMetadata(new grpc.Metadata());
    },
  } as unknown as Record<string, (principal: Principal) => (call: never, callback?: never) => void>;
}

interface OriginateWire {
  endpoint: string;
  pbx: string;
  callerId: string;
  timeoutSec: number;
  flow: string;
  lang: string;
  variables: Record<string, string>;
  earlyMedia: boolean;
}

async function originate(o: CallControlOptions, wire: OriginateWire, principal: Principal): Promise<{ callId: string }> {
  // proto3 has no absent scalars: empty strings and 0 mean "not given", as a JSON body that leaves them out.
  const body = {
    endpoint: wire.endpoint,
    ...(wire.pbx ? { pbx: wire.pbx } : {}),
    ...(wire.callerId ? { callerId: wire.callerId } : {}),
    ...(wire.timeoutSec ? { timeoutSec: wire.timeoutSec } : {}),
    ...(wire.flow ? { flow: wire.flow } : {}),
    ...(wire.lang ? { lang: wire.lang } : {}),
    ...(Object.keys(wire.variables).length > 0 ? { variables: wire.variables } : {}),
    ...(wire.earlyMedia ? { earlyMedia: true } : {}),
  };
  const parsed = originateCallRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new GrpcRefusal(grpc.status.INVALID_ARGUMENT, `${issue.path.join('.') || 'request'}: ${issue.message}`);
  }
  const target = o.target();
  const verdict = target.checkCallTarget?.({ flow: parsed.data.flow, lang: parsed.data.lang });
  if (verdict && !verdict.ok) throw new GrpcRefusal(grpc.status.INVALID_ARGUMENT, `${verdict.message} (valid: ${verdict.valid.join(', ')})`);
  if (!target.originate) throw new GrpcRefusal(grpc.status.FAILED_PRECONDITION, 'no PBX is connected: configure pbx.asterisk or pbx.freeswitch to place calls');
  const outcome = await target.originate(parsed.data);
  await o.audit.record(principal, 'call.originate', 'error' in outcome ? undefined : outcome.callId, {
    endpoint: maskText(parsed.data.endpoint),
    pbx: parsed.data.pbx ?? null,
    flow: parsed.data.flow ?? null,
    outcome: 'error' in outcome ? outcome.error : 'placed',
    via: 'grpc',
  });
  if ('error' in outcome) {
    const code = outcome.status === 422 ? grpc.status.INVALID_ARGUMENT : grpc.status.UNAVAILABLE;
    throw new GrpcRefusal(code, outcome.error);
  }
  o.log.info({ callId: outcome.callId, endpoint: maskText(parsed.data.endpoint), by: principal.name }, 'outbound call requested over gRPC');
  return { callId: outcome.callId };
}

function liveCallOrThrow(o: CallControlOptions, callId: string): LiveCallControl {
  if (!isCallId(callId)) throw new GrpcRefusal(grpc.status.INVALID_ARGUMENT, 'call_id is not a callpilot call id');
  const call = o.target().liveCall(callId);
  if (!call) throw new GrpcRefusal(grpc.status.NOT_FOUND, `call ${callId} is not running on this node (not answered yet, ended, or elsewhere)`);
  return call;
}

/** The wire form of a live event; numbers and transcripts masked unless `unmask`. */
function toWire(event: LiveCallEvent, unmask: boolean): Record<string, unknown> {
  const at = new Date().toISOString();
  const text = (s: string): string => (unmask ? s : maskText(s));
  if (event.kind === 'started') return startedWire(event.call, at, text);
  const e: CallTimelineEvent = event.event;
  const wire: Record<string, unknown> = { callId: event.callId, type: e.type, at, atMs: e.atMs };
  switch (e.type) {
    case 'partial':
    case 'final':
    case 'bot':
      wire.text = text(e.text);
      if (e.type === 'bot') wire.bargeIn = e.bargeIn;
      break;
    case 'dtmf':
      wire.text = unmask ? e.digits : maskText(e.digits);
      break;
    case 'botAudioStart':
      if (e.latencyMs !== undefined) wire.latencyMs = e.latencyMs;
      break;
    case 'bargeIn':
      wire.heardMs = e.heardMs;
      break;
    case 'end':
      wire.disposition = e.disposition;
      wire.endedBy = e.by;
      break;
    default:
      break;
  }
  return wire;
}

function startedWire(call: LiveCallInfo, at: string, text: (s: string) => string): Record<string, unknown> {
  return {
    callId: call.callId,
    type: 'started',
    at,
    direction: call.direction,
    flow: call.flow,
    lang: call.lang,
    pbx: call.pbx,
    from: call.from ? text(call.from) : '',
    to: call.to ? text(call.to) : '',
  };
}
