import type { MediaTokenIssuer } from '../../core/index.ts';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { CallerClockOptions, WebSocketRoute } from '../../media/index.ts';
import type { FreeswitchConfig } from '../config.ts';
import { progressVerdictFromCause, type CallProgressVerdict, type EarlyMediaMonitor } from '../../core/index.ts';
import type { AudioLeg } from '../../media/index.ts';
import { dispositionForVerdict, VERDICT_HANGUP_CAUSE } from '../early-media.ts';
import type { EndpointCheck, LiveChannel, OriginateRequest, OriginateResult, PbxAdapter, PbxAdapterEvents } from '../types.ts';
import { parseFreeswitchDialString } from '../dial-string.ts';
import { AUDIO_FORK_WIRE } from './audio-fork/audio-fork-wire.ts';
import { AUDIO_STREAM_WIRE } from './audio-stream/audio-stream-wire.ts';
import { callInfoFromHeaders } from './call-info.ts';
import type { RecordingOptions } from './call-recording.ts';
import { EslInboundClient } from './esl/esl-inbound-client.ts';
import type { EslEvent } from './esl/esl-message.ts';
import { FreeswitchCall } from './freeswitch-call.ts';
import { causeName, causeNumber, dispositionOfCause } from './hangup-causes.ts';
import { OutboundSocketServer } from './outbound-socket-server.ts';
import { StreamMedia } from './stream/stream-media.ts';
import type { StreamWireFormat } from './stream/stream-wire.ts';

/** Channel and job events the inbound connection subscribes to, whatever the media module. */
const BASE_SUBSCRIPTION = [
  'CHANNEL_CREATE',
  'CHANNEL_PROGRESS',
  'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_ANSWER',
  'CHANNEL_PARK',
  'CHANNEL_HANGUP',
  'CHANNEL_HANGUP_COMPLETE',
  'CHANNEL_BRIDGE',
  'CHANNEL_EXECUTE_COMPLETE',
  'DTMF',
  'PLAYBACK_START',
  'PLAYBACK_STOP',
  'RECORD_START',
  'RECORD_STOP',
  'BACKGROUND_JOB',
  'CUSTOM',
];

/** What the inbound connection subscribes to (`event json ...`) with the given media module. */
export function inboundSubscription(wire: StreamWireFormat): string {
  return [...BASE_SUBSCRIPTION, ...wire.subclasses].join(' ');
}

/** The subscription with mod_audio_stream, the default media. */
export const INBOUND_SUBSCRIPTION = inboundSubscription(AUDIO_STREAM_WIRE);

/** The media module `pbx.freeswitch.media` names. */
export function streamWireFormat(media: FreeswitchConfig['media']): StreamWireFormat {
  return media === 'audio_fork' ? AUDIO_FORK_WIRE : AUDIO_STREAM_WIRE;
}

/** Channel variable carrying the campaign attempt id (read back by listLiveCalls after a crash). */
export const ATTEMPT_VARIABLE = 'callpilot_attempt';
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export interface FreeswitchAdapterOptions {
  log: Logger;
  /** media.maxQueuedMs. */
  maxQueuedMs?: number;
  /** Silence fill and dead-media timeout of every media leg (media.callerGapMs / media.deadMediaMs). */
  clock?: CallerClockOptions;
  /** Signs the media WebSocket URL handed to FreeSWITCH (server.mediaAuth). */
  mediaToken?: MediaTokenIssuer;
}

interface Originating {
  hangupCause?: string;
}

/** An originate listening to early media, until it is answered, fails or the classifier decides. */
interface EarlyDial {
  call: FreeswitchCall;
  monitor: EarlyMediaMonitor;
  ringing: boolean;
  streamStarted: boolean;
  leg?: AudioLeg;
  onFrame?: (pcm: Int16Array) => void;
  settle(result: OriginateResult): void;
  settled: boolean;
}

/**
 * Events on which `uuid_audio_stream start` is safe on an outbound leg. On CHANNEL_PROGRESS (180 without SDP)
 * the read codec is still NULL and mod_audio_stream dereferences it: FreeSWITCH 1.11.1 crashes (capture j0).
 */
export const STREAM_SAFE_EVENTS: ReadonlySet<string> = new Set(['CHANNEL_PROGRESS_MEDIA', 'CHANNEL_ANSWER']);

