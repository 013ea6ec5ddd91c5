import { EventEmitter } from 'node:events';
import { pino, type Logger } from 'pino';
import {
  type AudioLeg,
  type AudioLegEvents,
  FRAME_MS,
  type LegCloseReason,
  type SampleRate,
  samplesPerFrame,
} from '../types.ts';
import { WarnLimiter } from '../../core/index.ts';
import { PcmQueue } from './pcm-queue.ts';

/** Warnings a leg logs one by one before it only logs a summary every WARNING_SUMMARY_INTERVAL_MS. */
const WARNINGS_LOGGED_FREELY = 10;
const WARNING_SUMMARY_INTERVAL_MS = 10_000;

export interface BaseAudioLegOptions {
  callId: string;
  sampleRate: SampleRate;
  /** The leg logs through a child carrying `callId`. Silent when omitted. */
  log?: Logger;
  /** Bot audio beyond this much queued is dropped with a warning. Default 120000 (media.maxQueuedMs). */
  maxQueuedMs?: number;
  /** When caller audio stops: silence fill and the dead-media timeout (media.callerGapMs / media.deadMediaMs). */
  clock?: CallerClockOptions;
}

/**
 * The caller-frame clock must not stand still when the caller's audio does: with silence suppression, a muted
 * phone or dead media every PBX leg simply delivers nothing (captures silence-suppression-*), and end-of-turn,
 * no-input and max-silence all count caller frames.
 */
export interface CallerClockOptions {
  /**
   * No caller frame for this long (one frame period plus a jitter allowance) and the leg delivers silence frames
   * on a timer, in real time, from where the caller's audio stopped: the frames due for the whole gap, so the
   * allowance delays nothing that waits for more silence than it (end of turn, no-input). 0 = never fill.
   * Default 200.
   */
  callerGapMs?: number;
  /** No real caller frame for this long and the leg closes with code `dead_media`. 0 = never. Default 60000. */
  deadMediaMs?: number;
}

export const DEFAULT_CALLER_GAP_MS = 200;
export const DEFAULT_DEAD_MEDIA_MS = 60_000;

/** Counters every leg keeps; read them for metrics, never reset them. */
export interface AudioLegStats {
  /** Caller frames delivered as 'frame' events. */
  framesIn: number;
  /** Bot frames written to the wire by the pacer. */
  framesOut: number;
  /** Pacer ticks that ran more than LATE_FRAME_MS after their slot (event-loop stalls). */
  lateFrames: number;
  /** Bot frames (rounded up) dropped because the queue was over maxQueuedMs. Barge-in flushes are not counted. */
  droppedFrames: number;
  /** Silence frames written while the bot was quiet, on wires that need a steady stream (sendSilenceWhenIdle). */
  framesKeepAlive: number;
  /** Silence frames delivered as 'frame' events because caller audio had stopped (not counted in framesIn). */
  framesFilled: number;
}

const DEFAULT_MAX_QUEUED_MS = 120000;
/** A tick this late counts in stats.lateFrames. */
export const LATE_FRAME_MS = 10;
/**
 * Past this much lag the pacer re-anchors its schedule instead of catching up: bursting several
 * frames at once would overflow small PBX jitter buffers and be heard as a skip anyway.
 */
const RESYNC_LAG_MS = 3 * FRAME_MS;
const INITIAL_QUEUE_MS = 2000;

interface PendingMark {
  name: string;
  /** The mark fires once this many queued samples have left on the wire. */
  position: number;
}

/**
 * The transport-independent half of an AudioLeg: bot-audio queue, real-time pacer, marks,
 * barge-in flush, close bookkeeping and stats. A transport (chan_websocket, AudioSocket, RTP,
 * mod_audio_stream, callpilot's /media socket) extends it and implements three wire methods.
 *
 * Buffers handed to `writeFrame` and emitted with 'played' are reused every frame: copy to keep.
 */
export abstract class BaseAudioLeg extends EventEmitter<AudioLegEvents> implements AudioLeg {
  readonly callId: string;
  readonly sampleRate: SampleRate;
  readonly stats: AudioLegStats = { framesOut: 0, framesIn: 0, lateFrames: 0, droppedFrames: 0, framesFilled: 0, framesKeepAlive: 0 };
  protected readonly log: Logger;
  private readonly warnings: WarnLimiter;
  /** Samples in one 20 ms frame at sampleRate. */
  protected readonly frameSamples: number;

