import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { BaseAudioLeg, FrameAssembler, type FrameCodec, type LegCloseReason, type SampleRate, createCodec } from '../../../media/index.ts';
import type { EslEvent } from '../esl/esl-message.ts';
import type { FreeswitchCall } from '../freeswitch-call.ts';
import type { StreamWireFormat } from './stream-wire.ts';

export interface StreamLegOptions {
  call: FreeswitchCall;
  wire: StreamWireFormat;
  ws: WebSocket;
  sampleRate: SampleRate;
  /** Size of the first audio chunk of a prompt: small, so the first words leave early. */
  firstChunkMs: number;
  /** Size of the following chunks. */
  chunkMs: number;
  maxQueuedMs?: number;
  log: Logger;
  /** Called once the leg is closed and the stream stopped. */
  onClosed: () => void;
}

/** A partial chunk waits this long for more audio from the same prompt before it is sent. */
const COALESCE_MS = 15;
/** How long a closed stream waits for the hangup event that usually follows it. */
const HANGUP_GRACE_MS = 500;

/**
 * mod_audio_stream / mod_audio_fork leg. Caller audio arrives as binary L16 frames (bursty, or
 * several frames per message; re-cut to exact 20 ms). Bot audio cannot go back as binary frames,
 * so it leaves eagerly as JSON chunks (`streamAudio` / `playAudio`, see StreamWireFormat); FS
 * writes each to a file and announces it, and we `uuid_broadcast` it. The base class's pacer
 * still runs, as a model of FS's real-time playout: it drives `played`, marks and queuedMs, and
 * its writeFrame has nothing left to do.
 */
export class StreamLeg extends BaseAudioLeg {
  /** performance.now() when the first audio chunk left (first bot audio on the wire). */
  firstChunkSentAt: number | undefined;
  chunksSent = 0;
  private readonly call: FreeswitchCall;
  private readonly ws: WebSocket;
  private readonly codec: FrameCodec = createCodec('l16le');
  private readonly assembler: FrameAssembler;
  private readonly callerFrame: Int16Array;
  private pending: Int16Array;
  private pendingLength = 0;
  private coalesceTimer: NodeJS.Timeout | undefined;
  /** Chunks sent in the current prompt (reset when the bot falls silent or is interrupted). */
  private chunksThisPrompt = 0;
  /** Bumped on barge-in: announced files of an older generation are never broadcast. */
  private generation = 0;
  private readonly inFlight: number[] = [];
  private readonly onChannelEvent = (event: EslEvent): void => this.channelEvent(event);
  private readonly onEnded = (): void => this.wireClosed({ code: 'caller_hangup' });
  private readonly onDtmf = (digit: string): void => this.deliverDtmf(digit);
  private readonly opts: StreamLegOptions;
  private readonly wire: StreamWireFormat;

  constructor(opts: StreamLegOptions) {
    super({ callId: opts.call.uuid, sampleRate: opts.sampleRate, log: opts.log, maxQueuedMs: opts.maxQueuedMs });
    this.opts = opts;
    this.wire = opts.wire;
    this.call = opts.call;
    this.ws = opts.ws;
    this.assembler = new FrameAssembler(this.frameSamples * 2);
    this.callerFrame = new Int16Array(this.frameSamples);
    this.pending = new Int16Array(opts.sampleRate * 2);
    this.ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    this.ws.on('close', (code: number) => this.onSocketClosed(code));
    this.ws.on('error', (err: Error) => this.deliverWarning(err));
    this.call.channel.on('event', this.onChannelEvent);
    this.call.channel.on('ended', this.onEnded);
    this.call.on('dtmf', this.onDtmf);
  }

  override play(pcm: Int16Array): void {
    if (this.closed || pcm.length === 0) return;
    if (this.queuedMs === 0 && this.pendingLength === 0) this.chunksThisPrompt = 0;
    super.play(pcm);
    this.appendPending(pcm);
    this.pump();
  }

  protected writeFrame(): void {
    // The audio already left as a JSON chunk; the pacer only models FS's playout.
  }

  protected flushWire(): void {
    const hadAudio = this.pendingLength > 0 || this.inFlight.length > 0 || this.chunksSent > 0;
    this.pendingLength = 0;
    clearTimeout(this.coalesceTimer);
    this.coalesceTimer = undefined;
    this.generation++;
    this.chunksThisPrompt = 0;
    if (!hadAudio || this.call.ended) return;
    // mod_audio_fork's killAudio breaks the file playing now from inside FS; it is no substitute
    // for uuid_break, whose `all` also drops the broadcasts queued behind that file.
    if (this.wire.bargeInMessage !== undefined && this.ws.readyState === this.ws.OPEN) this.ws.send(this.wire.bargeInMessage);
    this.call.commands.api(`uuid_break ${this.call.uuid} all`).catch((err: Error) => this.deliverWarning(err));
  }

