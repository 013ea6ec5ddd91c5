import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AsrInline } from '../../src/speech/asr-inline.ts';
import type { AsrFinal, AsrService, PartialListener } from '../../src/speech/asr-service.ts';
import { CallSpeechSession } from '../../src/speech/call-speech.ts';
import { speechConfigSchema } from '../../src/speech/config.ts';
import { EchoGuard, normalizePromptLevel } from '../../src/speech/index.ts';
import type { CallSpeechEvents } from '../../src/speech/types.ts';
import { VadPool } from '../../src/speech/vad-pool.ts';
import { testLog } from '../support/run-log.ts';
import { concat, readTranscripts, readWavPcm, silence, tinyRecognizerConfig, VAD_MODEL } from './speech-fixtures.ts';

/*
 * Issue 12, capacity: audio the echo guard attributes to the bot is not decoded. Real speech through the real VAD,
 * echo guard, listening side and tiny recognizer: the bot's prompts (at the level callpilot's TTS gives them) come
 * back on the caller side as a hybrid echo, 100 ms late and 12 dB down. The guard learns the path during the
 * greeting; during the second prompt the caller talks.
 */

const FRAME = 160;
const ECHO_DELAY_FRAMES = 5;
const ECHO_SCALE = 0.25;
const config = speechConfigSchema.parse({ asr: { decodeIntervalMs: 10 } });
/** The same with `speech.asr.skipEcho` off: the guard's verdict is handed over and ignored. */
const decodeEchoConfig = speechConfigSchema.parse({ asr: { decodeIntervalMs: 10, skipEcho: false } });
const exactZh = readTranscripts().filter((r) => r.lang === 'zh' && r.text === r.decoded && r.text.length >= 4);
const sentence = (i: number): Int16Array => normalizePromptLevel(readWavPcm(exactZh[i]!.file).pcm, 8000);
/** A greeting, then a pause in which nobody talks. */
const greeting = concat([sentence(0), silence(2000)]);
const GREETING_FRAMES = Math.floor(greeting.length / FRAME);
const callerRow = exactZh[2]!;
const callerSpeech = readWavPcm(callerRow.file).pcm;