  private readonly queue: PcmQueue;
  private readonly outFrame: Int16Array;
  private readonly marks: PendingMark[] = [];
  /** Samples ever accepted by play() minus those flushed: the position a new mark gets. */
  private queuedPosition = 0;
  /** Real (non-padding) samples ever written to the wire. */
  private playedPosition = 0;
  private pacing = false;
  private timer: NodeJS.Timeout | undefined;
  private scheduleStart = 0;
  private framesScheduled = 0;
  private isClosed = false;
  private closeEmitted = false;
  private closing: Promise<void> | undefined;
  private callerAudioWaiters: (() => void)[] = [];
  // Bound once so the per-frame setTimeout does not allocate a closure.
  private readonly onTick = (): void => this.tick();
  private readonly onMarksDue = (): void => this.fireDueMarks();

  private readonly callerGapMs: number;
  private readonly deadMediaMs: number;
  private readonly gapSilence: Int16Array;
  /** The caller clock runs from the first caller frame or startCallerClock(), until close. */
  private clockRunning = false;
  /** While audio flows: one-shot check about every callerGapMs (a few timers a second, none per frame). */
  private watchTimer: NodeJS.Timeout | undefined;
  /** A gap seen by the watch is confirmed after pending I/O has been read (see checkWatch). */
  private gapCheck: NodeJS.Immediate | undefined;
  /** While filling: one interval per gap, delivering what is due every frame period. */
  private fillTimer: NodeJS.Timeout | undefined;
  /** performance.now() of the last real caller frame (or of the clock start before any). */
  private lastCallerAt = 0;
  /** Silence frames delivered since lastCallerAt; -1 while real audio flows. */
  private gapFrames = -1;
  private readonly onWatch = (): void => this.checkWatch();
  private readonly onGapCheck = (): void => this.confirmGap();
  private readonly onFill = (): void => this.fillDue();

  /** Write silence while no bot audio is queued (see sendSilenceWhenIdle). */
  private keepAlive = false;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private readonly keepAliveFrame: Int16Array;
  private readonly onKeepAlive = (): void => this.writeKeepAlive();

  constructor(opts: BaseAudioLegOptions) {
    super();
    this.callId = opts.callId;
    this.sampleRate = opts.sampleRate;
    this.log = (opts.log ?? pino({ level: 'silent' })).child({ callId: opts.callId });
    this.warnings = new WarnLimiter(this.log, { freely: WARNINGS_LOGGED_FREELY, intervalMs: WARNING_SUMMARY_INTERVAL_MS });
    this.frameSamples = samplesPerFrame(opts.sampleRate);
    const maxQueuedMs = opts.maxQueuedMs ?? DEFAULT_MAX_QUEUED_MS;
    this.queue = new PcmQueue(
      (INITIAL_QUEUE_MS * opts.sampleRate) / 1000,
      Math.ceil((maxQueuedMs * opts.sampleRate) / 1000),
    );
    this.outFrame = new Int16Array(this.frameSamples);
    this.callerGapMs = Math.max(0, opts.clock?.callerGapMs ?? DEFAULT_CALLER_GAP_MS);
    this.deadMediaMs = Math.max(0, opts.clock?.deadMediaMs ?? DEFAULT_DEAD_MEDIA_MS);
    this.gapSilence = new Int16Array(this.frameSamples);
    this.keepAliveFrame = new Int16Array(this.frameSamples);
  }

  /** Write one 20 ms bot frame (PCM16 at sampleRate) to the wire. Called by the pacer in real time. */
  protected abstract writeFrame(pcm: Int16Array): void;
  /** Ask the PBX to drop audio it has buffered (FLUSH_MEDIA, uuid_break, ...); a no-op for RTP. */
  protected abstract flushWire(): void;
  /** Close the socket / tear down the media path. Called once, from close(). */
  protected abstract closeWire(reason: LegCloseReason): Promise<void>;

  get closed(): boolean {
    return this.isClosed;
  }

  get queuedMs(): number {
    return (this.queue.length * 1000) / this.sampleRate;
  }

