/**
 * SIPp load driver: N calls at a given rate between SIPp and an Asterisk that hands them to
 * callpilot, then a summary of SIPp's statistics and callpilot's own metrics for the same window.
 *
 *   node --import tsx bench/sipp/run-load.ts --mode inbound --target 10.0.0.5:5060 --calls 50 --rate 2 \
 *        --wav ../shared/models/callpilot-tiny-zh-en/test_wavs/zh-0097.wav --callpilot http://10.0.0.6:8080
 *
 * Modes:
 *   inbound    SIPp dials Asterisk extension --service (default 100, `Stasis(callpilot,...)`) and speaks --wav.
 *   answer     SIPp is the callee on --local-port (5070, endpoint PJSIP/sipp-uas); the driver places
 *              outbound calls with POST /api/calls and SIPp answers and speaks.
 *   busy       as answer, but SIPp replies 486.
 *   noanswer   as answer, but SIPp only rings (Asterisk cancels at --ring-timeout).
 *
 * Caller scripts (--caller): `barge-in` speaks 1.5 s into the greeting; `after-greeting` waits --greeting-ms
 * and answers. --expect transferred[,other] judges every call callpilot stored during the run (GET /api/calls,
 * --token with a role that may read calls). --capture runs `tcpdump -i any` on this host (root) and measures the
 * turn latency and holes in the bot's audio on the wire from packet arrival times (--pcap FILE: a capture made
 * elsewhere, e.g. on the SBC). CPU and peak RSS of callpilot come from its process metrics. The run fails (exit 1)
 * when any call went wrong for the bot, whatever SIPp's own success count says. Analysis: bench/lib/sipp-analysis.ts.
 *
 * SIPp is the Debian package `sip-tester`. Requires python3 (wav2pcap.py) on the driving host.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parsePrometheusText, type PromSample } from '../lib/prometheus.ts';
import { judgeCalls, pairCalls, promptHoles, readRtpStreams, summarizeLoad, wireTurns, type CallVerdicts, type StoredCall, type WireTurn } from '../lib/sipp-analysis.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));

type Mode = 'inbound' | 'answer' | 'busy' | 'noanswer';

interface Options {
  mode: Mode;
  target: string;
  service: string;
  calls: number;
  rate: number;
  concurrency: number;
  wav: string;
  callpilot: string;
  endpoint: string;
  localIp: string;
  localPort: number;
  mediaPort: number;
  holdMs: number;
  ringMs: number;
  ringTimeoutSec: number;
  flow?: string;
  lang?: string;
  /** `barge-in`: the caller speaks 1.5 s into the greeting; `after-greeting`: once --greeting-ms have passed. */
  caller: 'barge-in' | 'after-greeting';
  greetingMs: number;
  /** Dispositions a call of this script should end with (per-call correctness); none = not checked. */
  expect: string[];
  token?: string;
  /** tcpdump the RTP during the run (root or CAP_NET_RAW), or analyse a capture made elsewhere. */
  capture: boolean;
  pcap?: string;
  latencyTargetMs: number;
}

