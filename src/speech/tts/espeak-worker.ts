/**
 * Worker-thread side of EspeakTtsEngine: one espeak-ng WASM instance, one request at a time.
 * Kept off the main thread because a sentence blocks for tens of milliseconds, longer than a 20 ms media frame.
 */
import { parentChannel, startFailed } from '../../core/index.ts';
import { EspeakWasm } from './espeak-wasm.ts';
import type { EspeakWorkerReply, EspeakWorkerRequest } from './espeak-protocol.ts';

const parent = parentChannel<EspeakWorkerRequest, EspeakWorkerReply>('espeak-worker.ts');
const reply = parent.reply;

try {
  const espeak = await EspeakWasm.load();
  reply({ kind: 'ready', sampleRate: espeak.sampleRate, voices: espeak.voiceNames() });
  parent.onRequest((request) => {
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
  reply(startFailed(err));
}
