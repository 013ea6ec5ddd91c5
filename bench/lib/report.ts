import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import type { ServerBreakdown, WireSummary } from './analysis.ts';
import type { Distribution } from './stats.ts';

/** Targets at 50 concurrent calls on a 2-core machine. */
export const TARGETS = {
  calls: 50,
  turnLatencyP95Ms: 350,
  bargeInStopP95Ms: 120,
  memoryPerCallMb: 15,
} as const;

/** Everything measured for one (model, concurrency) pair. */
export interface LevelResult {
  model: string;
  calls: number;
  wire: WireSummary;
  server: ServerBreakdown;
  cpuPercent?: number;
  peakCpuPercent?: number;
  idleRssBytes?: number;
  peakRssBytes?: number;
  rtfMean?: number;
  rtfMax?: number;
  lateFrames?: number;
  droppedFrames?: number;
  clientCpuPercent: number;
  clientLoopDelayP99Ms: number;
  loadAvgBefore: number;
  error?: string;
}

export function memoryPerCallMb(r: LevelResult): number | undefined {
  if (r.idleRssBytes === undefined || r.peakRssBytes === undefined || r.calls <= 0) return undefined;
  return (r.peakRssBytes - r.idleRssBytes) / r.calls / (1024 * 1024);
}

const f0 = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(0));
const f1 = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(1));
const f3 = (v: number | undefined): string => (v === undefined ? '-' : v.toFixed(3));
const mb = (v: number | undefined): string => (v === undefined ? '-' : (v / (1024 * 1024)).toFixed(0));
const dist3 = (d: Distribution): string => `${f0(d.p50)} / ${f0(d.p95)} / ${f0(d.p99)}`;
const dist2 = (d: Distribution): string => `${f0(d.p50)} / ${f0(d.p95)}`;

/** ✓ / ✗ against a ceiling, only on the row the target is defined for. */
function mark(value: number | undefined, ceiling: number, applies: boolean): string {
  if (!applies || value === undefined) return '';
  return value <= ceiling ? ' ✓' : ' ✗';
}

export const TABLE_HEADER = [
  'model',
  'calls',
  'turns spoken/scripted, unheard, no reply',
  'turn latency p50/p95/p99 ms',
  'incl. unheard p95 ms',
  'barge-in stop p50/p95 ms (n)',
  'server CPU % avg/peak',
  'RSS idle→peak MB',
  'MB/call',
  'ASR RTF mean/max',
  'late / dropped frames',
  'bench CPU %, loop p99 ms',
];

export function tableRow(r: LevelResult): string[] {
  const at = r.calls === TARGETS.calls;
  const w = r.wire;
  const mpc = memoryPerCallMb(r);
  return [
    r.model,
    String(r.calls),
    r.error ? `error: ${r.error}` : `${w.turnsSpoken}/${w.turnsScripted}, ${w.unheard}, ${w.noReply}`,
    `${dist3(w.latency)}${mark(w.latency.p95, TARGETS.turnLatencyP95Ms, at)}`,
    f0(w.latencyAll.p95),
    `${dist2(w.bargeInStop)} (${w.bargeInStop.n})${mark(w.bargeInStop.p95, TARGETS.bargeInStopP95Ms, at)}`,
    `${f0(r.cpuPercent)} / ${f0(r.peakCpuPercent)}`,
    `${mb(r.idleRssBytes)}→${mb(r.peakRssBytes)}`,
    `${f1(mpc)}${mark(mpc, TARGETS.memoryPerCallMb, at)}`,
    `${f3(r.rtfMean)} / ${f3(r.rtfMax)}`,
    `${f0(r.lateFrames)} / ${f0(r.droppedFrames)}`,
    `${f0(r.clientCpuPercent)}, ${f0(r.clientLoopDelayP99Ms)}`,
  ];
}

