import type { Logger } from 'pino';
import { maskText, newCallId } from '../core/index.ts';
import type { CallControl, CallEngine } from '../dialog/index.ts';
import type { AudioLeg } from '../media/index.ts';
import type { HangupInfo, PbxCall, TransferOutcome, TransferTarget } from '../pbx/index.ts';
import type { CallStore } from '../store/index.ts';
import { TRANSFER_PENDING, TRANSFER_UNVERIFIED } from './pending-transfers.ts';
import type { CallAdmission } from './call-admission.ts';
import { parseTransferTarget } from './transfer-target.ts';
import { watchAnsweringMachine, type AnsweringMachineOptions, type AnsweringMachineWatch } from './answering-machine.ts';

export interface PbxCallRunnerOptions {
  engine: CallEngine;
  calls: CallStore;
  log: Logger;
  /** How long to wait after the dialog ended for the PBX to report the hangup cause (ms); later causes are stored when they come. */
  causeWaitMs?: number;
  /** Counts calls that never reached the dialog (callpilot_calls_total with their disposition). */
  metrics?: { callFailed(disposition: string): void };
  /** Admission for inbound calls (`accept`); without it every call is taken. */
  admission?: CallAdmission;
  /**
   * Dialplan location (`context,extension[,priority]`) for calls refused or ended by a shutdown; without it they
   * are hung up (cause 34 NORMAL_CIRCUIT_CONGESTION when refused, 16 at shutdown).
   */
  overflowTarget?: string;
  /** Answering-machine / assistant detection on answered outbound calls, beside the dialog. */
  amd?: AnsweringMachineOptions;
}

/** Disposition of a call whose media could not be set up (the caller was answered, the bot never spoke). */
export const MEDIA_FAILED = 'media_failed';
/**
 * Disposition of a call the bot handed to a human that never reached one: the PBX hung the caller up (no route,
 * agent busy or unregistered) or refused the transfer. The hangup cause is the PBX's (3 NO_ROUTE_DESTINATION, ...).
 */
export const TRANSFER_FAILED = 'transfer_failed';
/** Disposition of a transferred call whose caller hung up before the target answered (TCPA's abandoned call). */
export const TRANSFER_ABANDONED = 'abandoned';

/** What `run()` leaves pending once the call's end is stored. */
export interface CallRunEnd {
  /**
   * Settles (never rejects) once the PBX's verdict on the bot's transfer has been stored over `transferred`
   * (`abandoned` when the caller hung up while the agent rang, `transfer_failed`), or the adapter's watch gave
   * none. Present only while that verdict is outstanding: an outbound attempt waits for it before it reads its
   * outcome, so the campaign, its stats and the CRM webhook see what really happened.
   */
  transferVerdict?: Promise<void>;
}

const DEFAULT_CAUSE_WAIT_MS = 2000;
/** On top of the adapter's transfer watch, for its verdict to reach us. */
const VERDICT_SLACK_MS = 1000;
/** Q.850 34: no circuit/channel available; FreeSWITCH names it NORMAL_CIRCUIT_CONGESTION. */
export const CAUSE_CONGESTION = 34;

/**
 * Runs PBX calls: answers an inbound call, brings up its media, runs it through the engine and stores the Q.850
 * cause the PBX reports. One instance serves every adapter.
 */
export class PbxCallRunner {
  private readonly o: PbxCallRunnerOptions;
  private readonly overflow: TransferTarget | undefined;
  private readonly running = new Set<Promise<void>>();
  private stopping = false;

  constructor(opts: PbxCallRunnerOptions) {
    this.o = opts;
    this.overflow = parseTransferTarget(opts.overflowTarget);
  }

  /**
   * An inbound call from an adapter: admitted and run, or refused at once (over server.maxCalls, ASR overload, draining) by
   * sending it to the overflow target or hanging up with cause 34. Never rejects.
   */
  accept(call: PbxCall): void {
    const admission = this.o.admission?.tryAdmit(call.info.pbx) ?? { ok: true as const, ticket: { release: () => undefined } };
    if (!admission.ok) {
      const clog = this.o.log.child({ pbxCallId: call.info.pbxCallId });
      clog.warn({ reason: admission.reason }, `inbound call refused: ${admission.detail}`);
      this.endOnPbx(call, CAUSE_CONGESTION, admission.detail).catch((err: unknown) => clog.warn({ err }, 'refusing the call on the PBX failed'));
      return;
    }
    // A pending transfer verdict is not waited for here: it is stored when it comes, and the slot is free already.
    this.track(
      this.run(call)
        .then(() => undefined)
        .finally(() => admission.ticket.release()),
    );
  }

