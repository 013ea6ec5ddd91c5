import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AudioLeg } from '../../media/index.ts';
import type { AsteriskConfig } from '../config.ts';
import type { HangupInfo, OpenMediaOptions, PbxCall, PbxCallEvents, PbxCallInfo, TransferTarget } from '../types.ts';
import type { AriRest } from './ari/ari-rest.ts';
import { causeText, hangupFromDestroyed, hangupFromRequest, type HangupRequestFields } from './hangup-cause.ts';
import { AudioSocketLeg } from './media/audiosocket-leg.ts';
import { RtpLeg } from './media/rtp-leg.ts';
import { createExternalMedia, type AsteriskMediaLeg, type ExternalMediaDeps } from './media/external-media.ts';
import { AriRequestError } from './ari/ari-rest.ts';

/** What a call needs from its adapter. */
export interface AsteriskCallHost {
  cfg: AsteriskConfig;
  /** The REST API; throws when ARI has never been reached. */
  rest(): AriRest;
  mediaDeps(): Omit<ExternalMediaDeps, 'rest' | 'log'>;
  /** Route the media channel's events to this call. */
  claimMediaChannel(mediaChannelId: string, call: AsteriskCall): void;
  /** The call is over: forget it and its channels. */
  released(call: AsteriskCall): void;
  /** Is Asterisk there at all (not refusing connections)? Answers within about a second. */
  reachable(): Promise<boolean>;
  /** The call ended while Asterisk was unreachable: its cause is provisional until ARI is back. */
  endedUnreachable(call: AsteriskCall): void;
}

/** Provisional cause of a call whose PBX vanished: Q.850 38, as Asterisk itself reports a restart. */
export const UNREACHABLE_HANGUP: HangupInfo = { cause: 38, causeText: 'Network out of order (Asterisk unreachable)', by: 'pbx' };

/** How long ARI's copy of a digit waits for AudioSocket's in-band one before it stands in for it. */
const DTMF_SETTLE_MS = 150;

/** Q.850 41 (temporary failure), as for any other media failure: the caller may simply call again. */
const DEAD_MEDIA_CAUSE = 41;

/**
 * Bridges callpilot creates are named `callpilot/<ARI app>/<channel id>`, so reconciliation can tell its own from
 * anyone else's, including another callpilot node's on a shared Asterisk (each node has its own app).
 */
export function bridgeName(app: string, channelId: string): string {
  return `${bridgePrefix(app)}${channelId}`;
}

export function bridgePrefix(app: string): string {
  return `callpilot/${app}/`;
}

/** Bridges of releases before the app was in the name: `callpilot-<channel id>`. */
export const LEGACY_BRIDGE_PREFIX = 'callpilot-';

/**
 * One call on Asterisk: the caller's channel in Stasis, plus (after openMedia) a mixing bridge
 * holding it and an externalMedia channel whose transport is the call's AudioLeg. Everything is
 * torn down when either side ends.
 */
export class AsteriskCall extends EventEmitter<PbxCallEvents> implements PbxCall {
  readonly info: PbxCallInfo;
  private readonly log: Logger;
  private state: 'ringing' | 'up';
  private ended: HangupInfo | undefined;
  /** Cause callpilot asked for when it hung up (so the soft-hangup echo is attributed to the bot). */
  private botCause: number | undefined;
  private transferNote: string | undefined;
  private leg: AsteriskMediaLeg | undefined;
  private bridgeId: string | undefined;
  private mediaChannelId: string | undefined;
  private openingMedia: Promise<AudioLeg> | undefined;
  private answering: Promise<void> | undefined;
  /** Set when the media path was built before dialling (early media); openMedia() then reuses it. */
  private earlyLeg: AsteriskMediaLeg | undefined;
  private tearingDown: Promise<void> | undefined;

