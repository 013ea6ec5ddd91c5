import type { MediaTokenIssuer } from '../../core/index.ts';
import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import { maskText } from '../../core/index.ts';
import type { CallerClockOptions, WebSocketRoute } from '../../media/index.ts';
import type { AsteriskConfig } from '../config.ts';
import { progressVerdictFromCause, type CallProgressVerdict, type EarlyMediaMonitor } from '../../core/index.ts';
import { dispositionForVerdict, VERDICT_HANGUP_CAUSE } from '../early-media.ts';
import type { EndpointCheck, LiveChannel, OriginateRequest, OriginateResult, PbxAdapter, PbxAdapterEvents, PbxCallInfo } from '../types.ts';
import { AriConnection } from './ari/ari-connection.ts';
import type { AriRest } from './ari/ari-rest.ts';
import type { AriBridge, AriChannel, AriEvent } from './ari/ari-types.ts';
import { formatStasisArgs, parseStasisArgs } from './app-args.ts';
import { AsteriskCall, bridgePrefix, LEGACY_BRIDGE_PREFIX, type AsteriskCallHost } from './asterisk-call.ts';
import { dispositionFor, type OriginateProgress } from './disposition.ts';
import { causeText, hangupFromDestroyed } from './hangup-cause.ts';
import { AudioSocketServer } from './media/audiosocket-server.ts';
import { ChanWebSocketLeg, MAX_MESSAGE_BYTES } from './media/chan-websocket-leg.ts';
import { parseControlMessage } from './media/chan-websocket-control.ts';
import { CLIENT_MEDIA_PARAM, type ExternalMediaDeps } from './media/external-media.ts';
import { RtpPortPool } from './media/rtp-port-pool.ts';
import { parseAsteriskDialString } from '../dial-string.ts';

export interface AsteriskAdapterOptions {
  log: Logger;
  /** Passed to every media leg (media.maxQueuedMs). */
  maxQueuedMs?: number;
  /** Silence fill and dead-media timeout of every media leg (media.callerGapMs / media.deadMediaMs). */
  clock?: CallerClockOptions;
  /** Per-call secret for the /media URL chan_websocket client mode dials (checked by the HTTP server). */
  mediaToken?: MediaTokenIssuer;
  /** How long one ARI request may go unanswered before it fails (default 8 s). */
  ariRequestTimeoutMs?: number;
}

interface PendingOriginate {
  req: OriginateRequest;
  progress: OriginateProgress;
  resolve(result: OriginateResult): void;
  timer: NodeJS.Timeout;
  /** Early-media attempts: created + bridged + dialled, with the call object made up front. */
  early?: { call: AsteriskCall; monitor: EarlyMediaMonitor; stopAudio(): void };
}

interface StasisWaiter {
  resolve(): void;
  reject(err: Error): void;
}

/** Channel technologies that are media plumbing, never a caller. */
const MEDIA_CHANNEL = /^(WebSocket|AudioSocket|UnicastRTP|Snoop)\//;
/** Channel variable carrying the campaign attempt id (read back by listLiveCalls after a crash). */
export const ATTEMPT_VARIABLE = 'CALLPILOT_ATTEMPT';
/** Every channel callpilot originates gets an id with this prefix, so its own calls are found without a scan. */
const OUTBOUND_PREFIX = 'callpilot-out-';
const OUTBOUND_CHANNEL_ID = /^callpilot-out-[A-Za-z0-9-]{1,64}$/;
/** Extra time an originate may take beyond its ring timeout (SIP Timer B is 32 s). */
const ORIGINATE_GRACE_MS = 40_000;

/**
 * Asterisk through ARI. Inbound calls arrive as StasisStart on the configured app; outbound
 * calls are originated into the same app. Each call's audio runs over an externalMedia channel
 * (chan_websocket server or client mode, AudioSocket or RTP) bridged with the caller.
 */
