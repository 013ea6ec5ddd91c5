import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { isCallId, newCallId } from '../core/index.ts';
import type { AudioLeg } from '../media/index.ts';
import { attachRecorder, encryptRecordingFolder, LegMixer, type CallRecorder, type MixedFrameListener, type RecordingKeyring } from '../media/index.ts';
import type { CallSpeech, Speaker, SpeechEngine } from '../speech/index.ts';
import type { CallStore, RecordingStorage } from '../store/index.ts';
import type { DialogConfig } from './config.ts';
import type { CallTimelineEvent, CallTimelineListener } from './timeline.ts';
import type { CallControl, TurnLoopResult, TurnSummary } from './turn-loop.ts';
import { TurnLoop } from './turn-loop.ts';
import type { DialogEvent, DialogFactory, Lang } from './types.ts';

/** Labels every call metric carries; each has a bounded set of values (loaded flows, zh/en, configured PBXs). */
export interface CallMetricLabels {
  flow: string;
  lang: string;
  pbx: string;
}

/** What the engine reports to metrics; the app maps it onto Prometheus. */
export interface EngineMetrics {
  callStarted(labels: CallMetricLabels): void;
  callEnded(disposition: string, labels: CallMetricLabels): void;
  turn(latencySeconds: number | undefined, labels: CallMetricLabels): void;
  /** The call was handed to a human (by its flow or an operator). */
  transfer(labels: CallMetricLabels): void;
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
  /** Encrypt each call's recordings when they are finished (store.recordingKey); undefined = plain WAV. */
  recordingKeyring?: RecordingKeyring;
  /** Where finished recordings are kept (store.recordingStorage); undefined = they stay in recordingsDir. */
  recordingStorage?: RecordingStorage;
  log: Logger;
  metrics?: EngineMetrics;
  /** Sees every call's start, timeline and end (QA, live feed); never slows or fails a call. */
  observer?: CallObserver;
}

/** What an observer learns when a call starts. */
export interface ObservedCall {
  callId: string;
  flow?: string;
  lang: Lang;
  direction: 'inbound' | 'outbound';
  pbx: string;
  from?: string;
  to?: string;
}

/**
 * Watches calls without being part of them: QA (质检) and the live feed. `event` runs on the call's path and must
 * return at once; `callEnded` is awaited (after the call's end is stored) so its results exist when the call's
 * run resolves, and any failure of it is logged, never the call's.
 */
export interface CallObserver {
  callStarted(call: ObservedCall): void;
  event(callId: string, event: CallTimelineEvent): void;
  callEnded(callId: string, end: { disposition: string; endedBy: string }): Promise<void>;
}

export interface StartCallRequest {
  leg: AudioLeg;
  /**
   * callpilot's id for the call (`newCallId()`), when whoever set the call up already told it to someone (the
   * /media client, an outbound attempt); default: a fresh one. Never an id from a client or PBX.
   */
  callId?: string;
  /**
   * `callId` names the outbound attempt OutboundCallService stored before dialling: that row (active, outbound,
   * not answered yet) becomes this call. Without it the engine only ever creates a new row and refuses an id that
   * exists, so no call can overwrite another.
   */
  attempt?: boolean;
  pbx: string;
  pbxCallId?: string;
  /** The id a media client gave the call; stored for correlation only. */
  externalId?: string;
  direction: 'inbound' | 'outbound';
  from?: string;
  to?: string;
  flow?: string;
  lang?: string;
  variables?: Record<string, string>;
  /** Hang up / transfer on the PBX; without it the engine just closes the leg. */
  control?: CallControl;
  /**
   * Stored instead of `transferred` when the dialog transfers (the returned outcome still says `transferred`): a PBX
   * that reports whether the agent took the caller stores `transfer_pending` until it has, so a crash in between
   * never leaves a success nobody saw.
   */
  transferDisposition?: string;
  onEvent?: CallTimelineListener;
}

export interface CallOutcome extends TurnLoopResult {
  callId: string;
  recordingDir?: string;
}

/** A call running now, as operators and integrations see it (numbers unmasked: mask them per reader). */
export interface LiveCallInfo {
  callId: string;
  pbx: string;
  direction: 'inbound' | 'outbound';
  flow: string;
  lang: Lang;
  from?: string;
  to?: string;
  startedAt: string;
}

/** What live subscribers get: a call started, or something happened in one (its timeline; `end` closes it). */
export type LiveCallEvent = { kind: 'started'; call: LiveCallInfo } | { kind: 'timeline'; callId: string; event: CallTimelineEvent };

/** A running call's live audio (see CallEngine.tapAudio). */
export interface AudioTap {
  readonly sampleRate: number;
  stop(): void;
}

