/** One sample line of the Prometheus text format. */
export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition (comments and blank lines skipped; timestamps ignored). */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    if (m[3]) {
      for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]!] = lm[2]!;
    }
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** Sum of a metric over its label sets (those carrying every label of `where`); undefined when there are none. */
export function metricSum(samples: readonly PromSample[], name: string, where: Record<string, string> = {}): number | undefined {
  let found = false;
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name || Object.entries(where).some(([k, v]) => s.labels[k] !== v)) continue;
    found = true;
    sum += s.value;
  }
  return found ? sum : undefined;
}

/** The server metrics the bench reads. */
export interface ServerMetrics {
  asrRealTimeFactor?: number;
  lateFrames?: number;
  droppedFrames?: number;
  turns?: number;
  activeCalls?: number;
  /** How far the shared ASR is behind (smoothed), seconds. */
  asrBacklogSeconds?: number;
  /** New calls refused because the ASR backlog was over server.maxAsrBacklogMs. */
  refusedOverload?: number;
  /** Caller audio not decoded because the echo guard called it the bot's echo, seconds. */
  echoSkippedSeconds?: number;
}

export function pickServerMetrics(text: string): ServerMetrics {
  const s = parsePrometheusText(text);
  return {
    asrRealTimeFactor: metricSum(s, 'callpilot_asr_real_time_factor_ratio'),
    lateFrames: metricSum(s, 'callpilot_late_frames_total'),
    droppedFrames: metricSum(s, 'callpilot_dropped_frames_total'),
    turns: metricSum(s, 'callpilot_turns_total'),
    activeCalls: metricSum(s, 'callpilot_active_calls'),
    asrBacklogSeconds: metricSum(s, 'callpilot_asr_backlog_seconds'),
    refusedOverload: metricSum(s, 'callpilot_calls_refused_total', { reason: 'overload' }),
    echoSkippedSeconds: metricSum(s, 'callpilot_asr_echo_skipped_seconds_total'),
  };
}

/** /metrics of a bench server; `token` where the server wants one (metrics are not public by default). */
export async function fetchServerMetrics(baseUrl: string, token?: string): Promise<ServerMetrics | undefined> {
  try {
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const res = await fetch(`${baseUrl}/metrics`, { headers, signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    return pickServerMetrics(await res.text());
  } catch {
    return undefined;
  }
}

/** Scrapes /metrics every `everyMs` until stopped; `stop()` gives the scrapes in order. */
export function pollServerMetrics(baseUrl: string, token: string | undefined, everyMs: number): { stop(): ServerMetrics[] } {
  const scrapes: ServerMetrics[] = [];
  const timer = setInterval(() => {
    void fetchServerMetrics(baseUrl, token).then((m) => m && scrapes.push(m));
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      return scrapes;
    },
  };
}
