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
}

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
  readonly stats: AudioLegStats = { framesOut: 0, framesIn: 0, lateFrames: 0, droppedFrames: 0 };
  protected readonly log: Logger;
  private warningsLogged = 0;
  private warningsSuppressed = 0;
  private lastWarningSummary = 0;
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

  constructor(opts: BaseAudioLegOptions) {
    super();
    this.callId = opts.callId;
    this.sampleRate = opts.sampleRate;
    this.log = (opts.log ?? pino({ level: 'silent' })).child({ callId: opts.callId });
    this.frameSamples = samplesPerFrame(opts.sampleRate);
    const maxQueuedMs = opts.maxQueuedMs ?? DEFAULT_MAX_QUEUED_MS;
    this.queue = new PcmQueue(
      (INITIAL_QUEUE_MS * opts.sampleRate) / 1000,
      Math.ceil((maxQueuedMs * opts.sampleRate) / 1000),
    );
    this.outFrame = new Int16Array(this.frameSamples);
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
    this.emit('frame', pcm);
  }

  protected deliverDtmf(digit: string): void {
    if (this.isClosed) return;
    this.emit('dtmf', digit);
  }

  protected deliverWarning(err: Error): void {
    // A misbehaving peer can send thousands of bad messages: the first few are logged, then one summary line
    // per interval, so one connection cannot flood the logs.
    const now = Date.now();
    if (this.warningsLogged < WARNINGS_LOGGED_FREELY) {
      this.warningsLogged++;
      this.log.warn({ err: err.message }, 'media leg warning');
    } else if (now - this.lastWarningSummary >= WARNING_SUMMARY_INTERVAL_MS) {
      this.log.warn({ err: err.message, suppressed: this.warningsSuppressed }, 'media leg warning (earlier ones suppressed)');
      this.lastWarningSummary = now;
      this.warningsSuppressed = 0;
    } else this.warningsSuppressed++;
    this.emit('warning', err);
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

  private fireDueMarks(): void {
    while (this.marks.length > 0 && this.marks[0].position <= this.playedPosition && !this.isClosed) {
      const mark = this.marks.shift() as PendingMark;
      this.markReached(mark.name);
    }
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
