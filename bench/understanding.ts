/**
 * Understanding through the real engine (issue 12): every caller-style utterance of test/dialog/fixtures/callers
 * (and callers-heldout) spoken by the caller's espeak-ng voice, sent over a G.711 mu-law line with line noise,
 * heard by the real speech engine (Silero VAD, endpointer with the step's expected answers, streaming ASR), and
 * read by the flow step as a call would read it. Reported beside the same set read from its written text, so what
 * the recognizer loses is apart from what the rules miss.
 *
 *   node --import tsx bench/understanding.ts [--model tiny|cost-proxy|NAME|FOLDER] [--set callers|heldout|all] [--noise-dbfs -55] [--verbose] [--dump FILE]
 *
 * "First final" is what the engine acts on: the step reads the first turn the endpointer closes, and a caller who
 * pauses mid-answer has the rest read by the next step. "All finals" joins every final of the utterance: what the
 * recognizer made of the whole answer.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createCodec } from '../src/media/index.ts';
import { speechConfigSchema } from '../src/speech/config.ts';
import { createSpeechEngine } from '../src/speech/speech-engine.ts';
import type { CallSpeech } from '../src/speech/index.ts';
import type { Lang } from '../src/core/index.ts';
import { synthesizeCallerTurns } from '../src/cli/caller-voice.ts';
import {
  CALLER_SET_DIR,
  emptyScore,
  expectedPhrases,
  HELD_OUT_SET_DIR,
  percent,
  readCallerSet,
  scoreAnswer,
  stepAnswer,
  type CallerLine,
  type SetScore,
} from '../test/dialog/caller-set.ts';
import { SHARED_MODELS } from '../test/speech/speech-fixtures.ts';
import { trimToVoice } from './lib/realistic.ts';
import { asrModelSetting } from './lib/args.ts';
import { LineNoise } from '../src/pbx/simulator/index.ts';

const RATE = 8000;
const FRAME = RATE / 50;
const LEAD_MS = 400;
/** Longer than the endpointer's cap, so every utterance's last final is in before the call closes. */
const TAIL_MS = 2000;

interface Heard {
  finals: string[];
  confidence?: number;
}

/** The caller's audio as the server gets it: silence, the utterance, silence, through mu-law, with line noise. */
function lineAudio(voice: Int16Array, noiseDbfs: number, seed: number): Int16Array {
  const pcm = new Int16Array(((LEAD_MS + TAIL_MS) * RATE) / 1000 + voice.length);
  pcm.set(voice, (LEAD_MS * RATE) / 1000);
  const noisy = new LineNoise(noiseDbfs, pcm.length, seed).mix(pcm);
  const mulaw = createCodec('pcmu');
  return mulaw.decode(mulaw.encode(noisy));
}