function options(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string', default: 'inbound' },
      target: { type: 'string', default: '127.0.0.1:5060' },
      service: { type: 'string', default: '100' },
      calls: { type: 'string', default: '10' },
      rate: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '50' },
      wav: { type: 'string' },
      callpilot: { type: 'string', default: 'http://127.0.0.1:8080' },
      endpoint: { type: 'string', default: 'PJSIP/sipp-uas' },
      'local-ip': { type: 'string', default: '127.0.0.1' },
      'local-port': { type: 'string' },
      'media-port': { type: 'string' },
      'hold-ms': { type: 'string', default: '30000' },
      'ring-ms': { type: 'string', default: '1000' },
      'ring-timeout': { type: 'string', default: '20' },
      flow: { type: 'string' },
      lang: { type: 'string' },
      caller: { type: 'string', default: 'barge-in' },
      'greeting-ms': { type: 'string', default: '9000' },
      expect: { type: 'string' },
      token: { type: 'string' },
      capture: { type: 'boolean', default: false },
      pcap: { type: 'string' },
      'latency-target': { type: 'string', default: '500' },
    },
  });
  if (values.caller !== 'barge-in' && values.caller !== 'after-greeting') throw new Error('--caller must be barge-in or after-greeting');
  const mode = values.mode as Mode;
  if (!['inbound', 'answer', 'busy', 'noanswer'].includes(mode)) throw new Error(`--mode must be inbound, answer, busy or noanswer`);
  if (!values.wav && (mode === 'inbound' || mode === 'answer')) throw new Error('--wav is required (the caller/callee speech)');
  const int = (v: string | undefined, name: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number`);
    return n;
  };
  return {
    mode,
    target: values.target as string,
    service: values.service as string,
    calls: int(values.calls, 'calls'),
    rate: int(values.rate, 'rate'),
    concurrency: int(values.concurrency, 'concurrency'),
    wav: values.wav ?? '',
    callpilot: (values.callpilot as string).replace(/\/$/, ''),
    endpoint: values.endpoint as string,
    localIp: values['local-ip'] as string,
    localPort: int(values['local-port'] ?? (mode === 'inbound' ? '5080' : '5070'), 'local-port'),
    mediaPort: int(values['media-port'] ?? (mode === 'inbound' ? '6000' : '6100'), 'media-port'),
    holdMs: int(values['hold-ms'], 'hold-ms'),
    ringMs: int(values['ring-ms'], 'ring-ms'),
    ringTimeoutSec: int(values['ring-timeout'], 'ring-timeout'),
    flow: values.flow,
    lang: values.lang,
    caller: values.caller,
    greetingMs: int(values['greeting-ms'], 'greeting-ms'),
    expect: (values.expect ?? '').split(',').map((x) => x.trim()).filter(Boolean),
    token: values.token ?? process.env.CALLPILOT_TOKEN,
    capture: values.capture ?? false,
    pcap: values.pcap,
    latencyTargetMs: int(values['latency-target'], 'latency-target'),
  };
}

function authHeaders(o: Options): Record<string, string> {
  return o.token ? { authorization: `Bearer ${o.token}` } : {};
}

function run(cmd: string, args: string[], opts: { quiet?: boolean } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: opts.quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
    child.on('error', (err) => reject(new Error(`${cmd}: ${err.message}${(err as NodeJS.ErrnoException).code === 'ENOENT' ? ' (install sip-tester / python3)' : ''}`)));
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function metrics(base: string, headers: Record<string, string> = {}): Promise<PromSample[]> {
  try {
    const res = await fetch(`${base}/metrics`, { headers, signal: AbortSignal.timeout(3000) });
    return res.ok ? parsePrometheusText(await res.text()) : [];
  } catch {
    return [];
  }
}

/** Quantile of a Prometheus histogram's increase between two scrapes (linear within a bucket). */
function histogramQuantile(before: PromSample[], after: PromSample[], name: string, q: number): number | undefined {
  const buckets = (samples: PromSample[]): Map<number, number> => {
    const m = new Map<number, number>();
    for (const s of samples) if (s.name === `${name}_bucket`) m.set(s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), (m.get(Number(s.labels.le)) ?? 0) + s.value);
    return m;
  };
  const b0 = buckets(before);
  const b1 = buckets(after);
  const bounds = [...b1.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (b1.get(le) ?? 0) - (b0.get(le) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    if (counts[i] >= rank) {
      const lo = i === 0 ? 0 : bounds[i - 1];
      const hi = bounds[i] === Infinity ? lo : bounds[i];
      const below = i === 0 ? 0 : counts[i - 1];
      const inBucket = counts[i] - below;
      return inBucket > 0 ? lo + ((hi - lo) * (rank - below)) / inBucket : hi;
    }
  }
  return undefined;
}

function delta(before: PromSample[], after: PromSample[], name: string, labels: Record<string, string> = {}): number {
  const sum = (samples: PromSample[]): number =>
    samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
  return sum(after) - sum(before);
}

/** Last row of SIPp's -trace_stat CSV as name -> value. */
function sippStats(dir: string): Record<string, string> {
  const file = readdirSync(dir).find((f) => f.endsWith('.csv'));
  if (!file) return {};
  const rows = readFileSync(join(dir, file), 'utf8').trim().split('\n');
  const header = rows[0].split(';');
  const last = rows[rows.length - 1].split(';');
  return Object.fromEntries(header.map((h, i) => [h, last[i] ?? '']));
}

function prepareScenario(dir: string, file: string, pcap: string, o: Options): string {
  const text = readFileSync(join(HERE, file), 'utf8')
    .replaceAll('@PCAP@', pcap)
    .replaceAll('@HOLD_MS@', String(o.holdMs))
    .replaceAll('@RING_MS@', String(o.ringMs));
  const out = join(dir, file);
  writeFileSync(out, text);
  return out;
}

async function placeOutboundCalls(o: Options): Promise<{ placed: number; refused: number }> {
  let placed = 0;
  let refused = 0;
  const gapMs = o.rate > 0 ? 1000 / o.rate : 0;
  for (let i = 0; i < o.calls; i++) {
    const res = await fetch(`${o.callpilot}/api/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...authHeaders(o) },
      body: JSON.stringify({ endpoint: o.endpoint, timeoutSec: o.ringTimeoutSec, flow: o.flow, lang: o.lang, variables: { bench_call: String(i + 1) } }),
    }).catch(() => undefined);
    if (res?.ok) placed++;
    else refused++;
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return { placed, refused };
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-sipp-'));
  const pcap = join(dir, 'speech.pcap');
  if (o.wav) {
    // The caller script: barge into the greeting, or wait until it is over and answer.
    const leadMs = o.caller === 'after-greeting' ? o.greetingMs + 500 : 1500;
    const code = await run('python3', [join(HERE, 'wav2pcap.py'), o.wav, pcap, '--lead-ms', String(leadMs)], { quiet: true });
    if (code !== 0) throw new Error('wav2pcap.py failed');
  }
  const scenarioFile = { inbound: 'uac-caller.xml', answer: 'uas-answer.xml', busy: 'uas-busy.xml', noanswer: 'uas-noanswer.xml' }[o.mode];
  const scenario = prepareScenario(dir, scenarioFile, pcap, o);
  const common = ['-sf', scenario, '-i', o.localIp, '-p', String(o.localPort), '-mi', o.localIp, '-mp', String(o.mediaPort), '-m', String(o.calls), '-l', String(o.concurrency)];
  const stats = ['-trace_stat', '-stf', join(dir, 'stats.csv'), '-fd', '1', '-trace_err', '-error_file', join(dir, 'errors.log'), '-nostdin'];
  const before = await metrics(o.callpilot, authHeaders(o));
  const started = performance.now();
  const startedIso = new Date().toISOString();
  let rssPeak = 0;
  const rssPoll = setInterval(() => {
    void metrics(o.callpilot, authHeaders(o)).then((m) => {
      rssPeak = Math.max(rssPeak, m.find((x) => x.name === 'callpilot_process_resident_memory_bytes')?.value ?? 0);
    });
  }, 2000);
  const wirePcap = o.pcap ?? join(dir, 'wire.pcap');
  const tcpdump = o.capture ? spawn('tcpdump', ['-i', 'any', '-U', '-w', wirePcap, 'udp'], { stdio: ['ignore', 'ignore', 'inherit'] }) : undefined;
  tcpdump?.on('error', (err) => console.error(`tcpdump: ${err.message}`));
  if (tcpdump) await new Promise((r) => setTimeout(r, 1000));

  let outbound: { placed: number; refused: number } | undefined;
  let sippExit: number;
  if (o.mode === 'inbound') {
    sippExit = await run('sipp', [o.target, '-s', o.service, '-r', String(o.rate), '-rp', '1000', ...common, ...stats, '-timeout', `${Math.ceil((o.calls / Math.max(o.rate, 0.1)) + o.holdMs / 1000 + 60)}s`]);
  } else {
    // SIPp waits as the callee while callpilot dials it through Asterisk.
    const sipp = run('sipp', [...common, ...stats, '-timeout', `${Math.ceil(o.calls / Math.max(o.rate, 0.1) + o.ringTimeoutSec + o.holdMs / 1000 + 60)}s`]);
    await new Promise((r) => setTimeout(r, 500));
    outbound = await placeOutboundCalls(o);
    sippExit = await sipp;
  }
  const elapsed = (performance.now() - started) / 1000;
  // Let the last calls' metrics and records land.
  await new Promise((r) => setTimeout(r, 3000));
  clearInterval(rssPoll);
  if (tcpdump) {
    tcpdump.kill('SIGINT');
    await new Promise((r) => tcpdump.once('exit', r));
  }
  const after = await metrics(o.callpilot, authHeaders(o));
  const s = sippStats(dir);
  const ms = (v: number | undefined): string => (v === undefined ? 'n/a' : `${Math.round(v * 1000)} ms`);
  const dispositions = [...new Set(after.filter((x) => x.name === 'callpilot_calls_total').map((x) => x.labels.disposition))]
    .map((d) => `${d}=${delta(before, after, 'callpilot_calls_total', { disposition: d })}`)
    .filter((t) => !t.endsWith('=0'));

  const rows: Array<[string, string]> = [
    ['mode', `${o.mode} (${o.calls} calls at ${o.rate}/s, max ${o.concurrency} at once)`],
    ['elapsed', `${elapsed.toFixed(1)} s, SIPp exit code ${sippExit}`],
    ['SIPp successful / failed calls', `${s['SuccessfulCall(C)'] ?? '?'} / ${s['FailedCall(C)'] ?? '?'}`],
    ['SIPp response time (avg)', s['ResponseTime1(C)'] ?? 'n/a'],
    ['SIPp call length (avg)', s['CallLength(C)'] ?? 'n/a'],
    ...(outbound ? ([['POST /api/calls placed / refused', `${outbound.placed} / ${outbound.refused}`]] as Array<[string, string]>) : []),
    ['callpilot turns', String(delta(before, after, 'callpilot_turns_total'))],
    ['turn latency p50 / p95', `${ms(histogramQuantile(before, after, 'callpilot_turn_latency_seconds', 0.5))} / ${ms(histogramQuantile(before, after, 'callpilot_turn_latency_seconds', 0.95))} (target p95 <= 350 ms)`],
    ['barge-in stop p95', ms(histogramQuantile(before, after, 'callpilot_barge_in_stop_seconds', 0.95))],
    ['late / dropped bot frames', `${delta(before, after, 'callpilot_late_frames_total')} / ${delta(before, after, 'callpilot_dropped_frames_total')}`],
    ['call dispositions', dispositions.join(', ') || 'n/a'],
    ['SIPp files', dir],
  ];
  if (before.length === 0 && after.length === 0) rows.push(['note', `no metrics from ${o.callpilot}/metrics (pass --token for a protected /metrics)`]);

  // What a carrier wants to know: did every call do what the script expected, and what did the wire see.
  const placed = outbound ? outbound.placed : Number(s['SuccessfulCall(C)'] ?? 0) + Number(s['FailedCall(C)'] ?? 0);
  const verdicts = o.expect.length > 0 ? await storedVerdicts(o, startedIso, placed) : undefined;
  let turns: WireTurn[] = [];
  let holes: number[] = [];
  let wireCalls = 0;
  if (o.capture || o.pcap) {
    try {
      const calls = pairCalls(readRtpStreams(readFileSync(wirePcap)), (st) => isSippMedia(st.src, o));
      wireCalls = calls.length;
      turns = calls.flatMap((c) => wireTurns(c));
      holes = calls.flatMap((c) => promptHoles(c.bot));
    } catch (err) {
      rows.push(['capture', `not analysed: ${(err as Error).message}`]);
    }
  }
  const cpuSeconds = delta(before, after, 'callpilot_process_cpu_seconds_total');
  const summary = summarizeLoad({
    sipp: { successful: numberOr(s['SuccessfulCall(C)']), failed: numberOr(s['FailedCall(C)']), exitCode: sippExit },
    placed,
    verdicts,
    expected: o.expect,
    turns,
    wireCalls,
    holesMs: holes,
    cpuPercent: after.length > 0 && cpuSeconds > 0 ? (100 * cpuSeconds) / elapsed : undefined,
    rssPeakMb: rssPeak > 0 ? rssPeak / 1e6 : undefined,
    latencyTargetMs: o.latencyTargetMs,
    holeTargetMs: 40,
  });
  const all = [...rows, ['caller script', o.caller === 'after-greeting' ? `answers after the greeting (${o.greetingMs} ms)` : 'barges in 1.5 s into the greeting'] as [string, string], ...summary.rows];
  const width = Math.max(...all.map(([k]) => k.length));
  for (const [k, v] of all) console.log(`${k.padEnd(width)}  ${v}`);
  if (summary.failures.length > 0) {
    console.log(`\nFAILED (${summary.failures.length}):`);
    for (const f of summary.failures) console.log(`  - ${f}`);
    process.exitCode = 1;
  } else {
    console.log('\nPASSED');
    process.exitCode = 0;
  }
}

