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
}

export function summarizeWire(
  calls: readonly { turns?: readonly TurnMeasurement[]; scriptedTurns: number; failed: boolean }[],
): WireSummary {
  const latencies: number[] = [];
  const stops: number[] = [];
  let spoken = 0;
  let scripted = 0;
  let noReply = 0;
  let bargeInTurns = 0;
  for (const c of calls) {
    scripted += c.scriptedTurns;
    for (const t of c.turns ?? []) {
      spoken++;
      if (t.latencyMs !== undefined) latencies.push(t.latencyMs);
      else noReply++;
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
  };
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
