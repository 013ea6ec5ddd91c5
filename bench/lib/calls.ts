import { monitorEventLoopDelay } from 'node:perf_hooks';
import { synthesizeCallerTurns, type ScriptedTurn } from '../../src/cli/caller-voice.ts';
import type { CallTimelineEvent } from '../../src/dialog/index.ts';
import { runSimulatedCall, type CallerTurn, type SimulatedCallReport } from '../../src/pbx/index.ts';
import { BENCH_LINES, callScript, startOffsetMs, type Lang } from './script.ts';
import { seededRandom } from './stats.ts';

/** Caller audio per language and line, synthesized once and shared read-only by all calls. */
export type CallerVoices = Map<string, Int16Array>;

const voiceKey = (lang: Lang, text: string): string => `${lang}\u0000${text}`;

export async function prepareVoices(langs: readonly Lang[]): Promise<CallerVoices> {
  const voices: CallerVoices = new Map();
  for (const lang of langs) {
    const unique = [...new Set(BENCH_LINES[lang].map((l) => l.text))];
    const script: ScriptedTurn[] = unique.map((text) => ({ text, mode: 'afterPrompt' }));
    const turns = await synthesizeCallerTurns(script, lang, 8000);
    for (const t of turns) voices.set(voiceKey(lang, t.text), t.pcm);
  }
  return voices;
}

export interface CallResult {
  index: number;
  lang: Lang;
  report?: SimulatedCallReport;
  error?: string;
  /** Timeline notices the server sent on the media socket (the same events it stores in SQLite). */
  timeline: CallTimelineEvent[];
  /** Arrival time (performance.now(), the clock of the turn measurements) of each `timeline` entry. */
  timelineAt: number[];
  /** Turns the script had (to count turns that never happened). */
  scriptedTurns: number;
}

export interface LevelRun {
  results: CallResult[];
  /** The caller side's own event-loop delay (ms): if this is high, wire timestamps are late too. */
  clientLoopDelayP99Ms: number;
  clientLoopDelayMaxMs: number;
  /** CPU the bench process (all simulated phones) used, % of one core. */
  clientCpuPercent: number;
  wallMs: number;
}

/**
 * Runs `n` simulated calls against `mediaUrl`, starts spread over `staggerMs`, languages round-robin, each with a
 * seeded script, and waits for all of them to end.
 */
export async function runLevel(opts: {
  mediaUrl: string;
  /** Operator token for the media WebSocket. */
  token: string;
  n: number;
  langs: readonly Lang[];
  voices: CallerVoices;
  staggerMs: number;
  seed: number;
  /** Every timeline notice as it arrives (call index, ms since the level started, event). */
  onTimeline?: (index: number, atMs: number, event: CallTimelineEvent) => void;
}): Promise<LevelRun> {
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const calls = Array.from({ length: opts.n }, async (_, index): Promise<CallResult> => {
    const lang = opts.langs[index % opts.langs.length]!;
    const rand = seededRandom(opts.seed * 100_003 + index);
    const turns: CallerTurn[] = callScript(lang, rand).map((s) => ({
      pcm: opts.voices.get(voiceKey(lang, s.text))!,
      text: s.text,
      mode: s.mode,
      pauseMs: s.pauseMs,
      bargeInAfterMs: s.bargeInAfterMs,
    }));
    const timeline: CallTimelineEvent[] = [];
    const timelineAt: number[] = [];
    await new Promise((r) => setTimeout(r, startOffsetMs(index, opts.n, opts.staggerMs)));
    try {
      const report = await runSimulatedCall({
        url: opts.mediaUrl,
        token: opts.token,
        start: { codec: 'pcmu', sampleRate: 8000, lang, from: `bench-${index}` },
        turns,
        hangupAfterQuietMs: 2000,
        maxCallMs: 120_000,
        onNotice: (notice, at) => {
          if (notice.event === 'timeline') {
            const { event: _e, ...rest } = notice;
            const e = rest as unknown as CallTimelineEvent;
            timeline.push(e);
            timelineAt.push(at);
            opts.onTimeline?.(index, at - t0, e);
          }
        },
      });
      return { index, lang, report, timeline, timelineAt, scriptedTurns: turns.length };
    } catch (err) {
      return { index, lang, error: err instanceof Error ? err.message : String(err), timeline, timelineAt, scriptedTurns: turns.length };
    }
  });
  const results = await Promise.all(calls);
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - t0;
  return {
    results,
    clientLoopDelayP99Ms: loop.percentile(99) / 1e6,
    clientLoopDelayMaxMs: loop.max / 1e6,
    clientCpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    wallMs,
  };
}
