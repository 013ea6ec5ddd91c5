/**
 * What `callpilot simulate` reports after a call: one latency per caller turn, measured on the wire (end of the
 * caller's speech as sent -> first bot audio frame received after it), and one barge-in figure (caller onset ->
 * last bot frame of the prompt talked over). Everything is measured by the phone end, so the figures are what a
 * caller would experience; the server's own figures stay in the stored call.
 */
import type { CallTimelineEvent } from '../dialog/index.ts';
import type { BotBurst, SimulatedCallReport } from '../pbx/index.ts';

/** Speech inside a WAV, ms from its first sample. */
export interface SpeechSegment {
  startMs: number;
  endMs: number;
}

const FRAME_MS = 20;
/** Quieter than this is never speech, whatever the noise floor (dBFS). */
const ABSOLUTE_FLOOR_DBFS = -50;
/** Speech is this much louder than the quietest 10 % of frames. */
const ABOVE_NOISE_DB = 15;
/** Pauses shorter than this stay inside one utterance. */
const MERGE_GAP_MS = 400;
const MIN_SEGMENT_MS = 100;

/**
 * Where a recording has speech, by frame energy against its own noise floor. Good enough to say when each
 * utterance of a WAV ends, which is what a wire latency is measured from.
 */
export function speechSegments(pcm: Int16Array, rate: number): SpeechSegment[] {
  const frame = Math.round((rate * FRAME_MS) / 1000);
  const levels: number[] = [];
  for (let at = 0; at + frame <= pcm.length; at += frame) {
    let sum = 0;
    for (let i = at; i < at + frame; i++) sum += pcm[i]! * pcm[i]!;
    levels.push(10 * Math.log10(sum / frame / (32768 * 32768) + 1e-12));
  }
  if (levels.length === 0) return [];
  const sorted = [...levels].sort((a, b) => a - b);
  const noise = sorted[Math.floor(sorted.length * 0.1)]!;
  const threshold = Math.max(ABSOLUTE_FLOOR_DBFS, noise + ABOVE_NOISE_DB);
  const segments: SpeechSegment[] = [];
  levels.forEach((db, i) => {
    if (db < threshold) return;
    const startMs = i * FRAME_MS;
    const last = segments[segments.length - 1];
    if (last && startMs - last.endMs < MERGE_GAP_MS) last.endMs = startMs + FRAME_MS;
    else segments.push({ startMs, endMs: startMs + FRAME_MS });
  });
  return segments.filter((s) => s.endMs - s.startMs >= MIN_SEGMENT_MS);
}

export interface TurnFigure {
  text: string;
  /** End of caller speech -> first bot frame after it, on the wire; undefined = no reply before the caller spoke again / hung up. */
  replyMs?: number;
  /** The caller started over the bot: onset -> last frame of that prompt; undefined when the bot did not stop. */
  bargeInStopMs?: number;
  overBot: boolean;
}

/** The demo conversation: the phone measured each scripted turn itself. */
export function scriptedTurnFigures(report: SimulatedCallReport): TurnFigure[] {
  return report.turns.map((t) => ({
    text: t.text,
    replyMs: t.latencyMs,
    bargeInStopMs: t.bargeInStopMs,
    overBot: t.mode === 'bargeIn',
  }));
}

/**
 * A WAV played into the call as a recording: each utterance found in it is a turn, measured against the bot
 * audio that arrived after it ended (and before the next utterance began). `playedAt` is when its first sample
 * was sent, on the report's clock.
 */
export function recordingTurnFigures(segments: SpeechSegment[], playedAt: number, bursts: BotBurst[], label: string): TurnFigure[] {
  return segments.map((seg, i) => {
    const start = playedAt + seg.startMs;
    const end = playedAt + seg.endMs;
    const nextStart = i + 1 < segments.length ? playedAt + segments[i + 1]!.startMs : Infinity;
    const reply = bursts.find((b) => b.startAt >= end && b.startAt < nextStart);
    // Bot audio that was playing at the onset (bursts end up to 300 ms after their last frame).
    const talkedOver = bursts.find((b) => b.startAt < start && b.lastAt + 20 >= start);
    return {
      text: `${label} ${(seg.startMs / 1000).toFixed(2)}-${(seg.endMs / 1000).toFixed(2)} s`,
      replyMs: reply ? reply.startAt - end : undefined,
      bargeInStopMs: talkedOver && talkedOver.lastAt < end ? Math.max(0, talkedOver.lastAt - start) : undefined,
      overBot: talkedOver !== undefined,
    };
  });
}

/** The summary lines: one per turn with its wire latency, then the barge-in figure. */
export function summaryLines(figures: TurnFigure[]): string[] {
  if (figures.length === 0) return ['  no caller speech in this call: no turn latency or barge-in to measure'];
  const lines = figures.map((f, i) => {
    const reply = f.replyMs !== undefined ? `reply latency ${Math.round(f.replyMs)} ms (on the wire)` : 'no bot reply before the caller spoke again or the call ended';
    return `  turn ${i + 1} "${f.text}"${f.overBot ? ' (over the bot)' : ''}: ${reply}`;
  });
  const bargeIns = figures.filter((f) => f.overBot);
  if (bargeIns.length === 0) lines.push('  barge-in: none (the caller never talked over the bot)');
  for (const f of bargeIns) {
    lines.push(
      f.bargeInStopMs !== undefined
        ? `  barge-in: bot stopped ${Math.round(f.bargeInStopMs)} ms after the caller started (on the wire)`
        : '  barge-in: the bot did not stop while the caller talked over it',
    );
  }
  return lines;
}

/** Timeline lines; latency figures are left to the summary so each is printed once, as measured on the wire. */
export function timelineLine(e: CallTimelineEvent): string | undefined {
  switch (e.type) {
    case 'speechStart':
      return 'caller  speech starts';
    case 'speechEnd':
      return 'caller  speech ends';
    case 'partial':
      return undefined;
    case 'final':
      return `caller  "${e.text}"${e.earlyEndpoint ? ' (early endpoint: expected answer)' : ''}`;
    case 'dtmf':
      return `caller  DTMF ${e.digits}`;
    case 'noInput':
      return 'caller  (no input)';
    case 'bot':
      return `bot     "${e.text}"`;
    case 'botAudioStart':
      return 'bot     audio starts';
    case 'botAudioEnd':
      return 'bot     audio ends';
    case 'bargeIn':
      return `barge-in: bot stops (caller heard ${(e.heardMs / 1000).toFixed(2)} s of the prompt)`;
    case 'resume':
      return `bot     resumes (${e.reason})`;
    case 'echoIgnored':
      return 'bot     ignored its own echo';
    case 'end':
      return `call ends: ${e.disposition} (by ${e.by})`;
  }
}
