/**
 * Answering-machine / assistant detection latency: how long after answer the AmdDetector gives its verdict, on
 * generated callee audio (espeak-ng greetings of people, voicemail and carrier assistants, with a seeded random
 * pause before the callee speaks), through the real sherpa-onnx VAD + ASR. The verdict time is on the callee's
 * audio clock (ms of audio after answer), so it does not depend on how fast this machine decodes.
 *
 *   node --import tsx bench/amd-latency.ts [--calls 40] [--seed 7]
 */
import pino from 'pino';
import { AmdDetector } from '../src/speech/call-progress/index.ts';
import { speechConfigSchema } from '../src/speech/config.ts';
import { createSpeechEngine } from '../src/speech/speech-engine.ts';
import type { AmdVerdict } from '../src/core/index.ts';
import { concat, frames, GREETINGS, LineVoice, silence, tone } from '../test/support/progress-audio.ts';
import { SHARED_MODELS } from '../test/speech/speech-fixtures.ts';
import { distribution, seededRandom } from './lib/stats.ts';

interface Case {
  label: string;
  expect: AmdVerdict['kind'][];
  lang: 'zh' | 'en';
  text: string;
  beep?: boolean;
}

const CASES: Case[] = [
  { label: 'human 喂', expect: ['human'], lang: 'zh', text: GREETINGS.humanWei },
  { label: 'human 您好', expect: ['human'], lang: 'zh', text: GREETINGS.humanNinhao },
  { label: 'human 喂，你好', expect: ['human'], lang: 'zh', text: GREETINGS.humanWeiNihao },
  { label: 'human 喂，哪位', expect: ['human'], lang: 'zh', text: '喂，哪位' },
  { label: 'human hello', expect: ['human'], lang: 'en', text: 'Hello?' },
  { label: 'voicemail zh + beep', expect: ['machine'], lang: 'zh', text: GREETINGS.voicemailZh, beep: true },
  { label: 'voicemail en + beep', expect: ['machine'], lang: 'en', text: GREETINGS.voicemailEn, beep: true },
  // The test model cannot spell the assistant keywords, so greeting length decides: machine or assistant both
  // count as "not a person" here (the keyword path is covered by test/speech/amd.test.ts).
  { label: 'assistant zh', expect: ['assistant', 'machine'], lang: 'zh', text: GREETINGS.assistantZh },
  { label: 'assistant en', expect: ['assistant', 'machine'], lang: 'en', text: GREETINGS.assistantEn },
];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const calls = arg('calls', 36);
  const random = seededRandom(arg('seed', 7));
  const cfg = speechConfigSchema.parse({ vad: { poolSize: 2 }, asr: { decodeIntervalMs: 10 } });
  const engine = await createSpeechEngine(cfg, { log: pino({ level: 'silent' }), modelsRoot: SHARED_MODELS });
  const voice = new LineVoice();
  const rows: Array<{ label: string; kind: string; reason: string; atMs: number; ok: boolean }> = [];
  for (let i = 0; i < calls; i++) {
    const c = CASES[i % CASES.length]!;
    // People and mailboxes start talking 0.2-1.2 s after the answer.
    const leadMs = 200 + Math.round(random() * 1000);
    const speech = await voice.say(c.text, c.lang);
    const pcm = concat([silence(leadMs), speech, ...(c.beep ? [silence(400), tone(1000, 500, 0.4)] : []), silence(5000)]);
    const det = new AmdDetector({ speech: engine, callId: `bench-${i}`, lang: c.lang, sampleRate: 8000 });
    let verdict: AmdVerdict | undefined;
    void det.verdict.then((v) => (verdict = v));
    let n = 0;
    for (const f of frames(pcm)) {
      det.push(f);
      // Faster than real time, but the ASR worker's partials still arrive while audio flows.
      if (++n % 4 === 0) await new Promise((r) => setTimeout(r, 2));
      if (verdict) break;
    }
    det.close();
    const v = await det.verdict;
    rows.push({ label: c.label, kind: v.kind, reason: v.reason, atMs: v.atMs, ok: c.expect.includes(v.kind) });
  }
  await voice.close();
  await engine.close();
  const all = distribution(rows.map((r) => r.atMs));
  const human = distribution(rows.filter((r) => r.label.startsWith('human')).map((r) => r.atMs));
  const machine = distribution(rows.filter((r) => !r.label.startsWith('human')).map((r) => r.atMs));
  const correct = rows.filter((r) => r.ok).length;
  console.log(`AMD verdict latency after answer (audio clock), ${rows.length} calls`);
  console.log(`  all:     p50 ${all.p50} ms  p95 ${all.p95} ms  max ${all.max} ms`);
  console.log(`  human:   p50 ${human.p50} ms  p95 ${human.p95} ms`);
  console.log(`  machine/assistant: p50 ${machine.p50} ms  p95 ${machine.p95} ms`);
  console.log(`  correct: ${correct}/${rows.length}`);
  for (const r of rows.filter((x) => !x.ok)) console.log(`  wrong: ${r.label} -> ${r.kind} (${r.reason}) at ${r.atMs} ms`);
  const byLabel = new Map<string, string[]>();
  for (const r of rows) byLabel.set(r.label, [...(byLabel.get(r.label) ?? []), `${r.kind}/${r.reason}@${Math.round(r.atMs)}`]);
  for (const [label, v] of byLabel) console.log(`  ${label}: ${v.join(' ')}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
