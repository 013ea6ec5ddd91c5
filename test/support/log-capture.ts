import { Writable } from 'node:stream';

/** A stream that keeps what a logger wrote, for tests that read the lines back. */
export interface LogCapture {
  readonly stream: Writable;
  /** Everything written so far, as one string. */
  text(): string;
  /** Every JSON line written so far, parsed. */
  lines(): Record<string, unknown>[];
}

export function captureLog(): LogCapture {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  const text = (): string => chunks.join('');
  return {
    stream,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
