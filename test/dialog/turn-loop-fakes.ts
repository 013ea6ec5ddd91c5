import { EventEmitter } from 'node:events';
import type { AudioLeg, AudioLegEvents, LegCloseReason, SampleRate } from '../../src/media/index.ts';
import type { CallSpeech, CallSpeechEvents, Speaker } from '../../src/speech/index.ts';
import type { BotAction, DialogSession, TurnInput } from '../../src/dialog/index.ts';
import { testLog } from '../support/run-log.ts';

export const silentLog = testLog();

/** An audio leg whose wire is driven by the test: tick() sends one queued bot frame. */
export class ScriptedLeg extends EventEmitter<AudioLegEvents> implements AudioLeg {
  readonly callId = 'call-test';
  readonly sampleRate: SampleRate = 8000;
  closed = false;
  flushes = 0;
  /** Set by a test: the PBX started playing this long before the leg's frames (events read late). */
  playoutLagMs: number | undefined;
  played: number[] = []; // first sample of each frame played
  private queue: Int16Array[] = [];
  private marks: { afterSamples: number; name: string }[] = [];
  private queuedSamples = 0;
  private sentSamples = 0;

  play(pcm: Int16Array): void {
    this.queue.push(pcm);
    this.queuedSamples += pcm.length;
  }
  mark(name: string): void {
    this.marks.push({ afterSamples: this.queuedSamples, name });
    this.deliverMarks();
  }
  flush(): number {
    const dropped = this.queuedSamples - this.sentSamples;
    this.queue = [];
    this.marks = [];
    this.queuedSamples = this.sentSamples;
    this.flushes++;
    return (dropped / this.sampleRate) * 1000;
  }
  get queuedMs(): number {
    return ((this.queuedSamples - this.sentSamples) / this.sampleRate) * 1000;
  }
  async close(reason: LegCloseReason): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.emit('close', reason);
  }
  /** Sends one 20 ms bot frame if any is queued; returns whether one was sent. */
  tick(): boolean {
    const frame = new Int16Array(160);
    let filled = 0;
    while (filled < 160 && this.queue.length > 0) {
      const head = this.queue[0]!;
      const take = Math.min(160 - filled, head.length);
      frame.set(head.subarray(0, take), filled);
      filled += take;
      if (take === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(take);
    }
    if (filled === 0) return false;
    this.sentSamples += filled;
    this.played.push(frame[0]!);
    this.emit('played', frame);
    this.deliverMarks();
    return true;
  }
  caller(pcm: Int16Array): void {
    this.emit('frame', pcm);
  }
  private deliverMarks(): void {
    while (this.marks.length > 0 && this.marks[0]!.afterSamples <= this.sentSamples) this.emit('mark', this.marks.shift()!.name);
  }
}

/** Listening side whose events the test fires; counts pushed frames as the audio clock. */
export class ScriptedSpeech extends EventEmitter<CallSpeechEvents> implements CallSpeech {
  speaking = false;
  /** An utterance is open (from start() to final()), as the endpointer keeps it through the caller's pauses. */
  busy = false;
  nowMs = 0;
  expected: string[] = [];
  /** The loudest sample of each frame pushed: what the VAD and ASR would have heard. */
  readonly heardPeaks: number[] = [];
  push(pcm: Int16Array): void {
    this.nowMs += 20;
    let peak = 0;
    for (const x of pcm) peak = Math.max(peak, Math.abs(x));
    this.heardPeaks.push(peak);
  }
  setExpected(phrases: string[]): void {
    this.expected = phrases;
  }
  close(): void {}
  start(): void {
    this.speaking = true;
    this.busy = true;
    this.emit('speechStart', { atMs: this.nowMs });
  }
  /** The VAD's end inside an utterance the endpointer keeps open (a pause between clauses). */
  pauseVoice(): void {
    this.speaking = false;
  }
  final(text: string, speechStartMs = 0): void {
    this.speaking = false;
    this.busy = false;
    this.emit('final', { text, speechStartMs, speechEndMs: this.nowMs, atMs: this.nowMs, earlyEndpoint: false });
  }
}

/** Speaks every prompt as N frames of a constant level (each prompt its own level so tests can tell them apart). */
export class ToneSpeaker implements Speaker {
  spoken: string[] = [];
  constructor(private readonly framesPerPrompt = 10) {}
  async *speak(text: string): AsyncIterable<Int16Array> {
    this.spoken.push(text);
    const level = 1000 + 100 * this.spoken.length;
    const pcm = new Int16Array(160 * this.framesPerPrompt);
    for (let i = 0; i < pcm.length; i++) pcm[i] = i % 2 === 0 ? level : -level;
    // Two chunks, like two sentences.
    yield pcm.subarray(0, pcm.length / 2);
    yield pcm.subarray(pcm.length / 2);
  }
  async warm(): Promise<void> {}
}

/** A dialog that follows a list of actions and records its inputs. */
export class ListDialog implements DialogSession {
  inputs: TurnInput[] = [];
  constructor(private readonly actions: BotAction[]) {}
  async begin(): Promise<BotAction> {
    return this.actions.shift() ?? { kind: 'end', disposition: 'done' };
  }
  async next(input: TurnInput): Promise<BotAction> {
    this.inputs.push(input);
    return this.actions.shift() ?? { kind: 'end', disposition: 'done' };
  }
  expectedAnswers(): string[] {
    return ['是的', '不是'];
  }
  variables(): Record<string, string> {
    return {};
  }
}

export const settle = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Caller audio of a constant level (loud = a person, quiet = echo). */
export function level(value: number): Int16Array {
  const pcm = new Int16Array(160);
  for (let i = 0; i < pcm.length; i++) pcm[i] = i % 2 === 0 ? value : -value;
  return pcm;
}
