import { type CaptureLine, type CapturedEvent, loadCapture } from './captures.ts';

/**
 * A run of ARI events cut out of one capture, with the delays between them, ready to be
 * replayed against live ids. Cutting by capture line keeps event order, fields and spacing
 * exactly as Asterisk 22.10.1 produced them.
 */
export interface Segment {
  file: string;
  events: Array<{ delayMs: number; event: CapturedEvent }>;
}

export type LinePick = (line: CaptureLine, index: number) => boolean;

/** Events strictly after the first line matching `after` and before the first later line matching `until`. */
export function cutSegment(file: string, after: LinePick, until: LinePick | null, filter: (e: CapturedEvent) => boolean = () => true): Segment {
  const lines = loadCapture(file);
  let start = -1;
  for (let i = 0; i < lines.length; i++) {
    if (after(lines[i], i)) {
      start = i;
      break;
    }
  }
  if (start < 0) throw new Error(`${file}: segment start not found`);
  const events: Segment['events'] = [];
  let lastT = lines[start].t;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i];
    if (until && until(line, i)) break;
    if (line.kind !== 'ari.event' || !line.event || !filter(line.event)) continue;
    events.push({ delayMs: Math.max(0, line.t - lastT), event: line.event });
    lastT = line.t;
  }
  return { file, events };
}

export const isEvent =
  (type: string, pick: (e: CapturedEvent) => boolean = () => true): LinePick =>
  (l) =>
    l.kind === 'ari.event' && l.event?.type === type && pick(l.event);

/** The `nth` request matching method and path. */
export function isRequestIn(file: string, method: string, path: RegExp, nth = 0): LinePick {
  const reqs = loadCapture(file).filter((l) => l.kind === 'ari.request' && l.method === method && path.test(l.path ?? ''));
  const req = reqs[nth];
  if (!req) throw new Error(`${file}: no ${method} ${path} #${nth}`);
  return (l) => l.kind === 'ari.request' && l.req === req.req;
}

/** The response line for the `nth` request matching method and path. */
export function isResponseTo(file: string, method: string, path: RegExp, nth = 0): LinePick {
  const lines = loadCapture(file);
  const reqs = lines.filter((l) => l.kind === 'ari.request' && l.method === method && path.test(l.path ?? ''));
  const req = reqs[nth];
  if (!req) throw new Error(`${file}: no ${method} ${path} #${nth}`);
  return (l) => l.kind === 'ari.response' && l.req === req.req;
}

export const isKind =
  (kind: string, pick: (l: CaptureLine) => boolean = () => true): LinePick =>
  (l) =>
    l.kind === kind && pick(l);

export const isNote =
  (prefix: string): LinePick =>
  (l) =>
    l.kind === 'note' && typeof l.text === 'string' && l.text.startsWith(prefix);

/** Body of the response to the `nth` request matching method and path. */
export function responseBody(file: string, method: string, path: RegExp, nth = 0): { status: number; body: unknown } {
  const lines = loadCapture(file);
  const pick = isResponseTo(file, method, path, nth);
  const res = lines.find((l, i) => pick(l, i));
  if (!res) throw new Error(`${file}: response missing`);
  return { status: res.status ?? 0, body: structuredClone(res.body) };
}
