/**
 * StreamingAsr.Recognize: one listening pipeline of the shared speech engine per gRPC stream (VAD, endpointer and a
 * stream on the shared recognizer), fed in 20 ms frames exactly as a call's audio leg feeds it.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { newCallId, type Lang } from '../core/index.ts';
import type { CallSpeech, SpeechEngine } from '../speech/index.ts';
import { GrpcRefusal, toServiceError } from './grpc-auth.ts';

/** Admission of one stream against server.maxCalls; `release` frees its place. */
export type AdmitStream = () => { ok: true; release: () => void } | { ok: false; detail: string };

export interface AsrStreamOptions {
  speech: () => SpeechEngine | undefined;
  admit: AdmitStream;
  log: Logger;
  /** Silence pushed after the client half-closes so an open utterance reaches its endpoint (audio clock). */
  flushSilenceMs?: number;
}

interface RecognizeRequest {
  request?: 'config' | 'audio';
  config?: { sampleRateHz: number; lang: string; expectedPhrases: string[] };
  audio?: Buffer;
}

const DEFAULT_FLUSH_SILENCE_MS = 3000;
/** After the flush, how long (wall) a final still being decoded may take before the stream ends without it. */
const FINAL_WAIT_MS = 10_000;

export function recognizeHandler(o: AsrStreamOptions): (call: grpc.ServerDuplexStream<RecognizeRequest, unknown>) => void {
  return (call) => {
    const streamId = newCallId();
    const log = o.log.child({ callId: streamId, component: 'grpc-asr' });
    let speech: CallSpeech | undefined;
    let release: (() => void) | undefined;
    let framer: PcmFramer | undefined;
    let finished = false;

    const stop = (): void => {
      if (finished) return;
      finished = true;
      speech?.close();
      release?.();
    };
    const fail = (err: unknown): void => {
      if (finished) return;
      stop();
      call.emit('error', toServiceError(err, log));
    };
    call.on('cancelled', stop);
    call.on('error', stop);

    const start = (config: NonNullable<RecognizeRequest['config']>): void => {
      const rate = config.sampleRateHz;
      if (rate !== 8000 && rate !== 16000) throw new GrpcRefusal(grpc.status.INVALID_ARGUMENT, `sample_rate_hz must be 8000 or 16000, got ${rate}`);
      const lang: Lang = config.lang === '' ? 'zh' : (config.lang as Lang);
      if (lang !== 'zh' && lang !== 'en') throw new GrpcRefusal(grpc.status.INVALID_ARGUMENT, `lang must be zh or en, got ${config.lang}`);
      const engine = o.speech();
      if (!engine) throw new GrpcRefusal(grpc.status.UNAVAILABLE, 'speech models are still loading; retry when /readyz is ready');
      const admitted = o.admit();
      if (!admitted.ok) throw new GrpcRefusal(grpc.status.RESOURCE_EXHAUSTED, admitted.detail);
      release = admitted.release;
      speech = engine.createCall(streamId, rate, lang);
      if (config.expectedPhrases.length > 0) speech.setExpected(config.expectedPhrases);
      framer = new PcmFramer(rate / 50);
      speech.on('speechStart', (e) => call.write({ speechStart: { atMs: e.atMs } }));
      speech.on('partial', (e) => call.write({ partial: { text: e.text, atMs: e.atMs } }));
      speech.on('speechEnd', (e) => call.write({ speechEnd: { atMs: e.atMs } }));
      speech.on('final', (e) =>
        call.write({
          final: {
            text: e.text,
            speechStartMs: e.speechStartMs,
            speechEndMs: e.speechEndMs,
            atMs: e.atMs,
            earlyEndpoint: e.earlyEndpoint,
            ...(e.confidence !== undefined ? { confidence: e.confidence } : {}),
          },
        }),
      );
      log.info({ rate, lang }, 'gRPC ASR stream started');
    };

    call.on('data', (req: RecognizeRequest) => {
      if (finished) return;
      try {
        if (req.request === 'config' && req.config) {
          if (speech) throw new GrpcRefusal(grpc.status.INVALID_ARGUMENT, 'config may only be sent once, first');
          start(req.config);
        } else if (req.request === 'audio' && req.audio) {
          if (!speech || !framer) throw new GrpcRefusal(grpc.status.INVALID_ARGUMENT, 'the first request must carry config');
          const target = speech;
          framer.push(req.audio, (frame) => target.push(frame));
        } else {
          throw new GrpcRefusal(grpc.status.INVALID_ARGUMENT, 'a request carries config or audio');
        }
      } catch (err) {
        fail(err);
      }
    });

    call.on('end', () => {
      if (finished) return;
      if (!speech) {
        stop();
        call.end();
        return;
      }
      flush(speech, framer!.frameSamples, o.flushSilenceMs ?? DEFAULT_FLUSH_SILENCE_MS).then(
        () => {
          if (finished) return;
          log.info({ audioMs: Math.round(speech!.nowMs) }, 'gRPC ASR stream ended');
          stop();
          call.end();
        },
        (err: unknown) => fail(err),
      );
    });
  };
}

/**
 * After the client's last audio: silence until the open utterance reaches its endpoint, then the wait for its
 * final. Silence is pushed a few frames per event-loop turn so partials from the ASR worker keep their order.
 */
async function flush(speech: CallSpeech, frameSamples: number, maxSilenceMs: number): Promise<void> {
  const frame = new Int16Array(frameSamples);
  for (let ms = 0; speech.busy !== false && ms < maxSilenceMs; ms += 20) {
    speech.push(frame);
    if (ms % 80 === 60) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const deadline = Date.now() + FINAL_WAIT_MS;
  while (speech.busy === true && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
}

/** Little-endian PCM16 bytes in any chunking -> fixed frames, one reused buffer, no allocation per frame. */
export class PcmFramer {
  private readonly frame: Int16Array;
  private filled = 0;
  private oddByte: number | undefined;

  constructor(readonly frameSamples: number) {
    this.frame = new Int16Array(frameSamples);
  }

  push(bytes: Uint8Array, onFrame: (frame: Int16Array) => void): void {
    let i = 0;
    if (this.oddByte !== undefined && bytes.length > 0) {
      this.put((bytes[0]! << 8) | this.oddByte, onFrame);
      this.oddByte = undefined;
      i = 1;
    }
    for (; i + 1 < bytes.length; i += 2) this.put((bytes[i + 1]! << 8) | bytes[i]!, onFrame);
    if (i < bytes.length) this.oddByte = bytes[i]!;
  }

  private put(u16: number, onFrame: (frame: Int16Array) => void): void {
    this.frame[this.filled++] = u16 > 0x7fff ? u16 - 0x10000 : u16;
    if (this.filled === this.frame.length) {
      this.filled = 0;
      onFrame(this.frame);
    }
  }
}