  play(pcm: Int16Array): void {
    if (this.isClosed || pcm.length === 0) return;
    const accepted = this.queue.write(pcm);
    this.queuedPosition += accepted;
    if (accepted < pcm.length) {
      const dropped = pcm.length - accepted;
      this.stats.droppedFrames += Math.ceil(dropped / this.frameSamples);
      this.deliverWarning(
        new Error(`bot audio queue full: dropped ${Math.round((dropped * 1000) / this.sampleRate)} ms`),
      );
    }
    if (!this.pacing && this.queue.length > 0) this.startPacing();
  }

  mark(name: string): void {
    if (this.isClosed) return;
    this.marks.push({ name, position: this.queuedPosition });
    // Nothing in flight: the caller has already heard everything before this mark. Deferred so
    // a listener attached right after mark() still sees it.
    if (!this.pacing) process.nextTick(this.onMarksDue);
  }

  flush(): number {
    if (this.isClosed) return 0;
    const droppedSamples = this.queue.length;
    this.queue.clear();
    this.queuedPosition = this.playedPosition;
    this.marks.length = 0;
    this.stopPacing();
    try {
      this.flushWire();
    } catch (err) {
      this.deliverWarning(new Error(`flushing the wire failed: ${(err as Error).message}`, { cause: err }));
    }
    if (this.keepAlive) this.startKeepAlive();
    return (droppedSamples * 1000) / this.sampleRate;
  }

  /**
   * Resolves once the first caller frame has arrived (audio flows from the PBX), or the leg has closed. Adapters
   * wait for it before handing the call over, so a greeting is never played into a dead path.
   */
  whenCallerAudio(): Promise<void> {
    if (this.stats.framesIn > 0 || this.isClosed) return Promise.resolve();
    return new Promise((resolve) => this.callerAudioWaiters.push(resolve));
  }

  /**
   * Start the caller clock without waiting for caller audio: from now on, a caller who sends nothing is heard as
   * silence in real time. Adapters call it when they hand the leg over, because a caller whose phone suppresses
   * silence may send nothing until they speak (audiosocket-caller-leading-gap). Idempotent; the first caller
   * frame starts the clock too.
   */
  startCallerClock(): void {
    if (this.clockRunning || this.isClosed) return;
    this.clockRunning = true;
    this.lastCallerAt = performance.now();
    this.gapFrames = -1;
    this.armWatch(0);
  }

  /** True while the leg is delivering silence because caller audio has stopped. */
  get fillingCallerGap(): boolean {
    return this.gapFrames >= 0;
  }

  close(reason: LegCloseReason): Promise<void> {
    if (this.closing) return this.closing;
    if (this.closeEmitted) return Promise.resolve();
    this.isClosed = true;
    this.wakeCallerAudioWaiters();
    this.shutDownPacer();
    this.closing = this.closeWire(reason).then(
      () => this.emitCloseOnce(reason),
      (err: unknown) => {
        this.log.warn({ err, reason }, 'closing the media wire failed');
        this.emitCloseOnce(reason);
      },
    );
    return this.closing;
  }

  /** One 20 ms frame of caller audio at sampleRate; other sizes are dropped with a warning. */
  protected deliverFrame(pcm: Int16Array): void {
    if (this.isClosed) return;
    if (pcm.length !== this.frameSamples) {
      this.deliverWarning(new Error(`caller frame of ${pcm.length} samples, expected ${this.frameSamples}`));
      return;
    }
    if (this.stats.framesIn++ === 0) this.wakeCallerAudioWaiters();
    // A number store, no timer call: the clock timer reads it when it fires.
    this.lastCallerAt = performance.now();
    if (!this.clockRunning) this.startCallerClock();
    else if (this.gapFrames >= 0) this.endFill();
    this.emit('frame', pcm);
  }

  protected deliverDtmf(digit: string): void {
    if (this.isClosed) return;
    this.emit('dtmf', digit);
  }

  protected deliverWarning(err: Error): void {
    // A misbehaving peer can send thousands of bad messages: one connection cannot flood the logs.
    this.warnings.warn({ err: err.message }, 'media leg warning');
    this.emit('warning', err);
  }

