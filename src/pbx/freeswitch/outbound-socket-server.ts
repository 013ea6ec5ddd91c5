import { EventEmitter, once } from 'node:events';
import { type Server, type Socket, createServer } from 'node:net';
import type { Logger } from 'pino';
import { callInfoFromHeaders } from './call-info.ts';
import { EslConnection } from './esl/esl-connection.ts';
import { type EslEvent, decodeEslValue } from './esl/esl-message.ts';
import type { RecordingOptions } from './call-recording.ts';
import { type CallMediaOpener, type EslCommands, FreeswitchCall } from './freeswitch-call.ts';

export interface OutboundSocketServerOptions {
  host: string;
  port: number;
  media: CallMediaOpener;
  /** CUSTOM subclasses of the media module (myevents does not cover them). */
  subclasses: readonly string[];
  recording?: RecordingOptions;
  /** The agent destination used when a flow names none. */
  transfer: { extension: string; dialplan: string; context: string };
  transferVerifyMs?: number;
  playoutWaitMs?: number;
  log: Logger;
}

/**
 * `myevents` covers channel events only (capture f): playback, recording and the media module's
 * CUSTOM events must be asked for on top, in the same (plain) format.
 */
function extraSubscription(subclasses: readonly string[]): string {
  return ['event plain PLAYBACK_START PLAYBACK_STOP RECORD_START RECORD_STOP CUSTOM', ...subclasses].join(' ');
}

/**
 * The server for dialplan `socket <host>:<port> async full`: FreeSWITCH dials in once per call.
 * We send `connect` (channel data comes back), `myevents`, `linger` and the extra subscription,
 * then run the call. After hangup FS lingers for ever (Linger-Time -1), so we close the socket.
 */
export class OutboundSocketServer extends EventEmitter<{ call: [call: FreeswitchCall] }> {
  private readonly server: Server;
  private readonly connections = new Set<EslConnection>();
  private boundPort: number | undefined;

  constructor(private readonly options: OutboundSocketServerOptions) {
    super();
    this.server = createServer((socket) => {
      this.accept(socket).catch((err: unknown) => options.log.warn({ err }, 'outbound ESL session failed'));
    });
  }

  get port(): number | undefined {
    return this.boundPort;
  }

  async listen(): Promise<void> {
    this.server.listen(this.options.port, this.options.host);
    await once(this.server, 'listening');
    const address = this.server.address();
    this.boundPort = typeof address === 'object' && address !== null ? address.port : this.options.port;
  }

  async close(): Promise<void> {
    for (const connection of this.connections) connection.close('callpilot stopping', 500);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async accept(socket: Socket): Promise<void> {
    const log = this.options.log;
    const connection = new EslConnection(socket, { log, replyTimeoutMs: 10_000 });
    this.connections.add(connection);
    connection.on('close', () => this.connections.delete(connection));
    const reply = await connection.command('connect');
    // The connect reply's headers are the channel data, URL-encoded.
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(reply.headers)) headers[key] = decodeEslValue(value);
    const uuid = headers['Unique-ID'];
    if (!uuid) {
      connection.close('connect reply without Unique-ID');
      throw new Error(`outbound ESL connect reply without Unique-ID from ${connection.remote}`);
    }
    await connection.commandReply('myevents');
    await connection.commandReply('linger');
    await connection.commandReply(extraSubscription(this.options.subclasses));
    const commands: EslCommands = {
      api: (cmd, timeoutMs) => connection.api(cmd, timeoutMs),
      // BACKGROUND_JOB has no Unique-ID, so myevents' filter would hide it: plain api instead.
      // This socket serves one call, so a slow command only delays that call.
      bgapi: (cmd, timeoutMs) => connection.api(cmd, timeoutMs),
      answer: (id) => answerViaSendmsg(connection, id),
    };
    const call = new FreeswitchCall({
      transferVerifyMs: this.options.transferVerifyMs,
      playoutWaitMs: this.options.playoutWaitMs,
      info: callInfoFromHeaders(headers, 'inbound'),
      commands,
      media: this.options.media,
      answered: headers['Answer-State'] === 'answered',
      transfer: this.options.transfer,
      recording: this.options.recording,
      log,
    });
    connection.on('event', (event: EslEvent) => {
      if (event.uniqueId === uuid) call.handleEvent(event);
    });
    connection.on('notice', (notice) => {
      // `linger`: the channel is gone and FS will keep the socket open for ever unless we close it.
      if (notice.disposition === 'linger') {
        call.end(undefined);
        connection.close('call over');
      }
    });
    connection.on('close', () => {
      if (!call.ended) call.end('NORMAL_UNSPECIFIED');
    });
    call.once('hangup', () => {
      // Give the remaining events (HANGUP_COMPLETE, linger notice) a moment, then close ourselves.
      setTimeout(() => connection.close('call over'), 2000).unref();
    });
    log.info({ callId: uuid, remote: connection.remote }, 'outbound-socket FreeSWITCH call');
    this.emit('call', call);
  }
}

/** `sendmsg execute answer` as in capture f; resolves on CHANNEL_ANSWER (the +OK comes at once). */
async function answerViaSendmsg(connection: EslConnection, uuid: string): Promise<void> {
  const answered = new Promise<void>((resolve) => {
    const onEvent = (event: EslEvent): void => {
      if (event.name === 'CHANNEL_ANSWER' && event.uniqueId === uuid) {
        connection.off('event', onEvent);
        resolve();
      }
    };
    connection.on('event', onEvent);
  });
  await connection.commandReply(`sendmsg ${uuid}\ncall-command: execute\nexecute-app-name: answer`);
  const timeout = new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`no CHANNEL_ANSWER for ${uuid} within 5 s`)), 5000).unref());
  await Promise.race([answered, timeout]);
}