  constructor(
    private readonly host: AsteriskCallHost,
    info: PbxCallInfo,
    channelState: string,
    log: Logger,
  ) {
    super();
    this.info = info;
    this.state = channelState === 'Up' ? 'up' : 'ringing';
    this.log = log.child({ pbxCallId: info.pbxCallId });
  }

  get channelId(): string {
    return this.info.pbxCallId;
  }

  get isEnded(): boolean {
    return this.ended !== undefined;
  }

  get media(): { bridgeId?: string; mediaChannelId?: string } {
    return { bridgeId: this.bridgeId, mediaChannelId: this.mediaChannelId };
  }

  async answer(): Promise<void> {
    this.assertLive('answer');
    if (this.state === 'up') return;
    this.answering ??= this.host
      .rest()
      .answer(this.channelId)
      .then(() => {
        this.state = 'up';
      });
    await this.answering;
  }

  openMedia(opts?: OpenMediaOptions): Promise<AudioLeg> {
    this.openingMedia ??= this.setUpMedia(opts?.answer === true);
    return this.openingMedia;
  }

  async hangup(cause = 16): Promise<void> {
    if (this.ended || this.transferNote !== undefined) return;
    this.botCause ??= cause;
    await this.tearDownMedia({ code: 'bot_hangup', detail: `${cause} ${causeText(cause)}` });
    try {
      await this.host.rest().hangup(this.channelId, cause);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'hanging up the caller failed');
    }
    // The soft-hangup echo confirms it when the events socket is up; do not depend on it.
    this.end({ cause, causeText: causeText(cause), by: 'bot' });
  }

  async transfer(target: TransferTarget | undefined, notes?: string): Promise<void> {
    this.assertLive('transfer');
    const cfg = this.host.cfg;
    const to = resolveTransferTarget(target, cfg.transfer);
    const where = to.kind === 'dialplan' ? `${to.context},${to.extension},${to.priority ?? 1}` : to.endpoint;
    this.transferNote = where;
    const rest = this.host.rest();
    if (notes !== undefined && notes !== '') {
      await rest.setVariable(this.channelId, cfg.transcriptVariable, notes).catch((err: Error) => {
        this.log.warn({ err: err.message }, 'could not attach the transcript to the channel');
      });
    }
    // The caller must leave our bridge before the dialplan or the redirect takes over.
    await this.tearDownMedia({ code: 'transfer', detail: where });
    try {
      if (to.kind === 'dialplan') await rest.continueInDialplan(this.channelId, to.context, to.extension, to.priority ?? 1);
      else await rest.redirect(this.channelId, to.endpoint);
    } catch (err) {
      // Refused (the channel is still ours, in Stasis, with no bridge): the caller would sit in silence. The
      // transfer failed: say so, and let the bot's hangup through.
      this.transferNote = undefined;
      this.emit('transferOutcome', { result: 'failed', target: where, detail: `ARI refused the transfer: ${(err as Error).message}` });
      throw err;
    }
    this.log.info({ to: where }, 'call transferred');
    this.end({ cause: 16, causeText: `Transferred to ${where}`, by: 'bot' });
  }

  async setVariable(name: string, value: string): Promise<void> {
    await this.host.rest().setVariable(this.channelId, name, value);
  }

  // ---------------------------------------------------------------- from the adapter's event router

  onHangupRequest(req: HangupRequestFields): void {
    this.end(hangupFromRequest(req, this.botCause));
  }

  onStasisEnd(): void {
    if (this.transferNote !== undefined) return;
    this.end(this.botCause !== undefined ? { cause: this.botCause, causeText: causeText(this.botCause), by: 'bot' } : { cause: 16, causeText: 'Left the Stasis application', by: 'pbx' });
  }

  onDestroyed(cause: number, text: string): void {
    this.end(hangupFromDestroyed(cause, text, this.botCause));
  }

  onDtmf(digit: string): void {
    if (this.ended) return;
    this.emit('dtmf', digit);
    // RTP legs carry no DTMF of their own; chan_websocket and AudioSocket get it in-band too.
    if (this.leg instanceof RtpLeg) this.leg.injectDtmf(digit);
    else if (this.leg instanceof AudioSocketLeg) {
      // The in-band copy may come just after ARI's; give it a moment before deciding it is missing.
      const leg = this.leg;
      setTimeout(() => leg.injectDtmf(digit), DTMF_SETTLE_MS).unref();
    }
  }

  onStateChange(state: string): void {
    if (state === 'Up') this.state = 'up';
  }

  /** The externalMedia channel went away on its own: without it the bot is mute and deaf. */
  onMediaChannelGone(detail: string): void {
    if (this.ended || this.tearingDown || this.transferNote !== undefined) return;
    // After a crash the media socket often dies before the events socket says so: ask before blaming the bot.
    void this.host.reachable().then(
      (up) => {
        if (this.ended || this.tearingDown) return;
        if (!up) {
          this.lostWithAsterisk(`media lost and Asterisk refuses connections (${detail})`);
          return;
        }
        this.log.warn({ detail }, 'media channel ended mid-call; hanging up');
        this.hangup(41).catch((err: unknown) => this.log.warn({ err }, 'hanging up after media loss failed'));
      },
      (err: unknown) => this.log.warn({ err }, 'checking whether Asterisk is up failed'),
    );
  }

  /**
   * Asterisk is gone (crash, stop): no request can reach it and no event will come, so the call ends now with a
   * provisional cause, confirmed or corrected once ARI is back (causeUpdate).
   */
  lostWithAsterisk(detail: string): void {
    if (this.ended) return;
    this.log.warn({ detail }, 'Asterisk unreachable; ending the call');
    this.host.endedUnreachable(this);
    this.end(UNREACHABLE_HANGUP);
  }

  /** A cause learned after the call ended (reconnected to ARI). */
  updateCause(info: HangupInfo): void {
    if (!this.ended) {
      this.end(info);
      return;
    }
    if (info.cause === this.ended.cause && info.causeText === this.ended.causeText) return;
    this.ended = info;
    this.log.info({ cause: info.cause, causeText: info.causeText, by: info.by }, 'hangup cause learned after reconnecting');
    this.emit('causeUpdate', info);
  }

  /** No caller audio for media.deadMediaMs: the line is dead, so free it rather than hold a silent call. */
  private onDeadMedia(detail: string): void {
    if (this.ended || this.transferNote !== undefined) return;
    this.log.warn({ detail }, 'dead media; hanging up');
    this.hangup(DEAD_MEDIA_CAUSE).catch((err: unknown) => this.log.warn({ err }, 'hanging up a dead-media call failed'));
  }

  /** Asterisk no longer has the channel (found during reconciliation). */
  gone(info: HangupInfo): void {
    this.end(info);
  }

  // ---------------------------------------------------------------- internals

  /**
   * Early media (captures early-media-*.jsonl): the bridge and the externalMedia channel exist before the
   * outbound channel is created and dialled, so the callee's 183 audio reaches the leg frame for frame. The
   * caller channel is added by the adapter once `POST /channels/create` has made it.
   */
  async prepareEarlyMedia(): Promise<{ leg: AsteriskMediaLeg; bridgeId: string }> {
    this.assertLive('prepare early media');
    const rest = this.host.rest();
    const cfg = this.host.cfg;
    this.bridgeId = randomUUID();
    this.mediaChannelId = `${this.channelId}-media-${randomUUID().slice(0, 8)}`;
    this.host.claimMediaChannel(this.mediaChannelId, this);
    const bridgeId = this.bridgeId;
    const bridged = rest.createBridge(bridgeId, bridgeName(cfg.app, this.channelId));
    const mediaJoined = this.joinMediaChannel(rest, bridged);
    try {
      await Promise.all([bridged, mediaJoined]);
      this.earlyLeg = await mediaJoined;
      return { leg: this.earlyLeg, bridgeId };
    } catch (err) {
      await this.failedSetUp([bridged, mediaJoined]);
      throw new Error(`${this.channelId}: preparing ${cfg.media} early media failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * The answer, the bridge and the externalMedia channel are requested at once rather than one after another:
   * each serial ARI round trip also waits for this event loop, which under a burst is busy with the other calls'
   * frames (issue 9). Each channel joins the bridge as soon as it may: the caller once answered (an inbound
   * channel was only captured bridged after its answer), the media channel once in Stasis. Both join orders
   * appear in the captures (caller first in external-media-*, media first in early-media-*).
   */
  private async setUpMedia(answer: boolean): Promise<AudioLeg> {
    this.assertLive('openMedia');
    const rest = this.host.rest();
    const cfg = this.host.cfg;
    if (this.earlyLeg) {
      // Bridged since before the dial; no wait for callee audio (a DTX callee may send none: see setUp below).
      const leg = this.earlyLeg;
      if (this.ended || leg.closed) throw new Error(`${this.channelId}: the call ended before its media was used`);
      // The call is handed over now: from here a callee who sends nothing is heard as silence in real time.
      leg.startCallerClock();
      return leg;
    }
    const answered = answer ? this.answer() : Promise.resolve();
    this.bridgeId = randomUUID();
    this.mediaChannelId = `${this.channelId}-media-${randomUUID().slice(0, 8)}`;
    this.host.claimMediaChannel(this.mediaChannelId, this);
    const bridgeId = this.bridgeId;
    const bridged = rest.createBridge(bridgeId, bridgeName(cfg.app, this.channelId));
    const callerJoined = Promise.all([answered, bridged]).then(() => rest.addChannel(bridgeId, this.channelId));
    const mediaJoined = this.joinMediaChannel(rest, bridged);
    try {
      await Promise.all([answered, bridged, callerJoined, mediaJoined]);
      const leg = await mediaJoined;
      if (this.ended || leg.closed) throw new Error('the call ended while its media was being set up');
      // Not waiting for caller audio: every Asterisk leg delivers nothing while the caller's phone suppresses
      // silence, and a callee who waits for the bot to speak first may send nothing at all
      // (audiosocket-caller-leading-gap). The bridge holds both channels and our direction is open (socket
      // connected, RTP address known), so the greeting is heard; the caller clock runs from here.
      leg.startCallerClock();
      this.log.debug({ media: cfg.media, bridgeId }, 'media up');
      return leg;
    } catch (err) {
      await this.failedSetUp([answered, bridged, callerJoined, mediaJoined]);
      throw new Error(`${this.channelId}: opening ${cfg.media} media failed: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * Creates the externalMedia channel (its transport up, in Stasis) and adds it to the bridge once that exists.
   * The leg is the call's from the moment it exists, so a teardown closes it whatever fails next.
   */
  private async joinMediaChannel(rest: AriRest, bridged: Promise<unknown>): Promise<AsteriskMediaLeg> {
    const mediaChannelId = this.mediaChannelId;
    const bridgeId = this.bridgeId;
    if (!mediaChannelId || !bridgeId) throw new Error(`${this.channelId}: no media channel id`);
    const media = await createExternalMedia({ ...this.host.mediaDeps(), rest, log: this.log }, this.info.pbxCallId, mediaChannelId, this.log);
    this.leg = media.leg;
    media.leg.once('close', (reason) => {
      if (reason.code === 'transport_error' || reason.code === 'protocol_error') this.onMediaChannelGone(reason.detail ?? reason.code);
      else if (reason.code === 'dead_media') this.onDeadMedia(reason.detail ?? reason.code);
    });
    await bridged;
    if (this.ended) throw new Error('the call ended while its media was being set up');
    await addToBridge(rest, bridgeId, mediaChannelId, () => this.isEnded || media.leg.closed);
    return media.leg;
  }

  /** A set-up step failed: let the others settle (a leg still being made is then closed too), then tear down. */
  private async failedSetUp(steps: Promise<unknown>[]): Promise<void> {
    const results = await Promise.allSettled(steps);
    const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    await this.tearDownMedia({ code: 'transport_error', detail: (first?.reason as Error | undefined)?.message ?? 'media set-up failed' });
  }

  /** Close the leg, hang up the media channel and destroy the bridge; safe to call repeatedly. */
  private tearDownMedia(reason: Parameters<AudioLeg['close']>[0]): Promise<void> {
    this.tearingDown ??= (async () => {
      let rest: AriRest | undefined;
      try {
        rest = this.host.rest();
      } catch {
        rest = undefined;
      }
      const jobs: Promise<unknown>[] = [];
      if (this.leg && !this.leg.closed) jobs.push(this.leg.close(reason));
      if (rest && this.mediaChannelId) jobs.push(rest.hangup(this.mediaChannelId));
      if (rest && this.bridgeId) jobs.push(rest.destroyBridge(this.bridgeId));
      const results = await Promise.allSettled(jobs);
      for (const r of results) {
        if (r.status === 'rejected') this.log.warn({ err: (r.reason as Error).message }, 'media teardown step failed');
      }
    })();
    return this.tearingDown;
  }

  private end(info: HangupInfo): void {
    if (this.ended) return;
    this.ended = info;
    this.log.info({ cause: info.cause, causeText: info.causeText, by: info.by }, 'call ended');
    const code = info.by === 'bot' ? (this.transferNote !== undefined ? 'transfer' : 'bot_hangup') : info.by === 'pbx' ? 'pbx_gone' : 'caller_hangup';
    void this.tearDownMedia({ code, detail: `${info.cause} ${info.causeText}` }).finally(() => this.host.released(this));
    this.emit('hangup', info);
  }

  private assertLive(what: string): void {
    if (this.ended) throw new Error(`${this.channelId}: cannot ${what}, the call has ended (${this.ended.causeText})`);
  }
}

/** Retries of an addChannel refused with 422 "Channel not in Stasis application", and the first pause. */
const ADD_CHANNEL_RETRIES = 6;
const ADD_CHANNEL_FIRST_PAUSE_MS = 25;

/**
 * addChannel for a channel that may not be in Stasis yet. The externalMedia reply can come up to 15 ms before
 * the media channel's StasisStart, and an addChannel in that window gets 422 and leaves a leg that only ever
 * delivers its UUID (externalmedia-audiosocket-addchannel-race). callpilot waits for StasisStart first; this
 * retry covers the StasisStart that was missed (events socket reconnecting) or arrived late.
 */
export async function addToBridge(rest: AriRest, bridgeId: string, channelId: string, abandoned: () => boolean): Promise<void> {
  let pause = ADD_CHANNEL_FIRST_PAUSE_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      await rest.addChannel(bridgeId, channelId);
      return;
    } catch (err) {
      if (!(err instanceof AriRequestError) || !err.notInStasis || attempt >= ADD_CHANNEL_RETRIES || abandoned()) throw err;
    }
    await new Promise<void>((resolve) => setTimeout(resolve, pause));
    pause *= 2;
  }
}

/**
 * No target: the configured agent context. A bare word such as a flow's `target: agents` is not
 * a dialable endpoint on Asterisk (those look like `PJSIP/...`), so it names a dialplan context
 * entered at the configured extension and priority.
 */
export function resolveTransferTarget(target: TransferTarget | undefined, fallback: AsteriskConfig['transfer']): TransferTarget {
  if (!target) return { kind: 'dialplan', ...fallback };
  if (target.kind === 'endpoint' && !target.endpoint.includes('/')) {
    return { kind: 'dialplan', context: target.endpoint, extension: fallback.extension, priority: fallback.priority };
  }
  return target;
}
