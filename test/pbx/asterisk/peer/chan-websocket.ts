import type { WebSocket } from 'ws';
import { PeerWireFormat, type AsteriskFormat } from './wire-format.ts';

/** Limits chan_websocket reported in every STATUS of the captures. */
const XON_LEVEL = 800;
const XOFF_LEVEL = 900;
const QUEUE_MAX = 1000;
const TEXT_LIMIT = 128;
const BINARY_LIMIT = 65535;

type QueueItem = { audio: Buffer } | { mark: string } | { buffered: string };

export interface ChanWebSocketOptions {
  channelId: string;
  channelName: string;
  connectionId: string;
  format: AsteriskFormat;
  json: boolean;
  channelVariables: Record<string, string>;
  /** The media peer hung up (HANGUP command, close, oversize frame). */
  onPeerHangup(how: 'hangup-command' | 'closed' | 'oversize'): void;
  onWarning(line: string): void;
  /** Every text frame the bot sent, in order. */
  onText?(text: string): void;
}

/**
 * Asterisk's side of one chan_websocket connection, reproducing the captures: MEDIA_START on
 * connect, a playout queue drained one frame per 20 ms with XOFF at 900 / XON at 800 / cap 1000,
 * marks and buffering completions in-band, FLUSH_MEDIA dropping queued marks, plain-text or JSON
 * control messages, and silence (no reply) for unknown or oversized commands.
 */
export class ChanWebSocket {
  readonly wire: PeerWireFormat;
  private readonly queue: QueueItem[] = [];
  private audioQueued = 0;
  private xoff = false;
  private paused = false;
  private buffering: Buffer[] | undefined;
  private reportDrained = false;
  private direction: 'both' | 'in' | 'out' = 'both';
  private partial: Buffer = Buffer.alloc(0);
  private closed = false;
  binaryIn = 0;
  binaryOut = 0;
  readonly textIn: string[] = [];
  readonly textOut: string[] = [];

  constructor(
    private readonly ws: WebSocket,
    private readonly opts: ChanWebSocketOptions,
  ) {
    this.wire = new PeerWireFormat(opts.format);
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('close', () => {
      if (this.closed) return;
      this.closed = true;
      opts.onPeerHangup('closed');
    });
    ws.on('error', () => {});
  }

  get queueLength(): number {
    return this.audioQueued;
  }

  start(): void {
    const o = this.opts;
    const frameSize = this.wire.frameBytes;
    if (o.json) {
      this.send({
        event: 'MEDIA_START',
        connection_id: o.connectionId,
        channel: o.channelName,
        channel_id: o.channelId,
        format: o.format,
        optimal_frame_size: frameSize,
        ptime: 20,
        channel_variables: o.channelVariables,
      });
    } else {
      this.sendText(
        `MEDIA_START connection_id:${o.connectionId} channel:${o.channelName} channel_id:${o.channelId} format:${o.format} optimal_frame_size:${frameSize} ptime:20`,
      );
    }
  }

  /** One bridge tick: send the caller's frame, play out one queued bot frame into `heard`. */
  tick(caller8k: Int16Array | undefined, heard: (pcm8k: Int16Array) => void): void {
    if (this.closed) return;
    if (caller8k && this.direction !== 'out') {
      this.ws.send(this.wire.encodeCaller(caller8k), { binary: true });
      this.binaryOut++;
    }
    if (this.paused) return;
    this.drainMarks();
    const item = this.queue[0];
    if (item && 'audio' in item) {
      this.queue.shift();
      this.audioQueued--;
      heard(this.wire.decodeForCaller(item.audio));
      if (this.xoff && this.audioQueued <= XON_LEVEL) {
        this.xoff = false;
        this.event('MEDIA_XON');
      }
      if (this.audioQueued === 0 && this.reportDrained) {
        this.reportDrained = false;
        this.event('QUEUE_DRAINED');
      }
    }
  }