export class AsteriskAdapter extends EventEmitter<PbxAdapterEvents> implements PbxAdapter {
  readonly kind = 'asterisk' as const;
  private readonly log: Logger;
  private readonly conn: AriConnection;
  private readonly calls = new Map<string, AsteriskCall>();
  private readonly mediaOwners = new Map<string, AsteriskCall>();
  private readonly originates = new Map<string, PendingOriginate>();
  private readonly stasisWaiters = new Map<string, StasisWaiter>();
  private readonly clientLegs = new Map<string, ChanWebSocketLeg>();
  /** Calls that ended while Asterisk was unreachable, by channel id: their cause is settled once ARI is back. */
  private readonly unconfirmed = new Map<string, AsteriskCall>();
  private readonly rtpPorts: RtpPortPool;
  private audioSocket: { server: AudioSocketServer; port: number } | undefined;
  private isReady = false;
  private reason: string | undefined = 'not started';
  private startupTime: string | undefined;
  private stopped = false;
  private readonly callHost: AsteriskCallHost;

  constructor(
    private readonly cfg: AsteriskConfig,
    private readonly opts: AsteriskAdapterOptions,
  ) {
    super();
    this.log = opts.log;
    this.rtpPorts = new RtpPortPool(cfg.rtpPortRange[0], cfg.rtpPortRange[1]);
    this.conn = new AriConnection({ url: cfg.url, username: cfg.username, password: cfg.password, app: cfg.app, log: this.log, requestTimeoutMs: opts.ariRequestTimeoutMs });
    this.conn.on('event', (ev) => this.onEvent(ev));
    this.conn.on('up', (reconnect) => void this.onUp(reconnect));
    this.conn.on('down', (why) => this.setReady(false, `ARI not connected: ${why}`));
    this.conn.on('fatal', (why) => this.setReady(false, `ARI credentials rejected (${why}); fix pbx.asterisk.username/password`));
    this.conn.on('unreachable', (why) => this.onUnreachable(why));
    this.callHost = {
      cfg,
      rest: () => this.rest(),
      mediaDeps: () => this.mediaDeps(),
      claimMediaChannel: (id, call) => this.mediaOwners.set(id, call),
      released: (call) => this.release(call),
      reachable: async () => this.conn.gate.down === undefined && (await this.conn.probe()) !== 'refused',
      endedUnreachable: (call) => {
        this.unconfirmed.set(call.channelId, call);
        this.conn.gate.close('connection refused');
      },
    };
  }

  get ready(): boolean {
    return this.isReady;
  }

  get notReadyReason(): string | undefined {
    return this.isReady ? undefined : this.reason;
  }

  /** Live calls, for tests and metrics. */
  get activeCalls(): number {
    return this.calls.size;
  }

