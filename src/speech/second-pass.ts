/**
 * The two-pass final (speech.asr.secondPass): the streaming model's partials drive the end of turn, and an offline
 * model decodes each finished utterance again for the final text. The offline decode of a whole utterance costs
 * 100 ms and more with a production-sized model; run in the streaming worker it stalled every call's partials for that
 * long (bench/RESULTS.md, 2026-12-05 00:20), so it runs beside the streaming ASR, on a decoder of its own: a worker
 * thread (SecondPassWorker) or, for tools and tests, the calling thread (InlineSecondPass).
 */
import type { Logger } from 'pino';
import { AsrBacklog } from './asr-backlog.ts';
import { asrFinal, PendingAudio, type AsrFinal, type AsrService, type PartialListener } from './asr-service.ts';
import { loadSherpa, type SherpaOfflineRecognizer, type SherpaOfflineRecognizerConfig } from './models/sherpa-binding.ts';

const SAMPLE_RATE = 16000;

/** Decodes one finished utterance with the offline model. */
export interface SecondPassDecoder {
  /** `samples`: the utterance's 16 kHz audio (may be transferred); `paddingMs` of silence is appended. */
  decode(samples: Float32Array, paddingMs: number): Promise<string>;
  shutdown(): Promise<void>;
}

/**
 * The offline decode itself, on whatever thread owns it. The padding is the streaming final's: a model trained to emit
 * a little late needs it for the last word.
 */
export class OfflineUtteranceDecoder {
  private readonly recognizer: SherpaOfflineRecognizer;
  private zeros = new Float32Array(0);

  constructor(config: SherpaOfflineRecognizerConfig) {
    this.recognizer = new (loadSherpa().OfflineRecognizer)(config);
  }

  decode(samples: Float32Array, paddingMs: number): string {
    const stream = this.recognizer.createStream();
    stream.acceptWaveform({ samples, sampleRate: SAMPLE_RATE });
    const padding = Math.round((paddingMs / 1000) * SAMPLE_RATE);
    if (padding > 0) {
      if (this.zeros.length < padding) this.zeros = new Float32Array(padding);
      stream.acceptWaveform({ samples: this.zeros.subarray(0, padding), sampleRate: SAMPLE_RATE });
    }
    this.recognizer.decode(stream);
    return this.recognizer.getResult(stream).text.trim();
  }
}

/** The offline model on the calling thread (speech.asr.worker off: tools, tests, tiny models). */
export class InlineSecondPass implements SecondPassDecoder {
  private readonly decoder: OfflineUtteranceDecoder;

  constructor(config: SherpaOfflineRecognizerConfig) {
    this.decoder = new OfflineUtteranceDecoder(config);
  }

  decode(samples: Float32Array, paddingMs: number): Promise<string> {
    return Promise.resolve(this.decoder.decode(samples, paddingMs));
  }

  async shutdown(): Promise<void> {}
}

/**
 * The streaming ASR with the second pass's text as each final. Audio goes to both: the streaming service decodes it
 * as it comes, and a copy waits here for the utterance's end. A final asks both at once; if the second pass fails,
 * the streaming model's text is the final, so a crashed offline decoder costs accuracy, never the caller's words.
 * Its backlog is the later of the two: finals waiting for the offline decoder are as late for the caller as partials
 * waiting for the streaming one, and admission control (server.maxAsrBacklogMs) must see both.
 */
export class TwoPassAsr implements AsrService {
  /** Each call's utterance audio so far, kept for its final. */
  private readonly audio = new Map<number, PendingAudio>();
  private readonly maxSamples: number;
  /** Utterances handed to the offline decoder and not answered yet, by age (one "batch" each). */
  private readonly secondBacklog: AsrBacklog;

  /**
   * `maxUtteranceMs`: longer utterances keep the streaming final (0: no limit; speech.asr.secondPass.maxUtteranceMs).
   * `now`: the monotonic ms clock the backlog is measured on (injectable for tests).
   */
  constructor(
    private readonly streaming: AsrService,
    private readonly second: SecondPassDecoder,
    private readonly log: Logger,
    maxUtteranceMs = 0,
    now: () => number = () => performance.now(),
  ) {
    this.maxSamples = maxUtteranceMs > 0 ? (maxUtteranceMs / 1000) * SAMPLE_RATE : Number.POSITIVE_INFINITY;
    this.secondBacklog = new AsrBacklog(now);
  }

  open(id: number, onPartial: PartialListener): void {
    this.audio.set(id, new PendingAudio());
    this.streaming.open(id, onPartial);
  }

  feed(id: number, samples: Float32Array, atMs: number): void {
    const audio = this.audio.get(id);
    // Past the limit the utterance keeps its streaming final: no need to hold more of it.
    if (audio && audio.size <= this.maxSamples) audio.append(samples, atMs);
    this.streaming.feed(id, samples, atMs);
  }

  async finalize(id: number, paddingMs: number): Promise<AsrFinal> {
    const audio = this.audio.get(id);
    const streamed = this.streaming.finalize(id, paddingMs);
    if (!audio || audio.size === 0 || audio.size > this.maxSamples) {
      audio?.clear();
      return streamed;
    }
    const samples = audio.take();
    const handed = this.secondBacklog.handed();
    const offline = this.second.decode(samples, paddingMs).finally(() => this.secondBacklog.decoded(handed));
    const [first, second] = await Promise.allSettled([streamed, offline]);
    if (second.status === 'fulfilled') return asrFinal(second.value, undefined, true);
    this.log.error({ err: second.reason, streamId: id }, 'second pass failed; the final is the streaming text');
    if (first.status === 'rejected') throw first.reason;
    return first.value;
  }

  close(id: number): void {
    this.audio.delete(id);
    this.streaming.close(id);
  }

  realTimeFactor(): number {
    return this.streaming.realTimeFactor();
  }

  backlogMs(): number {
    return Math.max(this.streaming.backlogMs(), this.secondBacklog.sample());
  }

  busyFraction(): number {
    return this.streaming.busyFraction?.() ?? 0;
  }

  async shutdown(): Promise<void> {
    await Promise.all([this.streaming.shutdown(), this.second.shutdown()]);
  }
}
