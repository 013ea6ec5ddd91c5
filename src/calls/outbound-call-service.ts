import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { maskText, newCallId, type AmdVerdict, type CallProgressVerdict, type EarlyMediaMonitor } from '../core/index.ts';
import type { Disposition, OriginateRequest, PbxAdapter, PbxCall } from '../pbx/index.ts';
import type { CallRecord, CallStore } from '../store/index.ts';
import type { CallAdmission } from './call-admission.ts';
import type { CallRunEnd } from './pbx-call-runner.ts';

export interface OutboundCallRequest extends Omit<OriginateRequest, 'earlyMedia'> {
  /** Which PBX to dial through when several are connected. */
  pbx?: string;
  /**
   * Classify early media (空号/关机/停机 announcements, busy and congestion tones) before answer and end the
   * attempt on a verdict. Off by default: the PBX must allow early media (dialplan/README.md), and Asterisk then
   * dials through `POST /channels/create` + `/dial` instead of `POST /channels`.
   */
  earlyMedia?: boolean;
}

/**
 * `outcome` settles when the call is over and never rejects (the same promise `outcome(callId)` returns).
 * `status`: the HTTP status a refusal maps to (422 for an endpoint the PBX does not have; default 502).
 */
export type PlaceCallResult =
  | { callId: string; outcome: Promise<OutboundCallOutcome> }
  | {
      error: string;
      status?: number;
      /**
       * Why nothing was dialled: `admission` (server.maxCalls full or the node draining) is this node's state, not
       * the callee's, so the campaign dialer hands the attempt back instead of ending it; `endpoint` and `adapter`
       * are real failures of the dial request.
       */
      refused?: 'admission' | 'endpoint' | 'adapter';
    };

export interface PlaceCallHooks {
  /** The callee answered (before media and dialog): the campaign dialer marks its attempt live. */
  onAnswer?(info: { callId: string; pbxCallId: string; at: string }): void;
}

/** How one outbound attempt ended, for the API and the campaign dialer (dispositions, retries). */
export interface OutboundCallOutcome {
  callId: string;
  /** Telephony outcome of the dial. */
  telephony: Disposition;
  /** The stored disposition: the flow's end state for answered calls, else the telephony outcome. */
  disposition: string;
  /** Q.850 cause of the hangup or the failed dial. */
  cause?: number;
  /** Before answer: announcement, tone or cause verdict. */
  progress?: CallProgressVerdict;
  /** After answer: human / machine / assistant / unknown, when detection ran. */
  amd?: AmdVerdict;
  answeredAt?: string;
  endedAt?: string;
  /** The PBX's id of the answered channel. */
  pbxCallId?: string;
  /** Variables the flow collected: the call's variables beyond those the request passed in. */
  slots: Record<string, string>;
}

export interface OutboundCallServiceEvents {
  /** Every placed call ends with exactly one outcome (also when the dial threw). */
  outcome: [outcome: OutboundCallOutcome];
}

/** Makes the early-media monitor for one attempt (speech/call-progress in production). */
export type EarlyMediaMonitorFactory = (ctx: { callId: string; lang: string; log: Logger }) => EarlyMediaMonitor;

export interface OutboundCallServiceOptions {
  adapters: PbxAdapter[];
  calls: CallStore;
  /** Runs an answered call to its stored end (PbxCallRunner). */
  runner: { run(call: PbxCall, attemptId: string): Promise<CallRunEnd | void> };
  log: Logger;
  /** Makes the early-media classifier for requests with `earlyMedia: true`. */
  earlyMediaMonitor?: EarlyMediaMonitorFactory;
  /** Outbound attempts count against server.maxCalls from the dial on; without it every attempt is placed. */
  admission?: CallAdmission;
}

/**
 * The one outbound path: the API and the campaign dialer both place calls here. The attempt is stored before
 * anything is dialled, so a crash mid-dial leaves a record; the dial then runs in the background to its outcome,
 * which is stored with the call and emitted as `outcome` (also available through `outcome(callId)`).
 */
/** How long an attempt's outcome is read again while the store is away (as long as the dialer retries storing it). */
const OUTCOME_READ_GIVE_UP_MS = 600_000;

export class OutboundCallService extends EventEmitter<OutboundCallServiceEvents> {
  private readonly o: OutboundCallServiceOptions;
  private readonly running = new Map<string, Promise<OutboundCallOutcome>>();

  constructor(opts: OutboundCallServiceOptions) {
    super();
    this.o = opts;
  }

