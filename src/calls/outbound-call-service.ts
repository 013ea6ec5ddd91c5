import type { Logger } from 'pino';
import { newCallId } from '../core/index.ts';
import type { OriginateRequest, PbxAdapter } from '../pbx/index.ts';
import type { CallStore } from '../store/index.ts';
import type { PbxCallRunner } from './pbx-call-runner.ts';

export interface OutboundCallRequest extends OriginateRequest {
  /** Which PBX to dial through when several are connected. */
  pbx?: string;
}

/** How a placed call ended, as the dialer needs it: telephony outcome or the flow's, Q.850 cause, times, slots. */
export interface CallOutcome {
  callId: string;
  /** Flow disposition when answered (promised_to_pay, refused, ...), else busy / no-answer / failed / ... */
  disposition: string;
  answered: boolean;
  cause?: number;
  causeText?: string;
  pbxCallId?: string;
  answeredAt?: string;
  endedAt: string;
  durationSec?: number;
  /** Variables the flow collected (the call's variables beyond what was passed in). */
  slots: Record<string, string>;
}

export interface PlaceCallHooks {
  /** The callee answered (before media and dialog). */
  onAnswer?(info: { callId: string; pbxCallId: string; at: string }): void;
}

/** `outcome` settles when the call is over; it never rejects. */
export type PlaceCallResult = { callId: string; outcome: Promise<CallOutcome> } | { error: string };

export interface OutboundCallServiceOptions {
  adapters: PbxAdapter[];
  calls: CallStore;
  runner: Pick<PbxCallRunner, 'run'>;
  log: Logger;
}

/**
 * The one outbound path: the API and the campaign dialer both place calls here. The attempt is stored before
 * anything is dialled, so a crash mid-dial leaves a record; the dial then runs in the background to its outcome.
 */
export class OutboundCallService {
  private readonly o: OutboundCallServiceOptions;
  private readonly running = new Set<Promise<unknown>>();

  constructor(opts: OutboundCallServiceOptions) {
    this.o = opts;
  }

  /** Stores the attempt and starts dialling; resolves once the attempt is recorded, not when the call ends. */
  async placeCall(req: OutboundCallRequest, hooks: PlaceCallHooks = {}): Promise<PlaceCallResult> {
    const adapter = this.o.adapters.find((a) => !req.pbx || a.kind === req.pbx);
    if (!adapter) return { error: `no PBX adapter ${req.pbx ?? ''} is configured` };
    const callId = newCallId();
    await this.o.calls.createCall({
      id: callId,
      pbx: adapter.kind,
      direction: 'outbound',
      to: req.endpoint,
      from: req.callerId,
      flow: req.flow,
      lang: req.lang ?? 'zh',
      status: 'active',
      startedAt: new Date().toISOString(),
      variables: req.variables ?? {},
    });
    const dialling = this.dial(adapter, req, callId, hooks);
    this.running.add(dialling);
    void dialling.finally(() => this.running.delete(dialling));
    return { callId, outcome: dialling };
  }

  /** Waits for every call placed so far to end (shutdown, tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.running]);
  }

  /** Never rejects: every way a dial can end is stored on the call record and returned. */
  private async dial(adapter: PbxAdapter, req: OriginateRequest, callId: string, hooks: PlaceCallHooks): Promise<CallOutcome> {
    const { calls, log } = this.o;
    const passed = new Set(Object.keys(req.variables ?? {}));
    try {
      const result = await adapter.originate(req);
      if (result.disposition === 'answered') {
        const pbxCallId = result.call.info.pbxCallId;
        const answeredAt = new Date().toISOString();
        try {
          hooks.onAnswer?.({ callId, pbxCallId, at: answeredAt });
        } catch (err) {
          log.warn({ err, callId }, 'answer hook failed');
        }
        let cause: number | undefined;
        let causeText: string | undefined;
        result.call.once('hangup', (h) => {
          cause = h.cause;
          causeText = h.causeText;
        });
        await this.o.runner.run(result.call, callId);
        const record = await calls.getCall(callId).catch(() => undefined);
        const endedAt = record?.endedAt ?? new Date().toISOString();
        const start = record?.answeredAt ?? answeredAt;
        const slots: Record<string, string> = {};
        for (const [k, v] of Object.entries(record?.variables ?? {})) if (!passed.has(k)) slots[k] = v;
        return {
          callId,
          disposition: record?.disposition ?? 'answered',
          answered: true,
          cause: record?.hangupCause ?? cause,
          causeText,
          pbxCallId,
          answeredAt: start,
          endedAt,
          durationSec: Math.max(0, (Date.parse(endedAt) - Date.parse(start)) / 1000),
          slots,
        };
      }
      const endedAt = new Date().toISOString();
      await calls.updateCall(callId, {
        status: 'ended',
        endedAt,
        disposition: result.disposition,
        hangupCause: result.cause,
        hangupBy: 'pbx',
      });
      return { callId, disposition: result.disposition, answered: false, cause: result.cause, causeText: result.causeText, endedAt, slots: {} };
    } catch (err) {
      log.error({ err, callId }, 'originate failed');
      const endedAt = new Date().toISOString();
      await calls
        .updateCall(callId, { status: 'ended', endedAt, disposition: 'failed' })
        .catch((storeErr: unknown) => log.error({ err: storeErr, callId }, 'storing the failed attempt failed'));
      return { callId, disposition: 'failed', answered: false, causeText: (err as Error).message, endedAt, slots: {} };
    }
  }
}
