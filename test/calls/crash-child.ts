/**
 * A callpilot process for the kill -9 test: the real app on a given folder, with listening scripted so callers
 * "speak" every few hundred ms of their audio (finals, turns, barge-ins) without models. Prints one JSON line
 * `{ url, token }` once it listens (crash recovery of the previous run is done by then); exits on SIGTERM.
 */
import type { Lang } from '../../src/dialog/index.ts';
import type { CallSpeech } from '../../src/speech/index.ts';
import { ScriptedSpeechEngine, type ScriptedCallSpeech } from '../engine/engine-fakes.ts';
import { startScriptedApp } from './scripted-app.ts';

const SAYINGS = ['请问你们是哪家公司', '我现在不太方便', '你们是做什么的', '再说一遍好吗'];

class TalkingSpeechEngine extends ScriptedSpeechEngine {
  readonly live = new Set<ScriptedCallSpeech>();
  override createCall(callId: string, sampleRate: 8000 | 16000, lang: Lang): CallSpeech {
    const speech = super.createCall(callId, sampleRate, lang) as ScriptedCallSpeech;
    this.live.add(speech);
    return speech;
  }
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: crash-child.ts DIR');
const speech = new TalkingSpeechEngine();
const s = await startScriptedApp({ maxCalls: 20 }, { dir, speech });
const started = new Map<ScriptedCallSpeech, number>();
let n = 0;
setInterval(() => {
  for (const call of speech.live) {
    if (call.closed) {
      speech.live.delete(call);
      continue;
    }
    const begin = started.get(call);
    if (begin === undefined) started.set(call, call.startSpeech());
    else if (call.nowMs - begin >= 200) {
      started.delete(call);
      call.endSpeech(SAYINGS[n++ % SAYINGS.length]!, begin);
    }
  }
}, 150);
process.stdout.write(`${JSON.stringify({ url: s.wsUrl, token: s.token })}\n`);
process.once('SIGTERM', () => {
  void s.app.close().then(() => process.exit(0));
});
