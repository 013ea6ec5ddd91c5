import type { Logger } from 'pino';
import type { CallControl, CallEngine } from '../dialog/index.ts';
import type { AudioLeg } from '../media/index.ts';
import type { HangupInfo, PbxCall } from '../pbx/index.ts';
import type { CallStore } from '../store/index.ts';
import { parseTransferTarget } from './transfer-target.ts';

export interface PbxCallRunnerOptions {
  engine: CallEngine;
  calls: CallStore;
  log: Logger;
  /** How long to wait after the dialog ended for the PBX to report the hangup cause (ms). */
  causeWaitMs?: number;
}

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
    try {
      if (info.direction === 'inbound') await call.answer();
      leg = await call.openMedia();
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
      // The PBX reports the cause a moment after our side ended; wait briefly for it.
      if (!hangup) await waitFor(() => hangup !== undefined, this.o.causeWaitMs ?? DEFAULT_CAUSE_WAIT_MS);
      const h = hangup as HangupInfo | undefined;
      if (h) await this.o.calls.updateCall(outcome.callId, { hangupCause: h.cause, hangupBy: h.by });
    } catch (err) {
      clog.error({ err }, 'PBX call failed before the dialog could run');
      await call.hangup(41).catch(() => undefined); // 41 temporary failure
    }
  }
}

/** Resolves when `done()` turns true or after `ms`, whichever is first. */
async function waitFor(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise<void>((r) => setTimeout(r, 50).unref());
}
