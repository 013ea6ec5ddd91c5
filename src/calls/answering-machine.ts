import type { Logger } from 'pino';
import type { AmdVerdict, Lang } from '../core/index.ts';
import type { AudioLeg } from '../media/index.ts';
import type { PbxCall } from '../pbx/index.ts';
import { AmdDetector, type SpeechEngine, type Speaker } from '../speech/index.ts';
import type { CallStore } from '../store/index.ts';

/** What a flow says to do when a machine or an assistant answers (flow keys `voicemail` / `assistant`). */
export interface AnsweringPolicy {
  voicemail?: { action: 'hangup' | 'message'; say?: string | string[] };
  /** `goto`: the flow's assistant branch, taken by the dialog itself (the call's `branch` below). */
  assistant?: { action: 'continue' | 'hangup' | 'message'; say?: string | string[] } | { goto: string };
}

export interface AnsweringMachineOptions {
  speech: Pick<SpeechEngine, 'createCall'>;
  /** Speaks a voicemail or assistant message; without it `message` falls back to hanging up. */
  speaker?: Speaker;
  /** The flow's answering policy, by flow name and language. */
  policy(flow: string | undefined, lang: Lang): AnsweringPolicy;
  /** Detection window (ms of callee audio); a wall-clock guard of window + 1 s covers a stalled caller clock. */
  windowMs?: number;
  /** Longest wait for the beep before leaving a message anyway (ms of audio). */
  beepWaitMs?: number;
}

export interface AnsweringMachineWatch {
  /** Settles with the verdict (also stored) once detection ended. */
  readonly verdict: Promise<AmdVerdict>;
  stop(): void;
}

/**
 * Answering-machine / assistant detection on an answered outbound call, beside the dialog: the greeting is
 * never delayed, the detector listens to the same caller frames. The verdict is always stored with the call;
 * when the flow has `voicemail`, a machine is hung up or the bot stops talking, waits for the beep and leaves its
 * message; when it has `assistant`, an assistant makes the flow continue, hang up or leave a message.
 */
export function watchAnsweringMachine(
  o: AnsweringMachineOptions,
  ctx: {
    call: PbxCall;
    leg: AudioLeg;
    callId: string;
    lang: Lang;
    flow?: string;
    calls: CallStore;
    log: Logger;
    /** Moves the call's dialog to its branch for the event; false when it has none or the dialog is not running. */
    branch?: (event: 'assistant') => boolean;
  },
): AnsweringMachineWatch {
  const { leg, call, callId, lang, log } = ctx;
  const detector = new AmdDetector({
    speech: o.speech,
    callId,
    lang,
    sampleRate: leg.sampleRate,
    windowMs: o.windowMs,
    onError: (err) => log.warn({ err }, 'AMD listener failed; deciding on audio alone'),
  });
  const onFrame = (pcm: Int16Array): void => detector.push(pcm);
  leg.on('frame', onFrame);
  const guard = setTimeout(() => detector.expire(), (o.windowMs ?? 4000) + 1000);
  guard.unref();
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearTimeout(guard);
    leg.off('frame', onFrame);
    detector.close();
  };
  leg.once('close', stop);
  const verdict = detector.verdict.then(async (v) => {
    clearTimeout(guard);
    log.info({ amd: v.kind, reason: v.reason, atMs: v.atMs, evidence: v.evidence }, 'answering-machine verdict');
    await ctx.calls.updateCall(callId, { amd: v }).catch((err: unknown) => log.warn({ err }, 'storing the AMD verdict failed'));
    await ctx.calls
      .addEvent({ callId, at: new Date().toISOString(), type: 'amd', data: { ...v } })
      .catch((err: unknown) => log.warn({ err }, 'storing the AMD event failed'));
    await act(v).catch((err: unknown) => log.warn({ err }, 'acting on the AMD verdict failed'));
    if (v.kind !== 'machine') stop();
    return v;
  });

  async function act(v: AmdVerdict): Promise<void> {
    if (stopped || leg.closed) return;
    const policy = o.policy(ctx.flow, lang);
    if (v.kind === 'machine') {
      // A flow without `voicemail` only records the verdict: the dialer decides what a machine means.
      const action = policy.voicemail;
      if (!action) return;
      if (action.action === 'message' && action.say !== undefined && o.speaker) {
        leg.flush();
        const beep = await detector.waitForBeep({ maxMs: o.beepWaitMs ?? 20_000 });
        log.info({ reason: beep.reason, atMs: beep.atMs }, 'leaving a voicemail message');
        await speak(firstText(action.say));
      }
      stop();
      await call.hangup(16);
    } else if (v.kind === 'assistant') {
      const action = policy.assistant ?? { action: 'continue' as const };
      if ('goto' in action) {
        if (!ctx.branch?.('assistant')) log.warn({ step: action.goto }, 'the assistant branch could not be taken; the dialog goes on');
        return;
      }
      if (action.action === 'continue') return;
      if (action.action === 'message' && action.say !== undefined && o.speaker) {
        leg.flush();
        await speak(firstText(action.say));
      }
      await call.hangup(16);
    }
  }

  async function speak(text: string): Promise<void> {
    if (!o.speaker || leg.closed) return;
    for await (const chunk of o.speaker.speak(text, lang, leg.sampleRate)) {
      if (leg.closed) return;
      leg.play(chunk);
    }
    // Hang up only once the caller's mailbox has it all.
    while (!leg.closed && leg.queuedMs > 0) await new Promise((r) => setTimeout(r, 50));
  }

  return { verdict, stop };
}

function firstText(say: string | string[]): string {
  return Array.isArray(say) ? (say[0] ?? '') : say;
}
