import type { Logger } from 'pino';
import { maskText, newCallId } from '../core/index.ts';
import type { CallControl, CallEngine } from '../dialog/index.ts';
import type { AudioLeg } from '../media/index.ts';
import type { HangupInfo, PbxCall } from '../pbx/index.ts';
import type { CallStore } from '../store/index.ts';
import { parseTransferTarget } from './transfer-target.ts';

export interface PbxCallRunnerOptions {
  engine: CallEngine;
  calls: CallStore;
  log: Logger;
  /** How long to wait after the dialog ended for the PBX to report the hangup cause (ms); later causes are stored when they come. */
  causeWaitMs?: number;
  /** Counts calls that never reached the dialog (callpilot_calls_total with their disposition). */
  metrics?: { callFailed(disposition: string): void };
}

/** Disposition of a call whose media could not be set up (the caller was answered, the bot never spoke). */
export const MEDIA_FAILED = 'media_failed';

const DEFAULT_CAUSE_WAIT_MS = 2000;

/**
 * Runs PBX calls: answers an inbound call, brings up its media, runs it through the engine and stores the Q.850
 * cause the PBX reports. One instance serves every adapter.
 */
export class PbxCallRunner {
  private readonly o: PbxCallRunnerOptions;

  constructor(opts: PbxCallRunnerOptions) {
    this.o = opts;
  }

  /** Runs one call to its end. Never rejects: a failure is logged and the PBX call is hung up. */
  async run(call: PbxCall, callId?: string): Promise<void> {
    const info = call.info;
    const clog = this.o.log.child({ pbxCallId: info.pbxCallId, callId });
    let hangup: HangupInfo | undefined;
    let leg: AudioLeg | undefined;
    call.once('hangup', (h) => {
      hangup = h;
      leg?.close({ code: h.by === 'bot' ? 'bot_hangup' : 'caller_hangup', detail: `${h.cause} ${h.causeText}` }).catch((err: unknown) => {
        clog.warn({ err }, 'closing the media leg after hangup failed');
      });
    });
    let dialogRan = false;
    try {
      if (info.direction === 'inbound') await call.answer();
      leg = await call.openMedia();
      dialogRan = true;
      if (hangup) await leg.close({ code: 'caller_hangup', detail: 'hung up while media was set up' });
      const control: CallControl = {
        hangup: () => call.hangup(16),
        transfer: (_reason, notes, target) => call.transfer(parseTransferTarget(target), notes),
      };
      const outcome = await this.o.engine.runCall({
        leg,
        callId,
        pbx: info.pbx,
        pbxCallId: info.pbxCallId,
        direction: info.direction,
        from: info.from,
        to: info.to,
        flow: info.flow,
        lang: info.lang,
        variables: info.variables,
        control,
      });
      // A cause the PBX learns later (after reconnecting to it) replaces the one stored now.
      call.on('causeUpdate', (h) => void this.storeCause(outcome.callId, h, clog));
      // The PBX reports the cause a moment after our side ended; wait briefly for it.
      if (!hangup) await waitFor(() => hangup !== undefined, this.o.causeWaitMs ?? DEFAULT_CAUSE_WAIT_MS);
      const h = hangup as HangupInfo | undefined;
      if (h) await this.storeCause(outcome.callId, h, clog);
      // Not yet (PBX unreachable): it comes when the adapter has reconnected, and is stored then.
      else call.once('hangup', (late) => void this.storeCause(outcome.callId, late, clog));
    } catch (err) {
      clog.error({ err }, dialogRan ? 'PBX call failed' : 'PBX call failed before the dialog could run');
      await call.hangup(41).catch(() => undefined); // 41 temporary failure
      if (!dialogRan) await this.storeFailedSetup(call, callId, err as Error, hangup, clog);
    }
  }

  private async storeCause(callId: string, h: HangupInfo, clog: Logger): Promise<void> {
    try {
      await this.o.calls.updateCall(callId, { hangupCause: h.cause, hangupBy: h.by });
    } catch (err) {
      clog.error({ err, cause: h.cause }, 'storing the hangup cause failed');
    }
  }

  /**
   * Every call is a record: one answered (or dialled) whose media never came up is stored as ended with why, and
   * counted, instead of vanishing (404 on the API, missing from callpilot_calls_total).
   */
  private async storeFailedSetup(call: PbxCall, attemptId: string | undefined, err: Error, hangup: HangupInfo | undefined, clog: Logger): Promise<void> {
    const info = call.info;
    // Hung up by the caller while we set up: that is what happened, not a media failure.
    const disposition = hangup && hangup.by !== 'bot' ? 'caller_hangup' : MEDIA_FAILED;
    const ended = {
      status: 'ended' as const,
      endedAt: new Date().toISOString(),
      disposition,
      hangupCause: hangup?.cause ?? 41,
      hangupBy: hangup?.by ?? 'bot',
    };
    const id = attemptId ?? newCallId();
    try {
      if (attemptId) await this.o.calls.updateCall(id, { ...ended, pbxCallId: info.pbxCallId });
      else {
        await this.o.calls.createCall({
          id,
          pbx: info.pbx,
          pbxCallId: info.pbxCallId,
          direction: info.direction,
          from: info.from,
          to: info.to,
          flow: info.flow,
          lang: info.lang ?? 'zh',
          startedAt: ended.endedAt,
          variables: info.variables,
          ...ended,
        });
      }
      await this.o.calls.addEvent({ callId: id, at: ended.endedAt, type: 'setupFailed', data: { error: maskText(err.message) } });
    } catch (storeErr) {
      clog.error({ err: storeErr, callId: id }, 'storing the failed call failed');
    }
    this.o.metrics?.callFailed(disposition);
    clog.warn({ callId: id, disposition, cause: ended.hangupCause }, 'call stored as failed during set-up');
  }
}

/** Resolves when `done()` turns true or after `ms`, whichever is first. */
async function waitFor(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise<void>((r) => setTimeout(r, 50).unref());
}
