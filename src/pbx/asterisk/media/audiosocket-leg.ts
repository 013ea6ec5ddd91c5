import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { BaseAudioLeg, createCodec, FrameAssembler, type FrameCodec, type LegCloseReason, type CallerClockOptions } from '../../../media/index.ts';
import type { SampleRate } from '../../../media/index.ts';
import { AudioSocketFrameParser, AudioSocketKind, encodeAudioSocketMessage } from './audiosocket-frame-parser.ts';

export interface AudioSocketLegOptions {
  callId: string;
  /** 8000 -> slin (kind 0x10), 16000 -> slin16 (kind 0x12). */
  sampleRate: SampleRate;
  log?: Logger;
  maxQueuedMs?: number;
  clock?: CallerClockOptions;
}

const SEND_RING = 64;
/** ARI's ChannelDtmfReceived and the in-band 0x03 for the same key press arrive within ~1 ms of each other. */
const IN_BAND_WINDOW_MS = 400;

/**
 * An AudioLeg over one AudioSocket TCP connection (Asterisk dialled our server). Audio is
 * signed-linear little-endian in both directions; DTMF comes as kind 0x03. Asterisk never sends
 * 0x00 when the channel ends: it just closes TCP, so FIN is a hangup too.
 */
export class AudioSocketLeg extends BaseAudioLeg {
  private socket: Socket | undefined;
  private readonly codec: FrameCodec = createCodec('l16le');
  private readonly kind: number;
  private readonly assembler: FrameAssembler;
  private readonly pcmIn: Int16Array;
  private readonly wireOut: Buffer;
  private readonly sendRing: Buffer[];
  private ringIndex = 0;
  private readonly parser = new AudioSocketFrameParser();

  constructor(opts: AudioSocketLegOptions) {
    super({ callId: opts.callId, sampleRate: opts.sampleRate, log: opts.log, maxQueuedMs: opts.maxQueuedMs, clock: opts.clock });
    this.kind = opts.sampleRate === 16000 ? AudioSocketKind.Slin16k : AudioSocketKind.Slin8k;
    const frameBytes = this.frameSamples * 2;
    this.assembler = new FrameAssembler(frameBytes);
    this.pcmIn = new Int16Array(this.frameSamples);
    this.wireOut = Buffer.alloc(frameBytes);
    this.sendRing = Array.from({ length: SEND_RING }, () => Buffer.alloc(3 + frameBytes));
  }

  /** Take over a connection whose UUID message has been read; `rest` is what followed it. */
  attach(socket: Socket, rest: Buffer): void {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.gone({ code: 'caller_hangup', detail: 'AudioSocket closed by Asterisk (FIN)' }));
    socket.on('close', () => this.gone({ code: 'caller_hangup', detail: 'AudioSocket closed' }));
    socket.on('error', (err) => this.gone({ code: 'transport_error', detail: `AudioSocket: ${err.message}` }));
    if (rest.length > 0) this.onData(rest);
    // Asterisk sends the caller nothing until we send something, and a caller whose phone suppresses silence
    // sends nothing until they speak: both would wait forever (audiosocket-caller-leading-gap). So the leg
    // speaks first, with silence, and keeps the line alive between prompts.
    this.sendSilenceWhenIdle();
  }

  /** When the last in-band (0x03) digit arrived, to tell ARI's copy of it from a missing one. */
  lastInBandDtmf: { digit: string; at: number } | undefined;

  /**
   * DTMF learned from ARI. Builds without AudioSocket DTMF (kind 0x03) only report it there;
   * on newer ones the same digit also arrives in-band, so only forward a digit not seen in-band.
   */
  injectDtmf(digit: string): void {
    const seen = this.lastInBandDtmf;
    if (seen && seen.digit === digit && performance.now() - seen.at < IN_BAND_WINDOW_MS) return;
    this.deliverDtmf(digit);
  }


  protected writeFrame(pcm: Int16Array): void {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    const out = this.sendRing[this.ringIndex];
    this.ringIndex = (this.ringIndex + 1) % SEND_RING;
    socket.write(encodeAudioSocketMessage(this.kind, this.codec.encode(pcm, this.wireOut), out));
  }

  /** AudioSocket has no playout queue to clear on the Asterisk side; paced frames play as they come. */
  protected flushWire(): void {}

  protected async closeWire(_reason: LegCloseReason): Promise<void> {
    const socket = this.socket;
    if (!socket || socket.destroyed) return;
    socket.write(encodeAudioSocketMessage(AudioSocketKind.Hangup, new Uint8Array(0)));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        socket.destroy();
        resolve();
      }, 1000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }

  private onData(chunk: Buffer): void {
    this.parser.push(chunk, {
      message: (kind, payload) => this.onMessage(kind, payload),
      protocolError: (reason) => {
        this.deliverWarning(new Error(`AudioSocket: ${reason}; closing`));
        this.socket?.destroy();
        this.gone({ code: 'protocol_error', detail: reason });
      },
    });
  }

  private onMessage(kind: number, payload: Buffer): void {
    switch (kind) {
      case AudioSocketKind.Slin8k:
      case AudioSocketKind.Slin16k:
        if (kind !== this.kind) {
          this.deliverWarning(new Error(`AudioSocket: audio kind 0x${kind.toString(16)} on a ${this.sampleRate} Hz leg`));
          return;
        }
        this.assembler.push(payload, (frame) => this.deliverFrame(this.codec.decode(frame, this.pcmIn)));
        return;
      case AudioSocketKind.Dtmf: {
        const digit = payload.toString('ascii');
        if (/^[0-9A-D*#]$/.test(digit)) {
          this.lastInBandDtmf = { digit, at: performance.now() };
          this.deliverDtmf(digit);
        }
        else this.deliverWarning(new Error(`AudioSocket: DTMF payload '${digit}'`));
        return;
      }
      case AudioSocketKind.Hangup:
        this.gone({ code: 'caller_hangup', detail: 'AudioSocket hangup message' });
        return;
      case AudioSocketKind.Error:
        this.deliverWarning(new Error(`AudioSocket error message (${payload.length ? `code ${payload[0]}` : 'no code'})`));
        return;
      case AudioSocketKind.Uuid:
        this.deliverWarning(new Error('AudioSocket: a second UUID message'));
        return;
      default:
        this.deliverWarning(new Error(`AudioSocket: unexpected audio kind 0x${kind.toString(16)}`));
    }
  }

  private gone(reason: LegCloseReason): void {
    this.wireClosed(reason);
  }
}
