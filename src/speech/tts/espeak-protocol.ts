/** Messages between EspeakTtsEngine and its worker thread. */

export interface EspeakWorkerRequest {
  id: number;
  text: string;
  voice: string;
  rate: number;
}

export type EspeakWorkerReply =
  | { kind: 'ready'; sampleRate: number; voices: string[] }
  | { kind: 'failed'; message: string }
  | { kind: 'audio'; id: number; pcm: Int16Array; computeMs: number; heapBytes: number }
  | { kind: 'error'; id: number; message: string };
