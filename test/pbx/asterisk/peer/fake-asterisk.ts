import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { WebSocket, WebSocketServer } from 'ws';
import { FIXTURES_DIR, type CapturedEvent } from './captures.ts';
import { ChanWebSocket } from './chan-websocket.ts';
import { AudioSocketChannel } from './audiosocket-channel.ts';
import { UnicastRtpChannel } from './rtp-channel.ts';
import { CallerLine } from './caller-line.ts';
import type { AsteriskFormat } from './wire-format.ts';
import { SCRIPTS, type Script, type CapturedIds } from './scripts.ts';

export interface FakeAsteriskOptions {
  username?: string;
  password?: string;
  /** Multiplies every captured delay between events (1 = as recorded). */
  timeScale?: number;
  /** websocket_client.conf: connection id -> ws:// URI Asterisk dials in client mode. */
  websocketClients?: Record<string, string>;
  /**
   * Extra delay of an externalMedia channel's StasisStart after the REST reply. Captured: StasisStart came -15 to
   * +4 ms from the reply, and an addChannel in between got 422 (externalmedia-audiosocket-addchannel-race).
   */
  mediaStasisDelayMs?: number;
  /** The media clock (ms) the bridges keep: performance.now() unless a test moves its own. */
  mediaClock?: () => number;
}

export type OutboundOutcome = 'answered' | 'busy' | 'no-answer' | 'unreachable' | 'unreachable-timeout';

/**
 * What the callee of a `POST /channels/create` + `/dial` does (captures early-media-*.jsonl): optionally ring
 * (180), optionally send a 183 with early audio, then end with a SIP final response or answer.
 */
export interface EarlyMediaScenario {
  /** 180 first, for this long (ms, before timeScale), like the ringback-then-answer capture (1 s). */
  ringMs?: number;
  /** 183 + this early audio (8 kHz PCM), sent as RTP frame for frame. */
  earlyAudio?: Int16Array;
  /** 480 (cause 19), 404 (cause 1) after the audio; or 'answer' (200). 486 (cause 17) was not captured on this route. */
  final: 480 | 404 | 486 | 'answer';
  /** What the callee says after answering. */
  answerAudio?: Int16Array;
  /** For a final without early audio: how long before it comes (ms). */
  finalAfterMs?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  /** performance.now() when the request arrived and when it was answered (for the media-up bench's breakdown). */
  at: number;
  repliedAt?: number;
}

type MediaKind = 'websocket' | 'websocket-client' | 'audiosocket' | 'rtp';

export interface FakeChannel {
  id: string;
  name: string;
  state: string;
  snapshot: Record<string, unknown>;
  role: 'caller' | 'outbound' | 'media';
  inStasis: boolean;
  /** Channels the app created get ChannelDestroyed; dialplan channels leave Stasis and go quiet. */
  createdByApp: boolean;
  bridgeId?: string;
  line?: CallerLine;
  mediaKind?: MediaKind;
  ws?: ChanWebSocket;
  audioSocket?: AudioSocketChannel;
  rtp?: UnicastRtpChannel;
  pendingWs?: { connectionId: string; format: AsteriskFormat; json: boolean; variables: Record<string, string> };
  gone: boolean;
  /** POST /applications/{app}/subscription?eventSource=channel:{id} was made. */
  subscribed?: boolean;
  variables: Record<string, string>;
  outcome?: OutboundOutcome;
  /** Created by POST /channels/create (dialled later by /dial). */
  endpoint?: string;
  dialed?: boolean;
}

interface FakeBridge {
  id: string;
  snapshot: Record<string, unknown>;
  channels: string[];
  timer?: NodeJS.Timeout;
}

const ASTERISK_ID = '02:fc:00:00:00:01';

/**
 * A stand-in for Asterisk 22.10.1's ARI, chan_websocket, AudioSocket and UnicastRTP, driven by
 * the recorded captures: REST replies and event runs are cut from the JSONL files and replayed
 * with live ids; only the glue (state, routing, timing) is written here.
 */
export class FakeAsterisk {
  readonly requests: RecordedRequest[] = [];
  private readonly holds: Array<{ matches(r: RecordedRequest): boolean; released: Promise<void> }> = [];
  readonly warnings: string[] = [];
  /** Every chan_websocket text frame the bot sent, as `<channel id> <text>`. */
  readonly mediaCommands: string[] = [];
  /** What the next originate does; per-endpoint overrides win. */
  outboundOutcome: OutboundOutcome = 'answered';
  readonly outcomeByEndpoint = new Map<string, OutboundOutcome>();
  /** What the callee of the next create+dial does; per-endpoint overrides win. */
  earlyMedia: EarlyMediaScenario = { final: 'answer' };
  readonly earlyMediaByEndpoint = new Map<string, EarlyMediaScenario>();
  /** false = an older chan_audiosocket that does not forward DTMF as kind 0x03. */
  audioSocketInBandDtmf = true;
  /** pjsip.conf endpoints, as `TECH/resource` (captured: sipp and sipp-uas). Originates to others fail like Asterisk's. */
  readonly endpoints = new Set(['PJSIP/sipp', 'PJSIP/sipp-uas']);
  mediaStasisDelayMs: number;
  private readonly mediaClock: () => number;
  private readonly server = http.createServer((req, res) => void this.onRequest(req, res));
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly eventSockets = new Set<WebSocket>();
  /** The apps each events socket subscribed to (`?app=a,b`): Asterisk sends an app's events to its socket only. */
  private readonly socketApps = new WeakMap<WebSocket, ReadonlySet<string>>();
  /** The Stasis app each channel is in, so its events go to that app's socket (several nodes on one Asterisk). */
  private readonly channelApps = new Map<string, string>();
  private readonly channels = new Map<string, FakeChannel>();
  private readonly bridges = new Map<string, FakeBridge>();
  private readonly pendingMedia = new Map<string, FakeChannel>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly username: string;
  private readonly password: string;
  private readonly timeScale: number;
  /** websocket_client.conf: connection id -> URI (tests fill it once callpilot listens). */
  readonly websocketClients: Record<string, string>;
  private epoch = Math.floor(Date.now() / 1000);
  private nextChannel = 0;
  private nextSipName = 0;
  private booting = 0;
  private down = false;
  port = 0;
  startupTime = asteriskTimestamp();

  constructor(opts: FakeAsteriskOptions = {}) {
    this.username = opts.username ?? 'bot';
    this.password = opts.password ?? 'bot';
    this.timeScale = opts.timeScale ?? 1;
    this.websocketClients = opts.websocketClients ?? {};
    this.mediaStasisDelayMs = opts.mediaStasisDelayMs ?? 0;
    this.mediaClock = opts.mediaClock ?? (() => performance.now());
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Sockets connected to /ari/events. */
  get eventSocketCount(): number {
    return this.eventSockets.size;
  }

  async start(port = 0): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    const addr = this.server.address();
    if (addr && typeof addr === 'object') this.port = addr.port;
  }

