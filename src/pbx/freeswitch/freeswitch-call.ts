import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AudioLeg } from '../../media/index.ts';
import type { HangupInfo, OpenMediaOptions, PbxCall, PbxCallEvents, PbxCallInfo, TransferOutcome, TransferTarget } from '../types.ts';
import { CallRecording, type RecordingOptions, recordingPath } from './call-recording.ts';
import type { EslEvent } from './esl/esl-message.ts';
import { causeName, causeNumber } from './hangup-causes.ts';

/** What a call needs from whichever ESL socket controls it (the inbound client or its outbound socket). */
export interface EslCommands {
  api(cmd: string, timeoutMs?: number): Promise<string>;
  bgapi(cmd: string, jobTimeoutMs?: number): Promise<string>;
  /** How to answer where `uuid_answer` is not the way (outbound socket: `sendmsg execute answer`). */
  answer?(uuid: string): Promise<void>;
}

/** Sets up the media path of one call (mod_audio_stream or mod_audio_fork). */
export interface CallMediaOpener {
  open(call: FreeswitchCall): Promise<AudioLeg>;
}

export interface FreeswitchCallOptions {
  info: PbxCallInfo;
  commands: EslCommands;
  media: CallMediaOpener;
  answered: boolean;
  /** The agent destination used when a flow names none. */
  transfer: { extension: string; dialplan: string; context: string };
  /** Record the channel on the PBX side (`uuid_record`) from answer to hangup. */
  recording?: RecordingOptions;
  /** How long a transfer is watched for CHANNEL_BRIDGE / CHANNEL_HANGUP before its outcome is `unknown`. */
  transferVerifyMs?: number;
  /** Upper bound of the wait for the last prompt to play out before a hangup or transfer. */
  playoutWaitMs?: number;
  log: Logger;
}

/** A leg that can tell when FreeSWITCH has played out everything it was given (StreamLeg). */
interface PlayoutAwareLeg extends AudioLeg {
  whenPlayedOut?(timeoutMs: number): Promise<void>;
}

const DEFAULT_TRANSFER_VERIFY_MS = 30_000;
/** Q.850 41 (temporary failure) for a call hung up because its media died, as on Asterisk. */
const DEAD_MEDIA_CAUSE = 41;
const DEFAULT_PLAYOUT_WAIT_MS = 15_000;
/** Slack on top of the audio still queued when waiting for it to play out. */
const PLAYOUT_SLACK_MS = 2000;

/** The call variable carrying the PBX-side recording's path (on the FreeSWITCH host). */
export const RECORDING_VARIABLE = 'pbx_recording';

export interface ChannelEvents {
  event: [event: EslEvent];
  /** The call is over; media sessions tear down. */
  ended: [info: HangupInfo];
  /** The ESL connection came back and is subscribed again: events of the outage are lost, commands work. */
  resync: [];
  /** The media WebSocket closed while the ESL connection was down (FreeSWITCH itself is likely gone). */
  mediaGone: [];
}

/**
 * One FreeSWITCH channel as the engine sees it. Control goes through `uuid_*` api commands, which
 * work the same on the inbound connection and on an outbound socket; events are routed here by
 * Unique-ID and re-emitted on `channel` for the media session.
 */
export class FreeswitchCall extends EventEmitter<PbxCallEvents> implements PbxCall {
  readonly info: PbxCallInfo;
  readonly uuid: string;
  readonly log: Logger;
  /** Raw channel events for the media session of this call. */
  readonly channel = new EventEmitter<ChannelEvents>();
  readonly commands: EslCommands;
  private answered: boolean;
  private endInfo: HangupInfo | undefined;
  private hangupRequested: number | undefined;
  private transferred = false;
  private leg: PlayoutAwareLeg | undefined;
  private recording: CallRecording | undefined;
  private transferWatch: { target: string; bridged: boolean; timer: NodeJS.Timeout } | undefined;
  /** Set while the controlling ESL connection is down (why); cleared when it is back. */
  pbxLost: string | undefined;

  constructor(private readonly options: FreeswitchCallOptions) {
    super();
    this.info = options.info;
    this.uuid = options.info.pbxCallId;
    this.commands = options.commands;
    this.answered = options.answered;
    this.log = options.log.child({ callId: this.uuid });
  }

  get ended(): boolean {
    return this.endInfo !== undefined;
  }

  get hangupInfo(): HangupInfo | undefined {
    return this.endInfo;
  }

  async answer(): Promise<void> {
    if (this.ended) return;
    if (!this.answered) {
      if (this.commands.answer) await this.commands.answer(this.uuid);
      else await this.commands.api(`uuid_answer ${this.uuid}`);
      this.answered = true;
    }
    await this.startRecording();
  }

