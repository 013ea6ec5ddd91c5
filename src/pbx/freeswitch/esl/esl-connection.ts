import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { decodeEslEvent } from './esl-event-decoder.ts';
import { EslFrameParser } from './esl-frame-parser.ts';
import {
  EslCommandError,
  type EslDisconnectNotice,
  EslDisconnectedError,
  type EslEvent,
  type EslMessage,
  EslProtocolError,
} from './esl-message.ts';

export interface EslConnectionEvents {
  authRequest: [];
  event: [event: EslEvent];
  notice: [notice: EslDisconnectNotice];
  /** Framing broke or FS refused us (rude rejection); the socket is being destroyed. */
  protocolError: [err: EslProtocolError];
  /** The socket is gone; every pending command has been rejected. Emitted once. */
  close: [reason: string];
}

interface PendingReply {
  command: string;
  resolve: (message: EslMessage) => void;
  reject: (err: Error) => void;
  /** A timed-out command still owns its place in the reply order; its late reply is dropped. */
  abandoned: boolean;
  timer: NodeJS.Timeout | undefined;
}

interface PendingJob {
  command: string;
  resolve: (body: string) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout | undefined;
}

export interface EslConnectionOptions {
  log: Logger;
  /** Default time to wait for a command reply; undefined waits for ever. */
  replyTimeoutMs?: number;
}

/**
 * One ESL socket, inbound (we dialed FS) or outbound (FS dialed our `socket` server). FS answers
 * commands strictly in order, so replies are matched to a FIFO of waiters; events and notices are
 * emitted as they come. Commands on one socket queue behind each other inside FreeSWITCH too: a
 * blocking `api` delays every later command, which is why callers use `bgapi` for slow ones.
 */
export class EslConnection extends EventEmitter<EslConnectionEvents> {
  private readonly parser: EslFrameParser;
  private readonly replies: PendingReply[] = [];
  private readonly jobs = new Map<string, PendingJob>();
  private readonly log: Logger;
  private readonly replyTimeoutMs: number | undefined;
  private closedReason: string | undefined;