/** Acting on a running call from outside its dialog (operators over gRPC or the API). */
export interface LiveCallControl {
  readonly info: LiveCallInfo;
  /** Speak a prompt as the bot, after what is playing now; resolves when heard or cut by barge-in. */
  say(text: string, bargeIn?: boolean): Promise<void>;
  /** End the call now; stored with `disposition`. */
  hangup(disposition?: string): Promise<void>;
  /** Hand the call to a human now; `target` as in flows (`context,extension`, a dial string, or the configured agents). */
  transfer(reason: string, target?: string): Promise<void>;
  /** Move the dialog to its branch for `event` now (cutting what the bot says); false when the flow has none. */
  branch(event: DialogEvent): boolean;
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
  'botAudioEnd',
  'bargeIn',
  'resume',
  'echoIgnored',
  'turnContinued',
  'branch',
  'end',
]);

/** Runs calls: for each audio leg, a listening pipeline, a dialog and a turn loop over shared engines. */
export class CallEngine {
  private readonly o: CallEngineOptions;
  private readonly live = new Map<string, AudioLeg>();
  private readonly controls = new Map<string, LiveCallControl>();
  /** Metric labels of each started call, until its end is counted. */
  private readonly metricLabels = new Map<string, CallMetricLabels>();
  private readonly liveEvents = new EventEmitter<{ event: [LiveCallEvent] }>();
  /** Every runCall not yet settled: shutdown waits for them so each end is stored before the store closes. */
  private readonly running = new Set<Promise<CallOutcome>>();
  /** Calls ended by shutdown(): stored with hangupBy `shutdown`. */
  private readonly endedByShutdown = new Set<string>();
  private stopping = false;

  constructor(opts: CallEngineOptions) {
    this.o = opts;
  }

  get activeCalls(): number {
    return this.live.size;
  }

  /** Every call start and timeline event of every call from now on (partials included); returns the unsubscribe. */
  onLiveEvent(listener: (event: LiveCallEvent) => void): () => void {
    this.liveEvents.on('event', listener);
    return () => this.liveEvents.off('event', listener);
  }

  /** Control of a call running now, or undefined when it is not (yet, or any more) running here. */
  liveCall(callId: string): LiveCallControl | undefined {
    return this.controls.get(callId);
  }

  /**
   * Live audio of a call running on this node, as its recording taps hear it: each 20 ms of the caller-frame clock,
   * caller, bot and mixed (listen-in). `onEnd` runs once when the call's leg closes; `stop()` ends the tap first.
   * Undefined when the call is not running here.
   */
  tapAudio(callId: string, listener: MixedFrameListener, onEnd: () => void): AudioTap | undefined {
    const leg = this.live.get(callId);
    if (!leg || leg.closed) return undefined;
    const mixer = new LegMixer(leg, listener);
    const ended = (): void => {
      mixer.detach(false);
      onEnd();
    };
    leg.once('close', ended);
    return {
      sampleRate: leg.sampleRate,
      stop: () => {
        leg.off('close', ended);
        mixer.detach(false);
      },
    };
  }

  /** Calls running now. */
  liveCalls(): LiveCallInfo[] {
    return [...this.controls.values()].map((c) => c.info);
  }

  private publish(event: LiveCallEvent, log: Logger): void {
    // A subscriber that throws must not break the call that emitted the event.
    for (const listener of this.liveEvents.listeners('event')) {
      try {
        (listener as (e: LiveCallEvent) => void)(event);
      } catch (err) {
        log.warn({ err }, 'live event subscriber failed');
      }
    }
  }

  /** Runs one call to its end. Never rejects: failures end the call and are stored. */
  runCall(req: StartCallRequest): Promise<CallOutcome> {
    const running = this.runGuarded(req);
    this.running.add(running);
    void running.finally(() => this.running.delete(running));
    return running;
  }

  private async runGuarded(req: StartCallRequest): Promise<CallOutcome> {
    const callId = req.callId ?? newCallId();
    const log = this.o.log.child({ callId });
    try {
      return await this.run(req, callId, log);
    } catch (err) {
      // Anything the run did not handle itself: the call still ends, on the wire and in the store.
      log.error({ err }, 'call failed outside its turn loop; ending it');
      if (!req.leg.closed) await req.leg.close({ code: 'protocol_error', detail: 'internal error' }).catch(() => undefined);
      if (this.live.get(callId) === req.leg) {
        this.live.delete(callId);
        this.o.metrics?.callEnded('error', this.endLabels(callId));
      }
      await this.o.store
        .updateCall(callId, { status: 'ended', endedAt: new Date().toISOString(), disposition: 'error', hangupBy: 'error' })
        .catch((storeErr: unknown) => log.error({ err: storeErr }, 'storing the end of the failed call failed'));
      return { disposition: 'error', endedBy: 'error', transcript: [], callId };
    }
  }

