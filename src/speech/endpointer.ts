/**
 * Decides when the caller's turn is over, on the call's audio clock. Raw VAD segments separated by less than the
 * trailing silence are one utterance; the turn ends once the caller has been silent for `trailingSilenceMs`, counted
 * from when they actually stopped (not from when the VAD noticed). When the partial transcript already matches an
 * answer the dialog expects, a much shorter silence suffices: that is where the reply latency is won.
 */
import { ExpectedAnswers, normalizeForMatch } from './endpointer-match.ts';
import { endOfTurnWait, UNKNOWN_TURN_CONTEXT, type EndOfTurnCue, type EndOfTurnDecision, type EndOfTurnOptions, type ProsodyEnd, type TurnContext } from './end-of-turn.ts';

export interface EndpointerOptions {
  trailingSilenceMs: number;
  expectedTrailingSilenceMs: number;
  maxUtteranceMs: number;
  /**
   * `fixed`: wait `trailingSilenceMs`, or `expectedTrailingSilenceMs` once the transcript matches an expected answer.
   * `dynamic`: the end-of-turn decision (end-of-turn.ts) picks the wait between `floorMs` and `capMs`, with
   * `trailingSilenceMs` as its base. Default `fixed` when absent (the config's default is `dynamic`).
   */
  mode?: 'fixed' | 'dynamic';
  floorMs?: number;
  capMs?: number;
}

/** `echo`: the utterance was the bot's own echo from end to end, ended with the VAD's end (nothing to wait for). */
export type EndpointReason = 'silence' | 'expected' | 'maxUtterance' | 'echo';

/**
 * How long after the VAD's speech end the streaming ASR may still add words it heard before that end (its chunk
 * plus decoding lag; measured up to ~300 ms with the tiny model, on the audio clock). Words that appear later than
 * this were spoken after the end: voice the VAD missed.
 */
const ASR_TAIL_MS = 400;

export interface EndpointDecision {
  speechStartMs: number;
  speechEndMs: number;
  /** Audio-clock time of the decision. */
  atMs: number;
  reason: EndpointReason;
  /** The trailing silence that was waited for, and the cues that chose it (dynamic mode). */
  waitMs?: number;
  cues?: EndOfTurnCue[];
}

/** What the endpointer may ask of the audio side: how the voice ended, and an audio turn model's opinion. */
export interface EndpointerAudioCues {
  prosody(): ProsodyEnd;
  /** Probability that the turn is complete, if an audio turn model has judged the utterance so far. */
  modelCompleteProbability?(): number | undefined;
  /** The line is loud again, not yet confirmed as speech by the VAD (it confirms ~250 ms after an onset). */
  voiceResuming?(): boolean;
  /**
   * When the utterance's voice last ended by the line's level (undefined: not known). The VAD reports an end only
   * 150-300 ms after it (its probability decays, then its minimum silence), longer than an expected answer's wait.
   */
  voiceEndMs?(): number | undefined;
}

/**
 * How long past its wait a turn is held open while the line is loud again and the VAD has not yet said whether it
 * is speech: a caller who goes on after a 900 ms pause is confirmed by the VAD only ~250 ms later, when a 1.2 s
 * wait has already run out. A cough or a door costs at most this much latency.
 */
const RESUME_GRACE_MS = 300;

export class Endpointer {
  private readonly expected = new ExpectedAnswers();
  private active = false;
  private speaking = false;
  private startMs = 0;
  private lastEndMs = 0;
  private partialText = '';
  private partialMatches = false;
  private partialAtEnd = false;
  private partialHumAfter = false;
  /** Whether the latest partial holds the value the step asks for (undefined: it asks for none). */
  private partialHoldsValue: boolean | undefined;
  /** Content length (normalized) of the latest partial, to see the transcript grow. */
  private partialContent = 0;
  /** The last voice of the utterance is known only from the transcript growing: the VAD did not hear it. */
  private heardByAsrOnly = false;
  /**
   * Where the sound began that restarted this pause (soundInPause; once per pause), undefined while none has: the same
   * sound, grown by a syllable, moves the restart to its new end.
   */
  private restartSoundStartMs: number | undefined;
  private context: TurnContext = UNKNOWN_TURN_CONTEXT;
  private readonly eot: EndOfTurnOptions | undefined;
  /**
   * The end-of-turn decision is asked for on every frame of a pause, but its inputs change only with a partial, the
   * turn context, the utterance's bounds or the voice's cues: the last one is kept with what it was made from, so a
   * pause costs a few comparisons per frame, not the transcript's regexes and strings.
   */
  private transcriptVersion = 0;
  private lastDecision:
    | { version: number; startMs: number; endMs: number; asrOnly: boolean; prosody: ProsodyEnd; model: number | undefined; decision: EndOfTurnDecision }
    | undefined;