function numberOr(v: string | undefined): number | undefined {
  const n = Number(v);
  return v === undefined || v === '' || !Number.isFinite(n) ? undefined : n;
}

/** SIPp's RTP leaves from --local-ip, from --media-port upwards (one port pair per call). */
function isSippMedia(src: string, o: Options): boolean {
  const [ip, port] = src.split(':');
  const p = Number(port);
  return ip === o.localIp && p >= o.mediaPort && p < o.mediaPort + 4 * Math.max(o.calls, o.concurrency) + 100;
}

/** The calls callpilot stored since the run started, judged against --expect. */
async function storedVerdicts(o: Options, sinceIso: string, placed: number): Promise<CallVerdicts | undefined> {
  try {
    const res = await fetch(`${o.callpilot}/api/calls?limit=1000`, { headers: authHeaders(o), signal: AbortSignal.timeout(10_000) });
    if (!res.ok) {
      console.error(`GET /api/calls: ${res.status} (pass --token with the auditor or operator role)`);
      return undefined;
    }
    const body = (await res.json()) as { calls: Array<StoredCall & { startedAt: string }> };
    return judgeCalls(body.calls.filter((c) => c.startedAt >= sinceIso), o.expect, placed);
  } catch (err) {
    console.error(`GET /api/calls failed: ${(err as Error).message}`);
    return undefined;
  }
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exitCode = 2;
});