/** The real recognizer, with a record of what the listening side handed it. */
class RecordingAsr implements AsrService {
  /** One entry per feed: samples and the audio-clock ms it was handed at. */
  readonly feeds: { samples: number; atMs: number }[] = [];
  constructor(private readonly inner: AsrService) {}
  open(id: number, onPartial: PartialListener): void {
    this.inner.open(id, onPartial);
  }
  feed(id: number, samples: Float32Array, atMs: number): void {
    this.feeds.push({ samples: samples.length, atMs });
    this.inner.feed(id, samples, atMs);
  }
  finalize(id: number, paddingMs: number): Promise<AsrFinal> {
    return this.inner.finalize(id, paddingMs);
  }
  close(id: number): void {
    this.inner.close(id);
  }
  realTimeFactor(): number {
    return this.inner.realTimeFactor();
  }
  backlogMs(): number {
    return this.inner.backlogMs();
  }
  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

interface Run {
  finals: CallSpeechEvents['final'][0][];
  partials: { text: string; atMs: number }[];
  feeds: { samples: number; atMs: number }[];
  skippedMs: number;
  reportedSeconds: number;
  /** Audio-clock ms at the end of the first frame the guard did not call echo after the caller began. */
  bargeInMs?: number;
}

/**
 * Plays the call frame by frame: the bot's frame, its echo on the caller side (plus the caller from `callerFrame`
 * on), and the guard's verdict handed to the listening side with the frame, as the turn loop does. The bot stops
 * once the guard hears the caller, as the turn loop's barge-in hold does.
 */
async function play(prompt: Int16Array, callerFrame: number, skipEcho: boolean): Promise<Run> {
  const asr = new RecordingAsr(new AsrInline(tinyRecognizerConfig(), 10));
  const vadPool = new VadPool({ model: VAD_MODEL, threshold: config.vad.threshold, minSpeechMs: config.vad.minSpeechMs, minSilenceMs: config.vad.minSilenceMs, warm: 1, maxIdle: 1, log: testLog() });
  const run: Run = { finals: [], partials: [], feeds: asr.feeds, skippedMs: 0, reportedSeconds: 0 };
  const call = new CallSpeechSession({
    callId: `echo-${skipEcho}`,
    streamId: 1,
    sampleRate: 8000,
    config: skipEcho ? config : decodeEchoConfig,
    vadPool,
    asr,
    log: testLog(),
    timings: { vad: () => undefined, asrFinal: () => undefined, echoSkipped: (s) => (run.reportedSeconds += s) },
  });
  call.on('final', (e) => run.finals.push(e));
  call.on('partial', (e) => run.partials.push(e));
  const guard = new EchoGuard();
  const total = callerFrame + callerSpeech.length / FRAME + 100;
  const botFrames: Int16Array[] = [];
  let botStopped = false;
  const caller = new Int16Array(FRAME);
  for (let f = 0; f < total; f++) {
    const bot = !botStopped && (f + 1) * FRAME <= prompt.length ? prompt.subarray(f * FRAME, (f + 1) * FRAME) : new Int16Array(FRAME);
    botFrames.push(bot);
    guard.observeBot(bot);
    const echo = f >= ECHO_DELAY_FRAMES ? botFrames[f - ECHO_DELAY_FRAMES]! : undefined;
    const c = f - callerFrame;
    for (let i = 0; i < FRAME; i++) {
      const own = c >= 0 && (c + 1) * FRAME <= callerSpeech.length ? callerSpeech[c * FRAME + i]! : 0;
      caller[i] = Math.max(-32768, Math.min(32767, Math.round((echo ? echo[i]! * ECHO_SCALE : 0) + own)));
    }
    guard.observeCaller(caller);
    const echoFrame = guard.isEchoFrame();
    if (c >= 0 && !echoFrame && !botStopped) {
      botStopped = true;
      run.bargeInMs = ((f + 1) * FRAME) / 8;
    }
    // As the turn loop does: the guard's verdict, "not known" before a path is learned.
    call.push(caller, guard.echoVerdict());
    if (f % 5 === 4) await new Promise((r) => setTimeout(r, 2));
  }
  // The caller's turn ends in the silence after it; wait for its final (the echo's may have come before).
  const callerEndMs = ((callerFrame * FRAME + callerSpeech.length) / 8) | 0;
  for (let i = 0; i < 500 && !run.finals.some((e) => e.speechEndMs > callerEndMs - 1000); i++) await new Promise((r) => setTimeout(r, 10));
  run.skippedMs = call.echoSkippedMs;
  call.close();
  vadPool.close();
  await asr.shutdown();
  return run;
}

/** Text heard from the caller: finals of utterances that ended after the caller began. */
const callerText = (run: Run, fromMs: number): string =>
  run.finals
    .filter((f) => f.speechEndMs > fromMs)
    .map((f) => f.text)
    .join(' ');

test('the echo alone is not decoded; a caller answering in a pause of the prompt is decoded from the preroll on, word for word', async () => {
  // The second prompt pauses for 1 s after its first sentence; the caller answers in that pause.
  const first = sentence(1);
  const prompt = concat([greeting, first, silence(1000), sentence(3)]);
  const callerFrame = GREETING_FRAMES + Math.floor(first.length / FRAME) + 15;
  const secondPromptMs = (GREETING_FRAMES * FRAME) / 8;
  const callerMs = (callerFrame * FRAME) / 8;
  const skipping = await play(prompt, callerFrame, true);
  const decodingAll = await play(prompt, callerFrame, false);

  // With speech.asr.skipEcho off the second prompt's echo is decoded: partial transcripts of the bot's own words.
  assert.ok(
    decodingAll.partials.some((p) => p.atMs > secondPromptMs && p.atMs < callerMs),
    `the comparison run decodes the echo: ${JSON.stringify(decodingAll.partials.slice(0, 3))}`,
  );
  assert.is(decodingAll.skippedMs, 0);
  // With it, the echo is not decoded, and what was skipped is counted and reported for the metric.
  assert.equal(
    skipping.partials.filter((p) => p.atMs > secondPromptMs && p.atMs < callerMs),
    [],
    'no partial transcript of the echo once the guard knows the path',
  );
  assert.ok(skipping.skippedMs >= 500, `echo skipped: ${skipping.skippedMs} ms`);
  assert.ok(Math.abs(skipping.reportedSeconds * 1000 - skipping.skippedMs) < 1, `reported ${skipping.reportedSeconds} s`);
  // With the skip or without, an utterance of the echo alone is marked so (the turn loop takes no turn from it,
  // whatever was decoded), and the caller's is not.
  for (const run of [skipping, decodingAll]) {
    const echoFinals = run.finals.filter((f) => f.speechEndMs < callerMs);
    const detail = JSON.stringify(run.finals);
    assert.ok(echoFinals.length > 0 && echoFinals.every((f) => f.botEcho === true), `echo finals marked: ${detail}`);
    // ...and ended at the VAD's end, not after a trailing wait (a caller answering in it would join the echo's).
    assert.ok(echoFinals.every((f) => f.waitMs === undefined && f.atMs - f.speechEndMs < 600), `echo finals at once: ${detail}`);
    assert.ok(run.finals.filter((f) => f.speechEndMs > callerMs).every((f) => f.botEcho === undefined), `caller finals not: ${detail}`);
  }
  // The caller's words are all there.
  assert.ok(skipping.bargeInMs !== undefined && skipping.bargeInMs >= callerMs, 'the guard stopped calling it echo when the caller spoke');
  assert.ok(callerText(skipping, callerMs).includes(callerRow.decoded), `caller said "${callerRow.decoded}", heard "${callerText(skipping, callerMs)}"`);
});

test('a caller talking over the bot (louder than the echo path returns) is decoded from the preroll before the first louder frame', async () => {
  const prompt = concat([greeting, sentence(1), silence(200), sentence(3)]);
  // 1 s into the second prompt's first sentence: the bot is talking.
  const callerFrame = GREETING_FRAMES + 50;
  const run = await play(prompt, callerFrame, true);
  assert.ok(run.skippedMs >= 500, `echo before the caller skipped: ${run.skippedMs} ms`);
  const bargeInMs = run.bargeInMs!;
  assert.ok(bargeInMs >= (callerFrame * FRAME) / 8, `the first louder frame is the caller's: ${bargeInMs}`);
  // Nothing of the second prompt's echo was handed to the recognizer before the caller's first louder frame...
  const secondPromptMs = (GREETING_FRAMES * FRAME) / 8;
  const beforeCaller = run.feeds.filter((f) => f.atMs > secondPromptMs + 1500 && f.atMs < bargeInMs);
  assert.equal(beforeCaller, [], 'no echo fed');
  // ...and at that frame it was handed the preroll with it: prerollMs before the frame, down to the start grid.
  const atBargeIn = run.feeds.filter((f) => f.atMs === bargeInMs).reduce((n, f) => n + f.samples, 0) / 16;
  const { prerollMs } = config.vad;
  assert.ok(atBargeIn >= prerollMs + 20 && atBargeIn < prerollMs + 20 + config.asr.startGridMs, `fed at the barge-in: ${atBargeIn} ms`);
  // Every frame after it is decoded.
  const after = run.feeds.filter((f) => f.atMs > bargeInMs && f.atMs <= bargeInMs + 1000);
  assert.is(after.length, 50, 'the next second of the caller, frame by frame');
  assert.ok(callerText(run, bargeInMs) !== '', 'the caller is heard');
});

test.run();