  /**
   * Runs one call to its end. Never rejects: a failure is logged and the PBX call is hung up. `attemptId` is the
   * id of the outbound attempt OutboundCallService stored before dialling; inbound calls get a fresh id.
   * Resolves once the call's end is stored; a transfer verdict the PBX has yet to give comes as `transferVerdict`.
   */
  async run(call: PbxCall, attemptId?: string): Promise<CallRunEnd> {
    const info = call.info;
    const callId = attemptId ?? newCallId();
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
    // Adapters that can verify a transfer say what became of it, possibly before the engine has stored its end.
    const verdict = watchTransferVerdict(call);
    try {
      // One step, so the adapter can overlap the answer with the media set-up (issue 9: media up within 100 ms).
      leg = await call.openMedia({ answer: info.direction === 'inbound' });
      dialogRan = true;
      if (hangup) await leg.close({ code: 'caller_hangup', detail: 'hung up while media was set up' });
      let amd: AnsweringMachineWatch | undefined;
      if (this.o.amd && info.direction === 'outbound' && !hangup) {
        amd = watchAnsweringMachine(this.o.amd, {
          call,
          leg,
          callId,
          lang: info.lang === 'en' ? 'en' : 'zh',
          flow: info.flow,
          calls: this.o.calls,
          log: clog,
          branch: (event) => this.o.engine.liveCall(callId)?.branch(event) ?? false,
        });
        void amd.verdict.catch((err: unknown) => clog.warn({ err }, 'answering-machine detection failed'));
      }
      const control: CallControl = {
        hangup: () => call.hangup(16),
        transfer: (_reason, notes, target) => call.transfer(parseTransferTarget(target), notes),
      };
      const outcome = await this.o.engine.runCall({
        leg,
        callId,
        attempt: attemptId !== undefined,
        pbx: info.pbx,
        pbxCallId: info.pbxCallId,
        direction: info.direction,
        from: info.from,
        to: info.to,
        flow: info.flow,
        lang: info.lang,
        variables: info.variables,
        control,
        // Not `transferred` before the PBX has said so: a crash while the agent rings must not leave a success.
        ...(call.transferVerdictMs !== undefined ? { transferDisposition: TRANSFER_PENDING } : {}),
      });
      amd?.stop();
      // Ended by a shutdown: the channel is still up on the PBX, so hand it back (overflow) or hang it up.
      if (this.stopping && !hangup) await this.endOnPbx(call, 16, 'callpilot is shutting down').catch((err: unknown) => clog.warn({ err }, 'ending the call on the PBX at shutdown failed'));
      // A cause the PBX learns later (after reconnecting to it) replaces the one stored now.
      call.on('causeUpdate', (u) => void this.storeCause(outcome.callId, u.cause, u.by, clog));
      // The PBX reports the cause a moment after our side ended; wait briefly for it.
      if (!hangup) await waitFor(() => hangup !== undefined, this.o.causeWaitMs ?? DEFAULT_CAUSE_WAIT_MS);
      const h = hangup as HangupInfo | undefined;
      if (h) await this.storeCause(outcome.callId, h.cause, this.stopping ? 'shutdown' : h.by, clog);
      // Not yet (PBX unreachable): it comes once the adapter has reconnected, and is stored then.
      else call.once('hangup', (late) => void this.storeCause(outcome.callId, late.cause, late.by, clog));
      // Stored after the engine's `transferred`, which it corrects. (A transfer the PBX refused outright ends the
      // dialog as `error`, with its verdict already given.)
      if (verdict.given) {
        await this.storeTransferOutcome(outcome.callId, verdict.given, clog);
        return {};
      }
      // Still to come (the agent phone rings): stored when it comes, within the adapter's own watch.
      const bound = call.transferVerdictMs;
      if (outcome.disposition !== 'transferred' || bound === undefined) return {};
      const stored = verdict
        .within(bound + VERDICT_SLACK_MS)
        .then((o) => this.storeTransferOutcome(outcome.callId, o ?? { result: 'unknown', target: '', detail: `no verdict from ${info.pbx} within ${bound + VERDICT_SLACK_MS} ms` }, clog));
      return { transferVerdict: stored };
    } catch (err) {
      clog.error({ err }, dialogRan ? 'PBX call failed' : 'PBX call failed before the dialog could run');
      await call.hangup(41).catch(() => undefined); // 41 temporary failure
      if (!dialogRan) {
        await this.storeFailedSetup(call, callId, attemptId !== undefined, err as Error, hangup, clog);
        return {};
      }
      // The engine may never have seen it; if a row exists it is ended, if not there is nothing to end.
      await this.o.calls
        .updateCall(callId, { status: 'ended', endedAt: new Date().toISOString(), disposition: 'error', hangupBy: 'error' })
        .catch(() => undefined);
      return {};
    }
  }