  async openMedia(opts?: OpenMediaOptions): Promise<AudioLeg> {
    // Answered first, as before the option existed: the recording starts at the answer.
    if (opts?.answer) await this.answer();
    if (this.ended) throw new Error(`call ${this.uuid} has already ended`);
    if (this.leg && !this.leg.closed) return this.leg;
    // Outbound calls are answered when they get here and never see answer().
    if (this.answered) await this.startRecording();
    const leg: PlayoutAwareLeg = await this.options.media.open(this);
    this.leg = leg;
    leg.once('close', (reason) => {
      // No caller audio at all for media.deadMediaMs: the media path is broken, the caller is not coming back.
      if (reason.code !== 'dead_media' || this.ended || this.transferred) return;
      this.log.warn({ detail: reason.detail }, 'dead media; hanging up');
      this.hangup(DEAD_MEDIA_CAUSE).catch((err: unknown) => this.log.warn({ err }, 'hanging up a dead-media call failed'));
    });
    return leg;
  }

  async hangup(cause = 16): Promise<void> {
    if (this.ended || this.hangupRequested !== undefined) return;
    this.hangupRequested = cause;
    // uuid_kill while the last file plays cuts it (issue 8: 再见 lost); FreeSWITCH's PLAYBACK_STOP says when it is out.
    await this.playedOut();
    if (this.ended) return;
    // Stopped while the channel lives, so the file is closed before the hangup tears the channel down.
    await this.recording?.stop();
    try {
      await this.commands.api(`uuid_kill ${this.uuid} ${causeName(cause)}`);
    } catch (err) {
      // The channel may have gone between our decision and the command: that is a hangup too.
      this.log.warn({ err }, 'uuid_kill failed');
    }
  }

  async transfer(requested: TransferTarget | undefined, notes?: string): Promise<void> {
    if (this.ended) throw new Error(`call ${this.uuid} has already ended`);
    // No target from the flow: the agent extension configured for this FreeSWITCH.
    const target: TransferTarget = requested ?? {
      kind: 'dialplan',
      context: this.options.transfer.context,
      extension: this.options.transfer.extension,
    };
    if (notes) await this.setVariable('callpilot_notes', notes);
    // Stopping the stream deletes its files: the last prompt must have played out first.
    await this.playedOut();
    if (this.ended) throw new Error(`call ${this.uuid} ended before it could be transferred`);
    this.transferred = true;
    if (this.leg && !this.leg.closed) await this.leg.close({ code: 'transfer' });
    const where =
      target.kind === 'dialplan'
        ? `${oneWord(target.extension)} ${this.options.transfer.dialplan} ${oneWord(target.context)}`
        : `bridge:${oneWord(target.endpoint)} inline`;
    this.watchTransfer(where);
    const reply = (await this.commands.api(`uuid_transfer ${this.uuid} ${where}`)).trim();
    if (reply.startsWith('-ERR')) {
      this.transferVerdict({ result: 'failed', target: where, detail: reply });
      throw new Error(`uuid_transfer ${where} refused: ${reply}`);
    }
  }

  get transferVerdictMs(): number {
    return this.options.transferVerifyMs ?? DEFAULT_TRANSFER_VERIFY_MS;
  }

  /** Bounded wait for FreeSWITCH to play out the bot's audio. */
  private async playedOut(): Promise<void> {
    const leg = this.leg;
    if (!leg || leg.closed || !leg.whenPlayedOut) return;
    const bound = Math.min(this.options.playoutWaitMs ?? DEFAULT_PLAYOUT_WAIT_MS, leg.queuedMs + PLAYOUT_SLACK_MS);
    await leg.whenPlayedOut(bound);
  }

  /**
   * After uuid_transfer FreeSWITCH runs the target's dialplan: CHANNEL_BRIDGE means an agent took the call;
   * a hangup before any bridge means the caller was dropped (a missing extension, an unregistered phone).
   */
  private watchTransfer(target: string): void {
    clearTimeout(this.transferWatch?.timer);
    const timer = setTimeout(() => this.transferVerdict({ result: 'unknown', target, detail: 'no bridge or hangup yet' }), this.transferVerdictMs);
    timer.unref();
    this.transferWatch = { target, bridged: false, timer };
  }

  private transferVerdict(outcome: TransferOutcome): void {
    const watch = this.transferWatch;
    if (!watch) return;
    clearTimeout(watch.timer);
    this.transferWatch = undefined;
    this.log.info({ outcome }, 'transfer outcome');
    this.emit('transferOutcome', outcome);
  }