  async stop(): Promise<void> {
    this.down = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const b of this.bridges.values()) if (b.timer) clearInterval(b.timer);
    for (const c of this.channels.values()) this.closeMedia(c);
    for (const ws of this.eventSockets) ws.terminate();
    for (const ws of this.wss.clients) ws.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  channel(id: string): FakeChannel | undefined {
    return this.channels.get(id);
  }

  liveChannelIds(): string[] {
    return [...this.channels.values()].filter((c) => !c.gone).map((c) => c.id);
  }

  liveBridgeIds(): string[] {
    return [...this.bridges.keys()];
  }

  // ---------------------------------------------------------------- test controls

  /** A SIP caller dials the Stasis extension: StasisStart with `args` (dialplan `Stasis(app,args)`). */
  /** `silenceSuppression`: the caller's phone sends no RTP while it has nothing to say (see CallerLine). */
  placeInboundCall(opts: { args?: string[]; callerNumber?: string; callerName?: string; exten?: string; silenceSuppression?: boolean; app?: string } = {}): FakeChannel {
    if (this.eventSockets.size === 0) throw new Error('no ARI application connected: Stasis() would fail');
    const script = SCRIPTS.inbound;
    const ids = script.ids;
    const id = this.newChannelId();
    const name = `PJSIP/sipp-${(this.nextSipName++).toString(16).padStart(8, '0')}`;
    const start = script.stasisStart();
    const snapshot = instantiate(start, [
      [ids.caller, id],
      [ids.callerName, name],
    ]).channel as Record<string, unknown>;
    const args = opts.args ?? [];
    const dialplan = snapshot.dialplan as Record<string, unknown>;
    const app = opts.app ?? 'bot';
    dialplan.app_data = [app, ...args].join(',');
    this.channelApps.set(id, app);
    if (opts.exten) dialplan.exten = opts.exten;
    snapshot.caller = { name: opts.callerName ?? 'Test Caller', number: opts.callerNumber ?? 'sipp' };
    snapshot.creationtime = asteriskTimestamp();
    const channel: FakeChannel = {
      id,
      name,
      state: 'Ring',
      snapshot,
      role: 'caller',
      inStasis: true,
      createdByApp: false,
      gone: false,
      line: new CallerLine(),
      variables: {},
    };
    if (opts.silenceSuppression && channel.line) channel.line.silenceSuppression = true;
    this.channels.set(id, channel);
    this.broadcast({ ...start, args, channel: this.snap(channel) });
    return channel;
  }

  /** The caller queues speech (8 kHz PCM); between utterances the line carries silence. */
  callerSays(channelId: string, pcm8k: Int16Array): void {
    this.mustChannel(channelId).line?.say(pcm8k);
  }

  /** The caller presses a key: ChannelDtmfReceived, plus DTMF_END / 0x03 on bridged media. */
  callerDtmf(channelId: string, digit: string): void {
    const ch = this.mustChannel(channelId);
    const ev = SCRIPTS.dtmf.template();
    this.broadcast({ ...ev, digit, channel: this.snap(ch) });
    const bridge = ch.bridgeId ? this.bridges.get(ch.bridgeId) : undefined;
    for (const otherId of bridge?.channels ?? []) {
      const other = this.channels.get(otherId);
      if (!other || other === ch) continue;
      other.ws?.dtmf(digit);
      if (this.audioSocketInBandDtmf) other.audioSocket?.dtmf(digit);
    }
  }

  /** The caller sends BYE (no Reason header). */
  callerHangup(channelId: string): Promise<void> {
    const ch = this.mustChannel(channelId);
    const script = ch.role === 'outbound' ? SCRIPTS.outboundRemoteHangup : SCRIPTS.callerBye;
    return this.endChannel(ch, script);
  }

  /** Drop the events socket(s): 1000 = clean close, 1006 = abrupt (no close frame). */
  dropEventSockets(code: 1000 | 1006): void {
    for (const ws of this.eventSockets) {
      if (code === 1000) ws.close(1000);
      else ws.terminate();
    }
    this.eventSockets.clear();
  }

  /**
   * `core stop` and start again, as captured: live Stasis channels get HangupRequest
   * {cause:4, soft} + StasisEnd, the events socket dies without a close frame ~1.1 s later,
   * connections are refused while down, the first upgrade after start gets 503, and every
   * channel and bridge is gone with ids restarting at `<new epoch>.0`.
   */
  async restart(downMs = 500): Promise<void> {
    const script = SCRIPTS.shutdown;
    const victims = [...this.channels.values()].filter((c) => c.inStasis && !c.gone);
    await Promise.all(victims.map((c) => this.replay(script, c, script.ids.caller, script.ids.callerName)));
    for (const c of this.channels.values()) {
      c.gone = true;
      c.inStasis = false;
      this.closeMedia(c);
    }
    await this.sleep(1100);
    for (const b of this.bridges.values()) if (b.timer) clearInterval(b.timer);
    this.bridges.clear();
    this.channels.clear();
    for (const ws of this.eventSockets) ws.terminate();
    this.eventSockets.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await new Promise((r) => setTimeout(r, downMs));
    this.epoch = Math.floor(Date.now() / 1000) + 1;
    this.nextChannel = 0;
    this.startupTime = asteriskTimestamp();
    this.booting = 1;
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }

