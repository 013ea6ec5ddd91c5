import type { EventEmitter } from 'node:events';
import type { Lang } from '../core/index.ts';
import type { EndOfTurnCue, TurnContext } from './end-of-turn.ts';

/** Events of one call's listening side (VAD + endpointer + streaming ASR). Times are ms on the call's audio clock
 * (0 = first caller frame pushed, advancing 20 ms per frame), so they are exact and independent of event-loop delay. */
export interface CallSpeechEvents {
  /** VAD heard speech begin (already corrected back by the VAD's detection delay). */
  speechStart: [e: { atMs: number }];
  /** A partial transcript of the utterance so far. */
  partial: [e: { text: string; atMs: number }];
  /** VAD heard speech stop (raw, before the endpointer's trailing-silence decision). */
  speechEnd: [e: { atMs: number }];
  /**
   * The endpointer decided the caller's turn is over: final transcript of the utterance.
   * `speechEndMs` is when the caller actually stopped; `atMs` when the decision was taken.
   * `text` may be empty (noise that the VAD took for speech).
   */
  final: [e: FinalTranscript];
}

export interface FinalTranscript {
  text: string;
  speechStartMs: number;
  speechEndMs: number;
  atMs: number;
  earlyEndpoint: boolean;
  /** Dynamic end of turn: the silence waited and the cues that chose it. */
  waitMs?: number;
  cues?: EndOfTurnCue[];
  /** Mean token confidence (0..1) when the recognizer reports per-token probabilities; absent otherwise. */
  confidence?: number;
  /**
   * The echo guard called every frame of the utterance the bot's own echo: whatever the text (with
   * `speech.asr.skipEcho` off it is decoded, often into words of the prompt), it is not the caller talking.
   */
  botEcho?: true;
  /** The text is the two-pass final's (speech.asr.secondPass): an offline model decoded the whole utterance. */
  secondPass?: true;
}

/** One call's listening side. Feed it caller frames; it emits speech events. */
export interface CallSpeech extends EventEmitter<CallSpeechEvents> {
  /**
   * Feed one 20 ms frame of caller PCM16 at the rate given when created. Not retained. `echo`: the echo guard's
   * verdict on this frame. true: the bot's own echo on a learned path (while an utterance has been nothing else,
   * the ASR does not decode it, and an utterance of such frames is marked `botEcho`); false: not echo; undefined:
   * not known (no path learned yet, or no guard).
   */
  push(pcm: Int16Array, echo?: boolean): void;
  /** Answers the current dialog step expects: the endpointer ends the turn early when the transcript matches one. */
  setExpected(phrases: string[]): void;
  /** What the step waiting for the caller expects (kind of answer, phrases): drives the dynamic end of turn. */
  setTurnContext?(context: TurnContext): void;
  /** Whether the VAD currently hears speech. */
  readonly speaking: boolean;
  /** An utterance is open or its final transcript is still being decoded (a stream ending now would lose it). */
  readonly busy?: boolean;
  /** Ms of caller audio in utterances the ASR did not decode because it was the bot's echo. */
  readonly echoSkippedMs?: number;
  /** Ms of audio pushed so far (the call's audio clock). */
  readonly nowMs: number;
  close(): void;
}

/** Creates CallSpeech instances over shared engines (one recognizer and VAD model, many calls). */
export interface SpeechEngine {
  createCall(callId: string, sampleRate: 8000 | 16000, lang: Lang): CallSpeech;
  /** ASR real-time factor over the last decode batches (compute time / audio time), for metrics. */
  asrRealTimeFactor(): number;
  /**
   * How far the shared recognizer is behind the callers: smoothed age of the oldest caller audio not decoded yet, ms.
   * Admission control refuses new calls over `server.maxAsrBacklogMs`. Optional: engines without a shared
   * recognizer have no backlog.
   */
  asrBacklogMs?(): number;
  /** Share of wall time the recognizer spent decoding over the last 10 s (0..1); the admission ramp grows under it. */
  asrBusyFraction?(): number;
  close(): Promise<void>;
}

/** A speech synthesizer. */
export interface TtsEngine {
  readonly name: string;
  /** Native output rate of the engine. */
  readonly sampleRate: number;
  /** Synthesize one sentence to PCM16 at `sampleRate`. */
  synthesize(text: string, lang: Lang): Promise<Int16Array>;
  close(): Promise<void>;
}

/** TTS as the turn loop uses it: sentence by sentence, resampled to the call's rate, static prompts cached. */
export interface Speaker {
  /** Yields PCM16 chunks at `rate`, one sentence at a time, so the first audio can leave before the rest is ready. */
  speak(text: string, lang: Lang, rate: 8000 | 16000): AsyncIterable<Int16Array>;
  /** Synthesize ahead of time (static prompts), so the first speak() of it is instant. */
  warm(text: string, lang: Lang, rate: 8000 | 16000): Promise<void>;
}
