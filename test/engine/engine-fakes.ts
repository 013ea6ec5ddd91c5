import { EventEmitter } from 'node:events';
import type { AudioLeg, AudioLegEvents, LegCloseReason, SampleRate } from '../../src/media/index.ts';
import type { CallSpeech, CallSpeechEvents, SpeechEngine, Speaker } from '../../src/speech/index.ts';
import type { Lang } from '../../src/dialog/index.ts';

/*
 * Fakes for driving the real CallEngine without audio models.
 *
 * The test seam is the ASR boundary: the engine gets a SpeechEngine whose CallSpeech emits speechStart /
 * speechEnd / final for texts the test scripts, exactly as the VAD + endpointer + ASR pipeline would. Everything
 * above it (turn loop, dialog, flows, NLU, store) is the production code. These transcripts are test input, not a
 * claim about what an ASR heard: tests that claim real recognition use the real engine (simulated-call.test.ts).
 */

const FRAME_SAMPLES_8K = 160;

/** Listening side whose speech events the test fires; frames pushed by the turn loop advance its audio clock. */
export class ScriptedCallSpeech extends EventEmitter<CallSpeechEvents> implements CallSpeech {
  speaking = false;
  nowMs = 0;
  closed = false;
  /** Every list of expected answers the turn loop handed over (one per bot action). */
  readonly expectedHistory: string[][] = [];

  constructor(private readonly sampleRate: SampleRate) {
    super();
  }

  push(pcm: Int16Array): void {
    this.nowMs += (pcm.length * 1000) / this.sampleRate;
  }

  setExpected(phrases: string[]): void {
    this.expectedHistory.push([...phrases]);
  }

  close(): void {
    this.closed = true;
  }

  /** The VAD hears speech begin. */
  startSpeech(): number {
    this.speaking = true;
    this.emit('speechStart', { atMs: this.nowMs });
    return this.nowMs;
  }

  /** The VAD hears it stop and the endpointer hands over the transcript. */
  endSpeech(text: string, speechStartMs: number): void {
    this.speaking = false;
    this.emit('speechEnd', { atMs: this.nowMs });
    this.emit('final', { text, speechStartMs, speechEndMs: this.nowMs, atMs: this.nowMs, earlyEndpoint: false });
  }
}

/** A SpeechEngine handing out ScriptedCallSpeech instances, kept by call id for the test to drive. */
export class ScriptedSpeechEngine implements SpeechEngine {
  private readonly calls = new Map<string, ScriptedCallSpeech>();

  createCall(callId: string, sampleRate: 8000 | 16000, _lang: Lang): CallSpeech {
    const speech = new ScriptedCallSpeech(sampleRate);
    this.calls.set(callId, speech);
    return speech;
  }

  speechOf(callId: string): ScriptedCallSpeech {
    const speech = this.calls.get(callId);
    if (!speech) throw new Error(`the engine created no CallSpeech for ${callId}`);
    return speech;
  }

  /** The ASR backlog this engine reports (admission control reads it); tests set it. */
  backlogMs = 0;

  asrRealTimeFactor(): number {
    return 0;
  }

  asrBacklogMs(): number {
    return this.backlogMs;
  }

  async close(): Promise<void> {}
}

/**
 * An audio leg without a real-time clock: queued bot audio goes "on the wire" one macrotask later, all at once,
 * and marks fire as soon as the audio before them has been played. Prompts take microseconds instead of seconds.
 */
export class InstantLeg extends EventEmitter<AudioLegEvents> implements AudioLeg {
  readonly sampleRate: SampleRate = 8000;
  closed = false;
  closeReason: LegCloseReason | undefined;
  /** Bot frames that went out. */
  framesPlayed = 0;
  private queue: Int16Array[] = [];
  private marks: { name: string; afterSamples: number }[] = [];
  private queuedSamples = 0;
  private sentSamples = 0;
  private drainScheduled = false;
  private readonly frame = new Int16Array(FRAME_SAMPLES_8K);

  constructor(readonly callId: string) {
    super();
  }

  play(pcm: Int16Array): void {
    if (this.closed) return;
    this.queue.push(pcm.slice());
    this.queuedSamples += pcm.length;
    this.scheduleDrain();
  }

  mark(name: string): void {
    if (this.closed) return;
    this.marks.push({ name, afterSamples: this.queuedSamples });
    this.scheduleDrain();
  }

  flush(): number {
    const dropped = this.queuedSamples - this.sentSamples;
    this.queue = [];
    this.marks = [];
    this.queuedSamples = this.sentSamples;
    return (dropped / this.sampleRate) * 1000;
  }

  get queuedMs(): number {
    return ((this.queuedSamples - this.sentSamples) / this.sampleRate) * 1000;
  }

  async close(reason: LegCloseReason): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closeReason = reason;
    this.queue = [];
    this.marks = [];
    this.emit('close', reason);
  }

  /** One 20 ms caller frame of silence (keeps the turn loop's audio clock and wall-clock mapping going). */
  callerFrame(): void {
    if (!this.closed) this.emit('frame', new Int16Array(FRAME_SAMPLES_8K));
  }

  dtmf(digit: string): void {
    if (!this.closed) this.emit('dtmf', digit);
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    setImmediate(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }

  private drain(): void {
    while (!this.closed && this.queue.length > 0) {
      let filled = 0;
      this.frame.fill(0);
      while (filled < FRAME_SAMPLES_8K && this.queue.length > 0) {
        const head = this.queue[0]!;
        const take = Math.min(FRAME_SAMPLES_8K - filled, head.length);
        this.frame.set(head.subarray(0, take), filled);
        filled += take;
        if (take === head.length) this.queue.shift();
        else this.queue[0] = head.subarray(take);
      }
      this.sentSamples += filled;
      this.framesPlayed++;
      this.emit('played', this.frame);
      this.deliverMarks();
    }
    this.deliverMarks();
  }

  private deliverMarks(): void {
    while (!this.closed && this.marks.length > 0 && this.marks[0]!.afterSamples <= this.sentSamples) {
      this.emit('mark', this.marks.shift()!.name);
    }
  }
}

/** Speaks every sentence as two frames of a tone: TTS is not under test, only that each prompt is played. */
export class ToneSpeaker implements Speaker {
  async *speak(_text: string, _lang: Lang, rate: 8000 | 16000): AsyncIterable<Int16Array> {
    const pcm = new Int16Array((rate / 1000) * 40);
    for (let i = 0; i < pcm.length; i++) pcm[i] = i % 2 === 0 ? 1000 : -1000;
    yield pcm;
  }

  async warm(): Promise<void> {}
}