/** Feeds one utterance to a fresh call of the engine, a little faster than real time, and collects its finals. */
async function hear(call: CallSpeech, audio: Int16Array): Promise<Heard> {
  const heard: Heard = { finals: [] };
  call.on('final', (e) => {
    if (e.text.trim() !== '') heard.finals.push(e.text.trim());
    if (e.confidence !== undefined) heard.confidence = Math.min(heard.confidence ?? 1, e.confidence);
  });
  const frame = new Int16Array(FRAME);
  for (let at = 0, n = 0; at < audio.length; at += FRAME, n++) {
    frame.fill(0);
    frame.set(audio.subarray(at, Math.min(at + FRAME, audio.length)));
    call.push(frame);
    // Four frames per 20 ms tick: the ASR worker's partials still arrive while the audio flows, as on a call.
    if (n % 4 === 3) await new Promise((r) => setTimeout(r, 20));
  }
  for (let waited = 0; call.busy && waited < 10_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
  call.close();
  return heard;
}

interface Row {
  line: CallerLine;
  heard: Heard;
  fromText: string;
  firstFinal: string;
  allFinals: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'tiny' },
      set: { type: 'string', default: 'all' },
      'noise-dbfs': { type: 'string', default: '-55' },
      concurrency: { type: 'string', default: '4' },
      verbose: { type: 'boolean', default: false },
      /** Every utterance's finals as JSON lines, for reading the misses (or checking a rule change without audio). */
      dump: { type: 'string' },
    },
  });
  // A released model (`zh-en` once pulled) is read the same way; the engine's lookup names what it searched.
  const model = asrModelSetting(values.model);
  const sets = values.set === 'callers' ? [CALLER_SET_DIR] : values.set === 'heldout' ? [HELD_OUT_SET_DIR] : [CALLER_SET_DIR, HELD_OUT_SET_DIR];
  if (values.set !== 'all' && values.set !== 'callers' && values.set !== 'heldout') throw new Error(`--set: callers, heldout or all, not ${values.set}`);
  const noiseDbfs = Number(values['noise-dbfs']);
  const concurrency = Math.max(1, Number(values.concurrency));
  const lines = sets.flatMap((dir) => readCallerSet(dir).map((line) => ({ line, heldOut: dir === HELD_OUT_SET_DIR })));

  const voices = new Map<string, Int16Array>();
  for (const lang of ['zh', 'en'] as Lang[]) {
    const texts = [...new Set(lines.filter((l) => l.line.lang === lang).map((l) => l.line.utterance))];
    const turns = await synthesizeCallerTurns(texts.map((text) => ({ text, mode: 'afterPrompt' })), lang, RATE);
    for (const t of turns) voices.set(`${lang}\u0000${t.text}`, trimToVoice(t.pcm));
  }

  const cfg = speechConfigSchema.parse({ asr: { model } });
  const engine = await createSpeechEngine(cfg, { log: pino({ level: 'warn' }), modelsRoot: SHARED_MODELS });
  const rows: (Row & { heldOut: boolean })[] = [];
  const began = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < lines.length; i = next++) {
      const { line, heldOut } = lines[i]!;
      const call = engine.createCall(`understanding-${i}`, RATE, line.lang);
      call.setExpected(expectedPhrases(line));
      const heard = await hear(call, lineAudio(voices.get(`${line.lang}\u0000${line.utterance}`)!, noiseDbfs, i + 1));
      const first = heard.finals[0] ?? '';
      const all = heard.finals.join(' ');
      rows.push({
        line,
        heldOut,
        heard,
        fromText: stepAnswer(line, line.utterance),
        firstFinal: first === '' ? '-' : stepAnswer(line, first, heard.confidence),
        allFinals: all === '' ? '-' : stepAnswer(line, all, heard.confidence),
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  await engine.close();
  const seconds = ((performance.now() - began) / 1000).toFixed(0);

  const table: string[] = [
    `Understanding through the real engine: ${values.model} model, mu-law line, noise ${noiseDbfs} dBFS, ${rows.length} utterances, ${seconds} s`,
    '',
    '| set | lang | utterances | from the written text | first final (what the step acts on) | all finals joined | same action (first final) | refusals read as consent (text / first / all) | heard nothing |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const detail: string[] = [];
  for (const heldOut of [false, true]) {
    for (const lang of ['zh', 'en', 'all'] as const) {
      const sel = rows.filter((r) => r.heldOut === heldOut && (lang === 'all' || r.line.lang === lang));
      if (sel.length === 0) continue;
      const text = emptyScore();
      const first = emptyScore();
      const all = emptyScore();
      for (const r of sel) {
        scoreAnswer(text, r.line, r.fromText);
        scoreAnswer(first, r.line, r.firstFinal, r.heard.finals.join(' | ') || '(nothing)');
        scoreAnswer(all, r.line, r.allFinals, r.heard.finals.join(' | ') || '(nothing)');
      }
      const acc = (s: SetScore): string => `${percent(s.correct, s.total)} (${s.correct})`;
      const silent = sel.filter((r) => r.heard.finals.length === 0).length;
      table.push(
        `| ${heldOut ? 'held-out' : 'caller-style'} | ${lang} | ${sel.length} | ${acc(text)} | ${acc(first)} | ${acc(all)} | ${percent(first.sameAction, first.total)} | ${text.refusalsAsConsent.length} / ${first.refusalsAsConsent.length} / ${all.refusalsAsConsent.length} | ${silent} |`,
      );
      if (lang === 'all') {
        for (const c of [...first.refusalsAsConsent, ...all.refusalsAsConsent]) detail.push(`refusal read as consent: ${c}`);
        if (values.verbose) detail.push(...first.misses.map((m) => `first final: ${m}`));
      }
    }
  }
  console.log([...table, '', ...new Set(detail)].join('\n'));
  if (values.dump) {
    const out = rows.map((r) => JSON.stringify({ file: r.line.file, step: r.line.step, utterance: r.line.utterance, expected: r.line.expected, heldOut: r.heldOut, finals: r.heard.finals }));
    writeFileSync(values.dump, `${out.join('\n')}\n`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
