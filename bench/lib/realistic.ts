/**
 * The realistic caller (issue 12): per call, a mix of expected answers, off-script questions (at least a third of
 * the turns), long answers (3-8 s), answers with mid-sentence pauses of 300-900 ms after fillers, a
 * self-correction, and barge-ins, in zh or en, against the `realistic` bench flow (bench/flows/). Each turn's audio
 * is built from separately synthesized pieces with silences between them, so the true end of the turn is known to
 * the sample: the end of its last piece. Pieces said before a pause end in a comma, which espeak-ng speaks with the
 * level or rising "continuation" intonation a person holding the floor uses.
 */
import { synthesizeCallerTurns } from '../../src/cli/caller-voice.ts';
import type { CallerTurn, TurnMeasurement } from '../../src/pbx/index.ts';
import type { Lang } from './script.ts';
import { distribution, type Distribution } from './stats.ts';

export type TurnKind = 'expected' | 'offScript' | 'paused';

export interface RealisticLine {
  kind: TurnKind;
  mode: 'afterPrompt' | 'bargeIn';
  /** Pieces spoken with a pause between each (one piece = no pause). */
  pieces: string[];
  /** What this line exercises beyond its kind. */
  tags: ('long' | 'selfCorrection' | 'filler' | 'bargeIn')[];
}

/** One conversation per language, walking greeting -> offer -> details (date) -> confirm of the bench flow. */
export const REALISTIC_LINES: Readonly<Record<Lang, readonly RealisticLine[]>> = {
  zh: [
    { kind: 'offScript', mode: 'afterPrompt', pieces: ['我想问一下，你们这个服务是怎么收费的，每个月要多少钱，以后可以随时取消吗'], tags: ['long'] },
    { kind: 'paused', mode: 'afterPrompt', pieces: ['嗯，', '那个，', '是的'], tags: ['filler'] },
    { kind: 'expected', mode: 'bargeIn', pieces: ['再说一遍'], tags: ['bargeIn'] },
    { kind: 'paused', mode: 'afterPrompt', pieces: ['嗯，', '需要'], tags: ['filler'] },
    { kind: 'offScript', mode: 'bargeIn', pieces: ['那我需要准备什么材料吗，要不要带身份证'], tags: ['bargeIn'] },
    { kind: 'paused', mode: 'afterPrompt', pieces: ['我想想，', '就是，', '下周吧'], tags: ['filler'] },
    { kind: 'offScript', mode: 'afterPrompt', pieces: ['这个服务开通以后，如果我不满意的话可以退款吗，我之前用过别家的，体验不太好'], tags: ['long'] },
    { kind: 'paused', mode: 'afterPrompt', pieces: ['是的，', '哦不对，没有了，谢谢'], tags: ['selfCorrection'] },
  ],
  en: [
    { kind: 'offScript', mode: 'afterPrompt', pieces: ['I wanted to ask how much this service costs every month, and whether I can cancel it at any time'], tags: ['long'] },
    { kind: 'paused', mode: 'afterPrompt', pieces: ['um,', 'uh,', 'yes'], tags: ['filler'] },
    { kind: 'expected', mode: 'bargeIn', pieces: ['please repeat'], tags: ['bargeIn'] },
    { kind: 'paused', mode: 'afterPrompt', pieces: ['uh,', 'yes please'], tags: ['filler'] },
    { kind: 'offScript', mode: 'bargeIn', pieces: ['do I need to prepare any documents for that'], tags: ['bargeIn'] },
    { kind: 'paused', mode: 'afterPrompt', pieces: ['let me see,', 'and,', 'next week'], tags: ['filler'] },
    { kind: 'offScript', mode: 'afterPrompt', pieces: ['if I am not happy with it after a month, can I get my money back, because the last one I tried was really bad'], tags: ['long'] },
    { kind: 'paused', mode: 'afterPrompt', pieces: ['yes,', 'I mean no, thank you'], tags: ['selfCorrection'] },
  ],
};

const PAUSE_BETWEEN_PIECES_MS: readonly [number, number] = [300, 900];
/** Longer than people pause (250-900 ms): the simulator takes this much bot silence for the end of the prompt, and a
 * loaded machine can leave gaps of several hundred ms between the sentences of one prompt. */