  /**
   * What the PBX made of the bot's transfer: an event on the call, and for a transfer that never reached the
   * target the disposition and cause a telecom engineer would look for (`transfer_failed` with the PBX's Q.850
   * cause, or `abandoned` when the caller hung up while it was ringing) instead of `transferred`.
   */
  private async storeTransferOutcome(callId: string, o: TransferOutcome, clog: Logger): Promise<void> {
    try {
      await this.o.calls.addEvent({ callId, at: new Date().toISOString(), type: 'transferOutcome', data: { ...o } });
      if (o.result !== 'failed') {
        // Replaces `transfer_pending`; a call the dialog did not end by a transfer keeps its own disposition.
        const call = await this.o.calls.getCall(callId);
        if (call?.disposition === TRANSFER_PENDING) await this.o.calls.updateCall(callId, { disposition: o.result === 'connected' ? 'transferred' : TRANSFER_UNVERIFIED });
        return;
      }
      const disposition = o.abandoned ? TRANSFER_ABANDONED : TRANSFER_FAILED;
      // Without a cause the PBX refused the request itself and the bot hung up: the stored cause stays the bot's.
      await this.o.calls.updateCall(callId, {
        disposition,
        ...(o.cause !== undefined ? { hangupCause: o.cause, hangupBy: o.abandoned ? 'caller' : 'pbx' } : {}),
      });
      clog.warn({ target: o.target, cause: o.cause, causeText: o.causeText, detail: o.detail }, `transfer did not reach its target: stored as ${disposition}`);
    } catch (err) {
      clog.error({ err }, 'storing the transfer outcome failed');
    }
  }

  private async storeCause(callId: string, cause: number, by: string, clog: Logger): Promise<void> {
    try {
      await this.o.calls.updateCall(callId, { hangupCause: cause, hangupBy: by });
    } catch (err) {
      clog.error({ err, cause }, 'storing the hangup cause failed');
    }
  }

  /**
   * Every call is a record: one answered (or dialled) whose media never came up is stored as ended with why, and
   * counted, instead of vanishing (404 on the API, missing from callpilot_calls_total).
   */
  private async storeFailedSetup(call: PbxCall, callId: string, attempt: boolean, err: Error, hangup: HangupInfo | undefined, clog: Logger): Promise<void> {
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
    try {
      if (attempt) await this.o.calls.updateCall(callId, { ...ended, pbxCallId: info.pbxCallId });
      else {
        await this.o.calls.createCall({
          id: callId,
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
      await this.o.calls.addEvent({ callId, at: ended.endedAt, type: 'setupFailed', data: { error: maskText(err.message) } });
    } catch (storeErr) {
      clog.error({ err: storeErr, callId }, 'storing the failed call failed');
    }
    this.o.metrics?.callFailed(disposition);
    clog.warn({ disposition, cause: ended.hangupCause }, 'call stored as failed during set-up');
  }

  /** Stop taking calls; calls the engine ends from now on are handed back to the PBX (overflow or hangup). */
  stop(): void {
    this.stopping = true;
  }

  /** Resolves once every call accepted here has finished on the PBX and in the store. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }

  private async endOnPbx(call: PbxCall, cause: number, why: string): Promise<void> {
    if (this.overflow) {
      await call.transfer(this.overflow, why);
      return;
    }
    await call.hangup(cause);
  }
}

/** Resolves when `done()` turns true or after `ms`, whichever is first. */
async function waitFor(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise<void>((r) => setTimeout(r, 50).unref());
}

interface TransferVerdictWatch {
  /** The verdict, once the call has reported it. */
  readonly given: TransferOutcome | undefined;
  /** The verdict, or undefined if none came within `ms`. */
  within(ms: number): Promise<TransferOutcome | undefined>;
}

/** Listens for the call's first `transferOutcome` from the start, so one reported before the dialog ends is kept. */
function watchTransferVerdict(call: PbxCall): TransferVerdictWatch {
  let given: TransferOutcome | undefined;
  const reported = new Promise<TransferOutcome>((resolve) =>
    call.once('transferOutcome', (o) => {
      given = o;
      resolve(o);
    }),
  );
  return {
    get given() {
      return given;
    },
    within(ms) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), ms);
        timer.unref();
      });
      return Promise.race([reported, timeout]).finally(() => clearTimeout(timer));
    },
  };
}