  constructor(
    private readonly o: EndpointerOptions,
    private readonly audio?: EndpointerAudioCues,
  ) {
    this.eot =
      o.mode === 'dynamic'
        ? { floorMs: o.floorMs ?? 180, capMs: o.capMs ?? 1200, baseMs: o.trailingSilenceMs, expectedMs: o.expectedTrailingSilenceMs }
        : undefined;
  }

  get inUtterance(): boolean {
    return this.active;
  }

  get utteranceStartMs(): number {
    return this.startMs;
  }

  /** When the caller's voice last ended, while they are silent inside an utterance; undefined otherwise. */
  get silentSinceMs(): number | undefined {
    return this.active && !this.speaking ? this.lastEndMs : undefined;
  }

  setExpected(phrases: readonly string[]): void {
    this.setContext({ expects: 'unknown', phrases });
  }

  /** What the dialog step now waiting for the caller asked, and which answers it expects. */
  setContext(context: TurnContext): void {
    this.context = context;
    this.expected.set(context.phrases);
    this.matchPartial();
  }

  private matchPartial(): void {
    this.transcriptVersion++;
    const m = this.expected.match(this.partialText);
    this.partialMatches = m.matches;
    this.partialAtEnd = m.atEnd;
    this.partialHumAfter = m.humAfter;
    this.partialHoldsValue = this.context.holdsValue?.(this.partialText);
  }

  /** VAD start edge. Returns true when this begins a new utterance (not a resumption after a short pause). */
  speechStarted(atMs: number): boolean {
    this.speaking = true;
    this.restartSoundStartMs = undefined;
    if (this.active) return false;
    this.active = true;
    this.startMs = atMs;
    this.lastEndMs = atMs;
    this.resetPartial();
    return true;
  }

  speechEnded(atMs: number): void {
    this.speaking = false;
    if (!this.active) return;
    // The VAD heard this voice after all: its end is the sure one.
    this.lastEndMs = Math.max(atMs, this.startMs);
    this.heardByAsrOnly = false;
  }

  /**
   * Latest partial transcript of the current utterance, decoded from audio up to `atMs`. Silero misses some short
   * words after a pause (是的 after 嗯 and 800 ms of silence, at about half the frame phases here), and the
   * silence counted from the last VAD end would then run out while the caller is talking. A transcript that grows
   * well after that end is voice: the silence restarts at the partial, and its end is only as sure as the ASR.
   */
  partial(text: string, atMs?: number): void {
    if (!this.active) return;
    const content = normalizeForMatch(text).length;
    const grew = content > this.partialContent;
    this.partialText = text;
    this.partialContent = content;
    this.matchPartial();
    if (grew && atMs !== undefined && !this.speaking && atMs - this.lastEndMs > ASR_TAIL_MS) {
      this.lastEndMs = atMs;
      this.heardByAsrOnly = true;
    }
  }

  /**
   * The line was loud for a syllable inside the pause, and the VAD did not call it speech: it wants 200 ms of voice
   * it scores as speech (speech.vad.minSpeechMs), and a short "uh," or "and," between two pauses can fall short.
   * The caller is still making sounds, so the pause restarts at its end; waiting from the voice before it cut
   * "um, uh, yes" in the silence before "yes". Once per pause, so that a noisy line cannot hold a turn open sound
   * after sound: the VAD hearing speech again re-arms it. The same sound (the same start) reported again with a
   * later end is a word whose next syllable came after a dip: the restart moves to its end.
   */
  soundInPause(startMs: number, endMs: number): void {
    if (!this.active || this.speaking) return;
    if (this.restartSoundStartMs !== undefined) {
      if (startMs === this.restartSoundStartMs && endMs > this.lastEndMs) this.lastEndMs = endMs;
      return;
    }
    if (startMs <= this.lastEndMs) return;
    this.lastEndMs = endMs;
    this.restartSoundStartMs = startMs;
  }

