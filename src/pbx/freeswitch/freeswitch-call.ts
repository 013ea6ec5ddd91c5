import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { AudioLeg } from '../../media/index.ts';
import type { HangupInfo, PbxCall, PbxCallEvents, PbxCallInfo, TransferTarget } from '../types.ts';
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
  transfer: { dialplan: string; context: string };
  log: Logger;
}

export interface ChannelEvents {
  event: [event: EslEvent];
  /** The call is over; media sessions tear down. */
  ended: [info: HangupInfo];
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
  private leg: AudioLeg | undefined;

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
    if (this.answered || this.ended) return;
    if (this.commands.answer) await this.commands.answer(this.uuid);
    else await this.commands.api(`uuid_answer ${this.uuid}`);
    this.answered = true;
  }

  async openMedia(): Promise<AudioLeg> {
    if (this.ended) throw new Error(`call ${this.uuid} has already ended`);
    if (this.leg && !this.leg.closed) return this.leg;
    this.leg = await this.options.media.open(this);
    return this.leg;
  }

  async hangup(cause = 16): Promise<void> {
    if (this.ended || this.hangupRequested !== undefined) return;
    this.hangupRequested = cause;
    try {
      await this.commands.api(`uuid_kill ${this.uuid} ${causeName(cause)}`);
    } catch (err) {
      // The channel may have gone between our decision and the command: that is a hangup too.
      this.log.warn({ err }, 'uuid_kill failed');
    }
  }

  async transfer(target: TransferTarget, notes?: string): Promise<void> {
    if (this.ended) throw new Error(`call ${this.uuid} has already ended`);
    if (notes) await this.setVariable('callpilot_notes', notes);
    this.transferred = true;
    if (this.leg && !this.leg.closed) await this.leg.close({ code: 'transfer' });
    if (target.kind === 'dialplan') {
      await this.commands.api(`uuid_transfer ${this.uuid} ${oneWord(target.extension)} ${this.options.transfer.dialplan} ${oneWord(target.context)}`);
    } else {
      await this.commands.api(`uuid_transfer ${this.uuid} bridge:${oneWord(target.endpoint)} inline`);
    }
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
      case 'CHANNEL_HANGUP':
      case 'CHANNEL_HANGUP_COMPLETE':
        this.end(event.headers['Hangup-Cause'], event.headers.variable_sip_hangup_disposition);
        break;
      default:
        break;
    }
    this.channel.emit('event', event);
  }

  /** The channel is gone (hangup event, or found missing after an ESL reconnect). */
  end(causeText: string | undefined, sipDisposition?: string): void {
    if (this.endInfo) return;
    const text = causeText ?? 'NORMAL_UNSPECIFIED';
    let by: HangupInfo['by'] = 'caller';
    if (this.hangupRequested !== undefined) by = 'bot';
    else if (this.transferred || sipDisposition?.startsWith('send_')) by = 'pbx';
    this.endInfo = { cause: causeNumber(text), causeText: text, by };
    this.channel.emit('ended', this.endInfo);
    this.emit('hangup', this.endInfo);
  }
}

function oneWord(value: string): string {
  if (!/^[^\s'"]+$/.test(value)) throw new Error(`not usable as a FreeSWITCH argument: ${JSON.stringify(value)}`);
  return value;
}