  private async run(req: StartCallRequest, callId: string, log: Logger): Promise<CallOutcome> {
    const { leg } = req;
    const lang: Lang = req.lang === 'en' || req.lang === 'zh' ? req.lang : this.o.dialogConfig.defaultLang;
    const flow = req.flow ?? this.o.dialogConfig.defaultFlow;
    const startedAt = new Date().toISOString();
    const refuse = async (detail: string): Promise<CallOutcome> => {
      if (!leg.closed) await leg.close({ code: 'protocol_error', detail }).catch(() => undefined);
      return { disposition: 'error', endedBy: 'error', transcript: [], callId };
    };
    // Recording folders are made from our own id and the date only, so nothing a client sends reaches a path.
    if (!isCallId(callId)) {
      log.error('refusing a call whose id callpilot did not make');
      return refuse('call id is not one callpilot made');
    }
    const recordingDir = this.o.recordingsDir ? join(this.o.recordingsDir, startedAt.slice(0, 10), callId) : undefined;
    const answered = {
      pbx: req.pbx,
      pbxCallId: req.pbxCallId,
      externalId: req.externalId,
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
      if (req.attempt) {
        const attempt = await this.o.store.getCall(callId);
        if (!attempt || attempt.direction !== 'outbound' || attempt.status !== 'active' || attempt.answeredAt) {
          throw new Error(`call ${callId} is not an outbound attempt waiting to be answered`);
        }
        // The attempt was stored when it was dialled: it becomes this call, keeping its start and variables.
        storedVariables = { ...attempt.variables, ...req.variables };
        await this.o.store.updateCall(callId, { ...answered, variables: storedVariables });
      } else {
        // createCall refuses an id that exists: an earlier call is never overwritten.
        await this.o.store.createCall({ id: callId, ...answered, startedAt, variables: storedVariables });
      }
    } catch (err) {
      // A call we cannot record is not run: nothing of it could be found or audited afterwards.
      log.error({ err }, 'storing the call failed; ending it');
      return refuse('call could not be stored');
    }
    if (this.stopping) {
      // Set up while shutdown ran: end it at once, through the same path as every other call.
      this.endedByShutdown.add(callId);
      await leg.close({ code: 'shutdown', detail: 'callpilot is shutting down' }).catch(() => undefined);
    }
    this.live.set(callId, leg);
    const labels: CallMetricLabels = { flow, lang, pbx: req.pbx };
    this.metricLabels.set(callId, labels);
    this.o.metrics?.callStarted(labels);
    this.observe(log, (o) => o.callStarted({ callId, flow, lang, direction: req.direction, pbx: req.pbx, from: req.from, to: req.to }));
    log.info({ pbx: req.pbx, direction: req.direction, flow, lang }, 'call started');

    let recorder: CallRecorder | undefined;
    if (recordingDir) {
      try {
        mkdirSync(recordingDir, { recursive: true });
        recorder = attachRecorder(leg, recordingDir);
      } catch (err) {
        // The conversation matters more than its recording: go on, and say so where it can be found.
        log.error({ err }, 'cannot record this call; it goes on unrecorded');
      }
    }
    let speech: CallSpeech | undefined;
    let outcome: TurnLoopResult;
    let dialogVariables: Record<string, string> = {};
    try {
      speech = this.o.speech.createCall(callId, leg.sampleRate, lang);
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
      const info: LiveCallInfo = { callId, pbx: req.pbx, direction: req.direction, flow, lang, from: req.from, to: req.to, startedAt };
      this.controls.set(callId, {
        info,
        say: (text, bargeIn) => loop.say(text, bargeIn),
        hangup: (disposition = 'operator_hangup') => loop.hangupNow(disposition),
        transfer: (reason, target) => loop.transferNow(reason, target),
        branch: (event) => loop.branch(event),
      });
      this.publish({ kind: 'started', call: info }, log);
      const running = loop.run();
      outcome = await running.finally(() => this.controls.delete(callId));
      dialogVariables = dialog.variables();
    } catch (err) {
      log.error({ err }, 'call failed');
      outcome = { disposition: 'error', endedBy: 'error', transcript: [] };
    }

    speech?.close();
    if (!leg.closed) await leg.close({ code: outcome.endedBy === 'caller' ? 'caller_hangup' : 'bot_hangup' }).catch(() => undefined);
    if (recorder) await recorder.close().catch((err: unknown) => log.warn({ err }, 'closing recordings failed'));
    // Before the end is stored: a crash in between leaves the call active, and crash recovery encrypts what is left.
    let recordingFinal = true;
    if (recorder && this.o.recordingKeyring) {
      recordingFinal = await encryptRecordingFolder(recorder.dir, this.o.recordingKeyring).then(
        () => true,
        (err: unknown) => {
          log.error({ err }, 'encrypting the recordings failed; they stay plain until the next start');
          return false;
        },
      );
    }
    // Plain audio never leaves the node when encryption is configured but failed.
    if (recorder && recordingFinal && this.o.recordingStorage) {
      await this.o.recordingStorage.commit(recorder.dir).catch((err: unknown) => log.warn({ err }, 'storing the recordings failed; they stay local and are retried at the next sweep'));
    }
    this.live.delete(callId);
    const legStats = (leg as Partial<{ stats: { lateFrames: number; droppedFrames: number } }>).stats;
    if (legStats) this.o.metrics?.legStats(legStats);
    this.o.metrics?.callEnded(outcome.disposition, this.endLabels(callId));
    try {
      await this.o.store.updateCall(callId, {
        status: 'ended',
        endedAt: new Date().toISOString(),
        disposition: outcome.disposition === 'transferred' && req.transferDisposition ? req.transferDisposition : outcome.disposition,
        hangupBy: this.endedByShutdown.delete(callId) ? 'shutdown' : outcome.endedBy,
        variables: { ...storedVariables, ...dialogVariables },
      });
    } catch (err) {
      log.error({ err }, 'storing the end of the call failed');
    }
    if (this.o.observer) {
      await this.o.observer
        .callEnded(callId, { disposition: outcome.disposition, endedBy: outcome.endedBy })
        .catch((err: unknown) => log.error({ err }, 'call observer failed at the end of the call'));
    }
    log.info({ disposition: outcome.disposition, endedBy: outcome.endedBy }, 'call ended');
    return { ...outcome, callId, recordingDir };
  }

