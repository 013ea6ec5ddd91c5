import { EventEmitter, once } from 'node:events';
import { type Socket, connect } from 'node:net';
import type { Logger } from 'pino';
import { EslConnection } from './esl-connection.ts';
import { EslAuthError, EslCommandError, EslDisconnectedError, type EslEvent } from './esl-message.ts';

export interface EslInboundClientOptions {
  host: string;
  port: number;
  password: string;
  /** Arguments of `event json ...`, e.g. `CHANNEL_ANSWER DTMF CUSTOM mod_audio_stream::play`. */
  subscription: string;
  log: Logger;
  /** First retry delay; doubles up to maxRetryMs. */
  initialRetryMs?: number;
  maxRetryMs?: number;
  /** Time allowed for TCP connect + auth/request + auth + subscription. */
  handshakeTimeoutMs?: number;
}

export interface EslInboundClientEvents {
  /** Authenticated and subscribed. */
  up: [];
  /** Lost (or failed to reach) FreeSWITCH; a reconnect is scheduled unless stopped. */
  down: [reason: string];
  /** Retrying cannot help (wrong password); the client has stopped. */
  fatal: [err: Error];
  event: [event: EslEvent];
}

/**
 * The inbound ESL connection (callpilot dials FreeSWITCH's mod_event_socket): auth, event
 * subscription, reconnect with exponential backoff. A refused password stops the client with
 * EslAuthError instead of retrying: it will not start working by itself.
 */
export class EslInboundClient extends EventEmitter<EslInboundClientEvents> {
  private current: EslConnection | undefined;
  private authenticated = false;
  private stopped = true;
  private retryMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly log: Logger;

  constructor(private readonly options: EslInboundClientOptions) {
    super();
    this.log = options.log;
    this.retryMs = options.initialRetryMs ?? 250;
  }

  get up(): boolean {
    return this.authenticated && this.current !== undefined && !this.current.closed;
  }

  /** Connects once; resolves whether or not FS was reachable (it keeps retrying), rejects on a refused password. */
  async start(): Promise<void> {
    this.stopped = false;
    const result = await this.attempt();
    if (result instanceof EslAuthError) throw result;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const connection = this.current;
    this.current = undefined;
    this.authenticated = false;
    if (!connection || connection.closed) return;
    const closed = once(connection, 'close');
    // `exit` makes FS say goodbye and close the socket itself; only if it does not, we close it.
    connection.command('exit', 500).catch(() => undefined);
    const timer = setTimeout(() => connection.close('client stopped', 500), 1000);
    await closed;
    clearTimeout(timer);
  }

  async api(cmd: string, timeoutMs?: number): Promise<string> {
    return this.connected(`api ${cmd}`).api(cmd, timeoutMs);
  }

  async bgapi(cmd: string, jobTimeoutMs?: number): Promise<string> {
    return this.connected(`bgapi ${cmd}`).bgapi(cmd, jobTimeoutMs);
  }

  private connected(command: string): EslConnection {
    if (!this.up || !this.current) throw new EslDisconnectedError(command, 'not connected to FreeSWITCH');
    return this.current;
  }

  /** One connection attempt; returns the error that ended it, if any. */
  private async attempt(): Promise<Error | undefined> {
    const { host, port } = this.options;
    let socket: Socket;
    try {
      socket = connect({ host, port });
      await once(socket, 'connect');
    } catch (err) {
      this.scheduleRetry(`cannot reach FreeSWITCH ESL at ${host}:${port}: ${(err as Error).message}`);
      return err as Error;
    }
    socket.setKeepAlive(true, 10_000);
    const connection = new EslConnection(socket, { log: this.log, replyTimeoutMs: undefined });
    this.current = connection;
    connection.on('event', (event) => this.emit('event', event));
    connection.on('close', (reason) => this.onClosed(connection, reason));
    try {
      await this.handshake(connection);
    } catch (err) {
      if (err instanceof EslAuthError) {
        this.stopped = true;
        connection.destroy('authentication refused');
        this.log.error({ err }, 'FreeSWITCH ESL authentication failed');
        this.emit('fatal', err);
        return err;
      }
      connection.destroy(`handshake failed: ${(err as Error).message}`);
      return err as Error;
    }
    this.authenticated = true;
    this.retryMs = this.options.initialRetryMs ?? 250;
    this.log.info({ host, port }, 'FreeSWITCH ESL connected');
    this.emit('up');
    return undefined;
  }

  private async handshake(connection: EslConnection): Promise<void> {
    const { host, port, password, subscription } = this.options;
    const timeoutMs = this.options.handshakeTimeoutMs ?? 5000;
    const deadline = AbortSignal.timeout(timeoutMs);
    await once(connection, 'authRequest', { signal: deadline });
    try {
      await connection.commandReply(`auth ${password}`, timeoutMs);
    } catch (err) {
      if (err instanceof EslCommandError) throw new EslAuthError(host, port, err.reply);
      throw err;
    }
    await connection.commandReply(`event json ${subscription}`, timeoutMs);
  }

  private onClosed(connection: EslConnection, reason: string): void {
    if (connection !== this.current) return;
    this.current = undefined;
    const wasUp = this.authenticated;
    this.authenticated = false;
    if (this.stopped) return;
    if (wasUp) this.log.warn({ reason }, 'FreeSWITCH ESL connection lost');
    this.scheduleRetry(reason);
  }

  private scheduleRetry(reason: string): void {
    this.emit('down', reason);
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.options.maxRetryMs ?? 5000);
    this.retryTimer = setTimeout(() => {
      void this.attempt();
    }, delay);
  }
}
