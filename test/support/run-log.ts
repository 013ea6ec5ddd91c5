import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../src/observability/index.ts';
import { LeakScanner } from './leak-scanner.ts';

/**
 * The whole test run's log check (issue 9: "the log detector over a full test run finds 0 full numbers").
 *
 * Every logger a test hands to callpilot code is `testLog()`: the production logger (its redaction and masking) at
 * debug level, writing into a leak scanner instead of a terminal. Child processes inherit it: a child that runs
 * test code logs through its own `testLog()`, and a child that runs the real `bin/callpilot.js` has its output
 * passed to `scanChildLogs()` by the test that spawned it. `npm test` (test/run-suites.ts) names a folder in
 * LOG_LEAK_REPORT_DIR; each process appends every leak to its own file there the moment it is logged (a SIGKILLed
 * child's leaks still count) and writes how many lines it checked when it exits. The runner adds them up and fails
 * the run on any leak. A test file run on its own (no folder) prints each leak and exits 1.
 */
export const LEAK_REPORT_DIR_ENV = 'LOG_LEAK_REPORT_DIR';
/** Set to anything to also see the checked log lines on stderr, for debugging a test. */
export const TEST_LOG_ENV = 'TEST_LOG';

const LEAKS_SUFFIX = '.leaks';
const LINES_SUFFIX = '.lines';

class RunLog {
  readonly logger: Logger;
  private readonly scanners: LeakScanner[] = [];
  private readonly secrets: string[] = [];
  private readonly reportBase: string | undefined;
  private readonly echo = Boolean(process.env[TEST_LOG_ENV]);
  private leaks = 0;

  constructor() {
    const dir = process.env[LEAK_REPORT_DIR_ENV];
    this.reportBase = dir ? join(dir, `${process.pid}-${randomUUID()}`) : undefined;
    const scanner = this.scanner();
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        const text = chunk.toString('utf8');
        if (this.echo) process.stderr.write(text);
        scanner.feed(text);
        done();
      },
    });
    this.logger = createLogger({ level: 'debug' }, sink);
    process.on('exit', () => this.finish());
  }

  addSecret(secret: string): void {
    this.secrets.push(secret);
    for (const s of this.scanners) s.addSecret(secret);
  }

  /** A scanner of its own per stream, so lines from different writers are never spliced together. */
  scanner(): LeakScanner {
    const s = new LeakScanner((report) => this.leak(report), this.secrets);
    this.scanners.push(s);
    return s;
  }

  private leak(report: string): void {
    this.leaks++;
    if (this.reportBase) appendFileSync(this.reportBase + LEAKS_SUFFIX, `${report.replaceAll('\n', ' ')}\n`);
    else process.stderr.write(`log leak: ${report}\n`);
  }

  private finish(): void {
    let lines = 0;
    for (const s of this.scanners) {
      s.flush();
      lines += s.lines;
    }
    if (this.reportBase) writeFileSync(this.reportBase + LINES_SUFFIX, String(lines));
    else if (this.leaks > 0) {
      process.stderr.write(`log leak detector: ${this.leaks} of ${lines} log lines carry a full number or a secret\n`);
      process.exitCode = 1;
    }
  }
}

let runLog: RunLog | undefined;
function current(): RunLog {
  runLog ??= new RunLog();
  return runLog;
}

/** The logger tests give callpilot code: every line is checked, none is printed (see TEST_LOG_ENV). */
export function testLog(bindings?: Record<string, unknown>): Logger {
  const log = current().logger;
  return bindings ? log.child(bindings) : log;
}

/** A secret the test knows (a recording key, an issued token): any log line carrying it is a leak. */
export function addLogSecret(secret: string): void {
  current().addSecret(secret);
}

/**
 * Checks the pino lines in a child process's output (a stream as it arrives, or text once it ended). Only lines
 * that are log lines count: a CLI prints a new token on purpose, and that is its output, not its log.
 */
export function scanChildLogs(output: Readable | string): void {
  const scanner = current().scanner();
  let pending = '';
  const feed = (text: string): void => {
    const parts = (pending + text).split('\n');
    pending = parts.pop() ?? '';
    for (const line of parts) if (isLogLine(line)) scanner.feed(`${line}\n`);
  };
  if (typeof output === 'string') {
    feed(`${output}\n`);
    return;
  }
  output.on('data', (chunk: Buffer | string) => feed(chunk.toString()));
  output.on('end', () => feed('\n'));
}

function isLogLine(line: string): boolean {
  if (!line.startsWith('{')) return false;
  try {
    const parsed = JSON.parse(line) as Record<string, unknown>;
    return 'level' in parsed && 'msg' in parsed;
  } catch {
    return false;
  }
}

export interface LeakReport {
  /** Processes that reported (each writes its count on exit; a killed one only its leaks). */
  processes: number;
  lines: number;
  leaks: string[];
}

/** What every process of a run left in LOG_LEAK_REPORT_DIR. */
export function readLeakReports(dir: string): LeakReport {
  const report: LeakReport = { processes: 0, lines: 0, leaks: [] };
  if (!existsSync(dir)) return report;
  for (const name of readdirSync(dir)) {
    const text = readFileSync(join(dir, name), 'utf8');
    if (name.endsWith(LINES_SUFFIX)) {
      report.processes++;
      report.lines += Number(text) || 0;
    } else if (name.endsWith(LEAKS_SUFFIX)) {
      report.leaks.push(...text.split('\n').filter((l) => l !== ''));
    }
  }
  return report;
}

export interface CapturedLogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

/** A `testLog()` whose lines the test can also read, for "gives a clear log line" checks; still leak-checked. */
export function capturingTestLog(): { log: Logger; lines: CapturedLogLine[] } {
  const scanner = current().scanner();
  const lines: CapturedLogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = chunk.toString('utf8');
      scanner.feed(text);
      for (const line of text.split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as CapturedLogLine);
      done();
    },
  });
  return { log: createLogger({ level: 'debug' }, sink), lines };
}