  private endLabels(callId: string): CallMetricLabels {
    const labels = this.metricLabels.get(callId) ?? { flow: 'unknown', lang: 'unknown', pbx: 'unknown' };
    this.metricLabels.delete(callId);
    return labels;
  }

  /** Calls still running (set up, live, or storing their end). */
  get runningCalls(): number {
    return this.running.size;
  }

  /** Resolves true once no call is running, or false after `timeoutMs`. */
  async whenIdle(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.running.size > 0) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.running]),
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, left);
        }),
      ]);
      clearTimeout(timer);
    }
    return true;
  }

  /**
   * Ends every live call with reason `shutdown` (media clients get the `end` message and close 1000) and waits,
   * up to `waitMs`, until each call has stored its end: only then may the store close.
   */
  async shutdown(waitMs = 15_000): Promise<void> {
    this.stopping = true;
    for (const [callId, leg] of this.live) {
      if (leg.closed) continue;
      this.endedByShutdown.add(callId);
      leg.close({ code: 'shutdown', detail: 'callpilot is shutting down' }).catch((err: unknown) => {
        this.o.log.warn({ err, callId }, 'closing a call at shutdown failed');
      });
    }
    if (!(await this.whenIdle(waitMs))) this.o.log.error({ calls: this.running.size }, 'calls still storing their end at shutdown');
  }

  private observe(log: Logger, call: (observer: CallObserver) => void): void {
    if (!this.o.observer) return;
    try {
      call(this.o.observer);
    } catch (err) {
      log.warn({ err }, 'call observer failed');
    }
  }

  private storeTurn(callId: string, turn: TurnSummary, log: Logger): void {
    const labels = this.metricLabels.get(callId);
    if (labels) this.o.metrics?.turn(turn.latencyMs !== undefined ? turn.latencyMs / 1000 : undefined, labels);
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
        continuesSeq: turn.continuesSeq,
        intent: turn.intent,
        confidence: turn.confidence,
        slots: turn.slots,
        emotion: turn.emotion,
        at: new Date().toISOString(),
      })
      .catch((err: unknown) => log.error({ err, seq: turn.seq }, 'storing a turn failed'));
  }

  private onEvent(callId: string, event: CallTimelineEvent, listener: CallTimelineListener | undefined, log: Logger): void {
    if (event.type === 'bargeIn') this.o.metrics?.bargeIn(event.stopMs / 1000);
    if (event.type === 'end' && event.by === 'transfer') {
      const labels = this.metricLabels.get(callId);
      if (labels) this.o.metrics?.transfer(labels);
    }
    if (STORED_EVENTS.has(event.type)) {
      const { type, ...data } = event;
      this.o.store
        .addEvent({ callId, at: new Date().toISOString(), type, data })
        .catch((err: unknown) => log.error({ err, type: event.type }, 'storing an event failed'));
    }
    if (event.type !== 'partial') log.debug({ event }, 'timeline');
    this.observe(log, (o) => o.event(callId, event));
    if (this.liveEvents.listenerCount('event') > 0) this.publish({ kind: 'timeline', callId, event }, log);
    try {
      listener?.(event);
    } catch (err) {
      log.warn({ err }, 'timeline listener failed');
    }
  }
}