/**
 * FreeSWITCH behind the PbxAdapter contract: the inbound ESL connection (calls parked by the
 * dialplan, originate, control), the optional outbound-socket server (dialplan `socket`), and
 * mod_audio_stream or mod_audio_fork media on callpilot's HTTP server.
 */
export class FreeswitchAdapter extends EventEmitter<PbxAdapterEvents> implements PbxAdapter {
  readonly kind = 'freeswitch' as const;
  private readonly client: EslInboundClient;
  private readonly media: StreamMedia;
  private readonly outboundServer: OutboundSocketServer | undefined;
  private readonly calls = new Map<string, FreeswitchCall>();
  private readonly originating = new Map<string, Originating>();
  private readonly earlyDials = new Map<string, EarlyDial>();
  /** Channels the bot has finished with (transferred, hung up): a later park is not a new call. */
  private readonly finished = new Set<string>();
  private readonly log: Logger;
  private readonly recording: RecordingOptions | undefined;
  private isReady = false;
  private reason: string | undefined = 'not started';
  private everUp = false;
  private warnedKeepalive = false;

  constructor(
    private readonly cfg: FreeswitchConfig,
    opts: FreeswitchAdapterOptions,
  ) {
    super();
    this.log = opts.log.child({ pbx: 'freeswitch' });
    const wire = streamWireFormat(cfg.media);
    this.recording = cfg.record ? { pathTemplate: cfg.recordPath } : undefined;
    this.media = new StreamMedia({
      wire,
      mediaUrl: cfg.mediaUrl,
      sampleRate: cfg.sampleRate,
      firstChunkMs: cfg.firstChunkMs,
      chunkMs: cfg.chunkMs,
      skipLeadIn: cfg.skipPlaylistLeadIn,
      maxQueuedMs: opts.maxQueuedMs,
      clock: opts.clock,
      log: this.log,
      mediaToken: opts.mediaToken,
    });
    this.client = new EslInboundClient({
      host: cfg.host,
      port: cfg.port,
      password: cfg.password,
      subscription: inboundSubscription(wire),
      log: this.log,
      initialRetryMs: cfg.reconnect.initialMs,
      maxRetryMs: cfg.reconnect.maxMs,
    });
    this.client.on('event', (event) => this.route(event));
    this.client.on('up', () => this.onUp());
    this.client.on('down', (why) => this.onDown(why));
    this.client.on('fatal', (err) => this.setReady(false, err.message));
    if (cfg.outboundSocketPort > 0) {
      this.outboundServer = new OutboundSocketServer({
        host: cfg.outboundSocketHost,
        port: cfg.outboundSocketPort,
        media: this.media,
        subclasses: wire.subclasses,
        recording: this.recording,
        transfer: cfg.transfer,
        transferVerifyMs: cfg.transferVerifyMs,
        playoutWaitMs: cfg.playoutWaitMs,
        log: this.log,
      });
      this.outboundServer.on('call', (call) => this.emit('call', call));
    }
  }

  get ready(): boolean {
    return this.isReady;
  }

  get notReadyReason(): string | undefined {
    return this.isReady ? undefined : this.reason;
  }

  /** Port the outbound-socket server listens on (useful when configured as 0 in tests: never). */
  get outboundSocketPort(): number | undefined {
    return this.outboundServer?.port;
  }

  async start(): Promise<void> {
    await this.outboundServer?.listen();
    await this.client.start();
  }

  async stop(): Promise<void> {
    await this.outboundServer?.close();
    await this.client.stop();
    this.setReady(false, 'stopped');
  }

  webSocketRoutes(): WebSocketRoute[] {
    return [this.media.route()];
  }

  newChannelId(): string {
    return randomUUID();
  }