  constructor(
    private readonly socket: Socket,
    options: EslConnectionOptions,
  ) {
    super();
    this.log = options.log;
    this.replyTimeoutMs = options.replyTimeoutMs;
    this.parser = new EslFrameParser(
      (message) => this.dispatch(message),
      (err) => this.protocolFailure(err),
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.parser.push(chunk));
    socket.on('end', () => {
      const truncated = this.parser.finish();
      if (!truncated) return;
      // Cut short while we were closing anyway: worth a note, not an alarm.
      if (this.closedReason !== undefined) this.log.debug({ err: truncated }, 'ESL stream cut while closing');
      else this.protocolFailure(truncated);
    });
    socket.on('error', (err) => this.log.warn({ err }, 'ESL socket error'));
    socket.on('close', () => this.shutdown(this.closedReason ?? 'socket closed'));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  get remote(): string {
    return `${this.socket.remoteAddress ?? '?'}:${this.socket.remotePort ?? '?'}`;
  }

  /** Sends a raw command (first line plus optional header lines) and resolves with its reply message. */
  command(text: string, timeoutMs: number | undefined = this.replyTimeoutMs): Promise<EslMessage> {
    if (this.closedReason !== undefined) return Promise.reject(new EslDisconnectedError(text, this.closedReason));
    if (text.includes('\n\n') || text.endsWith('\n')) {
      return Promise.reject(new Error(`ESL command must not contain a blank line: ${JSON.stringify(text.slice(0, 80))}`));
    }
    return new Promise<EslMessage>((resolve, reject) => {
      const pending: PendingReply = { command: text, resolve, reject, abandoned: false, timer: undefined };
      if (timeoutMs !== undefined) {
        pending.timer = setTimeout(() => {
          pending.abandoned = true;
          reject(new Error(`no ESL reply to "${text.split('\n')[0]}" within ${timeoutMs} ms`));
        }, timeoutMs);
      }
      this.replies.push(pending);
      this.socket.write(`${text}\n\n`);
    });
  }

  /** `command/reply` commands: resolves with Reply-Text, throws EslCommandError on `-ERR`. */
  async commandReply(text: string, timeoutMs?: number): Promise<string> {
    const reply = await this.command(text, timeoutMs);
    const replyText = reply.headers['Reply-Text'] ?? '';
    if (replyText.startsWith('-')) throw new EslCommandError(text, replyText);
    return replyText;
  }

  /** `api <cmd>`: resolves with the response body, throws EslCommandError on `-ERR` / `-USAGE`. */
  async api(cmd: string, timeoutMs?: number): Promise<string> {
    const reply = await this.command(`api ${assertSingleLine(cmd)}`, timeoutMs);
    const body = reply.body ?? reply.headers['Reply-Text'] ?? '';
    if (body.startsWith('-ERR') || body.startsWith('-USAGE')) throw new EslCommandError(`api ${cmd}`, body);
    return body;
  }

  /**
   * `bgapi <cmd>` with our own Job-UUID, so the job is registered before FS can answer it.
   * Resolves with the BACKGROUND_JOB body (`+OK ...` or `-ERR ...`: the caller interprets it).
   */
  async bgapi(cmd: string, jobTimeoutMs?: number): Promise<string> {
    const jobUuid = randomUUID();
    const result = new Promise<string>((resolve, reject) => {
      const job: PendingJob = { command: cmd, resolve, reject, timer: undefined };
      if (jobTimeoutMs !== undefined) {
        job.timer = setTimeout(() => {
          this.jobs.delete(jobUuid);
          reject(new Error(`BACKGROUND_JOB for "bgapi ${cmd}" did not arrive within ${jobTimeoutMs} ms`));
        }, jobTimeoutMs);
      }
      this.jobs.set(jobUuid, job);
    });
    // Keep an early rejection (connection lost before the reply) from surfacing as unhandled.
    result.catch(() => undefined);
    try {
      await this.commandReply(`bgapi ${assertSingleLine(cmd)}\nJob-UUID: ${jobUuid}`);
    } catch (err) {
      const job = this.jobs.get(jobUuid);
      if (job) {
        clearTimeout(job.timer);
        this.jobs.delete(jobUuid);
      }
      throw err;
    }
    return result;
  }

  /** Polite end: FIN now, hard destroy if the peer does not close within `graceMs`. */
  close(reason: string, graceMs = 1000): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), graceMs);
    timer.unref();
    this.socket.once('close', () => clearTimeout(timer));
  }

  destroy(reason: string): void {
    if (this.closedReason === undefined) this.closedReason = reason;
    this.socket.destroy();
  }

  private dispatch(message: EslMessage): void {
    switch (message.contentType) {
      case 'auth/request':
        this.emit('authRequest');
        return;
      case 'command/reply':
      case 'api/response':
        this.resolveReply(message);
        return;
      case 'text/event-json':
      case 'text/event-plain': {
        const event = decodeEslEvent(message);
        if (event instanceof EslProtocolError) {
          // One bad event body does not desynchronise the framing: report it and carry on.
          this.log.warn({ err: event }, 'undecodable ESL event skipped');
          return;
        }
        if (event.name === 'BACKGROUND_JOB') this.resolveJob(event);
        this.emit('event', event);
        return;
      }
      case 'text/disconnect-notice': {
        const disposition = message.headers['Content-Disposition'] === 'linger' ? 'linger' : 'disconnect';
        this.emit('notice', { disposition, channelUuid: message.headers['Controlled-Session-UUID'], body: message.body });
        return;
      }
      case 'text/rude-rejection':
        this.protocolFailure(new EslProtocolError('FreeSWITCH rejected the connection (event_socket ACL)', message.body ?? ''));
        return;
      case 'log/data':
        return;
      default:
        this.log.warn({ contentType: message.contentType }, 'ESL message of unknown type ignored');
    }
  }

  private resolveReply(message: EslMessage): void {
    const pending = this.replies.shift();
    if (!pending) {
      this.log.warn({ contentType: message.contentType, replyText: message.headers['Reply-Text'] }, 'ESL reply with no command waiting');
      return;
    }
    clearTimeout(pending.timer);
    if (!pending.abandoned) pending.resolve(message);
  }

  private resolveJob(event: EslEvent): void {
    const jobUuid = event.headers['Job-UUID'];
    if (jobUuid === undefined) return;
    const job = this.jobs.get(jobUuid);
    if (!job) return;
    this.jobs.delete(jobUuid);
    clearTimeout(job.timer);
    job.resolve(event.body ?? '');
  }

  private protocolFailure(err: EslProtocolError): void {
    this.log.error({ err }, 'ESL stream broken; closing the connection');
    if (this.closedReason === undefined) this.closedReason = err.message;
    this.emit('protocolError', err);
    this.socket.destroy();
  }

  private shutdown(reason: string): void {
    this.closedReason ??= reason;
    const replies = this.replies.splice(0);
    for (const pending of replies) {
      clearTimeout(pending.timer);
      if (!pending.abandoned) pending.reject(new EslDisconnectedError(pending.command, reason));
    }
    for (const job of this.jobs.values()) {
      clearTimeout(job.timer);
      job.reject(new EslDisconnectedError(`bgapi ${job.command}`, reason));
    }
    this.jobs.clear();
    this.emit('close', reason);
  }
}

function assertSingleLine(cmd: string): string {
  if (/[\r\n]/.test(cmd)) throw new Error(`ESL command argument must be one line: ${JSON.stringify(cmd.slice(0, 80))}`);
  return cmd;
}
