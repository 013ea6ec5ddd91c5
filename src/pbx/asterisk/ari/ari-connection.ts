import { EventEmitter } from 'node:events';
import ari, { type AriClient } from 'ari-client';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import { AriRestGate, createAriRest, type AriRest } from './ari-rest.ts';
import type { AriEvent } from './ari-types.ts';
import { parseAriEvent } from './parse-ari-event.ts';

export interface AriConnectionOptions {
  url: string;
  username: string;
  password: string;
  app: string;
  log: Logger;
  /** First retry delay; doubles up to maxRetryMs. */
  initialRetryMs?: number;
  maxRetryMs?: number;
  /** Ping the events socket this often and drop it if no pong comes back in time. */
  keepAliveMs?: number;
  /** Deadline of each REST request. */
  requestTimeoutMs?: number;
}

export interface AriConnectionEvents {
  event: [event: AriEvent];
  /** Events socket open and REST usable. `reconnect` is false only for the very first time. */
  up: [reconnect: boolean];
  down: [reason: string];
  /** Will not retry (bad credentials): a person has to fix the config. */
  fatal: [reason: string];
  /** Asterisk refuses connections (crashed, stopped): REST requests now fail at once until `up`. */
  unreachable: [reason: string];
}

/** How long the reachability probe waits for Asterisk's HTTP server. */
const PROBE_TIMEOUT_MS = 1000;

/** Not worth retrying: the same request will be refused again. */
class AriAuthError extends Error {}

/**
 * The ARI link: loads the REST API through ari-client (which fetches /ari/api-docs) and keeps
 * callpilot's own events WebSocket open with backoff. ari-client's socket is not used because it
 * throws on unknown or malformed events; here each message is validated and a bad one is logged.
 */
export class AriConnection extends EventEmitter<AriConnectionEvents> {
  private restClient: AriRest | undefined;
  private socket: WebSocket | undefined;
  private stopped = false;
  private everUp = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private wakeRetry: (() => void) | undefined;
  private attempt = 0;
  private readonly log: Logger;
  private loop: Promise<void> | undefined;
  /** Closed while Asterisk refuses connections, so REST calls fail fast instead of waiting out their deadline. */
  readonly gate = new AriRestGate();

  constructor(private readonly opts: AriConnectionOptions) {
    super();
    this.log = opts.log;
  }

  /** The REST API, once it has been loaded. */
  get rest(): AriRest | undefined {
    return this.restClient;
  }

  get connected(): boolean {
    return this.socket?.readyState === WebSocket.OPEN;
  }