const PAUSE_BEFORE_ANSWER_MS: readonly [number, number] = [700, 1200];
const BARGE_IN_AFTER_MS: readonly [number, number] = [700, 1500];

/** Every piece of every line, synthesized once (8 kHz) and trimmed to its voiced part. */
export type PieceVoices = Map<string, Int16Array>;
const pieceKey = (lang: Lang, text: string): string => `${lang}\u0000${text}`;

export async function preparePieceVoices(langs: readonly Lang[]): Promise<PieceVoices> {
  const voices: PieceVoices = new Map();
  for (const lang of langs) {
    const texts = [...new Set(REALISTIC_LINES[lang].flatMap((l) => l.pieces))];
    const turns = await synthesizeCallerTurns(texts.map((text) => ({ text, mode: 'afterPrompt' })), lang, 8000);
    for (const t of turns) voices.set(pieceKey(lang, t.text), trimToVoice(t.pcm));
  }
  return voices;
}

/** Drops leading and trailing audio quieter than -45 dBFS (per 10 ms), so piece boundaries are speech boundaries. */
export function trimToVoice(pcm: Int16Array, rate = 8000): Int16Array {
  const win = rate / 100;
  const threshold = 32768 * Math.pow(10, -45 / 20);
  const loud = (k: number): boolean => {
    let sum = 0;
    for (let i = k * win; i < Math.min(pcm.length, (k + 1) * win); i++) sum += pcm[i]! * pcm[i]!;
    return Math.sqrt(sum / win) >= threshold;
  };
  const windows = Math.ceil(pcm.length / win);
  let first = 0;
  while (first < windows && !loud(first)) first++;
  let last = windows - 1;
  while (last > first && !loud(last)) last--;
  return pcm.slice(first * win, Math.min(pcm.length, (last + 1) * win));
}

export interface RealisticTurn extends CallerTurn {
  kind: TurnKind;
  tags: RealisticLine['tags'];
  /** Pauses inside the turn (ms), in order. */
  pausesMs: number[];
}

/** One call's turns: the lines of its language with pauses drawn from `rand` (seeded, repeatable). */
export function realisticScript(lang: Lang, voices: PieceVoices, rand: () => number): RealisticTurn[] {
  const draw = ([lo, hi]: readonly [number, number]): number => Math.round(lo + (hi - lo) * rand());
  return REALISTIC_LINES[lang].map((line) => {
    const parts: Int16Array[] = [];
    const pausesMs: number[] = [];
    line.pieces.forEach((text, i) => {
      if (i > 0) {
        const ms = draw(PAUSE_BETWEEN_PIECES_MS);
        pausesMs.push(ms);
        parts.push(new Int16Array((ms * 8000) / 1000));
      }
      const pcm = voices.get(pieceKey(lang, text));
      if (!pcm) throw new Error(`no voice for ${lang} piece ${text}`);
      parts.push(pcm);
    });
    const pcm = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      pcm.set(p, at);
      at += p.length;
    }
    return {
      pcm,
      text: line.pieces.join(' '),
      mode: line.mode,
      kind: line.kind,
      tags: line.tags,
      pausesMs,
      ...(line.mode === 'bargeIn' ? { bargeInAfterMs: draw(BARGE_IN_AFTER_MS) } : { pauseMs: draw(PAUSE_BEFORE_ANSWER_MS) }),
    };
  });
}

export interface PausedLine {
  text: string;
  turns: number;
  cutOffs: number;
}

/** The mean of the reached paused lines' cut-off rates (0..1; undefined when none was reached). */
export function lineWeightedCutOffRate(lines: readonly PausedLine[]): number | undefined {
  return lines.length === 0 ? undefined : lines.reduce((sum, l) => sum + l.cutOffs / l.turns, 0) / lines.length;
}

