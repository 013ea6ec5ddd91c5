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
 * SIPp is the Debian package `sip-tester`. Requires python3 (wav2pcap.py) on the driving host.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parsePrometheusText, type PromSample } from '../lib/prometheus.ts';

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
    },
  });
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
  };
}

function run(cmd: string, args: string[], opts: { quiet?: boolean } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: opts.quiet ? ['ignore', 'ignore', 'inherit'] : 'inherit' });
    child.on('error', (err) => reject(new Error(`${cmd}: ${err.message}${(err as NodeJS.ErrnoException).code === 'ENOENT' ? ' (install sip-tester / python3)' : ''}`)));
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

async function metrics(base: string): Promise<PromSample[]> {
  try {
    const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(3000) });
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
      headers: { 'content-type': 'application/json' },
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
    const code = await run('python3', [join(HERE, 'wav2pcap.py'), o.wav, pcap], { quiet: true });
    if (code !== 0) throw new Error('wav2pcap.py failed');
  }
  const scenarioFile = { inbound: 'uac-caller.xml', answer: 'uas-answer.xml', busy: 'uas-busy.xml', noanswer: 'uas-noanswer.xml' }[o.mode];
  const scenario = prepareScenario(dir, scenarioFile, pcap, o);
  const common = ['-sf', scenario, '-i', o.localIp, '-p', String(o.localPort), '-mi', o.localIp, '-mp', String(o.mediaPort), '-m', String(o.calls), '-l', String(o.concurrency)];
  const stats = ['-trace_stat', '-stf', join(dir, 'stats.csv'), '-fd', '1', '-trace_err', '-error_file', join(dir, 'errors.log'), '-nostdin'];
  const before = await metrics(o.callpilot);
  const started = performance.now();

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
  // Let the last calls' metrics land.
  await new Promise((r) => setTimeout(r, 2000));
  const after = await metrics(o.callpilot);
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
  if (before.length === 0 && after.length === 0) rows.push(['note', `no metrics from ${o.callpilot}/metrics`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  process.exitCode = sippExit === 0 ? 0 : 1;
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exitCode = 2;
});