  dtmf(digit: string): void {
    if (this.opts.json) this.send({ event: 'DTMF_END', channel_id: this.opts.channelId, digit });
    else this.sendText(`DTMF_END digit:${digit} channel_id:${this.opts.channelId}`);
  }

  /** The Asterisk process dies (kill -9): the connection drops without a close frame. */
  kill(): void {
    this.closed = true;
    this.ws.terminate();
  }

  /** Asterisk ends the channel (DELETE, shutdown): close 1000 like the captures. */
  close(code = 1000): void {
    if (this.closed) return;
    this.closed = true;
    this.ws.close(code);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (isBinary) {
      this.binaryIn++;
      if (data.length > BINARY_LIMIT) {
        this.closed = true;
        this.ws.close(1009);
        this.opts.onPeerHangup('oversize');
        return;
      }
      if (this.direction === 'in') return;
      if (this.buffering) {
        this.buffering.push(Buffer.from(data));
        return;
      }
      this.enqueueBytes(data);
      return;
    }
    const text = data.toString('utf8');
    this.textIn.push(text);
    this.opts.onText?.(text);
    if (this.opts.json) this.onJsonCommand(text);
    else this.onPlainCommand(text);
  }

  private enqueueBytes(data: Buffer): void {
    const size = this.wire.frameBytes;
    const all = this.partial.length > 0 ? Buffer.concat([this.partial, data]) : data;
    let at = 0;
    for (; at + size <= all.length; at += size) this.pushAudio(Buffer.from(all.subarray(at, at + size)));
    this.partial = Buffer.from(all.subarray(at));
  }

  private pushAudio(frame: Buffer): void {
    // A full queue silently drops audio (queue_full:true in STATUS).
    if (this.audioQueued >= QUEUE_MAX) return;
    this.queue.push({ audio: frame });
    this.audioQueued++;
    if (!this.xoff && this.audioQueued >= XOFF_LEVEL) {
      this.xoff = true;
      this.event('MEDIA_XOFF');
    }
  }

  private drainMarks(): void {
    while (this.queue.length > 0 && !('audio' in this.queue[0])) {
      const item = this.queue.shift() as { mark: string } | { buffered: string };
      if ('mark' in item) this.correlated('MEDIA_MARK_PROCESSED', item.mark);
      else this.correlated('MEDIA_BUFFERING_COMPLETED', item.buffered);
    }
  }

  private flush(): void {
    this.queue.length = 0;
    this.audioQueued = 0;
    this.partial = Buffer.alloc(0);
  }

  private onPlainCommand(text: string): void {
    if (text.length === 0 || text.length > TEXT_LIMIT) {
      this.opts.onWarning(`chan_websocket: ignoring text frame of ${text.length} bytes`);
      return;
    }
    const space = text.indexOf(' ');
    const command = space < 0 ? text : text.slice(0, space);
    const arg = space < 0 ? '' : text.slice(space + 1);
    if (command === 'SET_MEDIA_DIRECTION') {
      this.sendText(`ERROR channel_id:${this.opts.channelId} error_text:SET_MEDIA_DIRECTION only supports JSON format.\n`);
      return;
    }
    this.runCommand(command, arg);
  }

  private onJsonCommand(text: string): void {
    let parsed: { command?: unknown; correlation_id?: unknown; direction?: unknown };
    try {
      parsed = JSON.parse(text);
      if (typeof parsed !== 'object' || parsed === null || typeof parsed.command !== 'string') throw new Error('no command');
    } catch {
      this.error('Unable to parse JSON command');
      return;
    }
    const command = parsed.command as string;
    const id = typeof parsed.correlation_id === 'string' ? parsed.correlation_id : '';
    if (command === 'SET_MEDIA_DIRECTION') {
      const d = parsed.direction;
      if (d === undefined) this.error("SET_MEDIA_DIRECTION requires a 'direction' parameter.\n");
      else if (d !== 'in' && d !== 'out' && d !== 'both') this.error(`'${String(d)}' is not a valid direction for SET_MEDIA_DIRECTION.\n`);
      else this.direction = d;
      return;
    }
    if (command === 'MARK_MEDIA' && this.direction === 'in') {
      this.error("MARK_MEDIA not supported while media direction is 'in'");
      return;
    }
    if (!KNOWN_COMMANDS.has(command)) {
      // Captured: an unknown JSON command gets no reply at all, only an Asterisk log line.
      this.opts.onWarning(`chan_websocket: unknown command '${command}'`);
      return;
    }
    this.runCommand(command, id);
  }

