import type { Logger } from 'pino';
import type { RawData, WebSocket } from 'ws';
import { BaseAudioLeg, type CallerClockOptions, FrameAssembler, type FrameCodec, type LegCloseReason, type SampleRate, createCodec } from '../../../media/index.ts';
import { EslDisconnectedError, type EslEvent } from '../esl/esl-message.ts';
import type { FreeswitchCall } from '../freeswitch-call.ts';
import {
  ANNOUNCE_WAIT_MS,
  type FileNaming,
  JOIN_SAFETY_MS,
  PLAYLIST_ENTRIES,
  type PlayoutCalibration,
  START_TO_WIRE_MS,
  EventClock,
  chunkIndexOf,
  fileNamingFrom,
  leadInSkipEntry,
  playedPrefix,
  playlistPath,
  predictedFile,
} from './playout.ts';
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
  /** List a never-existing first entry so `file_string` skips its 250 ms lead-in (see playout.ts). */
  skipLeadIn?: boolean;
  /** Shared by the adapter's legs; created per leg when omitted. */
  calibration?: PlayoutCalibration;
  maxQueuedMs?: number;
  /** Silence fill and dead-media timeout when caller audio stops (media.callerGapMs / media.deadMediaMs). */
  clock?: CallerClockOptions;
  /** FreeSWITCH's event stamps on our clock, learned from every leg's events; created per leg when omitted. */
  eventClock?: EventClock;
  log: Logger;
  /** Called once the leg is closed and the stream stopped. */
  onClosed: () => void;
}

/** A partial chunk waits this long for more audio from the same prompt before it is sent. */
const COALESCE_MS = 15;
/** How long a closed stream waits for the hangup event that usually follows it. */
const HANGUP_GRACE_MS = 500;
/** After `uuid_break all`, new audio waits at most this long for the broken playlist's PLAYBACK_STOP. */
const BREAK_SETTLE_MS = 300;
/** Announcement waits (of ANNOUNCE_WAIT_MS) before unpredictable names are given up on. */
const ANNOUNCE_GIVE_UP = 5;
/** Playlists in a row whose audio is sent again before the leg gives up on it. */
const MAX_RESENDS = 2;
/** Past its expected end, a playlist whose PLAYBACK_STOP may have been lost in an ESL drop is looked into. */
const STOP_OVERDUE_MS = 1500;

interface Chunk {
  /** The leg's index of this streamAudio/playAudio frame: FreeSWITCH's `n` minus naming.offset. */
  index: number;
  /** The audio, kept until FreeSWITCH has played it (a lost playlist is sent again). */
  pcm: Int16Array;
  /** Marks that fall at the end of this chunk. */
  marks: string[];
  announced: boolean;
  /** The file FreeSWITCH announced for it. */
  file?: string;
}

interface Playlist {
  id: number;
  /** Index of the first real entry; the list covers first .. first + PLAYLIST_ENTRIES - 1. */
  first: number;
  chunks: Chunk[];
  /** The `file_string://...` path, set once broadcast. */
  path?: string;
  broadcastAt?: number;
  /** Waiting for the ESL connection to come back before it can be broadcast. */
  awaitingEsl: boolean;
  announceTimer?: NodeJS.Timeout;
  startedAt?: number;
  /** Chunks handed to the pacer (the model of what FreeSWITCH has put on the wire). */
  fed: number;
  feeding: boolean;
  feedTimer?: NodeJS.Timeout;
  /** Cut by a barge-in: its audio is dropped, its events only release the hold. */
  broken: boolean;
  stopped: boolean;
  /** An ESL reconnect happened after it was broadcast: its START/STOP may be lost. */
  eventsMayBeLost: boolean;
  watchdog?: NodeJS.Timeout;
}

/**
 * mod_audio_stream / mod_audio_fork leg. Caller audio arrives as binary L16 frames (bursty, or several frames
 * per message; re-cut to exact 20 ms). Bot audio goes back as JSON chunks (`streamAudio` / `playAudio`) that
 * FreeSWITCH writes to `<temp>/<uuid>_<n>.tmp.r8|r16`.
 *
 * Playback: every `uuid_broadcast` boundary is a 160 ms hole on the wire (capture i), so a prompt is played
 * by ONE `file_string://` broadcast listing its chunks by their predicted file names, including chunks not
 * written yet: file_string opens entries only when it reaches them (capture i2), so a sentence synthesized
 * while the first one plays joins the same playlist without a gap. Entries past the end of the prompt do not
 * exist and are skipped, which ends the playlist.
 *
 * Playout truth: the base class's pacer emits `played` frames and fires marks, but it is only fed a chunk once
 * FreeSWITCH's PLAYBACK_START for its playlist arrived (plus the lead-in), so latency, heard audio and marks
 * follow FreeSWITCH's own clock. PLAYBACK_STOP `done` with `playback_ms` says how much really played; what
 * did not (a chunk written too late, a deleted file) is sent again. Files are matched by name, never by order.
 */
