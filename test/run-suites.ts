// `npm test`: runs every suite (test/ and bench/lib/) even when an earlier one failed, streams their output, and
// ends with one line `N passed, N failed` over all of them; exits 1 if anything failed or a suite crashed.
// Every log line the run produced, in the suites and in the processes they spawn, is checked for full phone or
// card numbers and secrets (test/support/run-log.ts); a leak fails the run. Arguments are passed to each uvu run
// (e.g. `npm test -- --bail`). RUN_SUITES_ONLY="dir,dir" runs other folders the same way (the tests of this script
// use it).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LEAK_REPORT_DIR_ENV, readLeakReports } from './support/run-log.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const uvu = fileURLToPath(new URL('../node_modules/uvu/bin.js', import.meta.url));
const suites: Array<[string, string]> = process.env.RUN_SUITES_ONLY
  ? process.env.RUN_SUITES_ONLY.split(',').map((dir) => [dir, '\\.test\\.ts$'])
  : [
      ['test', '\\.test\\.ts$'],
      ['bench/lib', '\\.test\\.ts$'],
    ];
const extra = process.argv.slice(2);
// eslint-disable-next-line no-control-regex
const ansi = /\x1b\[[0-9;]*m/g;
const reportDir = mkdtempSync(join(tmpdir(), 'callpilot-log-leaks-'));
/** Leak lines printed at the end; the rest are counted. */
const SHOW_LEAKS = 30;
/** Slowest test files named at the end, so a slow CI run's log says where its time went. */
const SHOW_SLOWEST = 8;

interface SuiteResult {
  dir: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  total: number;
  passed: number;
  /** `file: "title": first line of the assertion`, one per failed test, for the closing lines. */
  failures: string[];
  /** Wall time per test file, from its header to the next file's (or the suite's end), ms. */
  fileMs: Map<string, number>;
}

/** Times each test file from the header uvu prints when it starts the file (output may split lines anywhere). */
class FileClock {
  readonly fileMs = new Map<string, number>();
  private partial = '';
  private current: { file: string; since: number } | undefined;

  feed(chunk: string): void {
    const lines = (this.partial + chunk).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      const plain = line.replace(ansi, '');
      if (/^\S.*\.test\.ts$/.test(plain)) this.start(plain);
    }
  }

  end(): void {
    if (this.current) this.fileMs.set(this.current.file, Date.now() - this.current.since);
    this.current = undefined;
  }

  /** The file running now and for how long, ms. */
  get running(): [string, number] | undefined {
    return this.current ? [this.current.file, Date.now() - this.current.since] : undefined;
  }

  private start(file: string): void {
    this.end();
    this.current = { file, since: Date.now() };
  }
}

/**
 * The failed tests in a suite's plain output. uvu prints each file's name as a header, then a `FAIL  "title"` block
 * per failed test under it, with the assertion's message on the next non-empty line. CI shows only a run's tail, so
 * the closing lines repeat them.
 */
function failedTests(plain: string, dir: string): string[] {
  const lines = plain.split('\n');
  const out: string[] = [];
  let file = '';
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] as string;
    if (/^\S.*\.test\.ts$/.test(line)) file = line;
    const fail = /^\s*FAIL\s+(.*)$/.exec(line);
    if (!fail) continue;
    const message = lines.slice(i + 1, i + 4).find((l) => l.trim() !== '')?.trim() ?? '';
    out.push(`${dir}/${file}: ${fail[1]}${message ? `: ${message}` : ''}`);
  }
  return out;
}

/** The suite running now, for a stop by SIGTERM (CI's hang guard) to report where it was. */
let running: { dir: string; child: ChildProcess; clock: FileClock } | undefined;

function runSuite(dir: string, pattern: string): Promise<SuiteResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [uvu, '-r', 'tsx', dir, pattern, ...extra], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, [LEAK_REPORT_DIR_ENV]: reportDir },
    });
    let text = '';
    const clock = new FileClock();
    running = { dir, child, clock };
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      const part = chunk.toString();
      text += part;
      clock.feed(part);
    });
    child.on('close', (code, signal) => {
      clock.end();
      const plain = text.replace(ansi, '');
      const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
      const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
      resolve({ dir, code, signal, total, passed, failures: failedTests(plain, dir), fileMs: clock.fileMs });
    });
  });
}

const started = Date.now();
let passed = 0;
let failed = 0;
const problems: string[] = [];
const fileMs: Array<[string, number]> = [];

function slowestLine(files: Array<[string, number]>): string {
  const slowest = [...files].sort((a, b) => b[1] - a[1]).slice(0, SHOW_SLOWEST);
  return `slowest files: ${slowest.map(([f, ms]) => `${f} ${(ms / 1000).toFixed(0)} s`).join(', ')}\n`;
}

/** A loaded machine explains timeouts that a quiet one never shows. */
function loadAverageLine(when?: string): string {
  return `load average${when ? ` ${when}` : ''}: ${loadavg().map((l) => l.toFixed(1)).join(' ')}\n`;
}

// A hang guard (CI's `timeout`) stops the run with SIGTERM: say where it was and where the time went before going.
process.once('SIGTERM', () => {
  const now = running?.clock.running;
  const partial = running ? [...running.clock.fileMs].map(([f, ms]): [string, number] => [`${running!.dir}/${f}`, ms]) : [];
  process.stdout.write(`\nstopped by SIGTERM after ${((Date.now() - started) / 1000).toFixed(0)} s${now ? ` in ${running!.dir}/${now[0]} (running for ${(now[1] / 1000).toFixed(0)} s)` : ''}\n`);
  process.stdout.write(slowestLine([...fileMs, ...partial]));
  process.stdout.write(loadAverageLine());
  running?.child.kill('SIGTERM');
  rmSync(reportDir, { recursive: true, force: true });
  process.exit(143);
});
try {
  for (const [dir, pattern] of suites) {
    const r = await runSuite(dir, pattern);
    for (const [file, ms] of r.fileMs) fileMs.push([`${dir}/${file}`, ms]);
    if (Number.isNaN(r.total) || Number.isNaN(r.passed)) {
      // No summary: the suite died before uvu could print one. Count it as a failure, never as nothing.
      failed += 1;
      problems.push(`${dir}: crashed (exit ${r.code ?? r.signal}) before reporting`);
      continue;
    }
    passed += r.passed;
    failed += r.total - r.passed;
    problems.push(...r.failures.map((f) => `failed: ${f}`));
    if (r.code !== 0 && r.total === r.passed) {
      failed += 1;
      problems.push(`${dir}: exit ${r.code ?? r.signal} although every test passed`);
    }
  }
  const leaks = readLeakReports(reportDir);
  process.stdout.write(`log leak detector: ${leaks.lines} log lines from ${leaks.processes} processes checked, ${leaks.leaks.length} leaked\n`);
  if (leaks.leaks.length > 0) {
    // One failure for the run: the leak lines name what leaked and where, whichever test logged them.
    failed += 1;
    problems.push(`log leak detector: ${leaks.leaks.length} log line(s) carry a full number or a secret:`);
    problems.push(...leaks.leaks.slice(0, SHOW_LEAKS).map((l) => `  ${l}`));
  }
} finally {
  rmSync(reportDir, { recursive: true, force: true });
}
for (const p of problems) process.stdout.write(`${p}\n`);
process.stdout.write(slowestLine(fileMs));
process.stdout.write(loadAverageLine('at the end'));
process.stdout.write(`suites took ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
// Alone on the last line: CI reads it as the run's result.
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exitCode = failed > 0 ? 1 : 0;
