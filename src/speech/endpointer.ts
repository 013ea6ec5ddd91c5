/**
 * Decides when the caller's turn is over, on the call's audio clock. Raw VAD segments separated by less than the
 * trailing silence are one utterance; the turn ends once the caller has been silent for `trailingSilenceMs`, counted
 * from when they actually stopped (not from when the VAD noticed). When the partial transcript already matches an
 * answer the dialog expects, a much shorter silence suffices: that is where the reply latency is won.
 */
import { ExpectedAnswers } from './endpointer-match.ts';

export interface EndpointerOptions {
  trailingSilenceMs: number;
  expectedTrailingSilenceMs: number;
  maxUtteranceMs: number;
}

export type EndpointReason = 'silence' | 'expected' | 'maxUtterance';

export interface EndpointDecision {
  speechStartMs: number;
  speechEndMs: number;
  /** Audio-clock time of the decision. */
  atMs: number;
  reason: EndpointReason;
}

export class Endpointer {
  private readonly expected = new ExpectedAnswers();
  private active = false;
  private speaking = false;
  private startMs = 0;
  private lastEndMs = 0;
  private partialText = '';
  private partialMatches = false;

  constructor(private readonly o: EndpointerOptions) {}

  get inUtterance(): boolean {
    return this.active;
  }

  get utteranceStartMs(): number {
    return this.startMs;
  }

  setExpected(phrases: readonly string[]): void {
    this.expected.set(phrases);
    this.partialMatches = this.expected.matches(this.partialText);
  }

  /** VAD start edge. Returns true when this begins a new utterance (not a resumption after a short pause). */
  speechStarted(atMs: number): boolean {
    this.speaking = true;
    if (this.active) return false;
    this.active = true;
    this.startMs = atMs;
    this.lastEndMs = atMs;
    this.partialText = '';
    this.partialMatches = false;
    return true;
  }

  speechEnded(atMs: number): void {
    this.speaking = false;
    if (this.active) this.lastEndMs = Math.max(atMs, this.startMs);
  }

  /** Latest partial transcript of the current utterance. */
  partial(text: string): void {
    if (!this.active) return;
    this.partialText = text;
    this.partialMatches = this.expected.matches(text);
  }

  /** Checked on every frame (and after each partial) with the audio clock; returns the decision once. */
  poll(nowMs: number): EndpointDecision | undefined {
    if (!this.active) return undefined;
    if (nowMs - this.startMs >= this.o.maxUtteranceMs) {
      const end = this.speaking ? nowMs : this.lastEndMs;
      return this.decide(end, nowMs, 'maxUtterance');
    }
    if (this.speaking) return undefined;
    const silence = nowMs - this.lastEndMs;
    if (this.partialMatches && silence >= this.o.expectedTrailingSilenceMs) return this.decide(this.lastEndMs, nowMs, 'expected');
    if (silence >= this.o.trailingSilenceMs) return this.decide(this.lastEndMs, nowMs, 'silence');
    return undefined;
  }

  private decide(speechEndMs: number, atMs: number, reason: EndpointReason): EndpointDecision {
    this.active = false;
    this.partialText = '';
    this.partialMatches = false;
    return { speechStartMs: this.startMs, speechEndMs, atMs, reason };
  }
}
