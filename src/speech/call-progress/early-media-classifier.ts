import type { CallProgressVerdict, EarlyMediaHeard, EarlyMediaMonitor, Lang } from '../../core/index.ts';
import type { CallSpeech, SpeechEngine } from '../types.ts';
import { matchRules, PROGRESS_RULES } from './keyword-rules.ts';
import { SitDetector, type SitEvent } from './sit-detector.ts';
import { ToneDetector, type ToneEvent } from './tone-detector.ts';

export interface EarlyMediaClassifierOptions {
  /** The call's own listening side: the same VAD and ASR the dialog uses. */
  speech: Pick<SpeechEngine, 'createCall'>;
  callId: string;
  lang: Lang;
  /** Called when the ASR or the tone detector failed; the classifier then only reports causes. */
  onError?: (err: Error) => void;
}

/**
 * Listens to an unanswered outbound call: carrier announcements through VAD + ASR + keyword rules, progress
 * tones through Goertzel + cadence. Resolves `verdict` on the first decisive evidence (空号, 关机, busy tone, ...);
 * ringback (tone or colour ringback music) only updates what was heard, because the call may still be answered.
 * All times are on the early-media audio clock (20 ms per frame fed).
 */
export class EarlyMediaClassifier implements EarlyMediaMonitor {
  readonly verdict: Promise<CallProgressVerdict>;
  private resolveVerdict!: (v: CallProgressVerdict) => void;
  private readonly o: EarlyMediaClassifierOptions;
  private listener: CallSpeech | undefined;
  private tones: ToneDetector | undefined;
  private sit: SitDetector | undefined;
  private rate = 0;
  private nowMs = 0;
  private decided = false;
  private stopped = false;
  private heard: EarlyMediaHeard = 'none';
  private speechMs = 0;
  private speechStartMs: number | undefined;
  private readonly finals: string[] = [];
  private partial = '';

  constructor(opts: EarlyMediaClassifierOptions) {
    this.o = opts;
    this.verdict = new Promise((resolve) => (this.resolveVerdict = resolve));
  }

  onSignal(signal: 'ringing' | 'early_media'): void {
    void signal; // ringing without media carries nothing to classify; the cause decides if it fails
  }

  onAudio(pcm: Int16Array, sampleRate: number): void {
    if (this.stopped || this.decided) return;
    if (sampleRate !== this.rate) this.open(sampleRate);
    const tone = this.tones!.push(pcm);
    if (tone) this.onTone(tone);
    const sit = this.sit!.push(pcm);
    if (sit) this.onSit(sit);
    try {
      this.listener?.push(pcm);
    } catch (err) {
      this.failListener(err as Error);
    }
    this.nowMs += (pcm.length * 1000) / sampleRate;
  }

  stop(): EarlyMediaHeard {
    this.stopped = true;
    this.listener?.close();
    this.listener = undefined;
    return this.summary();
  }

  /** What the ASR heard so far. */
  get transcript(): string {
    return [...this.finals, this.partial].filter(Boolean).join(' ');
  }

  private open(rate: number): void {
    if (rate !== 8000 && rate !== 16000) {
      this.o.onError?.(new Error(`early media at ${rate} Hz is not supported`));
      return;
    }
    this.listener?.close();
    this.rate = rate;
    this.tones = new ToneDetector({ sampleRate: rate });
    this.sit = new SitDetector({ sampleRate: rate });
    try {
      const listener = this.o.speech.createCall(`${this.o.callId}-progress`, rate, this.o.lang);
      listener.on('speechStart', (e) => (this.speechStartMs = e.atMs));
      listener.on('speechEnd', (e) => {
        if (this.speechStartMs !== undefined) this.speechMs += e.atMs - this.speechStartMs;
        this.speechStartMs = undefined;
      });
      listener.on('partial', (e) => {
        this.partial = e.text;
        this.onText(e.atMs);
      });
      listener.on('final', (e) => {
        if (e.text) this.finals.push(e.text);
        this.partial = '';
        this.onText(e.atMs);
      });
      this.listener = listener;
    } catch (err) {
      this.failListener(err as Error);
    }
  }

  private onText(atMs: number): void {
    const hit = matchRules(this.transcript, this.o.lang, PROGRESS_RULES);
    if (!hit) return;
    this.heard = 'announcement';
    this.decide({ kind: hit.kind, source: 'announcement', atMs, evidence: hit.phrase, transcript: this.transcript, heard: 'announcement' });
  }

  private onTone(tone: ToneEvent): void {
    if (tone.tone === 'ringback') {
      if (this.heard === 'none') this.heard = 'ringback_tone';
      return;
    }
    this.heard = tone.tone === 'busy' ? 'busy_tone' : 'congestion_tone';
    this.decide({
      kind: tone.tone === 'busy' ? 'busy' : 'unreachable',
      source: 'tone',
      atMs: tone.atMs,
      evidence: `${tone.tone} tone ${tone.cadence}`,
      heard: this.heard,
    });
  }

  /** A special information tone: the announcement after it need not be read, the tone's encoding says enough. */
  private onSit(sit: SitEvent): void {
    this.heard = 'announcement';
    this.decide({ kind: sit.kind, source: 'tone', atMs: sit.atMs, evidence: `SIT ${sit.code} ${sit.segments}`, heard: 'announcement' });
  }

  private decide(v: CallProgressVerdict): void {
    if (this.decided || this.stopped) return;
    this.decided = true;
    if (!v.transcript) delete v.transcript;
    this.resolveVerdict(v);
  }

  private failListener(err: Error): void {
    this.listener?.close();
    this.listener = undefined;
    this.o.onError?.(err);
  }

  /**
   * Without a decisive verdict: speech the rules did not place is an announcement we could not read or colour
   * ringback (彩铃, often sung); tones without speech are plain ringback.
   */
  private summary(): EarlyMediaHeard {
    if (this.heard !== 'none') return this.heard;
    const speechMs = this.speechMs + (this.speechStartMs !== undefined ? this.nowMs - this.speechStartMs : 0);
    if (speechMs > 0) return this.transcript ? 'announcement' : 'colour_ringback';
    return 'none';
  }
}
