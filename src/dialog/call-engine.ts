import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { AudioLeg } from '../media/index.ts';
import { attachRecorder } from '../media/index.ts';
import type { Speaker, SpeechEngine } from '../speech/index.ts';
import type { CallStore } from '../store/index.ts';
import type { DialogConfig } from './config.ts';
import type { CallTimelineEvent, CallTimelineListener } from './timeline.ts';
import type { CallControl, TurnLoopResult, TurnSummary } from './turn-loop.ts';
import { TurnLoop } from './turn-loop.ts';
import type { DialogFactory, Lang } from './types.ts';

/** What the engine reports to metrics; the app maps it onto Prometheus. */
export interface EngineMetrics {
  callStarted(): void;
  callEnded(disposition: string): void;
  turn(latencySeconds: number | undefined): void;
  bargeIn(stopSeconds: number): void;
  legStats(stats: { lateFrames: number; droppedFrames: number }): void;
}

export interface CallEngineOptions {
  speech: SpeechEngine;
  speaker: Speaker;
  dialogs: DialogFactory;
  store: CallStore;
  dialogConfig: DialogConfig;
  /** Where per-call recording folders go; undefined = do not record. */
  recordingsDir?: string;
  log: Logger;
  metrics?: EngineMetrics;
}

export interface StartCallRequest {
  leg: AudioLeg;
  /** Id of a call record created earlier (an outbound attempt); default: the leg's call id, recorded now. */
  callId?: string;
  pbx: string;
  pbxCallId?: string;
  direction: 'inbound' | 'outbound';
  from?: string;
  to?: string;
  flow?: string;
  lang?: string;
  variables?: Record<string, string>;
  /** Hang up / transfer on the PBX; without it the engine just closes the leg. */
  control?: CallControl;
  onEvent?: CallTimelineListener;
}

export interface CallOutcome extends TurnLoopResult {
  callId: string;
  recordingDir?: string;
}

/** Events worth keeping in the store (partials are too many and say nothing the final does not). */
const STORED_EVENTS = new Set<CallTimelineEvent['type']>([
  'speechStart',
  'speechEnd',
  'final',
  'dtmf',
  'noInput',
  'bot',
  'botAudioStart',
  'bargeIn',
  'resume',
  'echoIgnored',
  'end',
]);

/** Runs calls: for each audio leg, a listening pipeline, a dialog and a turn loop over shared engines. */
export class CallEngine {
  private readonly o: CallEngineOptions;
  private readonly live = new Map<string, AudioLeg>();

  constructor(opts: CallEngineOptions) {
    this.o = opts;
  }

  get activeCalls(): number {
    return this.live.size;
  }