  /** Checked on every frame (and after each partial) with the audio clock; returns the decision once. */
  poll(nowMs: number): EndpointDecision | undefined {
    if (!this.active) return undefined;
    if (nowMs - this.startMs >= this.o.maxUtteranceMs) {
      const end = this.speaking ? nowMs : this.lastEndMs;
      return this.decide(end, nowMs, 'maxUtterance');
    }
    if (this.speaking) return this.eot ? this.endBeforeVad(nowMs, this.eot) : undefined;
    const silence = nowMs - this.lastEndMs;
    if (this.eot) {
      // Below the floor nothing can end the turn: skip the cue work on most frames of a pause.
      if (silence < this.eot.floorMs) return undefined;
      const d = this.endOfTurn(this.lastEndMs, this.heardByAsrOnly, this.eot);
      if (silence < d.waitMs) return undefined;
      if (silence < d.waitMs + RESUME_GRACE_MS && this.audio?.voiceResuming?.()) return undefined;
      const cues = this.restartSoundStartMs !== undefined ? [...d.cues, 'soundInPause' as const] : d.cues;
      const decision = this.decide(this.lastEndMs, nowMs, d.early ? 'expected' : 'silence');
      return { ...decision, waitMs: d.waitMs, cues };
    }
    if (this.partialMatches && !this.heardByAsrOnly && silence >= this.o.expectedTrailingSilenceMs) return this.decide(this.lastEndMs, nowMs, 'expected');
    if (silence >= this.o.trailingSilenceMs) return this.decide(this.lastEndMs, nowMs, 'silence');
    return undefined;
  }

  private endOfTurn(endMs: number, heardByAsrOnly: boolean, eot: EndOfTurnOptions): EndOfTurnDecision {
    const prosody = this.audio?.prosody() ?? 'unknown';
    const model = this.audio?.modelCompleteProbability?.();
    const last = this.lastDecision;
    if (
      last !== undefined &&
      last.version === this.transcriptVersion &&
      last.startMs === this.startMs &&
      last.endMs === endMs &&
      last.asrOnly === heardByAsrOnly &&
      last.prosody === prosody &&
      last.model === model
    )
      return last.decision;
    const decision = endOfTurnWait(
      {
        text: this.partialText,
        matchesExpected: this.partialMatches,
        expectedAtEnd: this.partialAtEnd,
        humAfterAnswer: this.partialHumAfter,
        valueHeld: this.partialHoldsValue,
        context: this.context,
        prosody,
        speechMs: endMs - this.startMs,
        endHeardByAsrOnly: heardByAsrOnly,
        modelCompleteProbability: model,
      },
      eot,
    );
    this.lastDecision = { version: this.transcriptVersion, startMs: this.startMs, endMs, asrOnly: heardByAsrOnly, prosody, model, decision };
    return decision;
  }

  /**
   * An expected answer's wait (200-300 ms) is shorter than the VAD's lag in reporting the end, so waiting for the
   * VAD made that lag the reply's latency. While the VAD still reports speech, the line's level tells when the voice
   * stopped; only a decision that the expected answer cut short is taken on it. Every longer wait ends after the
   * VAD has spoken.
   */
  private endBeforeVad(nowMs: number, eot: EndOfTurnOptions): EndpointDecision | undefined {
    const voiceEnd = this.audio?.voiceEndMs?.();
    if (voiceEnd === undefined || voiceEnd <= Math.max(this.startMs, this.lastEndMs)) return undefined;
    const silence = nowMs - voiceEnd;
    if (silence < eot.floorMs || !this.partialMatches) return undefined;
    const d = this.endOfTurn(voiceEnd, false, eot);
    if (!d.early || silence < d.waitMs) return undefined;
    const decision = this.decide(voiceEnd, nowMs, 'expected');
    return { ...decision, waitMs: d.waitMs, cues: [...d.cues, 'levelEnd'] };
  }

  /**
   * Ends the utterance now, at its last speech end, if the VAD is not in speech: its audio was the bot's echo alone,
   * so no trailing silence can tell anything, and left open it would take in the caller's answer to the prompt.
   */
  endAsEcho(nowMs: number): EndpointDecision | undefined {
    if (!this.active || this.speaking) return undefined;
    return this.decide(this.lastEndMs, nowMs, 'echo');
  }

  private resetPartial(): void {
    this.transcriptVersion++;
    this.partialText = '';
    this.partialMatches = false;
    this.partialAtEnd = false;
    this.partialHumAfter = false;
    this.partialHoldsValue = this.context.holdsValue ? false : undefined;
    this.partialContent = 0;
    this.heardByAsrOnly = false;
    this.restartSoundStartMs = undefined;
  }

  private decide(speechEndMs: number, atMs: number, reason: EndpointReason): EndpointDecision {
    this.active = false;
    this.resetPartial();
    return { speechStartMs: this.startMs, speechEndMs, atMs, reason };
  }
}
