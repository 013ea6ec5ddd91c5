import type { AmdVerdict, Lang } from '../../core/index.ts';
import type { CallSpeech, SpeechEngine } from '../types.ts';
import { BeepDetector, type BeepEvent } from './beep-detector.ts';
import { AMD_RULES, matchRules, spokenUnits } from './keyword-rules.ts';

export interface AmdOptions {
  speech: Pick<SpeechEngine, 'createCall'>;
  callId: string;
  lang: Lang;
  sampleRate: 8000 | 16000;
  /** Longest detection window after answer; a verdict is always given by then (default 4000 ms). */
  windowMs?: number;
  /** Continuous speech at least this long is a recording (default 1500 ms). */
  longGreetingMs?: number;
  /** A first utterance up to this long followed by a pause is a person (default 1450 ms). */
  shortGreetingMaxMs?: number;
  /** The pause after a short greeting that makes it a person's (default 600 ms). */
  afterGreetingSilenceMs?: number;
  /** Spoken units (Han characters for zh, words for en) in the first utterance above which it is a recording. */
  maxHumanUnits?: number;
  onError?: (err: Error) => void;
}

export interface BeepWait {
  beep?: BeepEvent;
  /** How the wait ended: the beep, the greeting ending in silence without a beep, or the wait cap. */
  reason: 'beep' | 'silence' | 'timeout';
  atMs: number;
}

const DEFAULT_MAX_HUMAN_UNITS: Record<Lang, number> = { zh: 7, en: 5 };

/**
 * Who answered, from the first seconds of the callee's audio: a person (喂 / 您好 and a pause), a machine
 * (voicemail greeting: long uninterrupted speech, voicemail phrases, a beep) or a carrier's AI assistant
 * (您好，我是机主的智能助理...). Runs beside the dialog on the same caller frames and never delays it.
 * Times are ms after answer on the caller's audio clock (20 ms per frame fed).
 */
export class AmdDetector {
  readonly verdict: Promise<AmdVerdict>;
  private resolveVerdict!: (v: AmdVerdict) => void;
  private readonly o: Required<Omit<AmdOptions, 'onError' | 'speech'>> & Pick<AmdOptions, 'onError' | 'speech'>;
  private listener: CallSpeech | undefined;
  private readonly beeps: BeepDetector;
  private nowMs = 0;
  private decided: AmdVerdict | undefined;
  private closed = false;
  /** The greeting: speech from the first onset until the first pause of `afterGreetingSilenceMs`. */
  private greetingStartMs: number | undefined;
  private firstUtterance: { startMs: number; endMs: number } | undefined;
  private lastSpeechEndMs: number | undefined;
  private speaking = false;
  private readonly finals: string[] = [];
  private partial = '';
  private beep: BeepEvent | undefined;
  private beepWaiters: Array<{ untilMs: number; resolve: (w: BeepWait) => void }> = [];

  constructor(opts: AmdOptions) {
    this.o = {
      windowMs: 4000,
      longGreetingMs: 1500,
      shortGreetingMaxMs: 1450,
      afterGreetingSilenceMs: 600,
      maxHumanUnits: DEFAULT_MAX_HUMAN_UNITS[opts.lang],
      ...opts,
    };
    this.verdict = new Promise((resolve) => (this.resolveVerdict = resolve));
    this.beeps = new BeepDetector({ sampleRate: opts.sampleRate });
    try {
      this.listener = opts.speech.createCall(`${opts.callId}-amd`, opts.sampleRate, opts.lang);
      this.listener.on('speechStart', (e) => this.onSpeechStart(e.atMs));
      this.listener.on('speechEnd', (e) => this.onSpeechEnd(e.atMs));
      this.listener.on('partial', (e) => {
        this.partial = e.text;
        this.onText(e.atMs);
      });
      this.listener.on('final', (e) => {
        if (e.text) this.finals.push(e.text);
        this.partial = '';
        this.onText(e.atMs);
      });
    } catch (err) {
      this.listener = undefined;
      opts.onError?.(err as Error);
    }
  }

  get transcript(): string {
    return [...this.finals, this.partial].filter(Boolean).join(this.o.lang === 'zh' ? '' : ' ');
  }

  /** Ms of callee audio seen since answer. */
  get audioMs(): number {
    return this.nowMs;
  }

  /** One 20 ms frame of callee audio (PCM16 at `sampleRate`). Not retained. */
  push(pcm: Int16Array): void {
    if (this.closed) return;
    const beep = this.beeps.push(pcm);
    try {
      this.listener?.push(pcm);
    } catch (err) {
      this.listener?.close();
      this.listener = undefined;
      this.o.onError?.(err as Error);
    }
    this.nowMs += (pcm.length * 1000) / this.o.sampleRate;
    if (beep) this.onBeep(beep);
    this.onClock();
  }

  /**
   * Ends detection now when the audio clock cannot: a far end that stops sending RTP (silence suppression)
   * stops the clock, so the caller arms a timer for the window and calls this.
   */
  expire(): void {
    if (!this.decided) this.decide({ kind: 'unknown', reason: this.greetingStartMs !== undefined ? 'timeout' : 'silence', atMs: this.nowMs });
    for (const w of this.beepWaiters.splice(0)) w.resolve({ reason: 'timeout', atMs: this.nowMs });
  }

