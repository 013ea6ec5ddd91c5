import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one callpilot process, on a registry of its own (tests create many). */
export interface Metrics {
  readonly registry: Registry;
  /** End of caller speech -> first bot audio frame on the wire, seconds. */
  readonly turnLatency: Histogram;
  /** Caller onset during bot speech -> bot audio stopped, seconds. */
  readonly bargeInStop: Histogram;
  readonly activeCalls: Gauge;
  readonly callsTotal: Counter<'disposition'>;
  /** ASR compute time / audio time over recent decode batches. */
  readonly asrRealTimeFactor: Gauge;
  /** Outgoing frames sent later than their 20 ms slot. */
  readonly lateFrames: Counter;
  /** Frames dropped (queue cap, malformed input, dead leg). */
  readonly droppedFrames: Counter;
  readonly turnsTotal: Counter;
  /** New calls refused (capacity, draining) by wire. */
  readonly callsRefused: Counter<'reason' | 'wire'>;
  /** Promise rejections and errors nothing handled; the process logs them and goes on. */
  readonly unhandledErrors: Counter;
  /** Prometheus text exposition of everything on the registry. */
  render(): Promise<string>;
  readonly contentType: string;
}

const TURN_LATENCY_BUCKETS = [
  0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 2,
];
const BARGE_IN_STOP_BUCKETS = [0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5];

export function createMetrics(opts: { prefix?: string; defaultMetrics?: boolean } = {}): Metrics {
  const prefix = opts.prefix ?? 'callpilot_';
  const registry = new Registry();
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix });
  const registers = [registry];

  return {
    registry,
    turnLatency: new Histogram({
      name: `${prefix}turn_latency_seconds`,
      help: 'End of caller speech to first bot audio frame on the wire',
      buckets: TURN_LATENCY_BUCKETS,
      registers,
    }),
    bargeInStop: new Histogram({
      name: `${prefix}barge_in_stop_seconds`,
      help: 'Caller speech onset during a bot prompt to bot audio stopped',
      buckets: BARGE_IN_STOP_BUCKETS,
      registers,
    }),
    activeCalls: new Gauge({ name: `${prefix}active_calls`, help: 'Calls in progress', registers }),
    callsTotal: new Counter({
      name: `${prefix}calls_total`,
      help: 'Finished calls by disposition',
      labelNames: ['disposition'] as const,
      registers,
    }),
    asrRealTimeFactor: new Gauge({
      name: `${prefix}asr_real_time_factor`,
      help: 'ASR compute time divided by audio time over recent decode batches',
      registers,
    }),
    lateFrames: new Counter({ name: `${prefix}late_frames_total`, help: 'Bot audio frames sent later than their 20 ms slot', registers }),
    droppedFrames: new Counter({ name: `${prefix}dropped_frames_total`, help: 'Audio frames dropped', registers }),
    turnsTotal: new Counter({ name: `${prefix}turns_total`, help: 'Dialog turns taken', registers }),
    callsRefused: new Counter({
      name: `${prefix}calls_refused_total`,
      help: 'New calls refused before they started (server.maxCalls reached, draining)',
      labelNames: ['reason', 'wire'] as const,
      registers,
    }),
    unhandledErrors: new Counter({
      name: `${prefix}unhandled_errors_total`,
      help: 'Rejections and errors no code handled; logged, the process keeps serving',
      registers,
    }),
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