/** The figures issue 12 asks for, per level. */
export interface RealisticSummary {
  turnsSpoken: number;
  turnsScripted: number;
  byKind: Record<TurnKind | 'all', { turns: number; latency: Distribution }>;
  pausedTurns: number;
  /** Paused turns during which the bot started talking: the endpointer took a pause for the end. */
  cutOffs: number;
  /**
   * The paused turns that are self-corrections (an expected answer, a pause, then a retraction), and how many of
   * them were cut: the answer before the pause is complete, so waiting them out costs every expected answer's latency.
   */
  selfCorrections: { turns: number; cutOffs: number };
  /**
   * Each paused line of the script, as reached and cut. Which lines a call reaches depends on how the flow read its
   * earlier turns, so the rate per paused turn moves with the mix reached; `lineWeightedCutOffRate` does not.
   */
  pausedLines: PausedLine[];
  /**
   * Cut-off paused turns the server took back: the caller went on over the answer, the answer stopped and the dialog
   * decided again on the whole turn (dialog.bargeIn.continueTurnMs).
   */
  cutOffsTakenBack: number;
  /** Any turn (not only paused ones) the bot talked into before it ended. */
  cutOffsAllTurns: number;
  unheard: number;
  noReply: number;
  bargeInStop: Distribution;
  longTurnSeconds: Distribution;
}

export interface RealisticCall {
  script: readonly RealisticTurn[];
  turns: readonly TurnMeasurement[];
  heard: readonly boolean[];
  /** Per turn: the server took it back as one turn after cutting it off (absent: not known, counted as no). */
  takenBack?: readonly boolean[];
}

export function summarizeRealistic(calls: readonly RealisticCall[]): RealisticSummary {
  const lat: Record<TurnKind | 'all', number[]> = { expected: [], offScript: [], paused: [], all: [] };
  const counts: Record<TurnKind | 'all', number> = { expected: 0, offScript: 0, paused: 0, all: 0 };
  let paused = 0;
  let cutOffs = 0;
  const selfCorrections = { turns: 0, cutOffs: 0 };
  const pausedLines = new Map<string, PausedLine>();
  let takenBack = 0;
  let cutOffsAll = 0;
  let unheard = 0;
  let noReply = 0;
  let scripted = 0;
  const stops: number[] = [];
  const longSeconds: number[] = [];
  for (const c of calls) {
    scripted += c.script.length;
    c.turns.forEach((t, i) => {
      const s = c.script[i];
      if (!s) return;
      counts[s.kind]++;
      counts.all++;
      if (s.tags.includes('long')) longSeconds.push(s.pcm.length / 8000);
      const cut = t.botStartedDuringTurnMs !== undefined;
      if (cut) cutOffsAll++;
      if (s.pausesMs.length > 0) {
        paused++;
        if (cut) cutOffs++;
        if (cut && c.takenBack?.[i] === true) takenBack++;
        const line = pausedLines.get(s.text) ?? { text: s.text, turns: 0, cutOffs: 0 };
        pausedLines.set(s.text, line);
        line.turns++;
        if (cut) line.cutOffs++;
        if (s.tags.includes('selfCorrection')) {
          selfCorrections.turns++;
          if (cut) selfCorrections.cutOffs++;
        }
      }
      if (!c.heard[i]) unheard++;
      if (t.mode === 'bargeIn' && t.bargeInStopMs !== undefined) stops.push(t.bargeInStopMs);
      // A turn the bot talked into has no reply latency of its own; a turn never heard got a reprompt, not a reply.
      if (t.latencyMs === undefined) noReply++;
      else if (!cut && c.heard[i]) {
        lat[s.kind].push(t.latencyMs);
        lat.all.push(t.latencyMs);
      }
    });
  }
  const kind = (k: TurnKind | 'all') => ({ turns: counts[k], latency: distribution(lat[k]) });
  return {
    turnsSpoken: counts.all,
    turnsScripted: scripted,
    byKind: { expected: kind('expected'), offScript: kind('offScript'), paused: kind('paused'), all: kind('all') },
    pausedTurns: paused,
    cutOffs,
    selfCorrections,
    pausedLines: [...pausedLines.values()],
    cutOffsTakenBack: takenBack,
    cutOffsAllTurns: cutOffsAll,
    unheard,
    noReply,
    bargeInStop: distribution(stops),
    longTurnSeconds: distribution(longSeconds),
  };
}