  /**
   * After a machine verdict: resolves at the beep, or once the greeting has ended and `silenceMs` passed
   * without one (not every mailbox beeps), or after `maxMs` more audio.
   */
  waitForBeep(opts: { silenceMs?: number; maxMs?: number } = {}): Promise<BeepWait> {
    if (this.beep) return Promise.resolve({ beep: this.beep, reason: 'beep', atMs: this.beep.atMs });
    const silenceMs = opts.silenceMs ?? 1500;
    return new Promise((resolve) => {
      this.beepWaiters.push({ untilMs: this.nowMs + (opts.maxMs ?? 20_000), resolve });
      this.silenceForBeep = silenceMs;
    });
  }

  private silenceForBeep = 1500;

  close(): void {
    if (this.closed) return;
    this.expire();
    this.closed = true;
    this.listener?.close();
    this.listener = undefined;
  }

  private onSpeechStart(atMs: number): void {
    this.speaking = true;
    this.greetingStartMs ??= atMs;
  }

  private onSpeechEnd(atMs: number): void {
    this.speaking = false;
    this.lastSpeechEndMs = atMs;
  }

  private onText(atMs: number): void {
    if (this.decided) return;
    const hit = matchRules(this.transcript, this.o.lang, AMD_RULES);
    if (hit) {
      this.decide({ kind: hit.kind, reason: 'keyword', atMs: Math.max(atMs, 0), evidence: hit.phrase, transcript: this.transcript });
      return;
    }
    // Recordings read whole sentences without stopping; people answer with a word or two.
    if (!this.firstUtterance && spokenUnits(this.transcript, this.o.lang) > this.o.maxHumanUnits) {
      this.decide({ kind: 'machine', reason: 'long_greeting', atMs: this.nowMs, evidence: `${spokenUnits(this.transcript, this.o.lang)} units before a pause`, transcript: this.transcript });
    }
  }

  private onBeep(beep: BeepEvent): void {
    this.beep = beep;
    if (!this.decided) this.decide({ kind: 'machine', reason: 'beep', atMs: beep.atMs, evidence: `${beep.frequency} Hz beep`, beepAtMs: beep.startMs });
    for (const w of this.beepWaiters.splice(0)) w.resolve({ beep, reason: 'beep', atMs: beep.atMs });
  }

  private onClock(): void {
    const now = this.nowMs;
    if (this.beepWaiters.length > 0) {
      const silentSince = this.speaking ? undefined : this.lastSpeechEndMs;
      for (const w of [...this.beepWaiters]) {
        const reason = silentSince !== undefined && now - silentSince >= this.silenceForBeep ? 'silence' : now >= w.untilMs ? 'timeout' : undefined;
        if (reason) {
          this.beepWaiters.splice(this.beepWaiters.indexOf(w), 1);
          w.resolve({ reason, atMs: now });
        }
      }
    }
    if (this.decided) return;
    // Short gaps (commas, breaths) do not end a greeting; a pause of afterGreetingSilenceMs does.
    if (!this.firstUtterance && this.greetingStartMs !== undefined && !this.speaking && this.lastSpeechEndMs !== undefined) {
      if (now - this.lastSpeechEndMs >= this.o.afterGreetingSilenceMs) this.firstUtterance = { startMs: this.greetingStartMs, endMs: this.lastSpeechEndMs };
    }
    const greetingEnd = this.speaking ? now : (this.lastSpeechEndMs ?? now);
    if (!this.firstUtterance && this.greetingStartMs !== undefined && greetingEnd - this.greetingStartMs >= this.o.longGreetingMs) {
      this.decide({ kind: 'machine', reason: 'long_greeting', atMs: now, evidence: `${Math.round(greetingEnd - this.greetingStartMs)} ms of speech without a pause`, transcript: this.transcript || undefined });
      return;
    }
    const first = this.firstUtterance;
    if (first && !this.speaking && now - first.endMs >= this.o.afterGreetingSilenceMs) {
      const length = first.endMs - first.startMs;
      const units = spokenUnits(this.transcript, this.o.lang);
      if (length <= this.o.shortGreetingMaxMs && units <= this.o.maxHumanUnits) {
        this.decide({ kind: 'human', reason: 'short_greeting', atMs: now, evidence: `${Math.round(length)} ms greeting, then a pause`, transcript: this.transcript || undefined });
        return;
      }
      this.decide({ kind: 'machine', reason: 'long_greeting', atMs: now, evidence: `${Math.round(length)} ms greeting`, transcript: this.transcript || undefined });
      return;
    }
    if (now >= this.o.windowMs) {
      this.decide({ kind: 'unknown', reason: this.greetingStartMs !== undefined ? 'timeout' : 'silence', atMs: now, transcript: this.transcript || undefined });
    }
  }

  private decide(v: AmdVerdict): void {
    if (this.decided) return;
    if (v.transcript === undefined || v.transcript === '') delete v.transcript;
    this.decided = v;
    this.resolveVerdict(v);
  }
}
