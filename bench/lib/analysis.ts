import type { CallTimelineEvent } from '../../src/dialog/index.ts';
import type { TurnMeasurement } from '../../src/pbx/index.ts';
import { distribution, mean, type Distribution } from './stats.ts';

/** What the simulated phones measured on the wire, over all calls of one level. */
export interface WireSummary {
  calls: number;
  failedCalls: number;
  turnsScripted: number;
  turnsSpoken: number;
  /** End of caller speech -> first bot frame, ms. */
  latency: Distribution;
  /** Caller onset -> last bot frame of the interrupted prompt, ms (bargeIn turns). */
  bargeInStop: Distribution;
  bargeInTurns: number;
  /** Turns the bot never answered within the simulator's reply timeout. */
  noReply: number;
  /**
   * Turns the server never transcribed (no `final` notice while the caller spoke or before the bot's next
   * audio): the bot audio that followed was a no-input reprompt, not a reply, so they are left out of `latency`.
   */
  unheard: number;
  /** Latency over all spoken turns, unheard ones included (what callers lived through). */
  latencyAll: Distribution;
  /**
   * Wire latency minus the server's own `botAudioStart.latencyMs` for the same turn: how much of the wire figure
   * the server does not see (VAD end placed after the real end, pacing, transport).
   */
  wireMinusServer: Distribution;
}

/** Per call: the wire turns, and when each server timeline notice arrived (same clock). */
export interface WireCall {
  turns?: readonly TurnMeasurement[];
  scriptedTurns: number;
  failed: boolean;
  notices?: readonly { at: number; event: CallTimelineEvent }[];
}

/**
 * Did the server hear this turn? A non-empty `final` (or DTMF) arriving after the caller's onset and before
 * the bot's reply reached the caller. Without notices (old servers) every turn counts as heard.
 */
export function turnHeard(t: TurnMeasurement, notices: readonly { at: number; event: CallTimelineEvent }[] | undefined): boolean {
  if (!notices || notices.length === 0) return true;
  const until = t.latencyMs !== undefined ? t.speechEndAt + t.latencyMs + 5 : Infinity;
  return notices.some(
    (n) => n.at >= t.speechStartAt && n.at <= until && ((n.event.type === 'final' && n.event.text.trim() !== '') || n.event.type === 'dtmf'),
  );
}

/**
 * Whether the server took a turn the bot had cut off back as one turn: the caller went on after the pause, the
 * answer stopped and the dialog decided again on the whole turn (`turnContinued`, which comes with the final of the
 * words after the pause: within the endpoint wait and the decode after the turn's end).
 */
export function turnTakenBack(t: TurnMeasurement, notices: readonly { at: number; event: CallTimelineEvent }[] | undefined): boolean {
  return notices?.some((n) => n.event.type === 'turnContinued' && n.at >= t.speechStartAt && n.at <= t.speechEndAt + CONTINUED_FINAL_MS) ?? false;
}
/** The endpoint wait's cap (1.2 s) and a decode under load. */
const CONTINUED_FINAL_MS = 3000;

export function summarizeWire(calls: readonly WireCall[]): WireSummary {
  const latencies: number[] = [];
  const all: number[] = [];
  const gaps: number[] = [];
  let unheard = 0;
  const stops: number[] = [];
  let spoken = 0;
  let scripted = 0;
  let noReply = 0;
  let bargeInTurns = 0;
  for (const c of calls) {
    scripted += c.scriptedTurns;
    for (const t of c.turns ?? []) {
      spoken++;
      const heard = turnHeard(t, c.notices);
      if (!heard) unheard++;
      if (t.latencyMs !== undefined) {
        all.push(t.latencyMs);
        if (heard) {
          latencies.push(t.latencyMs);
          const server = serverLatencyFor(t, c.notices);
          if (server !== undefined) gaps.push(t.latencyMs - server);
        }
      } else noReply++;
      if (t.mode === 'bargeIn') {
        bargeInTurns++;
        if (t.bargeInStopMs !== undefined) stops.push(t.bargeInStopMs);
      }
    }
  }
  return {
    calls: calls.length,
    failedCalls: calls.filter((c) => c.failed).length,
    turnsScripted: scripted,
    turnsSpoken: spoken,
    latency: distribution(latencies),
    bargeInStop: distribution(stops),
    bargeInTurns,
    noReply,
    unheard,
    latencyAll: distribution(all),
    wireMinusServer: distribution(gaps),
  };
}

/** The server's latency for a wire turn: the first `botAudioStart` with a latency that arrived after the speech end. */
function serverLatencyFor(t: TurnMeasurement, notices: WireCall['notices']): number | undefined {
  for (const n of notices ?? []) {
    if (n.at >= t.speechEndAt && n.event.type === 'botAudioStart' && n.event.latencyMs !== undefined) return n.event.latencyMs;
  }
  return undefined;
}

/** Where the server's own turn latency goes, from its timeline events (stored in SQLite's `events` table). */
export interface ServerBreakdown {
  finals: number;
  earlyEndpoints: number;
  /** VAD speech end -> final transcript, on the call's audio clock: the trailing silence the endpointer waited. */
  endpointWait: Distribution;
  endpointWaitEarly: Distribution;
  /** Final transcript -> first bot frame (ASR flush, dialog, TTS first chunk, pacing). */
  afterFinal: Distribution;
  /** Server-measured turn latency (VAD speech end -> first bot frame, wall clock). */
  serverLatency: Distribution;
  /** Server-measured barge-in stop (VAD onset -> bot held). */
  serverBargeInStop: Distribution;
  bargeIns: number;
  resumes: number;
}

/**
 * Pairs each non-empty `final` with the next `botAudioStart` that carries a latency: latency minus the
 * endpointing wait is what the rest of the pipeline took.
 */
export function serverBreakdown(timelines: readonly (readonly CallTimelineEvent[])[]): ServerBreakdown {
  const wait: number[] = [];
  const waitEarly: number[] = [];
  const after: number[] = [];
  const latency: number[] = [];
  const stops: number[] = [];
  let finals = 0;
  let early = 0;
  let resumes = 0;
  for (const events of timelines) {
    let pending: { wait: number } | undefined;
    for (const e of events) {
      if (e.type === 'final' && e.text.trim() !== '') {
        finals++;
        const w = e.atMs - e.speechEndMs;
        if (e.earlyEndpoint) {
          early++;
          waitEarly.push(w);
        } else wait.push(w);
        pending = { wait: w };
      } else if (e.type === 'botAudioStart' && e.latencyMs !== undefined) {
        latency.push(e.latencyMs);
        if (pending) after.push(Math.max(0, e.latencyMs - pending.wait));
        pending = undefined;
      } else if (e.type === 'bargeIn') stops.push(e.stopMs);
      else if (e.type === 'resume') resumes++;
    }
  }
  return {
    finals,
    earlyEndpoints: early,
    endpointWait: distribution(wait),
    endpointWaitEarly: distribution(waitEarly),
    afterFinal: distribution(after),
    serverLatency: distribution(latency),
    serverBargeInStop: distribution(stops),
    bargeIns: stops.length,
    resumes,
  };
}

/** ASR real-time factor readings while calls were active (the gauge is refreshed every 5 s by the server). */
export function summarizeRtf(readings: readonly number[]): { mean?: number; max?: number } {
  const live = readings.filter((r) => r > 0);
  return { mean: mean(live), max: live.length > 0 ? Math.max(...live) : undefined };
}
