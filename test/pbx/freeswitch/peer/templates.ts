import { type CapturedMessage, loadLines, splitMessages, timedMessages } from './capture.ts';

/** A JSON event exactly as FreeSWITCH sent it (all values strings, `_body` last). */
export type FsEvent = Record<string, string>;

export interface TimedEvent {
  /** Capture time of the read that delivered it (ms); the peer replays the gaps, scaled. */
  t: number;
  event: FsEvent;
}

export interface CommandReply {
  command: string;
  reply: CapturedMessage;
}

/**
 * Everything the fake FreeSWITCH says, taken from the real captures: event bodies, the order and
 * grouping of call events, and the reply to each command. Ids are replaced when rendered.
 */
export class CapturedFreeswitch {
  /** Unique-ID of the inbound call in capture b. */
  readonly inboundUuid: string;
  /** b: the inbound call into 100 from CS_NEW to CHANNEL_PARK (json ALL, so every event kind). */
  readonly inboundSetup: TimedEvent[];
  /** b: from CHANNEL_HANGUP (uuid_kill) to CS_DESTROY. */
  readonly hangupSequence: TimedEvent[];
  /** f: plain events and the connect reply of the outbound socket. */
  readonly outboundUuid: string;
  readonly outboundMessages: CapturedMessage[];
  private readonly jsonByFile = new Map<string, FsEvent[]>();
  private readonly repliesByFile = new Map<string, CommandReply[]>();

  constructor() {
    const b = this.timedEvents('b_audio_stream.esl.jsonl');
    const parkAt = b.findIndex((e) => e.event['Event-Name'] === 'CHANNEL_PARK');
    this.inboundUuid = b[parkAt].event['Unique-ID'];
    this.inboundSetup = b.slice(0, parkAt + 1).filter((e) => e.event['Unique-ID'] === this.inboundUuid);
    const hangupAt = b.findIndex((e) => e.event['Event-Name'] === 'CHANNEL_HANGUP');
    this.hangupSequence = b.slice(hangupAt).filter((e) => e.event['Unique-ID'] === this.inboundUuid);
    this.outboundMessages = splitMessages('f_outbound_socket.esl.jsonl', 'esl-outbound');
    this.outboundUuid = this.outboundMessages[0].headers['Unique-ID'];
  }

  /** The first event of `file` that matches; throws so a missing template is loud. */
  event(file: string, match: (e: FsEvent) => boolean): FsEvent {
    const found = this.events(file).find(match);
    if (!found) throw new Error(`no event in ${file} matches`);
    return found;
  }

  events(file: string): FsEvent[] {
    let events = this.jsonByFile.get(file);
    if (!events) {
      events = splitMessages(file, 'esl')
        .filter((m) => m.headers['Content-Type'] === 'text/event-json')
        .map((m) => JSON.parse(m.body ?? '{}') as FsEvent);
      this.jsonByFile.set(file, events);
    }
    return events;
  }

  timedEvents(file: string, conn = 'esl'): TimedEvent[] {
    return timedMessages(file, conn)
      .filter((m) => m.headers['Content-Type'] === 'text/event-json')
      .map((m) => ({ t: m.t, event: JSON.parse(m.body ?? '{}') as FsEvent }));
  }

  /** The events of one originated channel in capture c (its BACKGROUND_JOB included, where it fell). */
  originateSequence(outcome: 'answer' | 'busy' | 'unreachable' | 'no-answer'): { uuid: string; events: TimedEvent[] } {
    const all = this.timedEvents('c_originate.esl.jsonl');
    const jobs = all.filter((e) => e.event['Event-Name'] === 'BACKGROUND_JOB');
    const bodyPrefix = { answer: '+OK', busy: '-ERR USER_BUSY', unreachable: '-ERR NORMAL_TEMPORARY_FAILURE', 'no-answer': '-ERR NO_ANSWER' }[outcome];
    const job = jobs.find((j) => (j.event._body ?? '').startsWith(bodyPrefix));
    if (!job) throw new Error(`capture c has no ${outcome} originate`);
    const uuid = /origination_uuid=([0-9a-f-]+)/.exec(job.event['Job-Command-Arg'])?.[1] ?? '';
    const events = all.filter((e) => e === job || (e.event['Unique-ID'] === uuid && e.event['Event-Name'] !== 'API'));
    if (outcome === 'answer') {
      // The recorder killed the answered call after 1 s; the fake keeps it parked until told otherwise.
      const parked = events.findIndex((e) => e.event['Event-Name'] === 'CHANNEL_PARK');
      return { uuid, events: events.slice(0, parked + 1) };
    }
    return { uuid, events };
  }

