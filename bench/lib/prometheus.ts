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

/** Sum of a metric over all its label sets; undefined when the metric is absent. */
export function metricSum(samples: readonly PromSample[], name: string): number | undefined {
  let found = false;
  let sum = 0;
  for (const s of samples) {
    if (s.name !== name) continue;
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
}

export function pickServerMetrics(text: string): ServerMetrics {
  const s = parsePrometheusText(text);
  return {
    asrRealTimeFactor: metricSum(s, 'callpilot_asr_real_time_factor_ratio'),
    lateFrames: metricSum(s, 'callpilot_late_frames_total'),
    droppedFrames: metricSum(s, 'callpilot_dropped_frames_total'),
    turns: metricSum(s, 'callpilot_turns_total'),
    activeCalls: metricSum(s, 'callpilot_active_calls'),
  };
}

export async function fetchServerMetrics(baseUrl: string): Promise<ServerMetrics | undefined> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) return undefined;
    return pickServerMetrics(await res.text());
  } catch {
    return undefined;
  }
}