  async start(): Promise<void> {
    if (this.cfg.media === 'audiosocket') {
      const server = new AudioSocketServer(this.log, (reason) => this.emit('mediaRejected', 'audiosocket', reason));
      const port = await server.listen(this.cfg.audioSocketPort, this.cfg.mediaBindHost);
      this.audioSocket = { server, port };
      this.log.info({ port }, 'AudioSocket server listening');
    }
    this.setReady(false, 'connecting to ARI');
    await this.conn.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const pending of [...this.originates.values()]) {
      pending.progress.cancelled = true;
      clearTimeout(pending.timer);
    }
    const channels = [...this.originates.keys()];
    await Promise.allSettled([
      ...[...this.calls.values()].map((c) => c.hangup(16)),
      ...channels.map((id) => this.conn.rest?.hangup(id)),
    ]);
    for (const [id, pending] of this.originates) {
      this.originates.delete(id);
      pending.resolve({ disposition: 'cancelled', cause: 16, causeText: 'callpilot shutting down' });
    }
    for (const w of this.stasisWaiters.values()) w.reject(new Error('adapter stopped'));
    this.stasisWaiters.clear();
    await this.conn.stop();
    await this.audioSocket?.server.close();
    this.setReady(false, 'stopped');
  }

  async originate(req: OriginateRequest): Promise<OriginateResult> {
    const rest = this.conn.rest;
    if (!rest || !this.isReady) return { disposition: 'failed', cause: 41, causeText: `Asterisk not ready: ${this.reason ?? 'unknown'}` };
    if (req.earlyMedia) return this.originateWithEarlyMedia(req, req.earlyMedia, rest);
    const channelId = this.channelIdFor(req);
    const timeoutSec = req.timeoutSec ?? 30;
    const result = new Promise<OriginateResult>((resolve) => {
      const timer = setTimeout(() => {
        // No outcome long after the ring timeout: give up and make sure nothing is left dialling.
        this.log.warn({ channelId }, 'originate produced no outcome; cancelling');
        void rest.hangup(channelId).catch(() => undefined);
        this.settleOriginate(channelId, { disposition: 'failed', cause: 41, causeText: 'No outcome from Asterisk' });
      }, timeoutSec * 1000 + ORIGINATE_GRACE_MS);
      this.originates.set(channelId, { req, progress: { ringing: false, cancelled: false, dialstatus: '' }, resolve, timer });
    });
    try {
      await rest.originate({
        endpoint: req.endpoint,
        app: this.cfg.app,
        appArgs: formatStasisArgs({ flow: req.flow, lang: req.lang }),
        channelId,
        callerId: req.callerId,
        timeoutSec,
        variables: req.attemptId ? { ...(req.variables ?? {}), [ATTEMPT_VARIABLE]: req.attemptId } : req.variables,
      });
      this.log.info({ channelId, endpoint: req.endpoint }, 'originating');
    } catch (err) {
      const text = (err as Error).message;
      this.log.warn({ endpoint: req.endpoint, err: maskText(text) }, 'originate refused');
      this.settleOriginate(channelId, { disposition: 'failed', cause: 0, causeText: text });
    }
    return result;
  }

  /**
   * Asks ARI whether the endpoint a dial string names exists (GET /endpoints/{tech}/{resource}), so an originate
   * to a typo is refused up front: Asterisk itself answers such an originate with `500 {"error":"Allocation
   * failed"}` and says why only in its own log. A string that is no `TECH/resource` at all is `invalid`. Forms
   * ARI has no object for (Local/exten@context, a host dialled directly, DAHDI and other drivers) and any doubt
   * (ARI down) answer `unknown`, which dials.
   */
  async checkEndpoint(endpoint: string): Promise<EndpointCheck> {
    const target = parseAsteriskDialString(endpoint);
    switch (target.kind) {
      case 'invalid':
        return { status: 'invalid', detail: target.reason };
      case 'local':
        return { status: 'unknown', detail: `Local channel to ${target.extension}@${target.context}: ARI cannot say whether that dialplan location exists` };
      case 'host':
        return { status: 'unknown', detail: `${target.tech} dials host ${target.host} directly: no endpoint object to check` };
      case 'other':
        return { status: 'unknown', detail: `${target.tech} channels have no ARI endpoint objects to check` };
      default:
        break;
    }
    const rest = this.conn.rest;
    if (!rest || !this.isReady) return { status: 'unknown', detail: 'Asterisk not connected' };
    try {
      const found = await rest.getEndpoint(target.tech, target.resource);
      if (found) return { status: 'exists' };
      const ofTech = await rest.listEndpoints(target.tech);
      if (!ofTech) return { status: 'missing', detail: `Asterisk has no ${target.tech} endpoints (unknown technology?)` };
      return { status: 'missing', detail: `Asterisk has no endpoint ${target.tech}/${target.resource}` };
    } catch (err) {
      return { status: 'unknown', detail: (err as Error).message };
    }
  }

  /**
   * The route that delivers early media in ARI 22 (captures early-media-*.jsonl): mixing bridge, externalMedia
   * (in Stasis, then added), `POST /channels/create`, add that channel while still Down, then `/dial`. The 183's
   * audio then reaches the leg frame for frame; `Dial PROGRESS` marks it; the channel stays Down or Ringing until
   * `Up` at answer; a 480/404 ends with ChannelDestroyed 19/1 and no final Dial status.
   */
  private async originateWithEarlyMedia(req: OriginateRequest, monitor: EarlyMediaMonitor, rest: AriRest): Promise<OriginateResult> {
    const channelId = this.channelIdFor(req);
    const timeoutSec = req.timeoutSec ?? 30;
    const info: PbxCallInfo = {
      pbx: 'asterisk',
      pbxCallId: channelId,
      direction: 'outbound',
      from: req.callerId,
      to: req.endpoint,
      flow: req.flow,
      lang: req.lang,
      variables: { ...(req.variables ?? {}) },
    };
    const call = new AsteriskCall(this.callHost, info, 'Down', this.log);
    this.calls.set(channelId, call);
    const result = new Promise<OriginateResult>((resolve) => {
      const timer = setTimeout(() => {
        this.log.warn({ channelId }, 'early-media originate produced no outcome; cancelling');
        void call.hangup(41).catch(() => undefined);
        this.settleOriginate(channelId, { disposition: 'failed', cause: 41, causeText: 'No outcome from Asterisk' });
      }, timeoutSec * 1000 + ORIGINATE_GRACE_MS);
      this.originates.set(channelId, {
        req,
        progress: { ringing: false, cancelled: false, dialstatus: '' },
        resolve,
        timer,
        early: { call, monitor, stopAudio: () => undefined },
      });
    });
    try {
      const { leg, bridgeId } = await call.prepareEarlyMedia();
      const onFrame = (pcm: Int16Array): void => monitor.onAudio(pcm, leg.sampleRate);
      leg.on('frame', onFrame);
      const pending = this.originates.get(channelId);
      if (pending?.early) pending.early.stopAudio = () => leg.off('frame', onFrame);
      monitor.verdict.then(
        (verdict) => this.earlyVerdict(channelId, verdict),
        (err: unknown) => this.log.warn({ channelId, err: (err as Error).message }, 'early-media classifier failed'),
      );
      const variables: Record<string, string> = { ...(req.variables ?? {}) };
      if (req.attemptId) variables[ATTEMPT_VARIABLE] = req.attemptId;
      // `create` has no callerId parameter in ARI 22's swagger; the CALLERID() function sets it the same way.
      if (req.callerId) variables['CALLERID(all)'] = req.callerId;
      await rest.createChannel({ endpoint: req.endpoint, app: this.cfg.app, appArgs: formatStasisArgs({ flow: req.flow, lang: req.lang }), channelId, variables });
      await rest.addChannel(bridgeId, channelId);
      await rest.dial(channelId, timeoutSec);
      this.log.info({ channelId, endpoint: req.endpoint }, 'dialling with early media');
    } catch (err) {
      const text = (err as Error).message;
      this.log.warn({ endpoint: req.endpoint, err: text }, 'early-media originate refused');
      this.settleOriginate(channelId, { disposition: 'failed', cause: 0, causeText: text });
      await call.hangup(41).catch(() => undefined);
    }
    return result;
  }

  /** The classifier decided before answer (空号, 关机, busy tone, ...): end the attempt with its verdict. */
  private earlyVerdict(channelId: string, verdict: CallProgressVerdict): void {
    const pending = this.originates.get(channelId);
    if (!pending?.early) return;
    pending.early.stopAudio();
    pending.early.monitor.stop();
    const disposition = dispositionForVerdict(verdict);
    this.log.info({ channelId, verdict: verdict.kind, evidence: verdict.evidence, atMs: verdict.atMs }, 'call progress verdict before answer');
    this.settleOriginate(channelId, { disposition, cause: VERDICT_HANGUP_CAUSE, causeText: `call progress: ${verdict.kind}`, progress: verdict });
    void pending.early.call.hangup(VERDICT_HANGUP_CAUSE).catch((err: unknown) => {
      this.log.warn({ channelId, err: (err as Error).message }, 'hanging up after the call-progress verdict failed');
    });
  }

  /** The callee answered an early-media attempt: the call keeps the bridge and leg it already has. */
  private earlyAnswered(channelId: string): void {
    const pending = this.originates.get(channelId);
    if (!pending?.early) return;
    pending.early.stopAudio();
    const heard = pending.early.monitor.stop();
    const { call } = pending.early;
    call.onStateChange('Up');
    this.settleOriginate(channelId, { disposition: 'answered', call, progress: { kind: 'answered', source: 'cause', heard } });
  }

  newChannelId(): string {
    return `${OUTBOUND_PREFIX}${randomUUID()}`;
  }

  /** The id an originate dials with: the one chosen in advance (stored with a campaign attempt) or a fresh one. */
  private channelIdFor(req: OriginateRequest): string {
    if (req.channelId === undefined) return this.newChannelId();
    // It goes into ARI paths and our own outbound listing: only ids of our own form are taken.
    if (!OUTBOUND_CHANNEL_ID.test(req.channelId)) throw new Error(`not a callpilot outbound channel id: ${JSON.stringify(req.channelId)}`);
    return req.channelId;
  }

  async listLiveCalls(): Promise<LiveChannel[]> {
    const rest = this.rest();
    const channels = (await rest.listChannels()).filter((c) => c.id.startsWith(OUTBOUND_PREFIX));
    const out: LiveChannel[] = [];
    for (const ch of channels) out.push(await this.liveChannel(rest, ch));
    return out;
  }

  async findChannel(pbxCallId: string): Promise<LiveChannel | undefined> {
    if (!OUTBOUND_CHANNEL_ID.test(pbxCallId)) return undefined;
    const rest = this.rest();
    const ch = await rest.getChannel(pbxCallId);
    return ch ? this.liveChannel(rest, ch) : undefined;
  }

  private async liveChannel(rest: AriRest, ch: AriChannel): Promise<LiveChannel> {
    // channelvars only carry what ari.conf lists, so ask for the variable itself.
    const attemptId = ch.channelvars?.[ATTEMPT_VARIABLE] ?? (await rest.getVariable(ch.id, ATTEMPT_VARIABLE).catch(() => undefined));
    return { pbxCallId: ch.id, attemptId: attemptId || undefined, state: ch.state };
  }

  async hangupChannel(pbxCallId: string, cause = 16): Promise<boolean> {
    return this.rest().hangup(pbxCallId, cause);
  }

  webSocketRoutes(): WebSocketRoute[] {
    return [{ path: '/media', protocols: ['media'], roles: ['pbx'], maxPayload: MAX_MESSAGE_BYTES, handle: (ws, req) => this.onClientMediaSocket(ws, req) }];
  }

  // ---------------------------------------------------------------- connection

  private rest(): AriRest {
    const rest = this.conn.rest;
    if (!rest) throw new Error(`ARI is not connected: ${this.reason ?? 'unknown'}`);
    return rest;
  }

  private mediaDeps(): Omit<ExternalMediaDeps, 'rest' | 'log'> {
    return {
      cfg: this.cfg,
      audioSocket: this.audioSocket,
      rtpPorts: this.rtpPorts,
      clientLegs: this.clientLegs,
      waitForStasis: (id) => this.waitForStasis(id),
      maxQueuedMs: this.opts.maxQueuedMs,
      clock: this.opts.clock,
      mediaToken: this.opts.mediaToken,
      rtpRejected: () => this.emit('mediaRejected', 'rtp', 'wrong_source'),
    };
  }

  private setReady(ready: boolean, reason?: string): void {
    const changed = ready !== this.isReady || reason !== this.reason;
    this.isReady = ready;
    this.reason = ready ? undefined : reason;
    if (changed) this.emit('ready', ready, this.reason);
  }

  private async onUp(reconnect: boolean): Promise<void> {
    try {
      await this.reconcile(reconnect);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'reconciling with Asterisk failed');
    }
    if (!this.stopped && this.conn.connected) this.setReady(true);
  }

  /**
   * Make our view match Asterisk's after (re)connecting: calls whose channel is gone end, media
   * that died is torn down, and channels or bridges of this app that nobody owns are removed.
   */
  private async reconcile(reconnect: boolean): Promise<void> {
    const rest = this.rest();
    const info = await rest.asteriskInfo();
    const restarted = this.startupTime !== undefined && info.startupTime !== this.startupTime;
    this.startupTime = info.startupTime;
    const [channels, bridges] = await Promise.all([rest.listChannels(), rest.listBridges()]);
    const live = new Map(channels.map((c) => [c.id, c]));
    if (restarted) this.log.warn({ startupTime: info.startupTime }, 'Asterisk restarted while we were disconnected');

    for (const call of this.unconfirmed.values()) {
      // Ended when Asterisk vanished: a restart confirms the provisional 38; otherwise the events that follow
      // (ChannelDestroyed) or the orphan sweep below settle it.
      if (restarted) call.updateCause({ cause: 38, causeText: 'Network out of order (Asterisk restarted)', by: 'pbx' });
    }
    if (restarted) this.unconfirmed.clear();
    else for (const id of [...this.unconfirmed.keys()]) if (!live.has(id)) this.unconfirmed.delete(id);
    for (const call of [...this.calls.values()]) {
      if (!live.has(call.channelId)) {
        call.gone(
          restarted
            ? { cause: 38, causeText: 'Network out of order (Asterisk restarted)', by: 'pbx' }
            : { cause: 16, causeText: 'Normal Clearing (ended while ARI was disconnected)', by: 'pbx' },
        );
        continue;
      }
      const media = call.media.mediaChannelId;
      if (media && call.media.bridgeId && !live.has(media)) call.onMediaChannelGone('media channel gone while ARI was disconnected');
    }
    for (const [id, pending] of [...this.originates]) {
      const ch = live.get(id);
      if (!ch) {
        this.settleOriginate(id, { disposition: pending.progress.ringing ? 'no-answer' : 'failed', cause: 0, causeText: 'Outcome lost while ARI was disconnected' });
      } else if (ch.state === 'Up' && ch.dialplan?.app_name === 'Stasis') {
        this.answered(id, ch, []);
      }
    }
    if (!reconnect && !restarted && this.calls.size === 0 && this.originates.size === 0) {
      this.log.debug({ channels: channels.length, bridges: bridges.length }, 'initial reconciliation');
    }

    const owned = new Set<string>();
    for (const call of this.calls.values()) {
      owned.add(call.channelId);
      if (call.media.mediaChannelId) owned.add(call.media.mediaChannelId);
    }
    for (const id of this.originates.keys()) owned.add(id);
    for (const id of this.stasisWaiters.keys()) owned.add(id);
    for (const ch of channels) {
      if (owned.has(ch.id) || !this.isOurs(ch)) continue;
      if (!MEDIA_CHANNEL.test(ch.name) && ch.state !== 'Up') {
        // An inbound call that reached Stasis while we were not listening: take it now.
        this.log.info({ channelId: ch.id }, 'adopting a ringing call that arrived while ARI was disconnected');
        this.inbound(ch, ch.dialplan?.app_data?.split(',').slice(1) ?? []);
        continue;
      }
      this.log.warn({ channelId: ch.id, name: ch.name }, 'hanging up an orphan channel of this app');
      await rest.hangup(ch.id, MEDIA_CHANNEL.test(ch.name) ? 16 : 41).catch(() => undefined);
    }
    const ownedBridges = new Set([...this.calls.values()].map((c) => c.media.bridgeId).filter((b): b is string => !!b));
    const channelById = new Map(channels.map((ch) => [ch.id, ch]));
    // A bridge holding a channel of another app is another node's live call on a shared Asterisk.
    const holdsForeignChannel = (b: AriBridge): boolean =>
      b.channels.some((id) => {
        const ch = channelById.get(id);
        return ch !== undefined && !this.isOurs(ch);
      });
    const mine = bridgePrefix(this.cfg.app);
    for (const b of bridges) {
      if (ownedBridges.has(b.id)) continue;
      const name = b.name ?? '';
      const orphan = name.startsWith(mine) || (name.startsWith(LEGACY_BRIDGE_PREFIX) && !holdsForeignChannel(b));
      if (!orphan) continue;
      this.log.warn({ bridgeId: b.id, name: b.name }, 'destroying an orphan bridge');
      await rest.destroyBridge(b.id).catch(() => undefined);
    }
  }

  private isOurs(ch: AriChannel): boolean {
    const dp = ch.dialplan;
    return dp?.app_name === 'Stasis' && (dp.app_data ?? '').split(',')[0] === this.cfg.app;
  }

  // ---------------------------------------------------------------- events

  private onEvent(ev: AriEvent): void {
    switch (ev.type) {
      case 'StasisStart':
        // Asterisk sends an app's events to its own socket only, but a socket subscribed to all events
        // (subscribeAll) sees every node's calls on a shared Asterisk: another node's channel is not ours to answer.
        if (ev.application !== undefined && ev.application !== this.cfg.app) {
          this.log.debug({ pbxCallId: ev.channel.id, application: ev.application }, 'StasisStart for another ARI app ignored');
          return;
        }
        return this.onStasisStart(ev.channel, ev.args);
      case 'StasisEnd': {
        const id = ev.channel.id;
        this.calls.get(id)?.onStasisEnd();
        this.mediaOwners.get(id)?.onMediaChannelGone('media channel left Stasis');
        return;
      }
      case 'ChannelHangupRequest':
        this.calls.get(ev.channel.id)?.onHangupRequest({ cause: ev.cause, soft: ev.soft });
        return;
      case 'ChannelDestroyed': {
        const id = ev.channel.id;
        this.calls.get(id)?.onDestroyed(ev.cause, ev.cause_txt);
        const settled = this.unconfirmed.get(id);
        if (settled) {
          this.unconfirmed.delete(id);
          settled.updateCause(hangupFromDestroyed(ev.cause, ev.cause_txt, undefined));
        }
        this.mediaOwners.get(id)?.onMediaChannelGone(`media channel destroyed: ${ev.cause} ${ev.cause_txt}`);
        this.mediaOwners.delete(id);
        const waiter = this.stasisWaiters.get(id);
        if (waiter) {
          this.stasisWaiters.delete(id);
          waiter.reject(new Error(`media channel destroyed before Stasis: ${ev.cause} ${ev.cause_txt}`));
        }
        const pending = this.originates.get(id);
        if (pending) {
          pending.early?.stopAudio();
          const heard = pending.early?.monitor.stop();
          this.settleOriginate(id, {
            disposition: dispositionFor(ev.cause, pending.progress),
            cause: ev.cause,
            causeText: ev.cause_txt || causeText(ev.cause),
            progress: progressVerdictFromCause(ev.cause, { ringing: pending.progress.ringing, heard }),
          });
        }
        return;
      }
      case 'ChannelDtmfReceived':
        this.calls.get(ev.channel.id)?.onDtmf(ev.digit);
        return;
      case 'ChannelStateChange': {
        this.calls.get(ev.channel.id)?.onStateChange(ev.channel.state);
        const pending = this.originates.get(ev.channel.id);
        if (pending && ev.channel.state === 'Ringing') pending.progress.ringing = true;
        if (pending?.early && ev.channel.state === 'Up') this.earlyAnswered(ev.channel.id);
        return;
      }
      case 'Dial': {
        const pending = this.originates.get(ev.peer.id);
        if (pending) {
          pending.progress.dialstatus = ev.dialstatus;
          if (ev.dialstatus === 'RINGING') pending.progress.ringing = true;
          if (ev.dialstatus === 'RINGING') pending.early?.monitor.onSignal('ringing');
          if (ev.dialstatus === 'PROGRESS') pending.early?.monitor.onSignal('early_media');
          if (ev.dialstatus === 'ANSWER' && pending.early) this.earlyAnswered(ev.peer.id);
        }
        return;
      }
      default:
        return;
    }
  }

  private onStasisStart(channel: AriChannel, args: string[]): void {
    const waiter = this.stasisWaiters.get(channel.id);
    if (waiter) {
      this.stasisWaiters.delete(channel.id);
      waiter.resolve();
      return;
    }
    if (this.mediaOwners.has(channel.id)) return;
    // A created (not yet dialled) channel enters Stasis Down; its answer is ChannelStateChange Up, not this.
    if (this.originates.get(channel.id)?.early) return;
    if (this.originates.has(channel.id)) {
      this.answered(channel.id, channel, args);
      return;
    }
    if (MEDIA_CHANNEL.test(channel.name) || this.calls.has(channel.id)) return;
    this.inbound(channel, args);
  }

  private inbound(channel: AriChannel, args: string[]): void {
    const parsed = parseStasisArgs(args);
    const info: PbxCallInfo = {
      pbx: 'asterisk',
      pbxCallId: channel.id,
      direction: 'inbound',
      from: channel.caller.number || undefined,
      to: channel.dialplan?.exten,
      flow: parsed.flow,
      lang: parsed.lang,
      variables: parsed.variables,
    };
    const call = new AsteriskCall(this.callHost, info, channel.state, this.log);
    this.calls.set(channel.id, call);
    this.log.info({ pbxCallId: channel.id, from: info.from, to: info.to, flow: info.flow, lang: info.lang }, 'inbound call');
    this.emit('call', call);
  }

  private answered(channelId: string, channel: AriChannel, args: string[]): void {
    const pending = this.originates.get(channelId);
    if (!pending) return;
    if (pending.early) return this.earlyAnswered(channelId);
    const parsed = parseStasisArgs(args);
    const info: PbxCallInfo = {
      pbx: 'asterisk',
      pbxCallId: channelId,
      direction: 'outbound',
      from: pending.req.callerId,
      to: pending.req.endpoint,
      flow: pending.req.flow ?? parsed.flow,
      lang: pending.req.lang ?? parsed.lang,
      variables: { ...parsed.variables, ...(pending.req.variables ?? {}) },
    };
    const call = new AsteriskCall(this.callHost, info, channel.state, this.log);
    this.calls.set(channelId, call);
    this.settleOriginate(channelId, { disposition: 'answered', call });
  }

  private settleOriginate(channelId: string, result: OriginateResult): void {
    const pending = this.originates.get(channelId);
    if (!pending) return;
    this.originates.delete(channelId);
    clearTimeout(pending.timer);
    if (result.disposition !== 'answered') {
      this.log.info({ channelId, disposition: result.disposition, cause: result.cause, causeText: result.causeText }, 'originate failed');
    }
    pending.resolve(result);
  }

  /**
   * Asterisk refuses connections: it crashed or was stopped, taking every channel with it. Nothing can be asked
   * of it and no event will come, so calls end now (provisional cause 38, confirmed on reconnect) and teardown
   * requests fail at once instead of each waiting out its deadline.
   */
  private onUnreachable(why: string): void {
    for (const call of [...this.calls.values()]) call.lostWithAsterisk(`Asterisk unreachable (${why})`);
    for (const id of [...this.originates.keys()]) {
      this.settleOriginate(id, { disposition: 'failed', cause: 38, causeText: 'Network out of order (Asterisk unreachable)' });
    }
    for (const waiter of this.stasisWaiters.values()) waiter.reject(new Error(`Asterisk unreachable (${why})`));
    this.stasisWaiters.clear();
  }

  private waitForStasis(channelId: string): Promise<void> {
    return new Promise((resolve, reject) => this.stasisWaiters.set(channelId, { resolve, reject }));
  }

  private release(call: AsteriskCall): void {
    if (this.calls.get(call.channelId) === call) this.calls.delete(call.channelId);
    const media = call.media.mediaChannelId;
    if (media) {
      this.mediaOwners.delete(media);
      const waiter = this.stasisWaiters.get(media);
      if (waiter) {
        this.stasisWaiters.delete(media);
        waiter.reject(new Error('call ended'));
      }
    }
  }

  /** chan_websocket client mode: Asterisk dials `/media?callpilot_media=<media channel id>`. */
  private onClientMediaSocket(ws: WebSocket, req: IncomingMessage): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const byParam = url.searchParams.get(CLIENT_MEDIA_PARAM);
    const leg = byParam ? this.clientLegs.get(byParam) : undefined;
    if (leg) {
      leg.attach(ws);
      return;
    }
    // Without our parameter (custom websocket_client.conf uri), MEDIA_START names the channel.
    const timer = setTimeout(() => {
      this.log.warn({ url: req.url }, 'chan_websocket client connection sent no MEDIA_START; closing');
      ws.close(1008);
    }, 5000);
    ws.once('message', (data, isBinary) => {
      clearTimeout(timer);
      const text = isBinary ? '' : (data as Buffer).toString('utf8');
      const parsed = parseControlMessage(text);
      const channelId = parsed.ok && parsed.message.event === 'MEDIA_START' ? parsed.message.fields.channel_id : undefined;
      const owner = channelId ? this.clientLegs.get(channelId) : undefined;
      if (!owner) {
        this.log.warn({ url: req.url, channelId }, 'chan_websocket client connection for no known call; closing');
        ws.close(1008);
        return;
      }
      owner.attach(ws, text);
    });
  }
}

/** The ARI endpoint a dial string dials through, when it names one (see parseAsteriskDialString). */
export function ariEndpointOf(dial: string): { tech: string; resource: string } | undefined {
  const target = parseAsteriskDialString(dial);
  return target.kind === 'endpoint' ? { tech: target.tech, resource: target.resource } : undefined;
}

/** The Asterisk adapter behind the PbxAdapter interface. */
export function createAsteriskAdapter(cfg: AsteriskConfig, opts: AsteriskAdapterOptions): PbxAdapter {
  return new AsteriskAdapter(cfg, opts);
}