  /**
   * `kill -9`: no event at all, every connection (events socket, chan_websocket, AudioSocket) reset at once,
   * RTP stops, and connections are refused until it is started again `downMs` later (new startup time, every
   * channel and bridge gone). downMs < 0: stays down.
   */
  async crash(downMs = 1000): Promise<void> {
    for (const b of this.bridges.values()) if (b.timer) clearInterval(b.timer);
    for (const c of this.channels.values()) {
      c.gone = true;
      c.inStasis = false;
      c.ws?.kill();
      c.audioSocket?.kill();
      c.rtp?.close();
    }
    this.bridges.clear();
    this.channels.clear();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const ws of this.eventSockets) ws.terminate();
    this.eventSockets.clear();
    for (const ws of this.wss.clients) ws.terminate();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (downMs < 0) return;
    await new Promise((r) => setTimeout(r, downMs));
    await this.restartAfterCrash();
  }

  /** Asterisk started again after `crash(-1)`: a new startup time, no channel or bridge, the same port. */
  async restartAfterCrash(): Promise<void> {
    this.epoch = Math.floor(Date.now() / 1000) + 1;
    this.nextChannel = 0;
    this.startupTime = asteriskTimestamp();
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
  }

  // ---------------------------------------------------------------- HTTP

  private authorized(req: IncomingMessage, url: URL): boolean {
    const apiKey = url.searchParams.get('api_key');
    if (apiKey !== null) return apiKey === `${this.username}:${this.password}`;
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('Basic ')) return false;
    return Buffer.from(header.slice(6), 'base64').toString() === `${this.username}:${this.password}`;
  }

  /**
   * Holds the requests `matches` picks (recorded on arrival, handled after release) until the returned function is
   * called: a test sees what the client does while one reply is outstanding, without relying on timing.
   */
  holdRequests(matches: (r: RecordedRequest) => boolean): () => void {
    let release!: () => void;
    const hold = { matches, released: new Promise<void>((resolve) => (release = resolve)) };
    this.holds.push(hold);
    return () => {
      this.holds.splice(this.holds.indexOf(hold), 1);
      release();
    };
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString();
    let body: unknown = null;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const query = Object.fromEntries(url.searchParams.entries());
    delete query.api_key;
    const record: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query, body, status: 0, at: performance.now() };
    this.requests.push(record);
    const held = this.holds.find((h) => h.matches(record));
    if (held) await held.released;
    const reply = (status: number, payload?: unknown, headers: Record<string, string> = {}): void => {
      record.status = status;
      record.repliedAt = performance.now();
      if (payload === undefined) {
        res.writeHead(status, headers).end();
        return;
      }
      const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(text);
    };
    if (!url.pathname.startsWith('/ari/')) return reply(404, { message: 'Resource not found' });
    if (!this.authorized(req, url)) {
      return reply(401, { message: 'Authentication required' }, { 'www-authenticate': 'Basic realm="Asterisk REST Interface"' });
    }
    try {
      await this.route(record, reply, req);
    } catch (err) {
      this.warnings.push(`peer route error: ${(err as Error).message}`);
      if (!res.headersSent) reply(500, { message: 'An internal error prevented this request from being handled' });
    }
  }

  private async route(r: RecordedRequest, reply: (s: number, p?: unknown) => void, req: IncomingMessage): Promise<void> {
    const p = r.path.slice('/ari'.length).split('/').filter(Boolean).map(decodeURIComponent);
    const m = r.method;
    const q = { ...r.query, ...(typeof r.body === 'object' && r.body !== null && !Array.isArray(r.body) ? flattenBody(r.body) : {}) };
    const variables = (typeof r.body === 'object' && r.body !== null ? (r.body as { variables?: unknown }).variables : undefined) as
      | Record<string, string>
      | undefined;

    if (p[0] === 'api-docs' && m === 'GET' && p.length === 2) return this.apiDoc(p[1], req, reply);
    if (p[0] === 'asterisk' && p[1] === 'info') {
      const info = JSON.parse(readFileSync(new URL('asterisk-info.json', FIXTURES_DIR), 'utf8'));
      info.status.startup_time = this.startupTime;
      return reply(200, info);
    }
    if (p[0] === 'asterisk' && p[1] === 'ping') return reply(200, { ping: 'pong', timestamp: asteriskTimestamp(), asterisk_id: ASTERISK_ID });
    if (p[0] === 'applications') {
      const app = { name: 'bot', channel_ids: this.liveStasisIds(), bridge_ids: [...this.bridges.keys()], endpoint_ids: [], device_names: [], events_allowed: [], events_disallowed: [] };
      if (p.length === 1) return reply(200, [app]);
      if (p[2] === 'subscription') {
        const source = /^channel:(.+)$/.exec(r.query.eventSource ?? '');
        const ch = source ? this.channels.get(source[1]) : undefined;
        if (ch) ch.subscribed = true;
        return reply(200, app);
      }
      return reply(200, app);
    }
    if (p[0] === 'endpoints' && m === 'GET') return this.routeEndpoints(p, reply);
    if (p[0] === 'channels') return this.routeChannels(p, m, q, variables, reply);
    if (p[0] === 'bridges') return this.routeBridges(p, m, q, reply);
    return reply(404, { message: 'Resource not found' });
  }

  /** Shapes as captured (rest-basics-and-errors); the 404 texts are Asterisk's resource_endpoints.c. */
  private routeEndpoints(p: string[], reply: (s: number, p?: unknown) => void): void {
    const all = [...this.endpoints].map((e) => {
      const [technology, resource] = e.split('/') as [string, string];
      return { technology, resource, state: 'online', channel_ids: [] as string[] };
    });
    if (p.length === 1) return reply(200, all);
    const ofTech = all.filter((e) => e.technology === p[1]);
    if (p.length === 2) return ofTech.length > 0 ? reply(200, ofTech) : reply(404, { message: `No Endpoints found - invalid tech ${p[1]}` });
    const found = ofTech.find((e) => e.resource === p[2]);
    if (p.length === 3 && found) return reply(200, found);
    return reply(404, { message: 'Endpoint not found' });
  }

  private endpointExists(dial: string): boolean {
    const m = /^(PJSIP|SIP|IAX2)\/([^/]+)/.exec(dial);
    if (!m) return true; // Local/ and others: no endpoint objects to check
    const resource = m[2].includes('@') ? m[2].slice(m[2].lastIndexOf('@') + 1) : m[2];
    return this.endpoints.has(`${m[1]}/${resource}`);
  }

  private apiDoc(file: string, req: IncomingMessage, reply: (s: number, p?: unknown) => void): void {
    let text: string;
    try {
      text = readFileSync(new URL(`api-docs/${file.replace(/[^A-Za-z.]/g, '')}`, FIXTURES_DIR), 'utf8');
    } catch {
      return reply(404, { message: 'Resource not found' });
    }
    // basePath is built from the Host header, like Asterisk does.
    const host = req.headers.host ?? `127.0.0.1:${this.port}`;
    reply(200, text.replace('http://127.0.0.1:8088/ari', `http://${host}/ari`));
  }

  // ---------------------------------------------------------------- channels

  private async routeChannels(
    p: string[],
    m: string,
    q: Record<string, string>,
    variables: Record<string, string> | undefined,
    reply: (s: number, p?: unknown) => void,
  ): Promise<void> {
    if (p.length === 1 && m === 'GET') return reply(200, [...this.channels.values()].filter((c) => !c.gone).map((c) => this.snap(c)));
    if (p.length === 1 && m === 'POST') return this.originate(q, variables, reply);
    if (p[1] === 'create' && p.length === 2 && m === 'POST') return this.createChannel(q, variables, reply);
    if (p[1] === 'externalMedia' && m === 'POST') return this.externalMedia(q, variables, reply);
    const ch = this.channels.get(p[1]);
    if (!ch || ch.gone) return reply(404, { message: 'Channel not found' });
    const action = p[2];
    if (action === undefined && m === 'GET') return reply(200, this.snap(ch));
    if (action === undefined && m === 'DELETE') return this.hangupChannel(ch, q, reply);
    if (action === 'variable' && m === 'GET') {
      const value = ch.variables[q.variable ?? ''];
      if (value === undefined) return reply(404, { message: 'Provided variable was not found' });
      return reply(200, { value });
    }
    if (action === 'variable' && m === 'POST') {
      if (!q.variable) return reply(400, { message: 'Variable name is required' });
      ch.variables[q.variable] = q.value ?? '';
      return reply(204);
    }
    if (!ch.inStasis) return reply(409, { message: 'Channel not in Stasis application' });
    switch (action) {
      case 'answer': {
        if (ch.state !== 'Up') await this.replay(SCRIPTS.answer, ch, SCRIPTS.answer.ids.caller, SCRIPTS.answer.ids.callerName);
        ch.state = 'Up';
        return reply(204);
      }
      case 'continue': {
        reply(204);
        ch.inStasis = false;
        this.leaveBridge(ch, false);
        await this.replay(SCRIPTS.continueInDialplan, ch, SCRIPTS.continueInDialplan.ids.caller, SCRIPTS.continueInDialplan.ids.callerName);
        // The dialplan plays hello-world and hangs up; the app never hears of it again.
        this.later(1500, () => {
          ch.gone = true;
        });
        return;
      }
      case 'redirect': {
        if (!q.endpoint) return reply(400, { message: 'Required parameter endpoint is missing' });
        // Documented in the api-docs (not captured): a redirect must stay within the channel's technology.
        if (q.endpoint.split('/')[0] !== ch.name.split('/')[0]) return reply(422, { message: 'Endpoint technology does not match the channel technology' });
        reply(204);
        // Answered: an in-dialog REFER, no ARI event, the channel stays in Stasis until BYE.
        if (ch.state === 'Up') return;
        return this.endChannel(ch, SCRIPTS.redirectRinging);
      }
      case 'dtmf':
        if (ch.ws) this.later(100, () => ch.ws?.dtmf(q.dtmf ?? ''));
        if (ch.audioSocket) ch.audioSocket.dtmf(q.dtmf ?? '');
        return reply(204);
      case 'ring':
        return reply(204);
      case 'dial':
        if (ch.role !== 'outbound' || ch.dialed) return reply(409, { message: 'Channel is not in a state that can be dialed' });
        ch.dialed = true;
        reply(204);
        return this.dialCreated(ch, Number(q.timeout ?? 0));
      default:
        return reply(404, { message: 'Resource not found' });
    }
  }

  private async hangupChannel(ch: FakeChannel, q: Record<string, string>, reply: (s: number, p?: unknown) => void): Promise<void> {
    if (ch.role === 'media') {
      reply(204);
      return this.endMedia(ch, 'delete');
    }
    if (ch.state !== 'Up' && q.reason === 'busy') {
      reply(204);
      return this.endChannel(ch, SCRIPTS.rejectBusy);
    }
    if (ch.role === 'outbound' && ch.state !== 'Up') {
      reply(204);
      return this.endChannel(ch, SCRIPTS.cancelRingingOutbound);
    }
    const script = ch.role === 'outbound' ? SCRIPTS.outboundBotHangup : SCRIPTS.botHangup;
    const done = this.endChannel(ch, script);
    reply(204);
    return done;
  }

  private async originate(q: Record<string, string>, variables: Record<string, string> | undefined, reply: (s: number, p?: unknown) => void): Promise<void> {
    if (!q.endpoint) return reply(400, { message: 'Endpoint must be specified' });
    if (!q.app && !q.extension) return reply(400, { message: 'Application or extension must be specified' });
    // Captured for PJSIP/no-such-endpoint and Bogus/thing alike (rest-basics-and-errors).
    if (!/^(PJSIP|SIP|Local|IAX2|DAHDI)\//.test(q.endpoint) || !this.endpointExists(q.endpoint)) return reply(500, { error: 'Allocation failed' });
    const outcome = this.outcomeByEndpoint.get(q.endpoint) ?? this.outboundOutcome;
    const script = SCRIPTS.originate[outcome];
    const ids = script.ids;
    const id = q.channelId || this.newChannelId();
    const name = `PJSIP/sipp-uas-${(this.nextSipName++).toString(16).padStart(8, '0')}`;
    const response = instantiate(script.response() as CapturedEvent, [
      [ids.caller, id],
      [ids.callerName, name],
    ]) as unknown as Record<string, unknown>;
    const channel: FakeChannel = {
      id,
      name,
      state: 'Down',
      snapshot: { ...response },
      role: 'outbound',
      inStasis: false,
      createdByApp: true,
      gone: false,
      line: new CallerLine(),
      variables: { ...(variables ?? {}) },
      outcome,
    };
    const appArgs = q.appArgs ?? '';
    this.channels.set(id, channel);
    this.channelApps.set(id, q.app || 'bot');
    reply(200, this.snap(channel));
    const subs: Array<[string, string]> = [
      [ids.caller, id],
      [ids.callerName, name],
    ];
    for (const { delayMs, event } of script.events) {
      await this.sleep(delayMs);
      if (channel.gone) return;
      const ev = instantiate(event, subs);
      if (ev.type === 'StasisStart') {
        ev.args = appArgs === '' ? [] : appArgs.split(',');
        const dp = (ev.channel as unknown as { dialplan: Record<string, unknown> }).dialplan;
        dp.app_data = [this.channelApps.get(id) ?? 'bot', ...(ev.args as string[])].join(',');
        channel.inStasis = true;
      }
      this.applyAndBroadcast(ev);
      if (ev.type === 'ChannelDestroyed') channel.gone = true;
    }
  }

  /**
   * `POST /channels/create`: 200 with the channel Down and dialplan app_name "", then (about 3 ms after the reply)
   * ChannelDialplan and StasisStart with state Down, as captured. Nothing is dialled yet.
   */
  private async createChannel(q: Record<string, string>, variables: Record<string, string> | undefined, reply: (s: number, p?: unknown) => void): Promise<void> {
    if (!q.endpoint) return reply(400, { message: 'Endpoint must be specified' });
    if (!q.app) return reply(400, { message: 'app must be specified' });
    if (!/^(PJSIP|SIP|Local|IAX2|DAHDI)\//.test(q.endpoint)) return reply(500, { error: 'Allocation failed' });
    const early = SCRIPTS.early;
    const id = q.channelId || this.newChannelId();
    this.channelApps.set(id, q.app);
    const name = `PJSIP/sipp-uas-${(this.nextSipName++).toString(16).padStart(8, '0')}`;
    const subs: Array<[string, string]> = [
      [early.ids.caller, id],
      [early.ids.callerName, name],
    ];
    const response = instantiate(early.response() as CapturedEvent, subs) as unknown as Record<string, unknown>;
    const line = new CallerLine();
    line.silenceSuppression = true; // early media: RTP only while the callee plays something
    const channel: FakeChannel = {
      id,
      name,
      state: 'Down',
      snapshot: { ...response },
      role: 'outbound',
      inStasis: true, // addChannel right after the reply was accepted in the capture
      createdByApp: true,
      gone: false,
      line,
      variables: { ...(variables ?? {}) },
      endpoint: q.endpoint,
    };
    this.channels.set(id, channel);
    reply(200, this.snap(channel));
    await this.sleep(3);
    const appArgs = q.appArgs ?? '';
    for (const ev of early.created.map((e) => instantiate(e.event, subs))) {
      if (ev.type === 'StasisStart') {
        ev.args = appArgs === '' ? [] : appArgs.split(',');
        const dp = (ev.channel as unknown as { dialplan: Record<string, unknown> }).dialplan;
        dp.app_data = [this.channelApps.get(id) ?? 'bot', ...(ev.args as string[])].join(',');
      }
      this.applyAndBroadcast(ev);
    }
  }

  /** `POST /channels/{id}/dial` on a created channel: the callee's scenario, with the captured event shapes. */
  private async dialCreated(ch: FakeChannel, timeoutSec: number): Promise<void> {
    const scenario = this.earlyMediaByEndpoint.get(ch.endpoint ?? '') ?? this.earlyMedia;
    const early = SCRIPTS.early;
    const subs: Array<[string, string]> = [
      [early.ids.caller, ch.id],
      [early.ids.callerName, ch.name],
    ];
    const send = (ev: CapturedEvent, patch: Record<string, unknown> = {}): void => {
      if (ch.gone) return;
      this.applyAndBroadcast({ ...instantiate(ev, subs), ...patch } as CapturedEvent);
    };
    const started = performance.now();
    const ringTimeoutMs = timeoutSec > 0 ? timeoutSec * 1000 : Infinity;
    await this.sleep(6);
    send(early.dial, { dialstatus: '' });
    if (scenario.ringMs !== undefined) {
      await this.sleep(1);
      send(early.dial, { dialstatus: 'RINGING' });
      send(early.ringing);
      await this.sleep(scenario.ringMs);
    }
    if (scenario.earlyAudio) {
      // The 183's first RTP comes ~200 ms after the INVITE; Dial PROGRESS 3.7 ms after the 183.
      await this.sleep(scenario.ringMs === undefined ? 200 : 0);
      if (ch.gone) return;
      send(early.dial, { dialstatus: 'PROGRESS' });
      ch.line?.say(scenario.earlyAudio);
      // The audio runs on the bridge's 20 ms clock (as RTP would); the final response comes ~330 ms after the last packet.
      while (ch.line?.speaking && !ch.gone && !this.down) await new Promise((r) => this.later(20, () => r(undefined)));
      await this.sleep(330);
    } else {
      await this.sleep(scenario.finalAfterMs ?? 500);
    }
    if (ch.gone) return;
    if (performance.now() - started > ringTimeoutMs) return; // Asterisk cancelled it already (not modelled further)
    if (scenario.final === 'answer') {
      ch.line!.silenceSuppression = false;
      send(early.up);
      send(early.dial, { dialstatus: 'ANSWER' });
      if (scenario.answerAudio) ch.line?.say(scenario.answerAudio);
      return;
    }
    const cause = scenario.final === 480 ? 19 : scenario.final === 404 ? 1 : 17;
    const script = scenario.final === 404 ? early.rejected404 : early.rejected480;
    ch.gone = true;
    await this.replay(script, ch, early.ids.caller, early.ids.callerName, [], cause);
    ch.inStasis = false;
    this.leaveBridge(ch, false);
    this.later(50, () => this.channels.delete(ch.id));
  }

  // ---------------------------------------------------------------- external media

  private async externalMedia(q: Record<string, string>, variables: Record<string, string> | undefined, reply: (s: number, p?: unknown) => void): Promise<void> {
    if (!q.app) return reply(400, { message: 'app cannot be empty' });
    if (!q.format) return reply(400, { message: 'format cannot be empty' });
    const transport = q.transport ?? 'udp';
    const encapsulation = q.encapsulation ?? 'rtp';
    const format = (q.format === 'slin16' ? 'slin16' : q.format === 'slin' ? 'slin' : q.format === 'alaw' ? 'alaw' : 'ulaw') as AsteriskFormat;
    const id = q.channelId || this.newChannelId();
    this.channelApps.set(id, q.app);
    if (transport === 'websocket') {
      if (encapsulation !== 'none') return reply(400, { message: "encapsulation must be 'none' for websocket transport" });
      return this.externalWebSocket(id, q, format, variables ?? {}, reply);
    }
    if (encapsulation === 'audiosocket') return this.externalAudioSocket(id, q, format, reply);
    if (encapsulation === 'rtp' && transport === 'udp') return this.externalRtp(id, q, format, reply);
    return reply(400, { message: 'Unsupported transport/encapsulation' });
  }

  private mediaChannel(id: string, name: string, snapshot: Record<string, unknown>, kind: MediaKind): FakeChannel {
    const ch: FakeChannel = { id, name, state: 'Down', snapshot, role: 'media', inStasis: false, createdByApp: true, gone: false, variables: {}, mediaKind: kind };
    this.channels.set(id, ch);
    return ch;
  }

  private async externalWebSocket(
    id: string,
    q: Record<string, string>,
    format: AsteriskFormat,
    variables: Record<string, string>,
    reply: (s: number, p?: unknown) => void,
  ): Promise<void> {
    const client = q.connection_type === 'client';
    const script = client ? SCRIPTS.wsClient : format === 'slin16' ? SCRIPTS.wsServerSlin16 : SCRIPTS.wsServer;
    if (client && !this.websocketClients[q.external_host ?? '']) {
      return reply(400, { message: 'external_host must be a valid websocket_client connection id.' });
    }
    const connectionId = client ? (q.external_host as string) : randomUUID();
    const name = `WebSocket/${client ? connectionId : 'INCOMING'}/0x${randomBytes(6).toString('hex')}`;
    const ids = script.ids;
    const body = instantiate(script.response() as CapturedEvent, [
      [ids.media, id],
      [ids.mediaName, name],
      [ids.connectionId, connectionId],
    ]) as unknown as Record<string, unknown>;
    body.creationtime = asteriskTimestamp();
    const channelvars = { ...variables, ...(body.channelvars as Record<string, string>) };
    body.channelvars = channelvars;
    const { channelvars: _cv, ...snapshot } = body;
    const ch = this.mediaChannel(id, name, snapshot, client ? 'websocket-client' : 'websocket');
    const json = /f\(json\)/.test(q.transport_data ?? '');
    ch.pendingWs = { connectionId, format, json, variables: channelvars };
    if (!client) this.pendingMedia.set(connectionId, ch);
    reply(200, body);
    await this.replay(script.dialing, ch, ids.media, ids.mediaName);
    if (!client) return;
    const params = [...(q.transport_data ?? '').matchAll(/v\(([^)]*)\)/g)].flatMap((mm) => mm[1].split(','));
    const uri = this.websocketClients[connectionId] + (params.length ? `?${params.join('&')}` : '');
    const ws = new WebSocket(uri, 'media');
    ws.on('error', () => {});
    const connected = await new Promise<boolean>((resolve) => {
      ws.once('open', () => resolve(true));
      ws.once('error', () => resolve(false));
      ws.once('unexpected-response', () => resolve(false));
    });
    if (!connected) {
      // Three tries at reconnect_interval, then ChannelDestroyed cause 3 and nothing else.
      await this.replay(SCRIPTS.wsClientRefused.events, ch, SCRIPTS.wsClientRefused.ids.media, SCRIPTS.wsClientRefused.ids.mediaName);
      ch.gone = true;
      return;
    }
    await this.attachChanWebSocket(ch, ws, script);
  }

  private async attachChanWebSocket(ch: FakeChannel, ws: WebSocket, script: Script): Promise<void> {
    const pending = ch.pendingWs;
    if (!pending) return;
    ch.pendingWs = undefined;
    ch.ws = new ChanWebSocket(ws, {
      channelId: ch.id,
      channelName: ch.name,
      connectionId: pending.connectionId,
      format: pending.format,
      json: pending.json,
      channelVariables: pending.variables,
      onPeerHangup: (how) => void this.endMedia(ch, how),
      onWarning: (line) => this.warnings.push(line),
      onText: (text) => this.mediaCommands.push(`${ch.id} ${text}`),
    });
    ch.ws.start();
    await this.replay(script.answered, ch, script.ids.media, script.ids.mediaName);
    ch.inStasis = true;
  }

  private async externalAudioSocket(id: string, q: Record<string, string>, format: AsteriskFormat, reply: (s: number, p?: unknown) => void): Promise<void> {
    if (!q.data) return reply(400, { message: 'data can not be empty' });
    const [host, portText] = (q.external_host ?? '').split(':');
    const script = SCRIPTS.audioSocket;
    const ids = script.ids;
    const name = `AudioSocket/${q.external_host}-${q.data}`;
    const audioSocket = new AudioSocketChannel(
      q.data,
      format,
      (how) => void this.endMedia(ch, how),
      (line) => this.warnings.push(line),
    );
    const body = instantiate(script.response() as CapturedEvent, [
      [ids.media, id],
      [ids.mediaName, name],
      [ids.connectionId, q.data],
      [ids.service as string, q.external_host ?? ''],
    ]) as unknown as Record<string, unknown>;
    const { channelvars: _cv, ...snapshot } = body;
    const ch = this.mediaChannel(id, name, snapshot, 'audiosocket');
    ch.audioSocket = audioSocket;
    try {
      await audioSocket.connect(host, Number(portText));
    } catch {
      this.channels.delete(id);
      return reply(500, { message: 'An internal error prevented this request from being handled' });
    }
    reply(200, body);
    if (this.mediaStasisDelayMs > 0) await this.sleep(this.mediaStasisDelayMs);
    // StasisStart carries the UUID as its only arg.
    await this.replay(script.dialing, ch, ids.media, ids.mediaName, [[ids.connectionId, q.data]]);
    ch.state = 'Up';
    ch.inStasis = true;
  }

  private async externalRtp(id: string, q: Record<string, string>, format: AsteriskFormat, reply: (s: number, p?: unknown) => void): Promise<void> {
    const [host, portText] = (q.external_host ?? '').split(':');
    if (!host || !portText) return reply(400, { message: 'external_host must be host:port' });
    const script = SCRIPTS.rtp;
    const ids = script.ids;
    const rtp = new UnicastRtpChannel(format, host, Number(portText));
    const localPort = await rtp.bind();
    const name = `UnicastRTP/${q.external_host}-0x${randomBytes(6).toString('hex')}`;
    const body = instantiate(script.response() as CapturedEvent, [
      [ids.media, id],
      [ids.mediaName, name],
    ]) as unknown as Record<string, unknown>;
    const channelvars = { UNICASTRTP_LOCAL_PORT: String(localPort), UNICASTRTP_LOCAL_ADDRESS: '127.0.0.1' };
    body.channelvars = channelvars;
    const { channelvars: _cv, ...snapshot } = body;
    const ch = this.mediaChannel(id, name, snapshot, 'rtp');
    ch.rtp = rtp;
    ch.variables = { ...channelvars };
    // Captured: Dial .. StasisStart arrive before the 200.
    await this.replay(script.dialing, ch, ids.media, ids.mediaName);
    ch.state = 'Up';
    ch.inStasis = true;
    reply(200, body);
  }

  /** A media channel ends: bot DELETE, HANGUP command, peer close, oversize frame, AudioSocket 0x00/FIN. */
  private async endMedia(ch: FakeChannel, how: 'delete' | 'hangup-command' | 'closed' | 'oversize' | 'hangup-frame'): Promise<void> {
    if (ch.gone) return;
    ch.gone = true;
    const kind = ch.mediaKind;
    let script: Script;
    if (kind === 'audiosocket') script = how === 'delete' ? SCRIPTS.audioSocketDelete : SCRIPTS.audioSocketPeerGone;
    else if (kind === 'rtp') script = SCRIPTS.rtpDelete;
    else if (how === 'delete') script = SCRIPTS.wsDelete;
    else if (how === 'hangup-command') script = SCRIPTS.wsHangupCommand;
    else if (how === 'oversize') script = SCRIPTS.wsOversize;
    else script = SCRIPTS.wsPeerClose;
    if (how === 'delete' || how === 'hangup-command') this.closeMedia(ch);
    else if (how === 'oversize' || how === 'closed') ch.ws?.close(1001);
    if (ch.pendingWs) {
      for (const [k, v] of this.pendingMedia) if (v === ch) this.pendingMedia.delete(k);
    }
    await this.replay(script, ch, script.ids.media, script.ids.mediaName);
    this.closeMedia(ch);
    this.leaveBridge(ch, false);
    this.channels.delete(ch.id);
  }

  private closeMedia(ch: FakeChannel): void {
    ch.ws?.close(1000);
    ch.audioSocket?.close();
    ch.rtp?.close();
  }

  // ---------------------------------------------------------------- bridges

  private async routeBridges(p: string[], m: string, q: Record<string, string>, reply: (s: number, p?: unknown) => void): Promise<void> {
    if (p.length === 1 && m === 'GET') return reply(200, [...this.bridges.values()].map((b) => this.bridgeSnap(b)));
    if (p.length === 1 && m === 'POST') {
      const types = (q.type ?? 'mixing').split(',');
      if (!types.every((t) => ['mixing', 'holding', 'dtmf_events', 'proxy_media', 'video_sfu', 'video_single', 'sdp_label'].includes(t))) {
        return reply(500, { message: "Unable to create bridge. Possible duplicate bridge id '(null)'" });
      }
      const template = SCRIPTS.bridge.response() as Record<string, unknown>;
      const id = q.bridgeId || randomUUID();
      const bridge: FakeBridge = { id, channels: [], snapshot: { ...template, id, name: q.name ?? '', creationtime: asteriskTimestamp() } };
      this.bridges.set(id, bridge);
      return reply(200, this.bridgeSnap(bridge));
    }
    const bridge = this.bridges.get(p[1]);
    if (!bridge) return reply(404, { message: 'Bridge not found' });
    if (p.length === 2 && m === 'GET') return reply(200, this.bridgeSnap(bridge));
    if (p.length === 2 && m === 'DELETE') {
      reply(204);
      for (const id of [...bridge.channels]) {
        const ch = this.channels.get(id);
        if (ch) this.leaveBridge(ch, true);
      }
      if (bridge.timer) clearInterval(bridge.timer);
      this.bridges.delete(bridge.id);
      this.broadcast({ ...SCRIPTS.bridge.destroyed(), bridge: this.bridgeSnap(bridge) });
      return;
    }
    if (p[2] === 'addChannel' && m === 'POST') {
      if (!q.channel) return reply(400, { message: 'Missing parameter channel' });
      const chans = q.channel.split(',').map((id) => this.channels.get(id));
      if (chans.some((c) => !c || c.gone)) return reply(400, { message: 'Channel not found' });
      for (const ch of chans as FakeChannel[]) {
        if (!ch.inStasis) return reply(422, { message: 'Channel not in Stasis application' });
        if (ch.bridgeId && ch.bridgeId !== bridge.id) this.leaveBridge(ch, true);
        if (!bridge.channels.includes(ch.id)) bridge.channels.push(ch.id);
        ch.bridgeId = bridge.id;
        this.broadcast({ ...SCRIPTS.bridge.entered(), bridge: this.bridgeSnap(bridge), channel: this.snap(ch) });
      }
      this.updateBridgeTimer(bridge);
      return reply(204);
    }
    if (p[2] === 'removeChannel' && m === 'POST') {
      const ch = this.channels.get(q.channel ?? '');
      if (!ch || ch.bridgeId !== bridge.id) return reply(422, { message: 'Channel not in this bridge' });
      this.leaveBridge(ch, true);
      return reply(204);
    }
    return reply(404, { message: 'Resource not found' });
  }

  private leaveBridge(ch: FakeChannel, announce: boolean): void {
    const bridge = ch.bridgeId ? this.bridges.get(ch.bridgeId) : undefined;
    ch.bridgeId = undefined;
    if (!bridge) return;
    bridge.channels = bridge.channels.filter((id) => id !== ch.id);
    if (announce) this.broadcast({ ...SCRIPTS.bridge.left(), bridge: this.bridgeSnap(bridge), channel: this.snap(ch) });
    this.updateBridgeTimer(bridge);
  }

  /** The mixing bridge: every 20 ms, caller audio to the media channel and bot audio to the caller. */
  private updateBridgeTimer(bridge: FakeBridge): void {
    const members = bridge.channels.map((id) => this.channels.get(id)).filter((c): c is FakeChannel => !!c && !c.gone);
    const party = members.find((c) => c.line);
    const media = members.find((c) => c.ws || c.audioSocket || c.rtp);
    if (!party || !media) {
      if (bridge.timer) clearInterval(bridge.timer);
      bridge.timer = undefined;
      return;
    }
    if (bridge.timer) return;
    const callerFrame = new Int16Array(160);
    // AudioSocket and RTP hand bot audio over as it arrives, so the ear must check the bridge still holds both.
    const hear = (pcm: Int16Array): void => {
      if (!party.gone && !media.gone && party.bridgeId === bridge.id && media.bridgeId === bridge.id) party.line?.hear(pcm);
    };
    // Asterisk's media keeps real time: the caller's phone sends a packet every 20 ms whatever this process is doing.
    // So a timer that fires late (a loaded test machine) catches up on every slot due, as the FreeSWITCH peer does;
    // one slot per firing slowed the caller's speech down to the timer's pace (several times on a loaded machine), and
    // the app, which keeps real time, took it for pauses.
    const startedAt = this.mediaClock();
    let slots = 0;
    bridge.timer = setInterval(() => {
      const due = Math.floor((this.mediaClock() - startedAt) / 20);
      while (slots < due && !party.gone && !media.gone) {
        slots++;
        // No caller packet in this slot (silence suppression): the leg gets nothing at all, in every mode.
        const sent = party.line?.readFrame(callerFrame) ?? true;
        const frame = sent ? callerFrame : undefined;
        media.ws?.tick(frame, hear);
        media.audioSocket?.tick(frame, hear);
        media.rtp?.tick(frame, hear);
      }
    }, 20);
  }

  // ---------------------------------------------------------------- events

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', this.url);
    const refuse = (status: number, text: string, body: string, type = 'application/json', extra = ''): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nServer: Asterisk/22.10.1\r\nConnection: close\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`);
    };
    if (url.pathname === '/ari/events') {
      if (this.booting > 0) {
        this.booting--;
        return refuse(503, 'Service Unavailable', '{"message":"Asterisk not booted"}');
      }
      if (!this.authorized(req, url)) {
        return refuse(401, 'Unauthorized', '{"message":"Authentication required"}', 'application/json', 'WWW-Authenticate: Basic realm="Asterisk REST Interface"\r\n');
      }
      if (!url.searchParams.get('app')) return refuse(400, 'Bad Request', '<html><head><title>400 Bad Request</title></head></html>', 'text/html');
      const apps = new Set(url.searchParams.getAll('app').flatMap((a) => a.split(',')));
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        this.socketApps.set(ws, apps);
        this.eventSockets.add(ws);
        ws.on('close', () => this.eventSockets.delete(ws));
        ws.on('error', () => {});
      });
      return;
    }
    const media = /^\/media\/([^/?]+)$/.exec(url.pathname);
    const pending = media ? this.pendingMedia.get(media[1]) : undefined;
    if (!pending) return refuse(404, 'Not Found', '{"message":"Not found"}');
    this.pendingMedia.delete(media?.[1] ?? '');
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const script = pending.pendingWs?.format === 'slin16' ? SCRIPTS.wsServerSlin16 : SCRIPTS.wsServer;
      void this.attachChanWebSocket(pending, ws, script);
    });
  }

  /**
   * Sends an event to the sockets of the app it belongs to. A channel's events carry the app the channel is in (the
   * captures say `bot`); other events (bridges) keep their captured app and go to every socket when no socket
   * subscribed that app, as the single-app tests expect.
   */
  private broadcast(event: CapturedEvent | Record<string, unknown>): void {
    if (this.down) return;
    const e = event as Record<string, unknown>;
    const channelId = ((e.channel ?? e.peer) as { id?: unknown } | undefined)?.id;
    const channelApp = typeof channelId === 'string' ? this.channelApps.get(channelId) : undefined;
    if (channelApp !== undefined && typeof e.application === 'string') e.application = channelApp;
    const app = typeof e.application === 'string' ? e.application : undefined;
    const subscribed = (ws: WebSocket): boolean => app === undefined || (this.socketApps.get(ws)?.has(app) ?? false);
    const onlySubscribers = channelApp !== undefined || [...this.eventSockets].some(subscribed);
    const text = JSON.stringify(event);
    for (const ws of this.eventSockets) {
      if (ws.readyState === WebSocket.OPEN && (!onlySubscribers || subscribed(ws))) ws.send(text);
    }
  }

  /** Send raw text on the events socket (malformed-event tests). */
  sendRawEvent(text: string): void {
    for (const ws of this.eventSockets) if (ws.readyState === WebSocket.OPEN) ws.send(text);
  }

  /** Update live state from an event, patch the snapshot to the live state and send it. */
  private applyAndBroadcast(ev: CapturedEvent): void {
    const chJson = ev.channel ?? (ev.peer as CapturedEvent['channel']);
    const ch = chJson ? this.channels.get(chJson.id) : undefined;
    if (ch && chJson) {
      if (ev.type === 'ChannelStateChange') ch.state = chJson.state;
      else if (ev.type !== 'Dial') chJson.state = ch.state;
      if (ev.type === 'Dial' && typeof ev.dialstatus === 'string' && ev.dialstatus === 'ANSWER') ch.state = 'Up';
      if (ev.type === 'ChannelStateChange' || ev.type === 'Dial') ch.snapshot.state = chJson.state;
    }
    if (ev.type === 'ChannelLeftBridge' && ch) {
      if (!ch.bridgeId) return;
      const bridge = this.bridges.get(ch.bridgeId);
      this.leaveBridge(ch, false);
      if (bridge) ev.bridge = this.bridgeSnap(bridge) as CapturedEvent['bridge'];
    }
    if (ev.type === 'StasisEnd' && ch) ch.inStasis = false;
    this.broadcast(ev);
  }

  /**
   * Replay a captured run against `ch`. ChannelLeftBridge is only sent for a bridged channel and is
   * inserted before StasisEnd when the capture had no bridge.
   */
  private async replay(
    script: Script | Script['events'],
    ch: FakeChannel,
    capturedId: string,
    capturedName: string,
    extra: Array<[string, string]> = [],
    /** Replace the Q.850 cause of HangupRequest/Destroyed (486 on the create+dial route was not captured). */
    cause?: number,
  ): Promise<void> {
    const events = Array.isArray(script) ? script : script.events;
    const subs: Array<[string, string]> = [[capturedId, ch.id], [capturedName, ch.name], ...extra];
    let leftSent = false;
    for (const { delayMs, event } of events) {
      await this.sleep(delayMs);
      if (this.down) return;
      const ev = instantiate(event, subs);
      if (cause !== undefined && (ev.type === 'ChannelHangupRequest' || ev.type === 'ChannelDestroyed') && typeof ev.cause === 'number') {
        if (ev.cause !== cause) {
          ev.cause = cause;
          ev.cause_txt = cause === 17 ? 'User busy' : ev.cause_txt;
        }
      }
      if (ev.type === 'ChannelLeftBridge') leftSent = true;
      if (ev.type === 'StasisEnd' && !leftSent && ch.bridgeId) {
        leftSent = true;
        this.applyAndBroadcast({ ...SCRIPTS.bridge.left(), channel: this.snap(ch) } as CapturedEvent);
      }
      this.applyAndBroadcast(ev);
    }
  }

  /** End a caller/outbound channel with a captured run; ChannelDestroyed only if the app made it or subscribed. */
  private async endChannel(ch: FakeChannel, script: Script): Promise<void> {
    if (ch.gone) return;
    ch.gone = true;
    // A dialplan channel that leaves Stasis is no longer the app's business: nothing after
    // StasisEnd reaches it unless it subscribed to the channel.
    const afterEnd = script.events.findIndex((e) => e.event.type === 'StasisEnd') + 1;
    const events = ch.createdByApp || ch.subscribed || afterEnd === 0 ? script.events : script.events.slice(0, afterEnd);
    await this.replay(events, ch, script.ids.caller, script.ids.callerName);
    ch.inStasis = false;
    this.leaveBridge(ch, false);
    this.later(50, () => this.channels.delete(ch.id));
  }

  // ---------------------------------------------------------------- helpers

  private snap(ch: FakeChannel): Record<string, unknown> {
    return { ...ch.snapshot, id: ch.id, name: ch.name, state: ch.state };
  }

  private bridgeSnap(b: FakeBridge): Record<string, unknown> {
    return { ...b.snapshot, channels: [...b.channels] };
  }

  private liveStasisIds(): string[] {
    return [...this.channels.values()].filter((c) => c.inStasis && !c.gone).map((c) => c.id);
  }

  private mustChannel(id: string): FakeChannel {
    const ch = this.channels.get(id);
    if (!ch) throw new Error(`fake asterisk: no channel ${id}`);
    return ch;
  }

  private newChannelId(): string {
    return `${this.epoch}.${this.nextChannel++}`;
  }

  private sleep(capturedMs: number): Promise<void> {
    const ms = capturedMs * this.timeScale;
    if (ms < 1) return Promise.resolve();
    return new Promise((resolve) => this.later(ms, resolve));
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }
}

export type { CapturedIds };

/** A deep copy of a captured event with captured ids swapped for live ones and a fresh timestamp. */
export function instantiate(event: CapturedEvent, subs: Array<[string, string]>): CapturedEvent {
  const map = new Map(subs.filter(([from]) => from !== ''));
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return map.get(v) ?? v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, val] of Object.entries(v)) out[k] = walk(val);
      return out;
    }
    return v;
  };
  const copy = walk(event) as CapturedEvent;
  if ('timestamp' in copy) copy.timestamp = asteriskTimestamp();
  return copy;
}

/** Asterisk's timestamp format: 2026-11-23T18:59:24.547+0000. */
export function asteriskTimestamp(d = new Date()): string {
  return d.toISOString().replace('Z', '+0000');
}

function flattenBody(body: object): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string' || typeof v === 'number') out[k] = String(v);
  return out;
}
