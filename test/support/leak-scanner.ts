import { findFullNumbers } from './number-detector.ts';

/** API token secrets as `callpilot tokens create` prints them: never to be logged. */
const API_TOKEN = /cpt_[A-Za-z0-9_-]{20,}/g;
/** Secrets shorter than this would match innocent text. */
const MIN_SECRET_CHARS = 6;

/**
 * Checks log text line by line for full CN mobile or card numbers (spoken Chinese digits too), API token secrets
 * and secrets it was told about. Text may arrive in arbitrary chunks; a line is checked once its newline arrives
 * (or on `flush`). Each leak is handed to `onLeak` at once, so a process killed right after still reported it.
 */
export class LeakScanner {
  /** Lines checked so far. */
  lines = 0;
  leaks = 0;
  private readonly secrets: string[] = [];
  private pending = '';

  constructor(
    private readonly onLeak: (report: string) => void,
    secrets: readonly string[] = [],
  ) {
    for (const s of secrets) this.addSecret(s);
  }

  addSecret(secret: string): void {
    if (secret.length >= MIN_SECRET_CHARS) this.secrets.push(secret);
  }

  feed(text: string): void {
    const parts = (this.pending + text).split('\n');
    this.pending = parts.pop() ?? '';
    for (const line of parts) this.check(line);
  }

  flush(): void {
    if (this.pending === '') return;
    const line = this.pending;
    this.pending = '';
    this.check(line);
  }

  private check(line: string): void {
    if (line.trim() === '') return;
    this.lines++;
    const found = [...findFullNumbers(line), ...(line.match(API_TOKEN) ?? []).map(() => 'an API token secret')];
    for (const secret of this.secrets) if (line.includes(secret)) found.push('a configured secret');
    if (found.length === 0) return;
    this.leaks++;
    this.onLeak(`${found.join(', ')} in: ${line.slice(0, 400)}`);
  }
}