  async originate(req: OriginateRequest): Promise<OriginateResult> {
    // Chosen in advance when a campaign attempt stored it; it goes into the dial string, so only a UUID is taken.
    if (req.channelId !== undefined && !UUID.test(req.channelId)) throw new Error(`not a FreeSWITCH uuid: ${JSON.stringify(req.channelId)}`);
    const uuid = req.channelId ?? this.newChannelId();
    const vars: Record<string, string> = {
      origination_uuid: uuid,
      // false: the 183 completes the originate and &park() runs on the unanswered channel, so the stream can
      // start on CHANNEL_PROGRESS_MEDIA (capture j); the answer is CHANNEL_ANSWER, never the job's +OK.
      ignore_early_media: req.earlyMedia ? 'false' : 'true',
      originate_timeout: String(req.timeoutSec ?? this.cfg.originateTimeoutSec),
    };
    // FreeSWITCH sends no RTP on a parked channel between prompts (capture i); park reads this once.
    if (this.cfg.keepaliveSilence !== 0) vars.send_silence_when_idle = String(this.cfg.keepaliveSilence);
    if (req.callerId) vars.origination_caller_id_number = req.callerId;
    if (req.flow) vars.callpilot_flow = req.flow;
    if (req.lang) vars.callpilot_lang = req.lang;
    for (const [k, v] of Object.entries(req.variables ?? {})) vars[`callpilot_${k}`] = v;
    if (req.attemptId) vars[ATTEMPT_VARIABLE] = req.attemptId;
    const varText = Object.entries(vars)
      .map(([k, v]) => `${channelVariableName(k)}=${channelVariableValue(v)}`)
      .join(',');
    if (req.earlyMedia) return this.originateWithEarlyMedia(req, req.earlyMedia, uuid, vars);
    const tracking: Originating = {};
    this.originating.set(uuid, tracking);
    try {
      const jobTimeoutMs = (Number(vars.originate_timeout) + 30) * 1000;
      const body = (await this.client.bgapi(`originate {${varText}}${req.endpoint} &park()`, jobTimeoutMs)).trim();
      if (body.startsWith('+OK')) {
        const info = { ...callInfoFromHeaders({}, 'outbound'), pbxCallId: uuid, to: req.endpoint, flow: req.flow, lang: req.lang, variables: { ...(req.variables ?? {}) } };
        const call = this.track(new FreeswitchCall({ ...this.callOptions(), info, answered: true }));
        // BACKGROUND_JOB can come after the hangup events (capture c): the call may be over already.
        if (tracking.hangupCause) call.end(tracking.hangupCause);
        return { disposition: 'answered', call };
      }
      const causeText = body.replace(/^-ERR\s*/, '').split(/\s/)[0] || tracking.hangupCause || 'NORMAL_UNSPECIFIED';
      return { disposition: dispositionOfCause(causeText), cause: causeNumber(causeText), causeText, progress: progressVerdictFromCause(causeNumber(causeText)) };
    } finally {
      this.originating.delete(uuid);
    }
  }

  /**
   * A dial string FreeSWITCH cannot originate (no `module/args` leg, unbalanced variable blocks) is `invalid`.
   * Whether a gateway or profile exists and is up is not asked: no capture shows what `sofia status gateway`
   * or `sofia xmlstatus` answer on this FreeSWITCH, and the test peer is built from captures only, so a
   * well-formed dial string is `unknown` (dialled, logged); a dead gateway then fails the originate with its cause.
   */
  async checkEndpoint(endpoint: string): Promise<EndpointCheck> {
    const target = parseFreeswitchDialString(endpoint);
    if (target.kind === 'invalid') return { status: 'invalid', detail: target.reason };
    const names = target.legs.map((l) => (l.kind === 'gateway' ? `gateway ${l.gateway}` : l.kind === 'profile' ? `profile ${l.profile}` : `${l.module}/`));
    return { status: 'unknown', detail: `FreeSWITCH ${names.join(', ')}: its state is not checked before dialling` };
  }

  async listLiveCalls(): Promise<LiveChannel[]> {
    const body = (await this.client.api('show channels as json')).trim();
    let rows: { uuid?: string; direction?: string; callstate?: string; state?: string }[] = [];
    try {
      rows = (JSON.parse(body) as { rows?: typeof rows }).rows ?? [];
    } catch {
      throw new Error(`show channels as json: unexpected reply ${JSON.stringify(body.slice(0, 200))}`);
    }
    const out: LiveChannel[] = [];
    for (const row of rows) {
      if (!row.uuid || row.direction !== 'outbound') continue;
      out.push({ pbxCallId: row.uuid, attemptId: await this.attemptOf(row.uuid), state: row.callstate ?? row.state ?? '' });
    }
    return out;
  }