  /** Start connecting; resolves after the first attempt, whatever its outcome (retries continue). */
  start(): Promise<void> {
    return new Promise((resolve) => {
      let settled = false;
      const settle = (): void => {
        if (settled) return;
        settled = true;
        this.off('up', settle);
        this.off('down', settle);
        this.off('fatal', settle);
        resolve();
      };
      this.on('up', settle);
      this.on('down', settle);
      this.on('fatal', settle);
      this.loop = this.run();
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.wakeRetry?.();
    this.stopKeepAlive();
    const s = this.socket;
    this.socket = undefined;
    if (s && s.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.close(1000);
        setTimeout(() => {
          s.terminate();
          resolve();
        }, 500).unref();
      });
    }
    await this.loop;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.restClient) await this.loadRest();
        const { closed } = await this.openEvents();
        this.attempt = 0;
        const reconnect = this.everUp;
        this.everUp = true;
        this.log.info({ app: this.opts.app, reconnect }, 'ARI events socket connected');
        this.gate.open();
        this.emit('up', reconnect);
        const reason = await closed;
        if (this.stopped) return;
        this.log.warn({ reason }, 'ARI events socket lost; reconnecting');
        this.emit('down', reason);
        await this.checkReachable();
      } catch (err) {
        if (this.stopped) return;
        const reason = (err as Error).message;
        if (err instanceof AriAuthError) {
          this.log.error({ url: this.opts.url, user: this.opts.username }, `ARI refused the credentials; not retrying: ${reason}`);
          this.emit('fatal', reason);
          return;
        }
        this.log.warn({ url: this.opts.url, attempt: this.attempt }, `ARI unreachable: ${reason}`);
        this.emit('down', reason);
        await this.checkReachable();
      }
      await this.backoff();
    }
  }

  /**
   * Is Asterisk's HTTP server there at all? A refused or reset connection means the process is gone (crash,
   * stop): the gate closes and 'unreachable' tells the adapter its calls are over. A slow answer proves nothing
   * either way and changes nothing. Uses fetch, which (unlike swagger-client) settles on a refused connection.
   */
  async probe(): Promise<'up' | 'refused' | 'unknown'> {
    try {
      await fetch(new URL('/ari/asterisk/ping', this.opts.url), {
        headers: { authorization: this.authHeader() },
        signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
      }).then((res) => res.body?.cancel());
      return 'up';
    } catch (err) {
      const code = (err as { cause?: { code?: string } }).cause?.code;
      return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' ? 'refused' : 'unknown';
    }
  }

  private async checkReachable(): Promise<void> {
    if (this.stopped || this.gate.down !== undefined) return;
    const state = await this.probe();
    if (state !== 'refused' || this.stopped || this.connected) return;
    this.gate.close('connection refused');
    this.log.warn({ url: this.opts.url }, 'Asterisk refuses connections; failing ARI requests at once until it is back');
    this.emit('unreachable', 'connection refused');
  }

  private backoff(): Promise<void> {
    const initial = this.opts.initialRetryMs ?? 250;
    const max = this.opts.maxRetryMs ?? 10_000;
    const delay = Math.min(max, initial * 2 ** Math.min(this.attempt, 16));
    this.attempt++;
    return new Promise((resolve) => {
      this.wakeRetry = resolve;
      this.retryTimer = setTimeout(resolve, delay);
    });
  }

  private authHeader(): string {
    return `Basic ${Buffer.from(`${this.opts.username}:${this.opts.password}`).toString('base64')}`;
  }

  /**
   * Check reachability and credentials with a plain request first: swagger-client (inside
   * ari-client) throws an uncatchable exception when the api-docs fetch is refused.
   */
  private async loadRest(): Promise<void> {
    const docs = new URL('/ari/api-docs/resources.json', this.opts.url);
    let res: Response;
    try {
      res = await fetch(docs, { headers: { authorization: this.authHeader() }, signal: AbortSignal.timeout(5000) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new Error(`GET ${docs.pathname} failed: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
    }
    const body = await res.text();
    if (res.status === 401) throw new AriAuthError(`401 for user '${this.opts.username}' (${body.trim()})`);
    if (res.status !== 200) throw new Error(`GET ${docs.pathname} returned ${res.status} ${body.slice(0, 120).trim()}`);
    this.restClient = createAriRest(await connectQuietly(this.opts.url, this.opts.username, this.opts.password, this.log), this.opts.requestTimeoutMs, this.gate);
  }

  /** Resolves once the socket is open; `closed` settles with the reason when it goes away. */
  private openEvents(): Promise<{ closed: Promise<string> }> {
    const base = new URL(this.opts.url);
    base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    base.pathname = '/ari/events';
    base.search = new URLSearchParams({ app: this.opts.app, api_key: `${this.opts.username}:${this.opts.password}` }).toString();
    const socket = new WebSocket(base, { handshakeTimeout: 5000 });
    this.socket = socket;
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => {
        socket.removeAllListeners();
        socket.on('error', () => {});
        socket.terminate();
        reject(err);
      };
      socket.once('error', (err) => fail(new Error(`events socket: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = `events socket upgrade got ${status} ${body.slice(0, 120).trim()}`;
          fail(status === 401 ? new AriAuthError(text) : new Error(text));
        });
        res.on('error', () => fail(new Error(`events socket upgrade got ${res.statusCode}`)));
      });
      socket.once('open', () => {
        socket.removeAllListeners('error');
        socket.removeAllListeners('unexpected-response');
        const closed = new Promise<string>((done) => {
          socket.on('error', (err) => this.log.warn({ err: err.message }, 'ARI events socket error'));
          socket.once('close', (code, reason) => {
            this.stopKeepAlive();
            if (this.socket === socket) this.socket = undefined;
            done(`events socket closed (${code}${reason.length ? ` ${reason.toString()}` : ''})`);
          });
        });
        socket.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
        this.startKeepAlive(socket);
        resolve({ closed });
      });
    });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    if (isBinary) {
      this.log.warn({ bytes: data.length }, 'ignoring a binary message on the ARI events socket');
      return;
    }
    const parsed = parseAriEvent(data.toString('utf8'));
    if (!parsed.ok) {
      this.log.warn({ error: parsed.error }, 'ignoring a malformed ARI event');
      return;
    }
    try {
      this.emit('event', parsed.event);
    } catch (err) {
      // A bug in one handler must not stop the events for every other call.
      this.log.error({ err, type: parsed.event.type }, 'ARI event handler failed');
    }
  }

  private startKeepAlive(socket: WebSocket): void {
    const every = this.opts.keepAliveMs ?? 15_000;
    let alive = true;
    socket.on('pong', () => (alive = true));
    this.keepAliveTimer = setInterval(() => {
      if (!alive) {
        this.log.warn('ARI events socket missed a pong; dropping it');
        socket.terminate();
        return;
      }
      alive = false;
      socket.ping();
    }, every);
    this.keepAliveTimer.unref();
  }

  private stopKeepAlive(): void {
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    this.keepAliveTimer = undefined;
  }
}

/**
 * swagger-client (inside ari-client) prints a "deprecated version of Swagger" banner with
 * console.log, which would corrupt a JSON log stream on stdout; route just that line to debug.
 */
async function connectQuietly(url: string, user: string, pass: string, log: Logger): Promise<AriClient> {
  const original = console.log;
  console.log = (...args: unknown[]): void => {
    if (String(args[0]).includes('deprecated version of Swagger')) log.debug('swagger-client: API uses Swagger 1.1');
    else original(...args);
  };
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      ari.connect(url, user, pass),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('loading the ARI api-docs took over 10 s')), 10_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    console.log = original;
  }
}