  /**
   * From now on the wire never goes quiet: while no bot audio is queued, a silence frame is written every 20 ms
   * (one at once). For a PBX that sends the caller nothing until its media peer sends something, and stops when
   * it stops: AudioSocket (audiosocket-caller-leading-gap), where a quiet bot also means no RTP at all towards the
   * caller, which carriers and SBCs take for dead media. Not counted as played (no 'played' event).
   */
  protected sendSilenceWhenIdle(): void {
    if (this.keepAlive || this.isClosed) return;
    this.keepAlive = true;
    if (!this.pacing) this.startKeepAlive();
  }

  /** The wire went away by itself (socket closed, PBX hung up): stop pacing and emit 'close' once. */
  protected wireClosed(reason: LegCloseReason): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.wakeCallerAudioWaiters();
    this.shutDownPacer();
    this.emitCloseOnce(reason);
  }

  /**
   * The pacer has put all audio before mark `name` on the wire. Emits 'mark'; a transport whose
   * PBX reports playout (chan_websocket MEDIA_MARK_PROCESSED) overrides this to forward the mark
   * to the PBX and emits 'mark' itself when the PBX confirms.
   */
  protected markReached(name: string): void {
    this.emit('mark', name);
  }

  private startPacing(): void {
    this.stopKeepAlive();
    this.pacing = true;
    this.scheduleStart = performance.now();
    this.framesScheduled = 0;
    // A whole frame goes out now (first-audio latency is the metric that matters); a fragment
    // waits one macrotask in case the rest of the frame is being queued right behind it.
    if (this.queue.length >= this.frameSamples) this.tick();
    else this.timer = setTimeout(this.onTick, 0);
  }

  private tick(): void {
    this.timer = undefined;
    if (this.isClosed || !this.pacing) return;
    if (this.queue.length === 0) {
      this.pacing = false;
      // A mark set during this last slot is already heard: it must not wait for the next prompt's first frame.
      if (this.marks.length > 0) this.fireDueMarks();
      if (this.keepAlive && !this.isClosed && !this.pacing) this.startKeepAlive();
      return;
    }
    const now = performance.now();
    const lateness = now - (this.scheduleStart + this.framesScheduled * FRAME_MS);
    if (lateness > LATE_FRAME_MS) this.stats.lateFrames++;
    if (lateness > RESYNC_LAG_MS) {
      this.scheduleStart = now;
      this.framesScheduled = 0;
    }

    const frame = this.outFrame;
    const taken = this.queue.read(frame);
    if (taken < frame.length) frame.fill(0, taken);
    this.playedPosition += taken;
    try {
      this.writeFrame(frame);
    } catch (err) {
      this.deliverWarning(new Error(`writing a bot frame failed: ${(err as Error).message}`, { cause: err }));
    }
    this.stats.framesOut++;
    this.emit('played', frame);
    if (this.marks.length > 0) this.fireDueMarks();

    // A listener may have flushed or closed the leg; then there is nothing to schedule.
    if (this.isClosed || !this.pacing) return;
    this.framesScheduled++;
    const delay = this.scheduleStart + this.framesScheduled * FRAME_MS - performance.now();
    // Keep ticking one slot past the end of the queue, so audio queued meanwhile follows on schedule.
    this.timer = setTimeout(this.onTick, delay > 0 ? delay : 0);
  }

  private startKeepAlive(): void {
    if (this.keepAliveTimer !== undefined || this.isClosed) return;
    this.writeKeepAlive();
    // One interval per quiet stretch; nothing allocated per frame.
    this.keepAliveTimer = setInterval(this.onKeepAlive, FRAME_MS);
  }

  private stopKeepAlive(): void {
    if (this.keepAliveTimer !== undefined) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
  }

  private writeKeepAlive(): void {
    if (this.isClosed || this.pacing) return;
    this.keepAliveFrame.fill(0);
    try {
      this.writeFrame(this.keepAliveFrame);
    } catch (err) {
      this.deliverWarning(new Error(`writing a silence frame failed: ${(err as Error).message}`, { cause: err }));
    }
    this.stats.framesKeepAlive++;
  }

  private fireDueMarks(): void {
    while (this.marks.length > 0 && this.marks[0].position <= this.playedPosition && !this.isClosed) {
      const mark = this.marks.shift() as PendingMark;
      this.markReached(mark.name);
    }
  }

  /**
   * While audio flows the watch finds recent frames and re-arms. Once none came for callerGapMs the gap is
   * confirmed in the check phase, after the poll phase has read whatever sockets hold: a timer firing late
   * because this process stalled (busy event loop) must not mistake audio waiting in a socket buffer for a gap.
   */
  private checkWatch(): void {
    this.watchTimer = undefined;
    if (!this.clockRunning || this.isClosed) return;
    const idle = performance.now() - this.lastCallerAt;
    if (this.deadMediaMs > 0 && idle >= this.deadMediaMs) {
      this.deadMedia(idle);
      return;
    }
    if (this.callerGapMs > 0 && idle >= this.callerGapMs) {
      this.gapCheck = setImmediate(this.onGapCheck);
      return;
    }
    this.armWatch(idle);
  }

  private confirmGap(): void {
    this.gapCheck = undefined;
    if (!this.clockRunning || this.isClosed) return;
    const idle = performance.now() - this.lastCallerAt;
    if (idle < this.callerGapMs) {
      this.armWatch(idle);
      return;
    }
    this.gapFrames = 0;
    this.log.debug({ idleMs: Math.round(idle) }, 'caller audio stopped; filling with silence');
    this.fillTimer = setInterval(this.onFill, FRAME_MS);
    this.fillDue();
  }

  /**
   * Delivers the silence frames due since the last real frame: every frame period of the gap, counted on the
   * wall clock from that frame, so a late timer catches up in one go and the call's audio clock keeps real time.
   */
  private fillDue(): void {
    if (!this.clockRunning || this.isClosed || this.gapFrames < 0) return;
    const idle = performance.now() - this.lastCallerAt;
    if (this.deadMediaMs > 0 && idle >= this.deadMediaMs) {
      this.deadMedia(idle);
      return;
    }
    const due = Math.floor(idle / FRAME_MS);
    // A listener may close the leg (or real audio end the gap) while the frames go out: re-checked each time.
    while (this.gapFrames >= 0 && this.gapFrames < due && !this.isClosed) {
      this.gapFrames++;
      this.stats.framesFilled++;
      // Listeners must neither keep nor change it, but a zero fill is cheap insurance against one that does.
      this.gapSilence.fill(0);
      this.emit('frame', this.gapSilence);
    }
  }

  private endFill(): void {
    this.gapFrames = -1;
    if (this.fillTimer !== undefined) clearInterval(this.fillTimer);
    this.fillTimer = undefined;
    this.armWatch(0);
  }

  private deadMedia(idle: number): void {
    this.log.warn({ idleMs: Math.round(idle) }, 'no caller audio; closing the leg as dead media');
    void this.close({ code: 'dead_media', detail: `no caller audio for ${Math.round(idle)} ms` });
  }

  /** Arm the watch for whichever comes first, the gap or the dead-media timeout, `idle` ms after the last frame. */
  private armWatch(idle: number): void {
    if (this.watchTimer !== undefined || this.gapCheck !== undefined) return;
    let next = Infinity;
    if (this.callerGapMs > 0) next = Math.max(this.callerGapMs, FRAME_MS);
    if (this.deadMediaMs > 0) next = Math.min(next, this.deadMediaMs);
    if (next === Infinity) return;
    this.watchTimer = setTimeout(this.onWatch, Math.max(0, next - idle));
  }

  private stopCallerClock(): void {
    this.clockRunning = false;
    this.gapFrames = -1;
    if (this.watchTimer !== undefined) clearTimeout(this.watchTimer);
    if (this.gapCheck !== undefined) clearImmediate(this.gapCheck);
    if (this.fillTimer !== undefined) clearInterval(this.fillTimer);
    this.watchTimer = undefined;
    this.gapCheck = undefined;
    this.fillTimer = undefined;
  }

  private wakeCallerAudioWaiters(): void {
    for (const wake of this.callerAudioWaiters.splice(0)) wake();
  }

  private stopPacing(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.pacing = false;
  }

  private shutDownPacer(): void {
    this.keepAlive = false;
    this.stopKeepAlive();
    this.stopCallerClock();
    this.stopPacing();
    this.queue.clear();
    this.marks.length = 0;
  }

  private emitCloseOnce(reason: LegCloseReason): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.log.debug({ reason }, 'media leg closed');
    this.emit('close', reason);
  }
}
