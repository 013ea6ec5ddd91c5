import { readFileSync } from 'node:fs';

/** The recorded Asterisk 22.10.1 traffic; resolved from the repo root so the checkout can move. */
export const FIXTURES_DIR = new URL('../../../../../shared/fixtures/asterisk/', import.meta.url);

/** One JSONL line of a capture. Only the fields the peer reads are typed. */
export interface CaptureLine {
  t: number;
  kind: string;
  req?: number;
  method?: string;
  path?: string;
  query?: Record<string, string>;
  body?: unknown;
  status?: number;
  statusText?: string;
  event?: CapturedEvent;
  text?: string;
  json?: Record<string, unknown>;
  note?: string;
  [key: string]: unknown;
}

export interface CapturedEvent {
  type: string;
  channel?: { id: string; name: string; state: string; [k: string]: unknown };
  bridge?: { id: string; [k: string]: unknown };
  [key: string]: unknown;
}

const cache = new Map<string, CaptureLine[]>();

export function loadCapture(file: string): CaptureLine[] {
  let lines = cache.get(file);
  if (!lines) {
    const text = readFileSync(new URL(file, FIXTURES_DIR), 'utf8');
    lines = text
      .split('\n')
      .filter((l) => l.trim().length > 0)
      .map((l) => JSON.parse(l) as CaptureLine);
    cache.set(file, lines);
  }
  return lines;
}

export function readFixtureText(file: string): string {
  return readFileSync(new URL(file, FIXTURES_DIR), 'utf8');
}

/** The ari.response that answered the request matched by `pick`. */
export function responseTo(file: string, pick: (req: CaptureLine) => boolean, nth = 0): CaptureLine {
  const lines = loadCapture(file);
  const requests = lines.filter((l) => l.kind === 'ari.request' && pick(l));
  const req = requests[nth];
  if (!req) throw new Error(`${file}: no request #${nth} matches`);
  const res = lines.find((l) => l.kind === 'ari.response' && l.req === req.req);
  if (!res) throw new Error(`${file}: request ${req.req} has no response`);
  return res;
}

/** The index of the first line matching `pick`, starting at `from`. */
export function indexOf(file: string, pick: (l: CaptureLine) => boolean, from = 0): number {
  const lines = loadCapture(file);
  for (let i = from; i < lines.length; i++) if (pick(lines[i])) return i;
  throw new Error(`${file}: no line matches after index ${from}`);
}

/** The ARI events of lines [from, to) with their capture times. */
export function eventsBetween(file: string, from: number, to: number): CaptureLine[] {
  return loadCapture(file)
    .slice(from, to)
    .filter((l) => l.kind === 'ari.event');
}

/** First captured event of `type` (optionally matching), as a deep copy. */
export function eventTemplate(file: string, type: string, pick: (e: CapturedEvent) => boolean = () => true): CapturedEvent {
  const line = loadCapture(file).find((l) => l.kind === 'ari.event' && l.event?.type === type && pick(l.event));
  if (!line?.event) throw new Error(`${file}: no ${type} event`);
  return structuredClone(line.event);
}

export function isRequest(method: string, pathPattern: RegExp): (l: CaptureLine) => boolean {
  return (l) => l.kind === 'ari.request' && l.method === method && pathPattern.test(l.path ?? '');
}