  protected async closeWire(reason: LegCloseReason): Promise<void> {
    clearTimeout(this.coalesceTimer);
    this.generation++;
    this.call.channel.off('event', this.onChannelEvent);
    try {
      if (!this.call.ended && reason.code !== 'transfer') {
        await this.call.commands.api(`uuid_break ${this.call.uuid} all`).catch(() => undefined);
      }
      await this.stopStream();
    } finally {
      this.detach();
    }
  }

  private async stopStream(): Promise<void> {
    const ws = this.ws;
    if (ws.readyState === ws.CLOSED) return;
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
    if (!this.call.ended) {
      // FS closes the socket itself on `stop`; bgapi keeps a slow stop from blocking other commands.
      this.call.commands.bgapi(`${this.wire.command} ${this.call.uuid} stop`, 5000).catch((err: Error) => this.log.debug({ err }, 'stream stop'));
    }
    if (await settlesWithin(closed, 2000)) return;
    // FS did not close it: do the close handshake ourselves, and then TCP, so FS never waits on us.
    ws.close(1000, 'callpilot closing');
    if (await settlesWithin(closed, 1000)) return;
    ws.terminate();
  }

  private onSocketClosed(code: number): void {
    if (this.closed || this.call.ended) {
      if (!this.closed) this.wireClosed({ code: 'caller_hangup' });
      this.detach();
      return;
    }
    // On hangup FS closes the stream before CHANNEL_HANGUP reaches us over ESL: wait a moment
    // so the leg closes as a hangup rather than a transport failure.
    const timer = setTimeout(() => {
      if (!this.closed) this.wireClosed({ code: this.call.ended ? 'caller_hangup' : 'transport_error', detail: `media WebSocket closed (${code})` });
      this.detach();
    }, HANGUP_GRACE_MS);
    timer.unref();
  }

  private detach(): void {
    this.call.channel.off('event', this.onChannelEvent);
    this.call.channel.off('ended', this.onEnded);
    this.call.off('dtmf', this.onDtmf);
    this.opts.onClosed();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (!isBinary) {
      // The metadata frame (not guaranteed) or a send_text: nothing to act on.
      this.log.debug({ text: data.toString().slice(0, 200) }, `${this.wire.module} text frame`);
      return;
    }
    const chunk = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    this.assembler.push(chunk, (frame) => {
      this.codec.decode(frame, this.callerFrame);
      this.deliverFrame(this.callerFrame);
    });
  }

  private channelEvent(event: EslEvent): void {
    if (event.name !== 'CUSTOM' || event.subclass !== this.wire.playSubclass) return;
    const generation = this.inFlight.shift();
    let file: string | undefined;
    try {
      file = (JSON.parse(event.body ?? '{}') as { file?: string }).file;
    } catch {
      file = undefined;
    }
    if (!file || /\s/.test(file)) {
      this.deliverWarning(new Error(`${this.wire.playSubclass} without a usable file: ${(event.body ?? '').slice(0, 120)}`));
      return;
    }
    // A chunk sent before a barge-in is announced after it: it must stay silent.
    if (generation !== this.generation || this.closed) return;
    this.call.commands.api(`uuid_broadcast ${this.call.uuid} ${file} aleg`).catch((err: Error) => this.deliverWarning(err));
  }

  private appendPending(pcm: Int16Array): void {
    const needed = this.pendingLength + pcm.length;
    if (needed > this.pending.length) {
      let capacity = this.pending.length * 2;
      while (capacity < needed) capacity *= 2;
      const grown = new Int16Array(capacity);
      grown.set(this.pending.subarray(0, this.pendingLength));
      this.pending = grown;
    }
    this.pending.set(pcm, this.pendingLength);
    this.pendingLength = needed;
  }

  private pump(): void {
    const first = (this.opts.firstChunkMs * this.sampleRate) / 1000;
    const next = (this.opts.chunkMs * this.sampleRate) / 1000;
    while (this.pendingLength > 0) {
      const target = this.chunksThisPrompt === 0 ? first : next;
      if (this.pendingLength >= target) {
        this.sendChunk(target);
        continue;
      }
      // Short of a full chunk: TTS hands over whole sentences, so what is here now is likely all
      // for a while. Wait a moment for more, then send what there is.
      this.coalesceTimer ??= setTimeout(() => {
        this.coalesceTimer = undefined;
        if (this.pendingLength > 0) this.sendChunk(this.pendingLength);
        this.pump();
      }, COALESCE_MS);
      return;
    }
  }

  private sendChunk(samples: number): void {
    if (this.ws.readyState !== this.ws.OPEN) {
      this.pendingLength = 0;
      return;
    }
    const pcm = this.pending.subarray(0, samples);
    const audioData = this.codec.encode(pcm).toString('base64');
    this.pending.copyWithin(0, samples, this.pendingLength);
    this.pendingLength -= samples;
    this.inFlight.push(this.generation);
    this.ws.send(this.wire.audioMessage(audioData, this.sampleRate));
    this.firstChunkSentAt ??= performance.now();
    this.chunksSent++;
    this.chunksThisPrompt++;
  }
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  const result = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return result;
}
