import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Labels of per-call metrics. Values come from bounded sets: loaded flows, zh/en, configured PBXs, their media wires. */
export type CallLabel = 'flow' | 'lang' | 'pbx' | 'transport';

/** Pipeline stages timed by `stageDuration`. */
export type Stage = 'vad' | 'asr_final' | 'tts';

/** Prometheus metrics of one callpilot process, on a registry of its own (tests create many). */
export interface Metrics {
  readonly registry: Registry;
  /** End of caller speech -> first bot audio frame on the wire, seconds. */
  readonly turnLatency: Histogram<CallLabel>;
  /** Caller onset during bot speech -> bot audio stopped, seconds. */
  readonly bargeInStop: Histogram;
  readonly activeCalls: Gauge<'pbx' | 'transport'>;
  readonly callsTotal: Counter<'disposition' | CallLabel>;
  /** ASR compute time / audio time over recent decode batches. */
  readonly asrRealTimeFactor: Gauge;
  /** How far the shared ASR is behind the callers (smoothed age of undecoded audio), seconds; read at each scrape. */
  readonly asrBacklog: Gauge;
  /** The admission ramp (server.rampCalls): calls not measured yet and how many it allows; read at each scrape. */
  readonly admissionRamp: Gauge<'kind'>;
  /** Share of wall time the ASR spent decoding over the last 10 s; read at each scrape. */
  readonly asrBusy: Gauge;
  /** Caller audio the ASR did not decode because the echo guard called it the bot's echo, seconds. */
  readonly asrEchoSkipped: Counter;
  /** Outgoing frames sent later than their 20 ms slot. */
  readonly lateFrames: Counter;
  /** Frames dropped (queue cap, malformed input, dead leg). */
  readonly droppedFrames: Counter;
  readonly turnsTotal: Counter<CallLabel>;
  /** Flow retries: the caller said nothing in time, or nothing the step understood. */
  readonly noInput: Counter<'flow' | 'lang'>;
  readonly noMatch: Counter<'flow' | 'lang'>;
  /** Calls handed to a human (flow transfer steps and operator transfers). */
  readonly transfers: Counter<CallLabel>;
  /** New calls refused (capacity, draining, overload) by wire. */
  readonly callsRefused: Counter<'reason' | 'wire'>;
  /** AudioSocket connections and RTP packets a media listener turned away, by reason. */
  readonly mediaRejected: Counter<'pbx' | 'transport' | 'reason'>;
  /** 1 while the PBX connection (ARI WebSocket, ESL) is up, 0 while it is down. */
  readonly pbxConnected: Gauge<'pbx'>;
  /** Times a PBX connection went down. */
  readonly pbxDisconnects: Counter<'pbx'>;
  /** Time spent in one pipeline stage: VAD model per 20 ms frame, endpoint -> final transcript, TTS per sentence. */
  readonly stageDuration: Histogram<'stage'>;
  /** Always 1; the labels say which build runs. */
  readonly buildInfo: Gauge<'version' | 'node_version'>;
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
/** From a VAD frame (~0.1 ms) to a TTS sentence (~1 s). */
const STAGE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export interface MetricsOptions {
  /** Prefix of callpilot's own metrics (default `callpilot_`); Node/process metrics keep their standard names. */
  prefix?: string;
  defaultMetrics?: boolean;
  version?: string;
  /** The ASR backlog in ms, read when /metrics is scraped (undefined while the speech engine loads). */
  asrBacklogMs?: () => number | undefined;
  /** The ASR's busy share (0..1), read when /metrics is scraped (undefined while the speech engine loads). */
  asrBusy?: () => number | undefined;
  /** The admission ramp now, read when /metrics is scraped (undefined: the ramp is off). */
  admissionRamp?: () => { unproven: number; allowance: number } | undefined;
}

export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const prefix = opts.prefix ?? 'callpilot_';
  const registry = new Registry();
  // Unprefixed (process_cpu_seconds_total, nodejs_eventloop_lag_seconds...): stock Node dashboards find them.
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const callLabels = ['flow', 'lang', 'pbx', 'transport'] as const;
  /** A gauge whose value is read when /metrics is scraped; left unset while `read` has nothing (models loading). */
  const gaugeReadAtScrape = (name: string, help: string, read: () => number | undefined): Gauge =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        const value = read();
        if (value !== undefined) this.set(value);
      },
    });

  const buildInfo = new Gauge({
    name: `${prefix}build_info`,
    help: 'Always 1; labels name the callpilot version and the Node.js version running it',
    labelNames: ['version', 'node_version'] as const,
    registers,
  });
  buildInfo.set({ version: opts.version ?? 'unknown', node_version: process.versions.node }, 1);

  return {
    registry,
    turnLatency: new Histogram({
      name: `${prefix}turn_latency_seconds`,
      help: 'End of caller speech to first bot audio frame on the wire',
      labelNames: callLabels,
      buckets: TURN_LATENCY_BUCKETS,
      registers,
    }),
    bargeInStop: new Histogram({
      name: `${prefix}barge_in_stop_seconds`,
      help: 'Caller speech onset during a bot prompt to bot audio stopped',
      buckets: BARGE_IN_STOP_BUCKETS,
      registers,
    }),
    activeCalls: new Gauge({ name: `${prefix}active_calls`, help: 'Calls in progress', labelNames: ['pbx', 'transport'] as const, registers }),
    callsTotal: new Counter({
      name: `${prefix}calls_total`,
      help: 'Finished calls by disposition, flow, language, PBX and media transport',
      labelNames: ['disposition', ...callLabels] as const,
      registers,
    }),
    asrRealTimeFactor: new Gauge({
      name: `${prefix}asr_real_time_factor_ratio`,
      help: 'ASR compute time divided by audio time over recent decode batches',
      registers,
    }),
    asrBacklog: gaugeReadAtScrape(
      `${prefix}asr_backlog_seconds`,
      'How far the shared ASR is behind the callers: smoothed age of the oldest caller audio not decoded yet',
      () => {
        const ms = opts.asrBacklogMs?.();
        return ms === undefined ? undefined : ms / 1000;
      },
    ),
    asrBusy: gaugeReadAtScrape(
      `${prefix}asr_busy_ratio`,
      'Share of wall time the ASR spent decoding over the last 10 s (wall time: a core shared with other processes shows as busier)',
      () => opts.asrBusy?.(),
    ),
    admissionRamp: new Gauge({
      name: `${prefix}admission_ramp_calls`,
      help: 'Admission ramp (server.rampCalls): kind="unproven" calls admitted within server.rampWindowMs, kind="allowance" how many of them it allows now',
      labelNames: ['kind'] as const,
      registers,
      collect() {
        const ramp = opts.admissionRamp?.();
        if (!ramp) return;
        this.set({ kind: 'unproven' }, ramp.unproven);
        this.set({ kind: 'allowance' }, ramp.allowance);
      },
    }),
    asrEchoSkipped: new Counter({
      name: `${prefix}asr_echo_skipped_seconds_total`,
      help: "Caller audio not decoded because the echo guard called it the bot's own echo",
      registers,
    }),
    lateFrames: new Counter({ name: `${prefix}late_frames_total`, help: 'Bot audio frames sent later than their 20 ms slot', registers }),
    droppedFrames: new Counter({ name: `${prefix}dropped_frames_total`, help: 'Audio frames dropped', registers }),
    turnsTotal: new Counter({ name: `${prefix}turns_total`, help: 'Dialog turns taken', labelNames: callLabels, registers }),
    noInput: new Counter({ name: `${prefix}no_input_total`, help: 'Flow no-input retries (the caller said nothing in time)', labelNames: ['flow', 'lang'] as const, registers }),
    noMatch: new Counter({ name: `${prefix}no_match_total`, help: 'Flow no-match retries (nothing the step understood)', labelNames: ['flow', 'lang'] as const, registers }),
    transfers: new Counter({ name: `${prefix}transfers_total`, help: 'Calls handed to a human agent', labelNames: callLabels, registers }),
    callsRefused: new Counter({
      name: `${prefix}calls_refused_total`,
      help: 'New calls refused before they started (server.maxCalls reached, draining, overload: ASR backlog over server.maxAsrBacklogMs or the server.rampCalls ramp)',
      labelNames: ['reason', 'wire'] as const,
      registers,
    }),
    mediaRejected: new Counter({
      name: `${prefix}media_rejected_total`,
      help: 'AudioSocket connections (no_uuid, bad_start, unknown_uuid) and RTP packets (wrong_source) a media listener turned away',
      labelNames: ['pbx', 'transport', 'reason'] as const,
      registers,
    }),
    pbxConnected: new Gauge({ name: `${prefix}pbx_connected`, help: '1 while the PBX control connection (ARI, ESL) is up', labelNames: ['pbx'] as const, registers }),
    pbxDisconnects: new Counter({ name: `${prefix}pbx_disconnects_total`, help: 'Times a PBX control connection went down', labelNames: ['pbx'] as const, registers }),
    stageDuration: new Histogram({
      name: `${prefix}stage_duration_seconds`,
      help: 'Time in one pipeline stage: vad (model per 20 ms frame), asr_final (endpoint to final transcript), tts (one sentence synthesized)',
      labelNames: ['stage'] as const,
      buckets: STAGE_BUCKETS,
      registers,
    }),
    buildInfo,
    unhandledErrors: new Counter({
      name: `${prefix}unhandled_errors_total`,
      help: 'Rejections and errors no code handled; logged, the process keeps serving',
      registers,
    }),
    render: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