  async setVariable(name: string, value: string): Promise<void> {
    await this.commands.api(`uuid_setvar ${this.uuid} ${oneWord(name)} ${value.replace(/[\r\n]+/g, ' ')}`);
  }

  /** Called by the adapter for each event whose Unique-ID is this channel. */
  handleEvent(event: EslEvent): void {
    switch (event.name) {
      case 'CHANNEL_ANSWER':
        this.answered = true;
        break;
      case 'DTMF': {
        const digit = event.headers['DTMF-Digit'];
        if (digit) this.emit('dtmf', digit);
        break;
      }
      case 'RECORD_START':
      case 'RECORD_STOP':
        this.recording?.handleEvent(event);
        break;
      case 'CHANNEL_BRIDGE':
        if (this.transferWatch) {
          const other = event.headers['Other-Leg-Unique-ID'] ?? event.headers['Bridge-B-Unique-ID'];
          this.transferVerdict({ result: 'connected', target: this.transferWatch.target, detail: other ? `bridged to ${other}` : 'bridged' });
        }
        break;
      case 'CHANNEL_HANGUP':
      case 'CHANNEL_HANGUP_COMPLETE':
        this.end(event.headers['Hangup-Cause'], sipHangupDisposition(event));
        break;
      default:
        break;
    }
    this.channel.emit('event', event);
  }

  /**
   * `uuid_record start` once the call is answered, when configured. The path becomes the call
   * variable `pbx_recording` only once FS accepted it; a refusal leaves the call unrecorded.
   * (The transfer keeps it running: the agent part is recorded too, up to the hangup.)
   */
  private async startRecording(): Promise<void> {
    const options = this.options.recording;
    if (!options || this.recording || this.ended) return;
    let path: string;
    try {
      path = recordingPath(options.pathTemplate, this.uuid, new Date());
    } catch (err) {
      this.log.warn({ err }, 'no PBX recording');
      return;
    }
    this.recording = new CallRecording(this.commands, this.uuid, path, this.log);
    if (await this.recording.start()) this.info.variables[RECORDING_VARIABLE] = path;
  }

  /** The channel is gone (hangup event, or found missing after an ESL reconnect; `byPbx`: FreeSWITCH itself went away). */
  end(causeText: string | undefined, sipDisposition?: string, byPbx = false): void {
    if (this.endInfo) return;
    const text = causeText ?? 'NORMAL_UNSPECIFIED';
    let by: HangupInfo['by'] = 'caller';
    if (byPbx) by = 'pbx';
    else if (this.hangupRequested !== undefined) by = 'bot';
    // The caller's own BYE/CANCEL, also after a transfer; FS's `send_*` is the PBX's doing (dialplan, target).
    else if (sipDisposition?.startsWith('recv_')) by = 'caller';
    else if (this.transferred || sipDisposition?.startsWith('send_')) by = 'pbx';
    this.endInfo = { cause: causeNumber(text), causeText: text, by };
    this.channel.emit('ended', this.endInfo);
    this.emit('hangup', this.endInfo);
    if (this.transferWatch) {
      // Hung up before any bridge: the transfer target never took the caller. A BYE/CANCEL received from the
      // caller's side (`recv_*`) while the target rang is the caller giving up; anything else is FreeSWITCH's doing.
      const abandoned = sipDisposition?.startsWith('recv_') === true;
      this.transferVerdict({
        result: 'failed',
        target: this.transferWatch.target,
        cause: this.endInfo.cause,
        causeText: text,
        abandoned,
        detail: abandoned ? 'the caller hung up before being bridged' : 'hung up by FreeSWITCH before being bridged',
      });
    }
  }
}

function oneWord(value: string): string {
  if (!/^[^\s'"]+$/.test(value)) throw new Error(`not usable as a FreeSWITCH argument: ${JSON.stringify(value)}`);
  return value;
}

/**
 * Who hung up, in FreeSWITCH's SIP words. `sip_hangup_disposition` only comes with the events after
 * CHANNEL_HANGUP (CHANNEL_CALLSTATE, CHANNEL_HANGUP_COMPLETE); on CHANNEL_HANGUP itself a BYE received from the
 * far end shows as `sip_term_status` (capture h: 200, `sip:200`, cause 16), absent when FreeSWITCH hung up
 * (captures b: uuid_kill, e: the dialplan).
 */
function sipHangupDisposition(event: EslEvent): string | undefined {
  const h = event.headers;
  if (h.variable_sip_hangup_disposition) return h.variable_sip_hangup_disposition;
  return h.variable_sip_term_status !== undefined ? 'recv_bye' : undefined;
}