  async findChannel(pbxCallId: string): Promise<LiveChannel | undefined> {
    if (!UUID.test(pbxCallId)) return undefined;
    const exists = (await this.client.api(`uuid_exists ${pbxCallId}`)).trim();
    if (exists === 'false') return undefined;
    if (exists !== 'true') throw new Error(`uuid_exists ${pbxCallId}: unexpected reply ${JSON.stringify(exists.slice(0, 200))}`);
    const bridgedTo = await this.variableOf(pbxCallId, 'bridge_uuid');
    return { pbxCallId, attemptId: await this.attemptOf(pbxCallId), state: 'exists', ...(bridgedTo ? { bridgedTo } : {}) };
  }

  private attemptOf(uuid: string): Promise<string | undefined> {
    return this.variableOf(uuid, ATTEMPT_VARIABLE);
  }

  /** A channel variable, undefined when unset (`_undef_`) or the channel is gone (`-ERR`). */
  private async variableOf(uuid: string, name: string): Promise<string | undefined> {
    const value = (await this.client.api(`uuid_getvar ${uuid} ${name}`)).trim();
    return value && value !== '_undef_' && !value.startsWith('-ERR') ? value : undefined;
  }

  async hangupChannel(pbxCallId: string, cause = 16): Promise<boolean> {
    if (!/^[A-Za-z0-9-]+$/.test(pbxCallId)) throw new Error(`not a FreeSWITCH uuid: ${JSON.stringify(pbxCallId)}`);
    const reply = (await this.client.api(`uuid_kill ${pbxCallId} ${causeName(cause)}`)).trim();
    return reply.startsWith('+OK');
  }

  private varText(vars: Record<string, string>): string {
    return Object.entries(vars)
      .map(([k, v]) => `${channelVariableName(k)}=${channelVariableValue(v)}`)
      .join(',');
  }

  /**
   * Early media (capture j, ignore_early_media=false): the job answers +OK at the 183 and the channel parks
   * unanswered; the stream starts on CHANNEL_PROGRESS_MEDIA (never on a bare 180: that crashes FreeSWITCH
   * 1.11.1, capture j0) and its frames feed the monitor until CHANNEL_ANSWER. A failure comes as CHANNEL_HANGUP
   * (480 NO_USER_RESPONSE, 404 UNALLOCATED_NUMBER) or, before any 183, as the job's -ERR.
   */
  private originateWithEarlyMedia(req: OriginateRequest, monitor: EarlyMediaMonitor, uuid: string, vars: Record<string, string>): Promise<OriginateResult> {
    const info = { ...callInfoFromHeaders({}, 'outbound'), pbxCallId: uuid, to: req.endpoint, flow: req.flow, lang: req.lang, variables: { ...(req.variables ?? {}) } };
    const call = this.track(new FreeswitchCall({ ...this.callOptions(), info, answered: false }));
    const timeoutMs = (Number(vars.originate_timeout) + 30) * 1000;
    return new Promise<OriginateResult>((resolve) => {
      const timer = setTimeout(() => {
        dial.settle({ disposition: 'failed', cause: 41, causeText: 'No outcome from FreeSWITCH' });
        void call.hangup(41).catch(() => undefined);
      }, timeoutMs);
      const dial: EarlyDial = {
        call,
        monitor,
        ringing: false,
        streamStarted: false,
        settled: false,
        settle: (result) => {
          if (dial.settled) return;
          dial.settled = true;
          clearTimeout(timer);
          this.earlyDials.delete(uuid);
          if (dial.leg && dial.onFrame) dial.leg.off('frame', dial.onFrame);
          const heard = monitor.stop();
          if (result.disposition !== 'answered' && !result.progress) {
            result = { ...result, progress: progressVerdictFromCause(result.cause, { ringing: dial.ringing, heard }) };
          } else if (result.disposition === 'answered') {
            result = { ...result, progress: { kind: 'answered', source: 'cause', heard } };
          }
          resolve(result);
        },
      };
      this.earlyDials.set(uuid, dial);
      monitor.verdict.then(
        (verdict) => this.earlyVerdict(dial, verdict),
        (err: unknown) => this.log.warn({ callId: uuid, err }, 'early-media classifier failed'),
      );
      this.client.bgapi(`originate {${this.varText(vars)}}${req.endpoint} &park()`, timeoutMs).then(
        (raw) => {
          const body = raw.trim();
          // +OK only says a 183 (or 200) came: the answer is CHANNEL_ANSWER.
          if (body.startsWith('+OK')) return;
          const causeText = body.replace(/^-ERR\s*/, '').split(/\s/)[0] || 'NORMAL_UNSPECIFIED';
          dial.settle({ disposition: dispositionOfCause(causeText), cause: causeNumber(causeText), causeText });
        },
        (err: unknown) => {
          this.log.warn({ callId: uuid, err }, 'early-media originate failed');
          dial.settle({ disposition: 'failed', cause: 41, causeText: (err as Error).message });
        },
      );
    });
  }