export class StreamLeg extends BaseAudioLeg {
  /** performance.now() when the first audio chunk left (first bot audio on the wire). */
  firstChunkSentAt: number | undefined;
  chunksSent = 0;
  /** Playlists broadcast (one per prompt unless a prompt outran its lookahead or the TTS fell behind). */
  playlistsBroadcast = 0;
  private readonly call: FreeswitchCall;
  private readonly ws: WebSocket;
  private readonly codec: FrameCodec = createCodec('l16le');
  private readonly assembler: FrameAssembler;
  private readonly callerFrame: Int16Array;
  private pending: Int16Array;
  private pendingLength = 0;
  /** Marks inside `pending`, as sample offsets from its start. */
  private pendingMarks: { at: number; name: string }[] = [];
  private coalesceTimer: NodeJS.Timeout | undefined;
  /** Chunks sent in the current prompt (reset when the bot falls silent or is interrupted). */
  private chunksThisPrompt = 0;
  private nextIndex = 0;
  private naming: FileNaming | undefined;
  private readonly chunks = new Map<number, Chunk>();
  private current: Playlist | undefined;
  /** A playlist that must report PLAYBACK_STOP before new audio may go (its unused entries could be filled). */
  private blocking: Playlist | undefined;
  private blockTimer: NodeJS.Timeout | undefined;
  private readonly playlists = new Map<string, Playlist>();
  private playlistSeq = 0;
  /** FreeSWITCH's event stamps on our clock. */
  private readonly eventClock: EventClock;
  /** How late the playlist being played was fed to the pacer, after FreeSWITCH started playing it. */
  private lagMs = 0;
  /** Playlists in a row that had to be sent again; reset by a PLAYBACK_START. */
  private failedPlaylists = 0;
  private internalFlush = false;
  private readonly playedOutWaiters: (() => void)[] = [];
  /** Marks handed to the pacer and not fired yet, with the chunk they follow. */
  private readonly pacerMarks = new Map<string, Chunk>();
  private readonly calibration: PlayoutCalibration;
  private readonly onChannelEvent = (event: EslEvent): void => this.channelEvent(event);
  private readonly onEnded = (): void => this.wireClosed({ code: 'caller_hangup' });
  private readonly onDtmf = (digit: string): void => this.deliverDtmf(digit);
  private readonly onResync = (): void => this.resync();
  private readonly opts: StreamLegOptions;
  private readonly wire: StreamWireFormat;

  constructor(opts: StreamLegOptions) {
    super({ callId: opts.call.uuid, sampleRate: opts.sampleRate, log: opts.log, maxQueuedMs: opts.maxQueuedMs, clock: opts.clock });
    this.opts = opts;
    this.wire = opts.wire;
    this.call = opts.call;
    this.ws = opts.ws;
    this.calibration = opts.calibration ?? { leadInMs: opts.skipLeadIn === false ? 250 : 0 };
    this.eventClock = opts.eventClock ?? new EventClock();
    this.assembler = new FrameAssembler(this.frameSamples * 2);
    this.callerFrame = new Int16Array(this.frameSamples);
    this.pending = new Int16Array(opts.sampleRate * 2);
    this.ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    this.ws.on('close', (code: number) => this.onSocketClosed(code));
    this.ws.on('error', (err: Error) => this.deliverWarning(err));
    this.call.channel.on('event', this.onChannelEvent);
    this.call.channel.on('ended', this.onEnded);
    this.call.channel.on('resync', this.onResync);
    this.call.on('dtmf', this.onDtmf);
  }

  /** Bot audio accepted and not yet heard by the caller (FreeSWITCH's playout, not what was sent). */
  override get queuedMs(): number {
    let samples = this.pendingLength;
    for (const playlist of this.openPlaylists()) for (let i = playlist.fed; i < playlist.chunks.length; i++) samples += playlist.chunks[i].pcm.length;
    return super.queuedMs + (samples * 1000) / this.sampleRate;
  }

  /** How far the `played` frames trail FreeSWITCH's own playout of the current playlist (its events read late). */
  get playoutLagMs(): number {
    return this.lagMs;
  }

  override play(pcm: Int16Array): void {
    if (this.closed || pcm.length === 0) return;
    if (this.isIdle()) this.chunksThisPrompt = 0;
    this.appendPending(pcm);
    this.pump();
  }

