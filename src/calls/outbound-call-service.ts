import type { Logger } from 'pino';
import { newCallId } from '../core/index.ts';
import type { OriginateRequest, PbxAdapter } from '../pbx/index.ts';
import type { CallStore } from '../store/index.ts';
import type { PbxCallRunner } from './pbx-call-runner.ts';

export interface OutboundCallRequest extends OriginateRequest {
  /** Which PBX to dial through when several are connected. */
  pbx?: string;
}

export type PlaceCallResult = { callId: string } | { error: string };

export interface OutboundCallServiceOptions {
  adapters: PbxAdapter[];
  calls: CallStore;
  runner: PbxCallRunner;
  log: Logger;
}

/**
 * The one outbound path: the API and the campaign dialer both place calls here. The attempt is stored before
 * anything is dialled, so a crash mid-dial leaves a record; the dial then runs in the background to its outcome.
 */
export class OutboundCallService {
  private readonly o: OutboundCallServiceOptions;
  private readonly running = new Set<Promise<void>>();

  constructor(opts: OutboundCallServiceOptions) {
    this.o = opts;
  }

  /** Stores the attempt and starts dialling; resolves once the attempt is recorded, not when the call ends. */
  async placeCall(req: OutboundCallRequest): Promise<PlaceCallResult> {
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
    const dialling = this.dial(adapter, req, callId);
    this.running.add(dialling);
    void dialling.finally(() => this.running.delete(dialling));
    return { callId };
  }

  /** Waits for every call placed so far to end (shutdown, tests). */
  async settled(): Promise<void> {
    await Promise.all([...this.running]);
  }

  /** Never rejects: every way a dial can end is stored on the attempt. */
  private async dial(adapter: PbxAdapter, req: OriginateRequest, callId: string): Promise<void> {
    const { calls, log } = this.o;
    try {
      const result = await adapter.originate(req);
      if (result.disposition === 'answered') {
        await this.o.runner.run(result.call, callId);
        return;
      }
      await calls.updateCall(callId, {
        status: 'ended',
        endedAt: new Date().toISOString(),
        disposition: result.disposition,
        hangupCause: result.cause,
        hangupBy: 'pbx',
      });
    } catch (err) {
      log.error({ err, callId }, 'originate failed');
      await calls
        .updateCall(callId, { status: 'ended', endedAt: new Date().toISOString(), disposition: 'failed' })
        .catch((storeErr: unknown) => log.error({ err: storeErr, callId }, 'storing the failed attempt failed'));
    }
  }
}
