/**
 * Worker-thread side of EspeakTtsEngine: one espeak-ng WASM instance, one request at a time.
 * Kept off the main thread because a sentence blocks for tens of milliseconds, longer than a 20 ms media frame.
 */
import { parentPort } from 'node:worker_threads';
import { EspeakWasm } from './espeak-wasm.ts';
import type { EspeakWorkerReply, EspeakWorkerRequest } from './espeak-protocol.ts';

const port = parentPort;
if (!port) throw new Error('espeak-worker.ts must run inside a worker thread');

function reply(message: EspeakWorkerReply, transfer?: ArrayBuffer[]): void {
  port!.postMessage(message, transfer);
}

try {
  const espeak = await EspeakWasm.load();
  reply({ kind: 'ready', sampleRate: espeak.sampleRate, voices: espeak.voiceNames() });
  port.on('message', (request: EspeakWorkerRequest) => {
    const started = performance.now();
    try {
      const pcm = espeak.synthesize(request.text, request.voice, request.rate);
      const computeMs = performance.now() - started;
      reply({ kind: 'audio', id: request.id, pcm, computeMs, heapBytes: espeak.heapBytes }, [pcm.buffer as ArrayBuffer]);
    } catch (err) {
      reply({ kind: 'error', id: request.id, message: err instanceof Error ? err.message : String(err) });
    }
  });
} catch (err) {
  reply({ kind: 'failed', message: err instanceof Error ? err.message : String(err) });
}