  override mark(name: string): void {
    if (this.closed) return;
    if (this.pendingLength > 0) {
      this.pendingMarks.push({ at: this.pendingLength, name });
      return;
    }
    // Everything before the mark has left as chunks: it belongs after the last of them.
    const last = this.lastUnplayedChunk();
    if (!last) {
      super.mark(name);
      return;
    }
    const playlist = this.playlistOf(last);
    if (playlist && playlist.feeding && playlist.chunks.indexOf(last) < playlist.fed) this.pacerMark(last, name);
    else last.marks.push(name);
  }

  protected override markReached(name: string): void {
    this.pacerMarks.delete(name);
    super.markReached(name);
  }

  override flush(): number {
    if (this.closed) return 0;
    const unheardMs = this.queuedMs - super.queuedMs;
    return super.flush() + unheardMs;
  }

  /**
   * Resolves once FreeSWITCH has played out everything handed to the leg (its last playlist reported
   * PLAYBACK_STOP), or after `timeoutMs`. A hangup or transfer waits for this so the last words are heard.
   */
  whenPlayedOut(timeoutMs: number): Promise<void> {
    if (this.playedOut()) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      timer.unref();
      const waiters = this.playedOutWaiters;
      function done(): void {
        clearTimeout(timer);
        const i = waiters.indexOf(done);
        if (i >= 0) waiters.splice(i, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  protected writeFrame(): void {
    // The audio already left as a JSON chunk; the pacer models FreeSWITCH's playout from PLAYBACK_START on.
  }

  protected flushWire(): void {
    if (this.internalFlush) return;
    this.pendingLength = 0;
    this.pendingMarks = [];
    clearTimeout(this.coalesceTimer);
    this.coalesceTimer = undefined;
    this.chunksThisPrompt = 0;
    let mustBreak = false;
    for (const playlist of this.openPlaylists()) {
      playlist.broken = true;
      clearTimeout(playlist.announceTimer);
      clearTimeout(playlist.feedTimer);
      if (playlist.path !== undefined && !playlist.awaitingEsl) {
        mustBreak = true;
        // Until FreeSWITCH confirms the break, this playlist could still read entries new chunks would fill.
        this.block(playlist, BREAK_SETTLE_MS);
      } else {
        this.retire(playlist);
      }
    }
    this.current = undefined;
    if (!mustBreak || this.call.ended) {
      this.notifyIfPlayedOut();
      return;
    }
    // mod_audio_fork's killAudio breaks the file playing now from inside FS; it is no substitute
    // for uuid_break, whose `all` also drops the broadcasts queued behind that file.
    if (this.wire.bargeInMessage !== undefined && this.ws.readyState === this.ws.OPEN) this.ws.send(this.wire.bargeInMessage);
    this.call.commands.api(`uuid_break ${this.call.uuid} all`).catch((err: Error) => this.deliverWarning(err));
  }

  protected async closeWire(reason: LegCloseReason): Promise<void> {
    clearTimeout(this.coalesceTimer);
    clearTimeout(this.blockTimer);
    for (const playlist of this.playlists.values()) this.clearTimers(playlist);
    this.call.channel.off('event', this.onChannelEvent);
    this.wakePlayedOutWaiters();
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
      if (!this.closed) {
        const lost = this.call.pbxLost;
        if (this.call.ended) this.wireClosed({ code: 'caller_hangup' });
        else if (lost !== undefined && code === 1000) {
          // FreeSWITCH closed the stream itself (it does on hangup): alive, the hangup event was lost.
          this.wireClosed({ code: 'caller_hangup', detail: `media WebSocket closed (1000) while ${lost}` });
        } else if (lost !== undefined) {
          // Cut without a close handshake while ESL is down too: FreeSWITCH itself is gone.
          this.wireClosed({ code: 'pbx_gone', detail: `media WebSocket closed (${code}) while ${lost}` });
          this.call.channel.emit('mediaGone');
        }
        else this.wireClosed({ code: 'transport_error', detail: `media WebSocket closed (${code})` });
      }
      this.detach();
    }, HANGUP_GRACE_MS);
    timer.unref();
  }

  private detach(): void {
    clearTimeout(this.blockTimer);
    for (const playlist of this.playlists.values()) this.clearTimers(playlist);
    this.call.channel.off('event', this.onChannelEvent);
    this.call.channel.off('ended', this.onEnded);
    this.call.channel.off('resync', this.onResync);
    this.call.off('dtmf', this.onDtmf);
    this.wakePlayedOutWaiters();
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

  // ---- FreeSWITCH's events --------------------------------------------------------------------------------------

  private channelEvent(event: EslEvent): void {
    if (this.closed) return;
    this.eventClock.observe(event);
    if (event.name === 'CUSTOM' && event.subclass === this.wire.playSubclass) this.onAnnounce(event);
    else if (event.name === 'PLAYBACK_START') this.onPlaybackStart(event);
    else if (event.name === 'PLAYBACK_STOP') this.onPlaybackStop(event);
    else if (event.name === 'CHANNEL_EXECUTE_COMPLETE' && event.headers.Application === 'playback') this.onPlaybackComplete(event);
  }

  /** The module wrote a chunk's file. Identified by its name, whatever order the announcements come in. */
  private onAnnounce(event: EslEvent): void {
    let file: string | undefined;
    try {
      file = (JSON.parse(event.body ?? '{}') as { file?: string }).file;
    } catch {
      file = undefined;
    }
    if (!file || /[\s!]/.test(file)) {
      this.deliverWarning(new Error(`${this.wire.playSubclass} without a usable file: ${(event.body ?? '').slice(0, 120)}`));
      return;
    }
    if (this.wire.fileNumbering === 'global') {
      // One counter for all calls: the name says nothing about which of our frames it holds, but the module
      // files one call's frames in the order they came.
      const index = this.lowestUnannounced();
      const chunk = index === undefined ? undefined : this.chunks.get(index);
      if (!chunk) return;
      this.naming ??= fileNamingFrom(file, 0);
      chunk.announced = true;
      chunk.file = file;
      const playlist = this.playlistOf(chunk);
      if (playlist && playlist.path === undefined && !playlist.broken && !playlist.awaitingEsl && playlist.chunks.every((c) => c.announced)) this.broadcast(playlist);
      return;
    }
    if (!this.naming) {
      // The first announcement of the stream session. n counts this session's frames from 0, as our index
      // does, so a frame we sent is the one it names, even one already given up on and sent again (its late
      // announcement must not name the new copy: the playlist would list both). Otherwise the lowest index not
      // yet announced is the one it holds.
      const m = /_(\d+)\.tmp\.[a-z0-9]+$/.exec(file);
      const n = m ? Number(m[1]) : undefined;
      const index = n !== undefined && n < this.nextIndex ? n : this.lowestUnannounced();
      if (index === undefined) return;
      this.naming = fileNamingFrom(file, index);
      if (!this.naming) {
        this.deliverWarning(new Error(`${this.wire.playSubclass} file name not understood: ${file}`));
        return;
      }
    }
    const index = chunkIndexOf(this.naming, file);
    const chunk = index === undefined ? undefined : this.chunks.get(index);
    if (!chunk) return;
    chunk.announced = true;
    chunk.file = file;
    const playlist = this.playlistOf(chunk);
    if (playlist && playlist.path === undefined && !playlist.broken && playlist.chunks[0] === chunk) this.broadcast(playlist);
  }

  private onPlaybackStart(event: EslEvent): void {
    const playlist = this.playlists.get(event.headers['Playback-File-Path'] ?? '');
    if (!playlist || playlist.startedAt !== undefined) return;
    const now = performance.now();
    // When FreeSWITCH started it, by its own stamp: the event may be read well after (a loaded host).
    // Never before the broadcast was sent, never after it was read (a FreeSWITCH clock stepped meanwhile).
    playlist.startedAt = Math.min(now, Math.max(playlist.broadcastAt ?? 0, this.eventClock.when(event) ?? now));
    if (playlist.broken || playlist.stopped) return;
    this.failedPlaylists = 0;
    const lead = this.calibration.leadInMs + START_TO_WIRE_MS;
    playlist.feedTimer = setTimeout(() => this.feed(playlist), Math.max(0, playlist.startedAt + lead - now));
    this.armWatchdog(playlist);
  }

  private onPlaybackStop(event: EslEvent): void {
    const playlist = this.playlists.get(event.headers['Playback-File-Path'] ?? '');
    if (!playlist || playlist.stopped) return;
    // After CHANNEL_HANGUP, `done` does not mean played out (capture i3): the leg is closing anyway.
    if (this.call.ended) return;
    if (playlist.broken || event.headers['Playback-Status'] !== 'done') {
      this.retire(playlist);
      return;
    }
    const playbackMs = Number(event.headers.variable_playback_ms);
    this.finishPlaylist(playlist, Number.isFinite(playbackMs) && playlist.startedAt !== undefined ? playbackMs : undefined);
  }

  /** A playback that never started: `FILE NOT FOUND` (files deleted, stream restarted) or a refused path. */
  private onPlaybackComplete(event: EslEvent): void {
    const playlist = this.playlists.get(event.headers['Application-Data'] ?? '');
    if (!playlist || playlist.stopped || playlist.startedAt !== undefined) return;
    if (this.call.ended) return;
    this.log.warn({ response: event.headers['Application-Response'], playlist: playlist.id }, 'playlist did not play; sending its audio again');
    if (!playlist.broken) this.resend(playlist.chunks);
    this.retire(playlist);
  }

  /** The ESL connection came back (re-subscribed): broadcasts that could not be sent go now. */
  private resync(): void {
    if (this.closed) return;
    for (const playlist of this.openPlaylists()) {
      if (playlist.awaitingEsl) {
        playlist.awaitingEsl = false;
        if (this.naming) {
          this.broadcast(playlist);
        } else {
          this.failedPlaylists--;
          this.resend(playlist.chunks);
          this.retire(playlist);
        }
      } else if (playlist.path !== undefined) {
        playlist.eventsMayBeLost = true;
        this.armWatchdog(playlist);
      } else if (!playlist.broken && !playlist.chunks.every((c) => c.announced)) {
        // Still waiting for announcements that went out while nobody listened.
        clearTimeout(playlist.announceTimer);
        if (this.naming && this.wire.fileNumbering === 'per-stream') {
          this.broadcast(playlist);
        } else {
          this.failedPlaylists--;
          this.resend(playlist.chunks);
          this.retire(playlist);
        }
      }
    }
  }

  // ---- sending --------------------------------------------------------------------------------------------------

  private pump(): void {
    const first = (this.opts.firstChunkMs * this.sampleRate) / 1000;
    const next = (this.opts.chunkMs * this.sampleRate) / 1000;
    while (this.pendingLength > 0) {
      if (this.blocking || this.ws.readyState !== this.ws.OPEN || !this.maySendNext()) return;
      const target = this.chunksThisPrompt === 0 ? first : next;
      // A chunk never spans a mark, so a mark is always at the end of the chunk it follows.
      const markAt = this.pendingMarks.length > 0 ? this.pendingMarks[0].at : Number.POSITIVE_INFINITY;
      if (markAt <= target && markAt <= this.pendingLength) {
        this.sendChunk(markAt);
        continue;
      }
      if (this.pendingLength >= target) {
        this.sendChunk(target);
        continue;
      }
      // Short of a full chunk: TTS hands over whole sentences, so what is here now is likely all
      // for a while. Wait a moment for more, then send what there is.
      this.coalesceTimer ??= setTimeout(() => {
        this.coalesceTimer = undefined;
        if (this.pendingLength > 0 && !this.blocking && this.ws.readyState === this.ws.OPEN && this.maySendNext()) this.sendChunk(this.pendingLength);
        this.pump();
      }, COALESCE_MS);
      return;
    }
    // The tail of a mark list with no audio after it (mark() after all audio was chunked is handled there).
  }

  /** Whether the next chunk may go now; if not, new audio waits for the running playlist to end. */
  private maySendNext(): boolean {
    const running = this.current;
    if (!running || this.mayJoin(running, this.nextIndex)) return true;
    // FreeSWITCH would reach that entry before the file exists (the TTS fell behind) or the list is full:
    // the chunk starts a new playlist once this one has ended, never inside it.
    this.block(running, undefined);
    return false;
  }

  private sendChunk(samples: number): void {
    const pcm = this.pending.slice(0, samples);
    this.pending.copyWithin(0, samples, this.pendingLength);
    this.pendingLength -= samples;
    const marks: string[] = [];
    while (this.pendingMarks.length > 0 && this.pendingMarks[0].at <= samples) marks.push((this.pendingMarks.shift() as { name: string }).name);
    for (const m of this.pendingMarks) m.at -= samples;
    this.sendAudio({ index: -1, pcm, marks, announced: false });
    this.chunksThisPrompt++;
  }

  /** One chunk out as a streamAudio/playAudio frame, into the running playlist or a new one. */
  private sendAudio(chunk: Chunk): void {
    chunk.index = this.nextIndex++;
    chunk.announced = false;
    this.chunks.set(chunk.index, chunk);
    const audioData = this.codec.encode(chunk.pcm).toString('base64');
    this.ws.send(this.wire.audioMessage(audioData, this.sampleRate));
    this.firstChunkSentAt ??= performance.now();
    this.chunksSent++;
    const running = this.current;
    if (running) {
      running.chunks.push(chunk);
      if (running.feeding) this.feedChunk(chunk);
      return;
    }
    this.startPlaylist(chunk);
  }

  /** Whether FreeSWITCH will find `index` written when it reaches it in `playlist`. */
  private mayJoin(playlist: Playlist, index: number): boolean {
    if (playlist.broken || playlist.stopped || index >= playlist.first + PLAYLIST_ENTRIES) return false;
    // Files of a global counter cannot be named before they are announced: the list is closed once sent.
    // It closes at its first announcement, so a TTS that keeps producing cannot hold its broadcast back.
    if (this.wire.fileNumbering === 'global' && (playlist.path !== undefined || playlist.awaitingEsl || playlist.chunks.some((c) => c.announced))) return false;
    if (!playlist.feeding) return true;
    return super.queuedMs >= JOIN_SAFETY_MS;
  }

  private startPlaylist(chunk: Chunk): void {
    const playlist: Playlist = {
      id: ++this.playlistSeq,
      first: chunk.index,
      chunks: [chunk],
      awaitingEsl: false,
      fed: 0,
      feeding: false,
      broken: false,
      stopped: false,
      eventsMayBeLost: false,
    };
    this.current = playlist;
    if (this.naming && chunk.announced) {
      this.broadcast(playlist);
      return;
    }
    // The first entry must exist when FreeSWITCH opens the list (~110 ms after the broadcast): wait for its
    // announcement, or, if that was lost (ESL drop), go by the predicted name.
    this.awaitAnnouncement(playlist, 0);
  }

  private awaitAnnouncement(playlist: Playlist, waited: number): void {
    playlist.announceTimer = setTimeout(() => {
      if (playlist.path !== undefined || playlist.broken || playlist.stopped || this.closed) return;
      const predictable = this.naming !== undefined && this.wire.fileNumbering === 'per-stream';
      const someNamed = playlist.chunks.some((c) => c.file !== undefined);
      // Slow announcements (a loaded FreeSWITCH) are waited for a while; names that can be predicted are not.
      if (predictable || (waited >= ANNOUNCE_GIVE_UP && someNamed)) this.broadcast(playlist);
      else if (waited < ANNOUNCE_GIVE_UP) this.awaitAnnouncement(playlist, waited + 1);
      else if (this.call.pbxLost !== undefined) {
        this.log.warn({ playlist: playlist.id }, 'no file announcement received; waiting for the ESL connection');
        playlist.awaitingEsl = true;
      } else {
        // The connection is up but the announcements are gone (lost in a drop that is over): send again.
        this.log.warn({ playlist: playlist.id }, 'no file announcement received; sending the audio again');
        this.resend(playlist.chunks);
        this.retire(playlist);
      }
    }, ANNOUNCE_WAIT_MS);
  }

  private broadcast(playlist: Playlist): void {
    clearTimeout(playlist.announceTimer);
    const naming = this.naming;
    if (!naming) {
      // Not a single announcement yet (an ESL drop ate them): nothing can be named until the connection is
      // back; then the audio is sent again, and announced this time.
      this.log.warn({ playlist: playlist.id }, 'no file announcement received; waiting for the ESL connection');
      playlist.awaitingEsl = true;
      return;
    }
    const entries: string[] = [];
    if (this.opts.skipLeadIn !== false) entries.push(leadInSkipEntry(naming));
    if (this.wire.fileNumbering === 'global') {
      const unnamed = playlist.chunks.filter((c) => c.file === undefined);
      if (unnamed.length > 0) {
        // Announcements lost (ESL drop): those chunks go again, as new frames, after this playlist.
        playlist.chunks = playlist.chunks.filter((c) => c.file !== undefined);
        this.resend(unnamed);
        if (playlist.chunks.length === 0) {
          this.retire(playlist);
          return;
        }
        this.block(playlist, undefined);
      }
      for (const chunk of playlist.chunks) entries.push(chunk.file as string);
    } else {
      for (let i = playlist.first; i < playlist.first + PLAYLIST_ENTRIES; i++) entries.push(predictedFile(naming, i));
    }
    const path = playlistPath(entries);
    playlist.path = path;
    this.playlists.set(path, playlist);
    playlist.broadcastAt = performance.now();
    this.playlistsBroadcast++;
    this.call.commands.api(`uuid_broadcast ${this.call.uuid} ${path} aleg`).then(
      (reply) => {
        if (!reply.startsWith('+OK')) this.playlistFailed(playlist, reply.trim());
      },
      (err: Error) => {
        if (err instanceof EslDisconnectedError && !this.call.ended) {
          // Re-sent on `resync`, once the connection is back and subscribed again.
          playlist.awaitingEsl = true;
          this.playlists.delete(path);
          playlist.path = undefined;
          return;
        }
        this.playlistFailed(playlist, err.message);
      },
    );
  }

  private playlistFailed(playlist: Playlist, why: string): void {
    if (this.closed || playlist.stopped) return;
    this.deliverWarning(new Error(`uuid_broadcast of playlist ${playlist.id} failed: ${why}`));
    this.retire(playlist);
    this.abandon(playlist.chunks);
  }

  // ---- playout ----------------------------------------------------------------------------------------------------

  /** PLAYBACK_START plus the lead-in: the playlist's audio is on the wire from now on. */
  private feed(playlist: Playlist): void {
    if (this.closed || playlist.broken || playlist.stopped) return;
    playlist.feeding = true;
    // Its first packet left at startedAt + lead; the pacer starts it now.
    if (playlist.startedAt !== undefined) {
      this.lagMs = Math.max(0, performance.now() - (playlist.startedAt + this.calibration.leadInMs + START_TO_WIRE_MS));
    }
    for (const chunk of playlist.chunks.slice(playlist.fed)) this.feedChunk(chunk);
  }

  private feedChunk(chunk: Chunk): void {
    const playlist = this.playlistOf(chunk);
    if (!playlist) return;
    playlist.fed = Math.max(playlist.fed, playlist.chunks.indexOf(chunk) + 1);
    super.play(chunk.pcm);
    for (const name of chunk.marks) this.pacerMark(chunk, name);
    chunk.marks = [];
  }

  /** A mark handed to the pacer; remembered with its chunk until it fires, in case the chunk is taken back. */
  private pacerMark(chunk: Chunk, name: string): void {
    this.pacerMarks.set(name, chunk);
    super.mark(name);
  }

  /** PLAYBACK_STOP `done`: what FreeSWITCH really played, the rest goes again. */
  private finishPlaylist(playlist: Playlist, playbackMs: number | undefined): void {
    clearTimeout(playlist.feedTimer);
    if (!playlist.feeding) this.feed(playlist);
    let played = playlist.chunks.length;
    if (playbackMs !== undefined) {
      const result = playedPrefix(
        playbackMs,
        playlist.chunks.map((c) => (c.pcm.length * 1000) / this.sampleRate),
        this.calibration.leadInMs,
      );
      if (result.leadInMs !== this.calibration.leadInMs) {
        this.log.info({ leadInMs: result.leadInMs }, 'FreeSWITCH playlist lead-in recalibrated from playback_ms');
        this.calibration.leadInMs = result.leadInMs;
      }
      played = result.played;
    }
    const unplayed = playlist.chunks.slice(played);
    if (unplayed.length > 0) {
      this.log.info({ playlist: playlist.id, unplayed: unplayed.length }, 'playlist ended before all its chunks: sending them again');
      this.retract(unplayed);
      this.resend(unplayed);
    }
    this.retire(playlist);
  }

  /** Take audio back out of the pacer: FreeSWITCH did not play it. Marks of what did play still fire. */
  private retract(unplayed: Chunk[]): void {
    const waiting = [...this.pacerMarks];
    this.pacerMarks.clear();
    this.internalFlush = true;
    try {
      super.flush();
    } finally {
      this.internalFlush = false;
    }
    const back = new Set(unplayed);
    for (const [name, chunk] of waiting) {
      if (back.has(chunk)) chunk.marks.push(name);
      else this.emit('mark', name);
    }
  }

  /** Audio that will never be played (a broadcast refused, a chunk lost for good): its marks still fire. */
  private abandon(chunks: Chunk[]): void {
    for (const chunk of chunks) {
      for (const name of chunk.marks) this.emit('mark', name);
      chunk.marks = [];
    }
  }

  /**
   * Audio FreeSWITCH did not play goes back in front of the pending audio, to be sent as new frames (new file
   * names) into a new playlist. Call before retiring its playlist, which sends pending audio on.
   */
  private resend(chunks: Chunk[]): void {
    for (const chunk of chunks) this.chunks.delete(chunk.index);
    if (++this.failedPlaylists > MAX_RESENDS) {
      this.deliverWarning(new Error(`bot audio did not play after ${MAX_RESENDS} attempts; giving up on it`));
      this.abandon(chunks);
      return;
    }
    for (let i = chunks.length - 1; i >= 0; i--) this.requeue(chunks[i]);
  }

  /** Back in front of the pending audio, marks and all. */
  private requeue(chunk: Chunk): void {
    const audio = new Int16Array(chunk.pcm.length + this.pendingLength);
    audio.set(chunk.pcm, 0);
    audio.set(this.pending.subarray(0, this.pendingLength), chunk.pcm.length);
    for (const m of this.pendingMarks) m.at += chunk.pcm.length;
    this.pendingMarks.unshift(...chunk.marks.map((name) => ({ at: chunk.pcm.length, name })));
    if (audio.length > this.pending.length) this.pending = audio;
    else this.pending.set(audio);
    this.pendingLength = audio.length;
  }

  /** The playlist is over (or abandoned): it no longer holds anything back. */
  private retire(playlist: Playlist): void {
    playlist.stopped = true;
    this.clearTimers(playlist);
    for (const chunk of playlist.chunks) this.chunks.delete(chunk.index);
    if (this.current === playlist) this.current = undefined;
    if (this.blocking === playlist) {
      this.blocking = undefined;
      clearTimeout(this.blockTimer);
      this.blockTimer = undefined;
    }
    if (playlist.path !== undefined) {
      // Late events of it are still recognized (and ignored) for a while.
      const path = playlist.path;
      setTimeout(() => {
        if (this.playlists.get(path) === playlist) this.playlists.delete(path);
      }, 10_000).unref();
    }
    if (!this.closed) this.pump();
    this.notifyIfPlayedOut();
  }

  /** New audio waits for this playlist's end; `maxMs` bounds the wait when its end may never be reported. */
  private block(playlist: Playlist, maxMs: number | undefined): void {
    this.blocking = playlist;
    clearTimeout(this.blockTimer);
    this.blockTimer = undefined;
    if (maxMs !== undefined) {
      this.blockTimer = setTimeout(() => {
        if (this.blocking === playlist) this.retire(playlist);
      }, maxMs);
    }
  }

  /**
   * PLAYBACK_STOP may have been lost while the ESL connection was down. Past the playlist's expected end,
   * ask FreeSWITCH what it last played: if it was this playlist, it ran; otherwise its audio goes again.
   */
  private armWatchdog(playlist: Playlist): void {
    clearTimeout(playlist.watchdog);
    if (!playlist.eventsMayBeLost) return;
    const audioMs = playlist.chunks.reduce((n, c) => n + (c.pcm.length * 1000) / this.sampleRate, 0);
    const since = playlist.startedAt ?? playlist.broadcastAt ?? performance.now();
    const due = since + 150 + this.calibration.leadInMs + audioMs + STOP_OVERDUE_MS - performance.now();
    playlist.watchdog = setTimeout(() => void this.checkOverdue(playlist), Math.max(0, due));
  }

  private async checkOverdue(playlist: Playlist): Promise<void> {
    if (this.closed || playlist.stopped || playlist.broken) return;
    let last: string;
    try {
      last = (await this.call.commands.api(`uuid_getvar ${this.call.uuid} current_application_data`)).trim();
    } catch (err) {
      this.deliverWarning(err as Error);
      this.armWatchdog(playlist);
      return;
    }
    if (this.closed || playlist.stopped || playlist.broken) return;
    if (last === playlist.path) {
      // It ran (and may still be running: then its STOP is still to come and the check repeats).
      if (playlist.startedAt === undefined) {
        this.log.warn({ playlist: playlist.id }, 'playlist ran while the ESL connection was down; its timing is estimated');
        playlist.startedAt = performance.now();
        this.feed(playlist);
      }
      const audioMs = playlist.chunks.reduce((n, c) => n + (c.pcm.length * 1000) / this.sampleRate, 0);
      if (performance.now() - playlist.startedAt >= audioMs + this.calibration.leadInMs + STOP_OVERDUE_MS) this.finishPlaylist(playlist, undefined);
      else this.armWatchdog(playlist);
      return;
    }
    this.log.warn({ playlist: playlist.id }, 'playlist never ran (events lost with the ESL connection); sending its audio again');
    this.resend(playlist.chunks);
    this.retire(playlist);
  }

  // ---- bookkeeping ------------------------------------------------------------------------------------------------

  private openPlaylists(): Playlist[] {
    const open = new Set<Playlist>();
    if (this.current && !this.current.stopped) open.add(this.current);
    if (this.blocking && !this.blocking.stopped) open.add(this.blocking);
    for (const playlist of this.playlists.values()) if (!playlist.stopped) open.add(playlist);
    return [...open];
  }

  private playlistOf(chunk: Chunk): Playlist | undefined {
    for (const playlist of this.openPlaylists()) if (playlist.chunks.includes(chunk)) return playlist;
    return undefined;
  }

  private lastUnplayedChunk(): Chunk | undefined {
    let last: Chunk | undefined;
    for (const chunk of this.chunks.values()) if (!last || chunk.index > last.index) last = chunk;
    return last;
  }

  private lowestUnannounced(): number | undefined {
    let lowest: number | undefined;
    for (const chunk of this.chunks.values()) if (!chunk.announced && (lowest === undefined || chunk.index < lowest)) lowest = chunk.index;
    return lowest;
  }


  private clearTimers(playlist: Playlist): void {
    clearTimeout(playlist.announceTimer);
    clearTimeout(playlist.feedTimer);
    clearTimeout(playlist.watchdog);
  }

  private isIdle(): boolean {
    return this.pendingLength === 0 && this.openPlaylists().length === 0 && super.queuedMs === 0;
  }

  private playedOut(): boolean {
    return this.closed || (this.pendingLength === 0 && this.openPlaylists().length === 0);
  }

  private notifyIfPlayedOut(): void {
    if (this.playedOut()) this.wakePlayedOutWaiters();
  }

  private wakePlayedOutWaiters(): void {
    for (const wake of this.playedOutWaiters.slice()) wake();
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