/** Where the server's latency went, one line per level. */
export function breakdownLine(r: LevelResult): string {
  const s = r.server;
  return (
    `${r.model} ×${r.calls}: server latency p50/p95 ${dist2(s.serverLatency)} ms = endpoint wait ` +
    `(normal p50 ${f0(s.endpointWait.p50)}, early p50 ${f0(s.endpointWaitEarly.p50)}; ${s.earlyEndpoints}/${s.finals} early) ` +
    `+ after final p50/p95 ${dist2(s.afterFinal)}; wire − server p50/p95 ${dist2(r.wire.wireMinusServer)}; ` +
    `server barge-in stop p50/p95 ${dist2(s.serverBargeInStop)} (${s.bargeIns} holds, ${s.resumes} resumed)`
  );
}

export function markdownTable(rows: readonly string[][]): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  const lines = [`| ${TABLE_HEADER.join(' | ')} |`, `|${TABLE_HEADER.map(() => '---').join('|')}|`];
  for (const r of rows) lines.push(`| ${r.map(esc).join(' | ')} |`);
  return lines.join('\n');
}

/** A fixed-width table for the terminal. */
export function textTable(rows: readonly string[][]): string {
  const all = [TABLE_HEADER, ...rows];
  const widths = TABLE_HEADER.map((_, i) => Math.max(...all.map((r) => [...(r[i] ?? '')].length)));
  return all.map((r) => r.map((c, i) => c + ' '.repeat(widths[i]! - [...c].length)).join('  ')).join('\n');
}

export function targetsLine(): string {
  return (
    `Targets at ${TARGETS.calls} concurrent calls: turn latency p95 ≤ ${TARGETS.turnLatencyP95Ms} ms, ` +
    `barge-in stop p95 ≤ ${TARGETS.bargeInStopP95Ms} ms, memory ≤ ${TARGETS.memoryPerCallMb} MB per call (✓/✗ on the ${TARGETS.calls}-call rows).`
  );
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  loadAvg: string;
  node: string;
}

export function machineInfo(): MachineInfo {
  const c = cpus();
  return {
    nproc: c.length,
    cpuModel: c[0]?.model.trim() ?? 'unknown',
    loadAvg: loadavg().map((x) => x.toFixed(2)).join(' '),
    node: process.version,
  };
}

export function gitCommit(repoRoot: string): string {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'src', 'configs'], {
      cwd: repoRoot,
      encoding: 'utf8',
    }).trim();
    return dirty ? `${sha} (+ uncommitted changes in src/ or configs/)` : sha;
  } catch {
    return 'unknown';
  }
}

/** The section appended to RESULTS.md for one run. */
export function resultsSection(opts: {
  command: string;
  date: Date;
  commit: string;
  machineBefore: MachineInfo;
  loadAfter: string;
  results: readonly LevelResult[];
  notes: readonly string[];
}): string {
  const m = opts.machineBefore;
  return [
    `## ${opts.date.toISOString()}`,
    '',
    `- command: \`${opts.command}\``,
    `- commit: ${opts.commit}`,
    `- machine: ${m.nproc} × ${m.cpuModel}, node ${m.node}; load average before ${m.loadAvg}, after ${opts.loadAfter}`,
    `- ${targetsLine()}`,
    '',
    markdownTable(opts.results.map(tableRow)),
    '',
    'Server-side timeline (SQLite events):',
    '',
    ...opts.results.map((r) => `- ${breakdownLine(r)}`),
    ...(opts.notes.length > 0 ? ['', ...opts.notes.map((n) => `- ${n}`)] : []),
    '',
  ].join('\n');
}

const RESULTS_PREAMBLE = `# callpilot turn-latency bench results

Appended by \`npm run bench\`; newest last. How to read the columns: see README.md in this folder.

`;

export function appendResults(path: string, section: string): void {
  if (!existsSync(path) || readFileSync(path, 'utf8').trim() === '') writeFileSync(path, RESULTS_PREAMBLE);
  appendFileSync(path, `\n${section}`);
}
