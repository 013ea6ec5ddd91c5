/**
 * One shared OnlineRecognizer, one stream per call, decoded together. Synchronous: it runs inside the ASR worker
 * thread (or inline when `speech.asr.worker` is off). Every decode pass collects the streams that have a full
 * model chunk and hands them to `decodeStreams` at once, which is several times cheaper per stream than one by one.
 */
import { loadSherpa, type SherpaOnlineRecognizer, type SherpaOnlineRecognizerConfig, type SherpaOnlineStream } from './models/sherpa-binding.ts';

const SAMPLE_RATE = 16000;

interface StreamState {
  /** Created at the first audio of an utterance and dropped at its end, so idle calls hold no stream. */
  stream: SherpaOnlineStream | undefined;
  text: string;
  /** Audio-clock ms of the last sample accepted. */
  atMs: number;
}

export interface AsrPartial {
  id: number;
  text: string;
  /** Audio-clock ms of the last sample the stream was given (not necessarily decoded: see `behind`). */
  atMs: number;
  /**
   * The stream still had full chunks to decode when this text was read: the text stops well before `atMs` (the
   * recognizer is behind), so its growth says nothing about voice near `atMs`.
   */
  behind?: boolean;
}

export interface DecodeCost {
  computeMs: number;
  /** Audio decoded, summed over streams. */
  audioMs: number;
}

/** Mean per-token probability from the recognizer's token log-probabilities; undefined when it gives none. */
export function tokenConfidence(logProbs: readonly number[] | undefined): number | undefined {
  if (!logProbs || logProbs.length === 0) return undefined;
  let sum = 0;
  for (const lp of logProbs) sum += Math.exp(Math.min(0, lp));
  return sum / logProbs.length;
}

export class AsrBatchDecoder {
  private readonly recognizer: SherpaOnlineRecognizer;
  private readonly streams = new Map<number, StreamState>();
  private readonly ready: SherpaOnlineStream[] = [];
  private readonly readyIds: number[] = [];
  private zeros = new Float32Array(0);
  private pendingAudioMs = 0;

  constructor(config: SherpaOnlineRecognizerConfig) {
    this.recognizer = new (loadSherpa().OnlineRecognizer)(config);
  }

  open(id: number): void {
    if (this.streams.has(id)) return;
    this.streams.set(id, { stream: undefined, text: '', atMs: 0 });
  }

  /** 16 kHz float samples ending at `atMs` on the call's audio clock. */
  accept(id: number, samples: Float32Array, atMs: number): void {
    const s = this.streams.get(id);
    if (!s || samples.length === 0) return;
    s.stream ??= this.recognizer.createStream();
    s.stream.acceptWaveform({ samples, sampleRate: SAMPLE_RATE });
    s.atMs = atMs;
    this.pendingAudioMs += (samples.length / SAMPLE_RATE) * 1000;
  }

  /** Decodes every stream with a full chunk, batched, until none has one; returns the changed partials' cost. */
  decodeReady(changed: AsrPartial[]): DecodeCost {
    const started = performance.now();
    while (this.decodeChunk(changed));
    // Every stream is through its audio now: the texts are current.
    for (const p of changed) p.behind = undefined;
    return this.takeCost(started);
  }

  /**
   * One batched pass: one model chunk of every stream that has one. `more`: some stream still has a full chunk.
   * A backlog decoded pass by pass lets whoever runs the decoder answer other work (a final) between passes.
   */
  decodePass(changed: AsrPartial[]): { cost: DecodeCost; more: boolean } {
    const started = performance.now();
    this.decodeChunk(changed);
    let more = false;
    for (const s of this.streams.values()) if (s.stream && this.recognizer.isReady(s.stream)) more = true;
    return { cost: this.takeCost(started), more };
  }

  /**
   * Ends the utterance: appends `paddingMs` of silence so the model flushes its last chunk, decodes it and returns
   * the text. The stream is then dropped rather than `reset()`: sherpa's reset keeps the model state and the
   * feature position, so the next utterance would decode differently depending on what came before; a fresh
   * stream makes every utterance's text depend on its own audio only.
   */
  finalize(id: number, paddingMs: number): { text: string; confidence?: number; cost: DecodeCost } {
    const started = performance.now();
    const s = this.streams.get(id);
    const stream = s?.stream;
    if (!s || !stream) return { text: '', cost: this.takeCost(started) };
    const padding = Math.round((paddingMs / 1000) * SAMPLE_RATE);
    if (padding > 0 && this.zeros.length < padding) this.zeros = new Float32Array(padding);
    if (padding > 0) {
      stream.acceptWaveform({ samples: this.zeros.subarray(0, padding), sampleRate: SAMPLE_RATE });
      this.pendingAudioMs += paddingMs;
    }
    while (this.recognizer.isReady(stream)) this.recognizer.decode(stream);
    const result = this.recognizer.getResult(stream);
    const text = result.text.trim();
    s.stream = undefined;
    s.text = '';
    return { text, confidence: tokenConfidence(result.ys_probs), cost: this.takeCost(started) };
  }

  close(id: number): void {
    this.streams.delete(id);
  }

  /** Calls with an utterance being decoded. */
  get activeStreams(): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.stream) n++;
    return n;
  }

  /** Decodes one chunk of every stream that has a full one, batched; false when none had. */
  private decodeChunk(changed: AsrPartial[]): boolean {
    this.ready.length = 0;
    this.readyIds.length = 0;
    for (const [id, s] of this.streams) {
      if (s.stream && this.recognizer.isReady(s.stream)) {
        this.ready.push(s.stream);
        this.readyIds.push(id);
      }
    }
    if (this.ready.length === 0) return false;
    this.recognizer.decodeStreams(this.ready);
    for (const id of this.readyIds) this.collect(id, changed);
    return true;
  }

  private collect(id: number, changed: AsrPartial[]): void {
    const s = this.streams.get(id);
    if (!s?.stream) return;
    const text = this.recognizer.getResult(s.stream).text.trim();
    if (text === s.text) return;
    s.text = text;
    const prior = changed.findIndex((p) => p.id === id);
    if (prior >= 0) changed.splice(prior, 1);
    const partial: AsrPartial = { id, text, atMs: s.atMs };
    if (this.recognizer.isReady(s.stream)) partial.behind = true;
    changed.push(partial);
  }

  private takeCost(started: number): DecodeCost {
    const cost = { computeMs: performance.now() - started, audioMs: this.pendingAudioMs };
    this.pendingAudioMs = 0;
    return cost;
  }
}