  /** Each command the recorder sent on `conn`, paired with FS's reply (replies come strictly in order). */
  commandReplies(file: string, conn = 'esl'): CommandReply[] {
    const key = `${file}#${conn}`;
    let pairs = this.repliesByFile.get(key);
    if (!pairs) {
      const commands = loadLines(file)
        .filter((l) => l.dir === 'tx' && l.conn === conn)
        .map((l) => (l.data ?? '').replace(/\n\n$/, ''));
      const replies = splitMessages(file, conn).filter((m) => ['command/reply', 'api/response'].includes(m.headers['Content-Type']));
      pairs = commands.map((command, i) => ({ command, reply: replies[i] }));
      this.repliesByFile.set(key, pairs);
    }
    return pairs;
  }

  /** The reply FS gave to the n-th command matching `pattern` in a capture. */
  reply(file: string, pattern: RegExp, nth = 0, conn = 'esl'): CapturedMessage {
    const found = this.commandReplies(file, conn).filter((p) => pattern.test(p.command))[nth];
    if (!found?.reply) throw new Error(`no reply to ${pattern} (#${nth}) in ${file}`);
    return found.reply;
  }
}

let shared: CapturedFreeswitch | undefined;

/** Parsing the captures takes ~100 ms; every peer in a test process shares one copy. */
export function capturedFreeswitch(): CapturedFreeswitch {
  shared ??= new CapturedFreeswitch();
  return shared;
}

/** Swaps every captured id for a new one (in all values), then applies overrides, keeping `_body` last. */
export function renderEvent(template: FsEvent, ids: ReadonlyMap<string, string>, overrides: Record<string, string | undefined> = {}): FsEvent {
  let text = JSON.stringify(template);
  for (const [from, to] of ids) text = text.split(from).join(to);
  const event = JSON.parse(text) as FsEvent;
  const body = 'body' in overrides ? overrides.body : event._body;
  delete event._body;
  delete event['Content-Length'];
  for (const [key, value] of Object.entries(overrides)) {
    if (key === 'body') continue;
    if (value === undefined) delete event[key];
    else event[key] = value;
  }
  if (body !== undefined) {
    event['Content-Length'] = String(Buffer.byteLength(body, 'utf8'));
    event._body = body;
  }
  return event;
}

/** FreeSWITCH's switch_url_encode as seen in the captures: `:` `@` `%` ` ` `;` `<` encoded, `/` `(` `,` kept. */
export function fsUrlEncode(value: string): string {
  return value.replace(/[^A-Za-z0-9\-_.!~*'(),/]/g, (ch) =>
    Array.from(Buffer.from(ch, 'utf8'))
      .map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`)
      .join(''),
  );
}

/** The wire bytes of an event in the format the listener asked for. */
export function frameEvent(event: FsEvent, format: 'json' | 'plain'): string {
  if (format === 'json') {
    const json = JSON.stringify(event);
    return `Content-Length: ${Buffer.byteLength(json, 'utf8')}\nContent-Type: text/event-json\n\n${json}`;
  }
  let text = '';
  for (const [key, value] of Object.entries(event)) {
    if (key === '_body' || key === 'Content-Length') continue;
    text += `${key}: ${fsUrlEncode(value)}\n`;
  }
  if (event._body !== undefined) text += `Content-Length: ${Buffer.byteLength(event._body, 'utf8')}\n\n${event._body}`;
  else text += '\n';
  return `Content-Length: ${Buffer.byteLength(text, 'utf8')}\nContent-Type: text/event-plain\n\n${text}`;
}

export function frameReply(message: CapturedMessage): string {
  const headers = Object.entries(message.headers)
    .map(([k, v]) => `${k}: ${v}\n`)
    .join('');
  return `${headers}\n${message.body ?? ''}`;
}
