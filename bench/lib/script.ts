import type { ScriptedTurn } from '../../src/cli/caller-voice.ts';

export type Lang = 'zh' | 'en';

/**
 * The lines a bench caller says, in order, from the tiny test model's vocabulary and the `demo` flow
 * (configs/flows/demo.*.yaml): after the greeting, ask who is calling (global who_are_you); talk over that answer
 * to ask for a repeat (global repeat); after the repeated prompt, say yes (greeting -> offer); talk over the offer
 * to say no (-> end_refused: goodbye, the bot hangs up). `bargeIn` lines are spoken over the prompt that is
 * playing and also measure the barge-in stop time; every line measures turn latency.
 *
 * "Yes" is said after the prompt, not over it: the greeting itself says "answer yes or no", and the turn loop
 * takes a barge-in whose words occur in the prompt for echo and resumes the prompt (see the bench report).
 */
export const BENCH_LINES: Readonly<Record<Lang, readonly Omit<ScriptedTurn, 'pauseMs' | 'bargeInAfterMs'>[]>> = {
  zh: [
    { text: '请问你是谁', mode: 'afterPrompt' },
    { text: '再说一遍', mode: 'bargeIn' },
    { text: '是的', mode: 'afterPrompt' },
    { text: '不需要', mode: 'bargeIn' },
  ],
  en: [
    { text: 'who is this', mode: 'afterPrompt' },
    { text: 'please repeat', mode: 'bargeIn' },
    { text: 'yes', mode: 'afterPrompt' },
    { text: 'no', mode: 'bargeIn' },
  ],
};

/** Pause before an answer: people answer 250-900 ms after a prompt ends. */
const PAUSE_MS: readonly [number, number] = [250, 900];
/** How far into a prompt a caller talks over it: early enough to land inside even a short prompt. */
const BARGE_IN_AFTER_MS: readonly [number, number] = [500, 1100];

/** One call's script: the fixed lines with pauses and barge-in points drawn from `rand` (seeded, repeatable). */
export function callScript(lang: Lang, rand: () => number): ScriptedTurn[] {
  const draw = ([lo, hi]: readonly [number, number]): number => Math.round(lo + (hi - lo) * rand());
  return BENCH_LINES[lang].map((line) =>
    line.mode === 'bargeIn' ? { ...line, bargeInAfterMs: draw(BARGE_IN_AFTER_MS) } : { ...line, pauseMs: draw(PAUSE_MS) },
  );
}

/** Start offset of call `i` of `n`, spread evenly over `staggerMs` so frame ticks do not all align. */
export function startOffsetMs(i: number, n: number, staggerMs: number): number {
  return n <= 1 ? 0 : (i * staggerMs) / (n - 1);
}