  private onEarlyEvent(dial: EarlyDial, event: EslEvent): void {
    switch (event.name) {
      case 'CHANNEL_PROGRESS':
        dial.ringing = true;
        dial.monitor.onSignal('ringing');
        return;
      case 'CHANNEL_PROGRESS_MEDIA':
        dial.monitor.onSignal('early_media');
        this.startEarlyStream(dial, event.name);
        return;
      case 'CHANNEL_ANSWER':
        dial.settle({ disposition: 'answered', call: dial.call });
        return;
      case 'CHANNEL_HANGUP':
      case 'CHANNEL_HANGUP_COMPLETE': {
        const causeText = event.headers['Hangup-Cause'] ?? 'NORMAL_UNSPECIFIED';
        dial.settle({ disposition: dispositionOfCause(causeText), cause: causeNumber(causeText), causeText });
        return;
      }
      default:
        return;
    }
  }

  private startEarlyStream(dial: EarlyDial, on: string): void {
    if (dial.streamStarted || !STREAM_SAFE_EVENTS.has(on)) return;
    dial.streamStarted = true;
    dial.call.openMedia().then(
      (leg) => {
        if (dial.settled) return;
        dial.leg = leg;
        dial.onFrame = (pcm) => dial.monitor.onAudio(pcm, leg.sampleRate);
        leg.on('frame', dial.onFrame);
      },
      (err: unknown) => this.log.warn({ callId: dial.call.uuid, err }, 'early-media stream did not start; classifying from the cause'),
    );
  }

  private earlyVerdict(dial: EarlyDial, verdict: CallProgressVerdict): void {
    if (dial.settled) return;
    this.log.info({ callId: dial.call.uuid, verdict: verdict.kind, evidence: verdict.evidence, atMs: verdict.atMs }, 'call progress verdict before answer');
    dial.settle({ disposition: dispositionForVerdict(verdict), cause: VERDICT_HANGUP_CAUSE, causeText: `call progress: ${verdict.kind}`, progress: verdict });
    void dial.call.hangup(VERDICT_HANGUP_CAUSE).catch((err: unknown) => this.log.warn({ callId: dial.call.uuid, err }, 'hanging up after the verdict failed'));
  }

  private track(call: FreeswitchCall): FreeswitchCall {
    this.calls.set(call.uuid, call);
    call.once('hangup', () => {
      this.calls.delete(call.uuid);
      this.finished.add(call.uuid);
    });
    return call;
  }

  private route(event: EslEvent): void {
    const uuid = event.uniqueId;
    if (!uuid) return;
    const early = this.earlyDials.get(uuid);
    if (early) this.onEarlyEvent(early, event);
    const call = this.calls.get(uuid);
    if (call) {
      call.handleEvent(event);
      return;
    }
    const originating = this.originating.get(uuid);
    if (originating) {
      if (event.name === 'CHANNEL_HANGUP' || event.name === 'CHANNEL_HANGUP_COMPLETE') originating.hangupCause ??= event.headers['Hangup-Cause'];
      return;
    }
    if (event.name === 'CHANNEL_HANGUP_COMPLETE') {
      this.finished.delete(uuid);
      return;
    }
    if (event.name === 'CHANNEL_PARK' && !this.finished.has(uuid) && this.isBotChannel(event)) {
      const info = callInfoFromHeaders(event.headers, 'inbound');
      const answered = event.headers['Answer-State'] === 'answered';
      const newCall = this.track(new FreeswitchCall({ ...this.callOptions(), info, answered }));
      this.log.info({ callId: uuid, from: info.from, to: info.to }, 'inbound FreeSWITCH call');
      if (this.cfg.keepaliveSilence !== 0 && !event.headers.variable_send_silence_when_idle && !this.warnedKeepalive) {
        this.warnedKeepalive = true;
        this.log.warn('inbound calls are parked without send_silence_when_idle: no RTP flows between prompts (set it in the dialplan before park, see dialplan/freeswitch)');
      }
      this.emit('call', newCall);
    }
  }