  /** Runs one call to its end. Never rejects: failures end the call and are stored. */
  async runCall(req: StartCallRequest): Promise<CallOutcome> {
    const { leg } = req;
    const callId = req.callId ?? leg.callId;
    const log = this.o.log.child({ callId });
    const lang: Lang = req.lang === 'en' || req.lang === 'zh' ? req.lang : this.o.dialogConfig.defaultLang;
    const flow = req.flow ?? this.o.dialogConfig.defaultFlow;
    const startedAt = new Date().toISOString();
    let recordingDir: string | undefined;
    if (this.o.recordingsDir) {
      recordingDir = join(this.o.recordingsDir, startedAt.slice(0, 10), callId);
      mkdirSync(recordingDir, { recursive: true });
    }
    const answered = {
      pbx: req.pbx,
      pbxCallId: req.pbxCallId,
      direction: req.direction,
      from: req.from,
      to: req.to,
      flow,
      lang,
      status: 'active' as const,
      answeredAt: startedAt,
      recordingDir,
    };
    // What the call record holds as variables; the end of the call adds the dialog's without reading the row back
    // (a database that is briefly unreachable then delays that write instead of losing it).
    let storedVariables: Record<string, string> = req.variables ?? {};
    try {
      const attempt = await this.o.store.getCall(callId);
      // An outbound attempt was stored when it was dialled: it becomes this call, keeping its start and variables.
      if (attempt) {
        storedVariables = { ...attempt.variables, ...req.variables };
        await this.o.store.updateCall(callId, { ...answered, variables: storedVariables });
      } else await this.o.store.createCall({ id: callId, ...answered, startedAt, variables: storedVariables });
    } catch (err) {
      // A call we cannot record is not run: nothing of it could be found or audited afterwards.
      log.error({ err }, 'storing the call failed; ending it');
      if (!leg.closed) await leg.close({ code: 'protocol_error', detail: 'call could not be stored' }).catch(() => undefined);
      return { disposition: 'error', endedBy: 'error', transcript: [], callId };
    }
    this.live.set(callId, leg);
    this.o.metrics?.callStarted();
    log.info({ pbx: req.pbx, direction: req.direction, flow, lang }, 'call started');

    const recorder = recordingDir ? attachRecorder(leg, recordingDir) : undefined;
    const speech = this.o.speech.createCall(callId, leg.sampleRate, lang);
    let outcome: TurnLoopResult;
    let dialogVariables: Record<string, string> = {};
    try {
      const dialog = this.o.dialogs.create({
        callId,
        lang,
        flow,
        direction: req.direction,
        from: req.from,
        to: req.to,
        variables: req.variables ?? {},
      });
      const control: CallControl = req.control ?? {
        hangup: () => leg.close({ code: 'bot_hangup' }),
        transfer: () => leg.close({ code: 'transfer' }),
      };
      const loop = new TurnLoop({
        leg,
        speech,
        speaker: this.o.speaker,
        dialog,
        lang,
        config: this.o.dialogConfig,
        control,
        log,
        onTurn: (turn) => this.storeTurn(callId, turn, log),
        onEvent: (event) => this.onEvent(callId, event, req.onEvent, log),
      });
      outcome = await loop.run();
      dialogVariables = dialog.variables();
    } catch (err) {
      log.error({ err }, 'call failed');
      outcome = { disposition: 'error', endedBy: 'error', transcript: [] };
    }

    speech.close();
    if (!leg.closed) await leg.close({ code: outcome.endedBy === 'caller' ? 'caller_hangup' : 'bot_hangup' }).catch(() => undefined);
    if (recorder) await recorder.close().catch((err: unknown) => log.warn({ err }, 'closing recordings failed'));
    this.live.delete(callId);
    const legStats = (leg as Partial<{ stats: { lateFrames: number; droppedFrames: number } }>).stats;
    if (legStats) this.o.metrics?.legStats(legStats);
    this.o.metrics?.callEnded(outcome.disposition);
    try {
      await this.o.store.updateCall(callId, {
        status: 'ended',
        endedAt: new Date().toISOString(),
        disposition: outcome.disposition,
        hangupBy: outcome.endedBy,
        variables: { ...storedVariables, ...dialogVariables },
      });
    } catch (err) {
      log.error({ err }, 'storing the end of the call failed');
    }
    log.info({ disposition: outcome.disposition, endedBy: outcome.endedBy }, 'call ended');
    return { ...outcome, callId, recordingDir };
  }

  /** Ends every live call (server shutdown). */
  async shutdown(): Promise<void> {
    await Promise.all([...this.live.values()].map((leg) => leg.close({ code: 'shutdown' }).catch(() => undefined)));
  }

  private storeTurn(callId: string, turn: TurnSummary, log: Logger): void {
    this.o.metrics?.turn(turn.latencyMs !== undefined ? turn.latencyMs / 1000 : undefined);
    this.o.store
      .addTurn({
        callId,
        seq: turn.seq,
        callerText: turn.callerText,
        inputKind: turn.inputKind,
        botText: turn.botText,
        speechStartMs: turn.speechStartMs,
        speechEndMs: turn.speechEndMs,
        latencyMs: turn.latencyMs,
        bargeIn: turn.bargeIn,
        heardMs: turn.heardMs,
        at: new Date().toISOString(),
      })
      .catch((err: unknown) => log.error({ err, seq: turn.seq }, 'storing a turn failed'));
  }

  private onEvent(callId: string, event: CallTimelineEvent, listener: CallTimelineListener | undefined, log: Logger): void {
    if (event.type === 'bargeIn') this.o.metrics?.bargeIn(event.stopMs / 1000);
    if (STORED_EVENTS.has(event.type)) {
      const { type, ...data } = event;
      this.o.store
        .addEvent({ callId, at: new Date().toISOString(), type, data })
        .catch((err: unknown) => log.error({ err, type: event.type }, 'storing an event failed'));
    }
    if (event.type !== 'partial') log.debug({ event }, 'timeline');
    try {
      listener?.(event);
    } catch (err) {
      log.warn({ err }, 'timeline listener failed');
    }
  }
}
