import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createLogger } from '../../src/observability/index.ts';
import { findFullNumbers } from './number-detector.ts';

/** API token secrets as `callpilot tokens create` prints them: never to be logged. */
const API_TOKEN = /cpt_[A-Za-z0-9_-]{20,}/g;
const KEEP_LINES = 20;

/**
 * The production logger (its redaction and masking) at debug level, writing into a checker instead of a file:
 * every line is scanned as it is written for full CN mobile or card numbers (spoken Chinese digits too), API
 * token secrets and the secrets the test names (passwords, keys). Suites that run whole calls log through it and
 * call `assertClean()` at the end, so a leak anywhere on a call's path fails the suite that exercised it.
 */
export class LogLeakDetector {
  readonly log: Logger;
  /** Lines scanned so far (a suite that logged nothing proves nothing). */
  lines = 0;
  private readonly leaks: string[] = [];
  private leakCount = 0;
  private readonly secrets: string[];
  private pending = '';

  constructor(opts: { secrets?: readonly string[]; level?: 'debug' | 'info' } = {}) {
    this.secrets = [...(opts.secrets ?? [])].filter((s) => s.length >= 6);
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        this.scan(chunk.toString('utf8'));
        done();
      },
    });
    this.log = createLogger({ level: opts.level ?? 'debug' }, sink);
  }

  /** A secret that appears during the test (a token issued later, a generated key). */
  addSecret(secret: string): void {
    if (secret.length >= 6) this.secrets.push(secret);
  }

  private scan(text: string): void {
    const joined = this.pending + text;
    const parts = joined.split('\n');
    this.pending = parts.pop() ?? '';
    for (const line of parts) this.check(line);
  }

  private check(line: string): void {
    if (line === '') return;
    this.lines++;
    const found = [...findFullNumbers(line), ...(line.match(API_TOKEN) ?? []).map(() => 'an API token secret')];
    for (const secret of this.secrets) if (line.includes(secret)) found.push('a configured secret');
    if (found.length === 0) return;
    this.leakCount++;
    if (this.leaks.length < KEEP_LINES) this.leaks.push(`${found.join(', ')} in: ${line.slice(0, 400)}`);
  }

  /** Fails the test with the offending lines when any line leaked. */
  assertClean(what = 'the logs'): void {
    if (this.pending !== '') {
      this.check(this.pending);
      this.pending = '';
    }
    // Plain errors, not uvu Assertions: uvu's assert.throws re-throws those, and the detector's own test needs throws.
    if (this.lines === 0) throw new Error(`${what}: nothing was logged, so nothing was checked`);
    if (this.leakCount > 0) throw new Error(`${what}: ${this.leakCount} log line(s) carry a full number or a secret:\n${this.leaks.join('\n')}`);
  }
}