  private callOptions(): Omit<ConstructorParameters<typeof FreeswitchCall>[0], 'info' | 'answered'> {
    return {
      commands: this.client,
      media: this.media,
      transfer: this.cfg.transfer,
      recording: this.recording,
      transferVerifyMs: this.cfg.transferVerifyMs,
      playoutWaitMs: this.cfg.playoutWaitMs,
      log: this.log,
    };
  }

  private isBotChannel(event: EslEvent): boolean {
    if (event.headers['Call-Direction'] !== 'inbound') return false;
    const variable = this.cfg.inboundVariable;
    if (variable === '') return true;
    const value = event.headers[`variable_${variable}`];
    return this.cfg.inboundValue === '' ? Boolean(value) : value === this.cfg.inboundValue;
  }

  private onUp(): void {
    this.setReady(true);
    if (this.everUp) void this.reconcileAfterReconnect();
    this.everUp = true;
  }

  /**
   * The inbound connection is gone. If FreeSWITCH itself went (crash, kill, host down), the media WebSockets
   * close too: a call whose media is gone while ESL is down ends with NETWORK_OUT_OF_ORDER (38) and
   * `pbx_gone`, not as a bare transport error, and without waiting for a reconnect that may never come.
   */
  private onDown(why: string): void {
    this.setReady(false, `FreeSWITCH ESL down: ${why}`);
    const lost = `the FreeSWITCH ESL connection was down (${why})`;
    for (const call of this.calls.values()) {
      if (call.pbxLost !== undefined) continue;
      call.pbxLost = lost;
      call.channel.once('mediaGone', () => {
        if (call.pbxLost !== undefined) call.end('NETWORK_OUT_OF_ORDER', undefined, true);
      });
    }
  }

  /**
   * Hangups that happened while ESL was down were never seen: ask FS which calls still exist. Live calls get
   * `resync` (their media legs re-broadcast what could not be sent and look into playlists whose events may
   * be lost); the subscription is already back when this runs.
   */
  private async reconcileAfterReconnect(): Promise<void> {
    for (const call of [...this.calls.values()]) {
      const lost = call.pbxLost;
      call.pbxLost = undefined;
      call.channel.removeAllListeners('mediaGone');
      try {
        const exists = (await this.client.api(`uuid_exists ${call.uuid}`)).trim();
        // Gone meanwhile without a trace: the cause was never told (a crash already ended it with 38).
        if (exists === 'false') call.end('NORMAL_UNSPECIFIED', undefined, lost !== undefined);
        else call.channel.emit('resync');
      } catch (err) {
        this.log.warn({ err, callId: call.uuid }, 'uuid_exists after reconnect failed');
      }
    }
  }

  private setReady(ready: boolean, reason?: string): void {
    const changed = ready !== this.isReady;
    this.isReady = ready;
    this.reason = ready ? undefined : reason;
    if (changed) this.emit('ready', ready, this.reason);
  }
}

function channelVariableName(name: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`not a valid channel variable name: ${JSON.stringify(name)}`);
  return name;
}

/** Values in `{...}` are comma-separated; quote ones with spaces, refuse what cannot be quoted. */
function channelVariableValue(value: string): string {
  if (/[,{}'\r\n]/.test(value)) throw new Error(`channel variable value cannot contain , { } ' or newlines: ${JSON.stringify(value)}`);
  return /\s/.test(value) ? `'${value}'` : value;
}

export function createFreeswitchAdapter(cfg: FreeswitchConfig, opts: FreeswitchAdapterOptions): FreeswitchAdapter {
  return new FreeswitchAdapter(cfg, opts);
}
