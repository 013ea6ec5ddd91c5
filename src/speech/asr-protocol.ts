/** Messages between the main thread and the ASR worker: one narrow channel, batched per decode tick. */
import type { AsrPartial, DecodeCost } from './asr-batch-decoder.ts';
import type { SherpaOfflineRecognizerConfig, SherpaOnlineRecognizerConfig } from './models/sherpa-binding.ts';

export interface AsrWorkerData {
  recognizer: SherpaOnlineRecognizerConfig;
}

export interface AsrAudioChunk {
  id: number;
  /** 16 kHz float samples (transferred). */
  samples: Float32Array;
  /** Audio-clock ms at the end of the chunk. */
  atMs: number;
}

export type AsrRequest =
  | { kind: 'open'; id: number }
  | { kind: 'close'; id: number }
  /** All calls' audio since the last tick (batch number `batch`); the worker decodes right after accepting it. */
  | { kind: 'audio'; batch: number; chunks: AsrAudioChunk[] }
  /** End of an utterance: the call's remaining audio, then padding, decode, reply, reset. */
  | { kind: 'finalize'; seq: number; id: number; chunk?: AsrAudioChunk; paddingMs: number };

export type AsrReply =
  | { kind: 'ready' }
  | { kind: 'failed'; message: string }
  /** `decodedBatch`: every audio batch up to this number is decoded (absent while some of it is still waiting). */
  | { kind: 'partials'; partials: AsrPartial[]; cost: DecodeCost; decodedBatch?: number }
  | { kind: 'final'; seq: number; id: number; text: string; confidence?: number; cost: DecodeCost }
  | { kind: 'error'; seq?: number; message: string };

/** The second pass's worker (see second-pass.ts): one offline recognizer, one utterance per request, in order. */
export interface SecondPassWorkerData {
  recognizer: SherpaOfflineRecognizerConfig;
}

/** `samples`: the utterance's 16 kHz audio (transferred). */
export type SecondPassRequest = { kind: 'decode'; seq: number; samples: Float32Array; paddingMs: number };

export type SecondPassReply =
  | { kind: 'ready' }
  | { kind: 'failed'; message: string }
  | { kind: 'text'; seq: number; text: string }
  | { kind: 'error'; seq: number; message: string };