  private runCommand(command: string, arg: string): void {
    switch (command) {
      case 'GET_STATUS':
        this.status();
        return;
      case 'MARK_MEDIA':
        this.queue.push({ mark: arg });
        return;
      case 'FLUSH_MEDIA':
        // No reply; queued marks go too. XON follows on the next dequeue, as captured.
        this.flush();
        if (this.xoff) setTimeout(() => this.tickXon(), 8);
        return;
      case 'REPORT_QUEUE_DRAINED':
        this.reportDrained = true;
        return;
      case 'START_MEDIA_BUFFERING':
        this.buffering = [];
        return;
      case 'STOP_MEDIA_BUFFERING': {
        const chunks = this.buffering ?? [];
        this.buffering = undefined;
        this.enqueueBytes(Buffer.concat(chunks));
        if (this.partial.length > 0) {
          const last = Buffer.alloc(this.wire.frameBytes, this.wire.silence[0]);
          this.partial.copy(last);
          this.partial = Buffer.alloc(0);
          this.pushAudio(last);
        }
        this.queue.push({ buffered: arg });
        return;
      }
      case 'PAUSE_MEDIA':
        this.paused = true;
        return;
      case 'CONTINUE_MEDIA':
        this.paused = false;
        return;
      case 'HANGUP':
        this.opts.onPeerHangup('hangup-command');
        return;
      case 'ANSWER':
        return;
      default:
        this.opts.onWarning(`chan_websocket: unknown command '${command}'`);
    }
  }

  private tickXon(): void {
    if (this.closed || !this.xoff || this.audioQueued > XON_LEVEL) return;
    this.xoff = false;
    this.event('MEDIA_XON');
  }

  private status(): void {
    const o = this.opts;
    const fields = {
      queue_length: this.audioQueued,
      xon_level: XON_LEVEL,
      xoff_level: XOFF_LEVEL,
      queue_full: this.audioQueued >= QUEUE_MAX - 10,
      bulk_media: this.buffering !== undefined,
      media_paused: this.paused,
    };
    if (o.json) this.send({ event: 'STATUS', channel_id: o.channelId, ...fields });
    else
      this.sendText(
        `STATUS channel_id:${o.channelId} ${Object.entries(fields)
          .map(([k, v]) => `${k}:${v}`)
          .join(' ')}`,
      );
  }

  private event(name: string): void {
    if (this.opts.json) this.send({ event: name, channel_id: this.opts.channelId });
    else this.sendText(name);
  }

  private correlated(name: string, id: string): void {
    if (this.opts.json) this.send({ event: name, channel_id: this.opts.channelId, correlation_id: id });
    else this.sendText(`${name} ${id}`);
  }

  private error(text: string): void {
    if (this.opts.json) this.send({ event: 'ERROR', channel_id: this.opts.channelId, error_text: text });
    else this.sendText(`ERROR channel_id:${this.opts.channelId} error_text:${text}`);
  }

  private send(obj: Record<string, unknown>): void {
    this.sendText(JSON.stringify(obj));
  }

  private sendText(text: string): void {
    if (this.closed) return;
    this.textOut.push(text);
    this.ws.send(text);
  }
}

const KNOWN_COMMANDS = new Set([
  'GET_STATUS',
  'MARK_MEDIA',
  'FLUSH_MEDIA',
  'REPORT_QUEUE_DRAINED',
  'START_MEDIA_BUFFERING',
  'STOP_MEDIA_BUFFERING',
  'PAUSE_MEDIA',
  'CONTINUE_MEDIA',
  'HANGUP',
  'ANSWER',
]);