  /** Stores the attempt and starts dialling; resolves once the attempt is recorded, not when the call ends. */
  async placeCall(req: OutboundCallRequest, hooks: PlaceCallHooks = {}): Promise<PlaceCallResult> {
    const adapter = this.o.adapters.find((a) => !req.pbx || a.kind === req.pbx);
    if (!adapter) return { error: `no PBX adapter ${req.pbx ?? ''} is configured`, refused: 'adapter' };
    // Where the PBX can say, a dial string naming no endpoint is refused before anything is stored or dialled.
    const check = await adapter.checkEndpoint?.(req.endpoint).catch(() => undefined);
    if (check?.status === 'invalid') return { error: `cannot dial ${maskText(req.endpoint)}: ${maskText(check.detail)}`, status: 400, refused: 'endpoint' };
    if (check?.status === 'missing') return { error: `cannot dial ${maskText(req.endpoint)}: ${maskText(check.detail)}`, status: 422, refused: 'endpoint' };
    // Forms the PBX cannot be asked about are dialled; the log says the check did not happen and why.
    if (check?.status === 'unknown') this.o.log.info({ pbx: adapter.kind, endpoint: maskText(req.endpoint), detail: maskText(check.detail ?? '') }, 'endpoint not checked before dialling');
    // Ringing costs the ASR nothing: the admission ramp counts the call from its answer.
    const admission = this.o.admission?.tryAdmit('outbound', { answerLater: true }) ?? { ok: true as const, ticket: { release: () => undefined } };
    if (!admission.ok) return { error: admission.detail, refused: 'admission' };
    const callId = newCallId();
    const lang = req.lang ?? 'zh';
    try {
      await this.o.calls.createCall({
        id: callId,
        pbx: adapter.kind,
        direction: 'outbound',
        to: req.endpoint,
        from: req.callerId,
        flow: req.flow,
        lang,
        status: 'active',
        startedAt: new Date().toISOString(),
        variables: req.variables ?? {},
      });
    } catch (err) {
      admission.ticket.release();
      throw err;
    }
    const { pbx: _pbx, earlyMedia, ...originate } = req;
    const monitorFactory = earlyMedia === true ? this.o.earlyMediaMonitor : undefined;
    const dialReq: OriginateRequest = {
      ...originate,
      earlyMedia: monitorFactory?.({ callId, lang, log: this.o.log.child({ callId }) }),
    };
    const dialling = this.dial(adapter, dialReq, callId, hooks, () => admission.ticket.release(), () => admission.ticket.answered?.()).finally(() =>
      admission.ticket.release(),
    );
    this.running.set(callId, dialling);
    void dialling
      .then((outcome) => {
        this.running.delete(callId);
        this.emit('outcome', outcome);
      })
      // dial() never rejects; this keeps a broken listener from becoming an unhandled rejection.
      .catch((err: unknown) => this.o.log.error({ err, callId }, 'outbound outcome listener failed'));
    return { callId, outcome: dialling };
  }

  /** The outcome of a call placed by this service and still running; undefined when unknown or already over. */
  outcome(callId: string): Promise<OutboundCallOutcome> | undefined {
    return this.running.get(callId);
  }

  /** Waits for every call placed so far to end (shutdown, tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.running.values()]);
  }

  /** Never rejects: every way a dial can end is stored on the attempt. */
  /** `mediaDone` frees the call's place in server.maxCalls once the bot is off the call (a transfer may still ring). */
  private async dial(
    adapter: PbxAdapter,
    req: OriginateRequest,
    callId: string,
    hooks: PlaceCallHooks,
    mediaDone: () => void,
    answered: () => void,
  ): Promise<OutboundCallOutcome> {
    const { calls, log } = this.o;
    let telephony: Disposition = 'failed';
    let pbxCallId: string | undefined;
    try {
      const result = await adapter.originate(req);
      telephony = result.disposition;
      if (result.disposition === 'answered') {
        pbxCallId = result.call.info.pbxCallId;
        answered();
        try {
          hooks.onAnswer?.({ callId, pbxCallId, at: new Date().toISOString() });
        } catch (err) {
          log.warn({ err, callId }, 'answer hook failed');
        }
        if (result.progress) await calls.updateCall(callId, { progress: result.progress });
        const end = await this.o.runner.run(result.call, callId);
        mediaDone();
        // The outcome is read once the PBX has said what became of a transfer (the caller may give up while the
        // agent rings): the attempt, its retry, the campaign stats and the CRM webhook all take it from here.
        if (end?.transferVerdict) await end.transferVerdict;
      } else {
        await calls.updateCall(callId, {
          status: 'ended',
          endedAt: new Date().toISOString(),
          disposition: result.disposition,
          hangupCause: result.cause,
          hangupBy: 'pbx',
          progress: result.progress,
        });
      }
    } catch (err) {
      log.error({ err, callId }, 'originate failed');
      await calls
        .updateCall(callId, { status: 'ended', endedAt: new Date().toISOString(), disposition: 'failed' })
        .catch((storeErr: unknown) => log.error({ err: storeErr, callId }, 'storing the failed attempt failed'));
    }
    return this.readOutcome(callId, telephony, pbxCallId, new Set(Object.keys(req.variables ?? {})));
  }

  /** The store is the record of truth: the outcome is what was stored, so a listener sees what a restart would. */
  private async readOutcome(callId: string, telephony: Disposition, pbxCallId: string | undefined, passed: Set<string>): Promise<OutboundCallOutcome> {
    const call = await this.readCall(callId);
    return {
      callId,
      telephony,
      disposition: call?.disposition ?? telephony,
      cause: call?.hangupCause,
      progress: call?.progress,
      amd: call?.amd,
      answeredAt: call?.answeredAt,
      endedAt: call?.endedAt,
      pbxCallId,
      slots: Object.fromEntries(Object.entries(call?.variables ?? {}).filter(([k]) => !passed.has(k))),
    };
  }

  /**
   * The stored call, read again with backoff while the store cannot answer (a database outage): what the runner
   * stored, not the bare telephony result, is the outcome (an answered call read during an outage came out
   * `answered` instead of its stored `completed`). Gives up after OUTCOME_READ_GIVE_UP_MS: the caller then has
   * only the telephony result.
   */
  private async readCall(callId: string): Promise<CallRecord | undefined> {
    const started = Date.now();
    for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
      try {
        return await this.o.calls.getCall(callId);
      } catch (err) {
        if (Date.now() + wait - started > OUTCOME_READ_GIVE_UP_MS) {
          this.o.log.error({ err, callId }, 'reading the outcome of the attempt failed');
          return undefined;
        }
        this.o.log.warn({ err: (err as Error).message, callId, retryInMs: wait }, 'reading the outcome of the attempt failed; retrying');
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}
