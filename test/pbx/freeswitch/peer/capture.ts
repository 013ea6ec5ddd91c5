import { readFileSync } from 'node:fs';

/** The real FreeSWITCH 1.11.1 captures, resolved relative to the repo root (../shared next to it). */
export const FIXTURES_DIR = new URL('../../../../../shared/fixtures/freeswitch/', import.meta.url);

export interface CaptureLine {
  t: number;
  conn?: string;
  dir: 'meta' | 'rx' | 'tx' | 'note' | 'summary';
  data?: string;
  text?: string;
  kind?: string;
  opcode?: number;
  len?: number;
  closeCode?: number;
  closeReason?: string;
  b64?: string;
}

/** One ESL message as FreeSWITCH sent it, split by the peer's own (deliberately independent) splitter. */
export interface CapturedMessage {
  conn: string;
  headers: Record<string, string>;
  body: string | undefined;
}

export function loadLines(file: string): CaptureLine[] {
  return readFileSync(new URL(file, FIXTURES_DIR), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CaptureLine);
}

/** The exact rx reads of one connection, in order. */
export function rxChunks(file: string, conn: string): Buffer[] {
  return loadLines(file)
    .filter((l) => l.dir === 'rx' && l.conn === conn && l.data !== undefined)
    .map((l) => Buffer.from(l.data ?? '', 'utf8'));
}

export function txCommands(file: string, conn: string): string[] {
  return loadLines(file)
    .filter((l) => l.dir === 'tx' && l.conn === conn && l.data !== undefined)
    .map((l) => l.data ?? '');
}

/** Splits a whole rx stream into messages: header block up to a blank line, then Content-Length bytes. */
export function splitMessages(file: string, conn: string): CapturedMessage[] {
  const stream = Buffer.concat(rxChunks(file, conn));
  const messages: CapturedMessage[] = [];
  let at = 0;
  while (at < stream.length) {
    const blank = stream.indexOf('\n\n', at);
    if (blank < 0) throw new Error(`${file}/${conn}: trailing bytes without a header end at ${at}`);
    const headers: Record<string, string> = {};
    for (const line of stream.toString('utf8', at, blank).split('\n')) {
      const i = line.indexOf(': ');
      headers[line.slice(0, i)] = line.slice(i + 2);
    }
    at = blank + 2;
    let body: string | undefined;
    if (headers['Content-Length'] !== undefined) {
      const n = Number(headers['Content-Length']);
      body = stream.toString('utf8', at, at + n);
      at += n;
    }
    messages.push({ conn, headers, body });
  }
  return messages;
}

/** JSON events of a capture connection, parsed. */
export function jsonEvents(file: string, conn = 'esl'): Record<string, string>[] {
  return splitMessages(file, conn)
    .filter((m) => m.headers['Content-Type'] === 'text/event-json')
    .map((m) => JSON.parse(m.body ?? '{}') as Record<string, string>);
}

/** A captured message with the time (ms, capture clock) of the read that completed it. */
export interface TimedMessage extends CapturedMessage {
  t: number;
}

/** Like splitMessages, but each message keeps the capture time of the read its last byte arrived in. */
export function timedMessages(file: string, conn: string): TimedMessage[] {
  const reads = loadLines(file).filter((l) => l.dir === 'rx' && l.conn === conn && l.data !== undefined);
  const ends: { end: number; t: number }[] = [];
  let total = 0;
  for (const read of reads) {
    total += Buffer.byteLength(read.data ?? '', 'utf8');
    ends.push({ end: total, t: read.t });
  }
  const messages = splitMessages(file, conn);
  const timed: TimedMessage[] = [];
  let offset = 0;
  let readIndex = 0;
  for (const message of messages) {
    offset += messageByteLength(message);
    while (readIndex < ends.length - 1 && ends[readIndex].end < offset) readIndex++;
    timed.push({ ...message, t: ends[readIndex].t });
  }
  return timed;
}

function messageByteLength(message: CapturedMessage): number {
  const headerText = Object.entries(message.headers)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
  return Buffer.byteLength(headerText, 'utf8') + 1 + (message.body === undefined ? 0 : Buffer.byteLength(message.body, 'utf8'));
}
