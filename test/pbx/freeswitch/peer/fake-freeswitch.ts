import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { AudioForkModule } from './audio-fork-module.ts';
import { AudioStreamClient, type StreamAudioData } from './audio-stream-client.ts';
import { seededRandom } from '../../../../bench/lib/stats.ts';
import {
  type CapturedFreeswitch,
  type FsEvent,
  type TimedEvent,
  capturedFreeswitch,
  frameEvent,
  frameReply,
  fsUrlEncode,
  renderEvent,
} from './templates.ts';

export type OriginateOutcome = 'answer' | 'busy' | 'unreachable' | 'no-answer';

/**
 * A callee that sends early media (capture j): optionally 180 first (CHANNEL_PROGRESS, ~500 ms), then 183 with
 * audio (CHANNEL_PROGRESS_MEDIA), then 480 (NO_USER_RESPONSE), 404 (UNALLOCATED_NUMBER) or 200 (answer).
 */
export interface EarlyCallee {
  ring?: boolean;
  /** 8 kHz PCM the callee sends in early media. */
  earlyAudio?: Int16Array;
  final: 480 | 404 | 'answer';
  answerAudio?: Int16Array;
}

export interface FakeFreeswitchOptions {
  password?: string;
  /** Multiplies the gaps between captured event groups (originate ringing, transfer tone...). */
  timeScale?: number;
  /** Seed of the read splitter, so a failing run can be replayed. */
  seed?: number;
  /** Where mod_audio_stream "writes" streamAudio files (never touched: files live in memory). */
  tempDir?: string;
  /** Simulate the connect-before-bug race: the metadata text frame is not sent. */
  dropMetadata?: boolean;
  /** How long `uuid_audio_stream stop` waits for the server to close TCP before giving up (FS: ~1 s to 30 s). */
  stopHangMs?: number;
  bursty?: boolean;
  /** Callers' phones send no RTP while silent (capture k), so mod_audio_stream sends no frames then. */
  callerSuppressesSilence?: boolean;
  /**
   * A loaded FreeSWITCH: each `mod_audio_stream::play` event fires this much after its file was written (not
   * captured: the captures show a few ms; the order and names stay as captured, only the event is late).
   */
  announceDelayMs?: number;
  /**
   * PLAYBACK_START reaches callpilot this much after FreeSWITCH stamped it and started playing (a loaded host:
   * FreeSWITCH's event thread or callpilot reading late). Not captured; the stamp stays the start.
   */
  playbackStartDelayMs?: number;
  /** `uuid_record start` is refused with the captured `-ERR Cannot locate session!` (a stand-in for any refusal). */
  recordStartFails?: boolean;
}

/** A stretch of bot audio on the RTP wire towards the caller (audio of one file, or lead-in silence). */
export interface WireSegment {
  /** performance.now() of its first packet. */
  at: number;
  ms: number;
  kind: 'audio' | 'silence';
  file?: string;
  samples?: Int16Array;
}

interface PlaybackRun {
  playback: Playback;
  entries: string[];
  index: number;
  leadMs: number;
  playedMs: number;
  segment: WireSegment | undefined;
  /** Media-clock time the next packet of this playback leaves at. */
  cursor: number;
}

/** One `uuid_broadcast` (a file or a whole `file_string://` list) as the caller heard it. */
export interface Playback {
  file: string;
  samples: Int16Array;
  startedAt?: number;
  endedAt?: number;
  status?: 'done' | 'break';
}

export interface FakeChannel {
  uuid: string;
  destination: string;
  answered: boolean;
  hungUp: boolean;
  hangupCause?: string;
  variables: Record<string, string>;
  stream?: AudioStreamClient;
  /** Which module's bug is streaming (mod_audio_fork's behaviour is doc-derived, see audio-fork-module.ts). */
  mediaModule?: 'audio_stream' | 'audio_fork';
  /** killAudio messages mod_audio_fork received. */
  killAudios?: number;
  bugAttached: boolean;
  streamStarts: string[];
  files: Map<string, Int16Array>;
  playbacks: Playback[];
  playQueue: Playback[];
  playing?: Playback;
  run?: PlaybackRun;
  playTimer?: NodeJS.Timeout;
  lastStopAt?: number;
  /** Bot audio as it left on RTP. */
  wire: WireSegment[];
  recording?: string;
  transferredTo?: string;
  /** Made by `originate` (outbound), not by the dialplan. */
  originated?: boolean;
  transferredContext?: string;
  /** The agent leg a transfer was bridged to. */
  bridgedTo?: string;
  /** Extra headers the events of this channel carry (dialplan `set` variables). */
  eventHeaders: Record<string, string>;
  ids: Map<string, string>;
  fileCount: number;
  outboundSession?: PeerSession;
  /** Outbound legs: what the far end has signalled so far (a media bug needs a read codec: early or answered). */
  signalling?: 'calling' | 'ringing' | 'early' | 'answered';
}

export interface FakeFreeswitchEvents {
  command: [command: string];
  channel: [channel: FakeChannel];
}

interface Subscription {
  format: 'json' | 'plain';
  all: boolean;
  names: Set<string>;
  subclasses: Set<string>;
}

/**
 * The peer's ESL password unless a test gives one. Not FreeSWITCH's shipped ClueCon: callpilot has no default
 * password, so every test configures this one (and the run-wide log check treats it as a secret).
 */
export const TEST_ESL_PASSWORD = 'esl-test-pw-6f3a9d';
const GOODBYE = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';
const MY_EVENTS = /^(CHANNEL_|DTMF$|TALK$|NOTALK$|DETECTED_SPEECH$)/;

/**
 * A fake FreeSWITCH 1.11.1 for tests: mod_event_socket (inbound and outbound `socket` mode) plus
 * mod_audio_stream's WebSocket client, and a doc-derived mod_audio_fork (audio-fork-module.ts). Replies, event bodies and event orderings are the captured
 * ones with ids templated; reads are cut at random byte positions the way FS's were.
 * Commands FS was never recorded answering are marked "not captured" where they are handled.
 */
export class FakeFreeswitch extends EventEmitter<FakeFreeswitchEvents> {
  readonly captured: CapturedFreeswitch = capturedFreeswitch();
  readonly channels = new Map<string, FakeChannel>();
  readonly commands: string[] = [];
  /** Every originate received: what was dialled and with which variables (duplicate-dial checks count these). */
  readonly originates: { dial: string; variables: Record<string, string> }[] = [];
  private readonly sessions = new Set<PeerSession>();
  private readonly server: Server;
  private readonly timers = new Set<NodeJS.Timeout>();
  private callee: (dial: string) => OriginateOutcome = () => 'answer';
  private earlyCallee: (dial: string) => EarlyCallee | undefined = () => undefined;
  /** Why FreeSWITCH crashed, when it did (tests assert callpilot never causes it). */
  crashedBy: string | undefined;
  private refuseUntil = 0;
  private random: () => number;
  readonly password: string;
  readonly timeScale: number;
  readonly audioFork: AudioForkModule;

  constructor(readonly options: FakeFreeswitchOptions = {}) {
    super();
    this.password = options.password ?? TEST_ESL_PASSWORD;
    this.timeScale = options.timeScale ?? 0.1;
    this.random = seededRandom(options.seed ?? 5);
    this.audioFork = new AudioForkModule(this, { tempDir: options.tempDir, bursty: options.bursty });
    this.server = createServer((socket) => this.accept(socket));
  }

  private accept(socket: Socket): void {
    if (performance.now() < this.refuseUntil) {
      socket.destroy();
      return;
    }
    const session = new PeerSession(this, socket, false);
    this.sessions.add(session);
    socket.on('close', () => this.sessions.delete(session));
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return address.port;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const channel of this.channels.values()) {
      clearTimeout(channel.playTimer);
      channel.stream?.destroy();
    }
    for (const session of this.sessions) session.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Callees that send early media when originated with ignore_early_media=false|consume. */
  setEarlyCallee(decide: (dial: string) => EarlyCallee | undefined): void {
    this.earlyCallee = decide;
  }

  /** Decide how originated calls end, by dial string. */
  setCallee(decide: (dial: string) => OriginateOutcome): void {
    this.callee = decide;
  }

  /**
   * FreeSWITCH dies (capture j0: the ESL socket closes, the process is gone): every ESL socket and media
   * WebSocket is cut without a close handshake, and nothing answers for `downMs`.
   */
  crash(downMs: number): void {
    this.refuseUntil = performance.now() + downMs;
    for (const session of this.sessions) session.socket.destroy();
    for (const channel of this.channels.values()) {
      clearTimeout(channel.playTimer);
      channel.stream?.destroy();
      channel.stream = undefined;
      channel.hungUp = true;
      channel.hangupCause = 'CRASH';
    }
  }

  /** Drop every inbound ESL connection without goodbye (FS restart, network cut), refusing new ones for a while. */
  dropEslConnections(refuseMs = 0): void {
    this.refuseUntil = performance.now() + refuseMs;
    for (const session of this.sessions) if (!session.outbound) session.socket.destroy();
  }

  /** Write raw bytes to every authenticated inbound ESL connection. */
  injectRaw(bytes: string | Buffer): void {
    for (const session of this.sessions) if (session.authed && !session.outbound) session.socket.write(bytes);
  }

  channel(uuid: string): FakeChannel {
    const channel = this.channels.get(uuid);
    if (!channel) throw new Error(`no channel ${uuid}`);
    return channel;
  }

  /** A SIP call into the dialplan extension that answers and parks (capture b's event sequence). */
  async placeInboundCall(opts: { destination?: string; callerId?: string; variables?: Record<string, string> } = {}): Promise<FakeChannel> {
    const uuid = randomUUID();
    const channel = this.newChannel(uuid, this.captured.inboundUuid, opts.destination ?? '100', opts.variables ?? {});
    if (opts.callerId) channel.eventHeaders['Caller-Caller-ID-Number'] = opts.callerId;
    await this.replay(channel, this.captured.inboundSetup);
    channel.answered = true;
    this.emit('channel', channel);
    return channel;
  }

  /** The caller hangs up (BYE): capture b's hangup sequence with the given cause. */
  async hangupFromCaller(uuid: string, cause = 'NORMAL_CLEARING'): Promise<void> {
    // The caller's BYE (capture h): CHANNEL_HANGUP carries the received BYE's `sip_term_*` and later events
    // `recv_bye`, where FreeSWITCH's own hangups have no `sip_term_*` and say `send_bye` (captures b, e).
    await this.hangup(this.channel(uuid), cause, 'recv_bye');
  }

  /** RFC 2833 digits, one DTMF event per digit at the end of the digit (capture d). */
  async sendDtmf(uuid: string, digits: string): Promise<void> {
    const channel = this.channel(uuid);
    const template = this.captured.event('d_dtmf.esl.jsonl', (e) => e['Event-Name'] === 'DTMF');
    const captureUuid = template['Unique-ID'];
    for (const digit of digits) {
      await this.sleep(100);
      this.broadcast(channel, renderEvent(template, new Map([[captureUuid, uuid]]), { ...channel.eventHeaders, 'DTMF-Digit': digit }));
    }
  }

  /** FS dials callpilot's outbound-socket server for a call into the `socket` extension (capture f). */
  async connectOutboundSocket(port: number, opts: { variables?: Record<string, string> } = {}): Promise<FakeChannel> {
    const uuid = randomUUID();
    const channel = this.newChannel(uuid, this.captured.outboundUuid, '101', opts.variables ?? {});
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const session = new PeerSession(this, socket, true);
    session.myEventsUuid = uuid;
    session.channelUuid = uuid;
    channel.outboundSession = session;
    this.sessions.add(session);
    socket.on('close', () => this.sessions.delete(session));
    this.emit('channel', channel);
    return channel;
  }

  // ---- internals used by PeerSession ----

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  nextRandom(): number {
    return this.random();
  }

  sessionsFor(): Iterable<PeerSession> {
    return this.sessions;
  }

  newChannel(uuid: string, captureUuid: string, destination: string, variables: Record<string, string>): FakeChannel {
    const eventHeaders: Record<string, string> = { 'Caller-Destination-Number': destination };
    for (const [name, value] of Object.entries(variables)) eventHeaders[`variable_${name}`] = value;
    const channel: FakeChannel = {
      uuid,
      destination,
      answered: false,
      hungUp: false,
      variables: { ...variables },
      bugAttached: false,
      streamStarts: [],
      files: new Map(),
      playbacks: [],
      playQueue: [],
      wire: [],
      eventHeaders,
      ids: new Map([[captureUuid, uuid]]),
      fileCount: 0,
    };
    this.channels.set(uuid, channel);
    return channel;
  }

  /** Replays captured events group by group (a group = one FS read), gaps scaled by timeScale. */
  async replay(channel: FakeChannel, events: TimedEvent[], overrides: (e: FsEvent) => Record<string, string | undefined> = () => ({})): Promise<void> {
    let last = events[0]?.t ?? 0;
    for (const { t, event } of events) {
      if (t > last) await this.sleep(Math.min(2000, (t - last) * this.timeScale));
      last = t;
      this.broadcast(channel, this.renderFor(channel, event, overrides(event)));
    }
  }

  /** A captured event re-issued for `channel`: whatever channel it was about becomes this one. */
  renderFor(channel: FakeChannel, template: FsEvent, overrides: Record<string, string | undefined> = {}): FsEvent {
    const ids = new Map(channel.ids);
    const captured = template['Unique-ID'];
    if (captured && captured !== channel.uuid) ids.set(captured, channel.uuid);
    // FreeSWITCH stamps each event when it creates it (microseconds since the epoch).
    return renderEvent(template, ids, { ...channel.eventHeaders, 'Event-Date-Timestamp': fsStamp(performance.now()), ...overrides });
  }

  broadcast(channel: FakeChannel | undefined, event: FsEvent): void {
    for (const session of this.sessions) session.offerEvent(event, channel);
  }

  channelEvent(channel: FakeChannel, file: string, match: (e: FsEvent) => boolean, overrides: Record<string, string | undefined> = {}): void {
    this.broadcast(channel, this.renderFor(channel, this.captured.event(file, match), overrides));
  }

  async hangup(channel: FakeChannel, cause: string, sipDisposition = 'send_bye'): Promise<void> {
    if (channel.hungUp) return;
    channel.hungUp = true;
    channel.hangupCause = cause;
    channel.playQueue.length = 0;
    clearTimeout(channel.playTimer);
    channel.playTimer = undefined;
    // The wire stops at once (i3b: no packet after the kill).
    if (channel.playing) this.cutWire(channel, performance.now());
    const sequence = this.captured.hangupSequence;
    const [first, ...rest] = sequence;
    const byCaller = sipDisposition.startsWith('recv_');
    const ending = (e: FsEvent): Record<string, string> => {
      const headers: Record<string, string> = { 'Hangup-Cause': cause };
      // Only the events that carry it in the capture (CHANNEL_CALLSTATE, CHANNEL_HANGUP_COMPLETE) get the disposition.
      if ('variable_sip_hangup_disposition' in e) headers.variable_sip_hangup_disposition = sipDisposition;
      if (byCaller && e['Event-Name'] === 'CHANNEL_HANGUP') {
        Object.assign(headers, { variable_sip_term_status: '200', variable_proto_specific_hangup_cause: 'sip:200', variable_sip_term_cause: '16' });
      }
      return headers;
    };
    this.broadcast(channel, this.renderFor(channel, first.event, ending(first.event)));
    // Then PLAYBACK_STOP says `done` although the file was cut (capture i3b).
    if (channel.playing) this.finishPlayback(channel, 'done', { 'Hangup-Cause': cause });
    if (channel.recording) {
      // Not captured (capture e stopped its recording first): the record bug closes with the channel.
      this.channelEvent(channel, 'e_record_transfer.esl.jsonl', (x) => x['Event-Name'] === 'RECORD_STOP', { 'Record-File-Path': channel.recording });
      channel.recording = undefined;
    }
    if (channel.bugAttached && channel.mediaModule === 'audio_fork') {
      this.audioFork.detach(channel);
    } else if (channel.stream) {
      // FS closes the stream with 1000 "Normal closure"; MEDIA_BUG_STOP follows CHANNEL_HANGUP, no disconnect event.
      const stream = channel.stream;
      channel.stream = undefined;
      await Promise.race([stream.close(), this.sleep(1000)]);
      channel.bugAttached = false;
      this.deleteStreamFiles(channel);
      this.channelEvent(channel, 'b2_audio_stream_edges.esl.jsonl', (e) => e['Event-Name'] === 'MEDIA_BUG_STOP', { 'Hangup-Cause': cause });
    }
    await this.replay(channel, rest, ending);
    const session = channel.outboundSession;
    if (session) session.afterHangup();
  }

  // ---- mod_audio_stream ----

  startAudioStream(channel: FakeChannel, url: string, rate: 8000 | 16000, metadata: string | undefined): void {
    channel.bugAttached = true;
    // n counts the streamAudio frames of this stream session from 0 (capture i4).
    channel.fileCount = 0;
    channel.streamStarts.push(url);
    this.channelEvent(channel, 'b_audio_stream.esl.jsonl', (e) => e['Event-Name'] === 'MEDIA_BUG_START');
    const client = new AudioStreamClient({ url, sampleRate: rate, metadata, dropMetadata: this.options.dropMetadata, bursty: this.options.bursty });
    client.suppressSilence = this.options.callerSuppressesSilence ?? false;
    channel.stream = client;
    const custom = (subclass: string, body: string): void =>
      this.channelEvent(channel, 'b2_audio_stream_edges.esl.jsonl', (e) => e['Event-Subclass'] === 'mod_audio_stream::connect', {
        'Event-Subclass': subclass,
        body,
      });
    client.on('connected', () => custom('mod_audio_stream::connect', '{"status":"connected"}'));
    client.on('refused', (err) => {
      if (channel.stream === client) channel.stream = undefined;
      const message = /ECONNREFUSED/.test(err.message) ? 'Connection refused (system error 111)' : err.message;
      custom('mod_audio_stream::error', JSON.stringify({ status: 'error', message: { code: 6, error: message } }));
      channel.bugAttached = false;
      this.channelEvent(channel, 'b_audio_stream.esl.jsonl', (e) => e['Event-Name'] === 'MEDIA_BUG_STOP');
    });
    client.on('serverClose', (code, reason) => {
      // The media bug stays attached: a later start fails until `stop`.
      custom('mod_audio_stream::disconnect', JSON.stringify({ status: 'disconnected', message: { code, reason } }));
    });
    client.on('text', (text) => this.onStreamText(channel, text, custom));
    client.connect();
  }

  private onStreamText(channel: FakeChannel, text: string, custom: (subclass: string, body: string) => void): void {
    let parsed: { type?: string; data?: StreamAudioData } | undefined;
    try {
      parsed = JSON.parse(text) as { type?: string; data?: StreamAudioData };
    } catch {
      parsed = undefined;
    }
    if (parsed?.type !== 'streamAudio' || !parsed.data) {
      custom('mod_audio_stream::json', text);
      return;
    }
    const { audioData, ...rest } = parsed.data;
    const bytes = Buffer.from(audioData, 'base64');
    const samples = new Int16Array(bytes.length >> 1);
    for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
    const rate = rest.sampleRate === 8000 ? 8 : 16;
    const file = `${this.options.tempDir ?? '/tmp'}/${channel.uuid}_${channel.fileCount++}.tmp.r${rate}`;
    channel.files.set(file, samples);
    const announce = (): void => custom('mod_audio_stream::play', JSON.stringify({ ...rest, file }));
    if (this.options.announceDelayMs) setTimeout(announce, this.options.announceDelayMs);
    else announce();
  }

  async stopAudioStream(channel: FakeChannel): Promise<void> {
    const stream = channel.stream;
    channel.stream = undefined;
    if (stream) {
      // The API reply waits until the server has closed TCP (captures b, b2x).
      await Promise.race([stream.close(), this.sleep(this.options.stopHangMs ?? 30000)]);
    }
    channel.bugAttached = false;
    this.deleteStreamFiles(channel);
    this.channelEvent(channel, 'b_audio_stream.esl.jsonl', (e) => e['Event-Name'] === 'MEDIA_BUG_STOP');
  }

  /** The module deletes all its files at stream cleanup (stop or hangup), not after playback (captures i, i4). */
  private deleteStreamFiles(channel: FakeChannel): void {
    for (const file of [...channel.files.keys()]) if (/\.tmp\.r\d+$/.test(file)) channel.files.delete(file);
  }

  // ---- playback (uuid_broadcast / uuid_break) ----
  //
  // Captures i, i2, i3 (FreeSWITCH 1.11.1): the first broadcast after idle starts ~110 ms after `+OK Message
  // sent`; a queued one 120-145 ms after the previous PLAYBACK_STOP, and the first packet leaves ~15 ms after
  // PLAYBACK_START, so every boundary is a ~160 ms hole. `file_string://a!b` is one playback (one START/STOP,
  // Playback-File-Path = the whole string) whose entries open lazily: one that exists when reached plays, one
  // that does not is skipped, and so is everything after it. A file is read as it was at open: bytes added
  // later are not played. Entry 0 opening gives 250 ms of lead-in silence (mod_dptools source: the counter is
  // set only for index 0). `uuid_break all` stops the wire ~19 ms later and drops queued broadcasts. A missing
  // plain file or an all-missing list: EXECUTE + EXECUTE_COMPLETE `FILE NOT FOUND`, no START/STOP.

  broadcastFile(channel: FakeChannel, path: string): void {
    const playback: Playback = { file: path, samples: new Int16Array(0) };
    channel.playbacks.push(playback);
    channel.playQueue.push(playback);
    if (!channel.playing && channel.playTimer === undefined) {
      channel.playTimer = setTimeout(() => this.playNext(channel), channel.lastStopAt === undefined ? 110 : Math.max(110, 130 - (performance.now() - channel.lastStopAt)));
    }
  }

  /** `scheduledAt`: the media-clock time FreeSWITCH starts it (timer lateness here does not move it). */
  private playNext(channel: FakeChannel, scheduledAt?: number): void {
    channel.playTimer = undefined;
    const playback = channel.playQueue.shift();
    if (!playback || channel.hungUp) return;
    const path = { 'Application-Data': playback.file, 'Playback-File-Path': playback.file };
    channel.variables.current_application = 'playback';
    channel.variables.current_application_data = playback.file;
    this.channelEvent(channel, 'b_audio_stream.esl.jsonl', (e) => e['Event-Name'] === 'CHANNEL_EXECUTE' && e.Application === 'playback', path);
    const list = playback.file.startsWith('file_string://') ? playback.file.slice('file_string://'.length).split('!') : undefined;
    const entries = list ?? [playback.file];
    let index = 0;
    while (index < entries.length && !channel.files.has(entries[index])) index++;
    if (index >= entries.length) {
      this.channelEvent(channel, 'b_audio_stream.esl.jsonl', (e) => e['Event-Name'] === 'CHANNEL_EXECUTE_COMPLETE' && e.Application === 'playback', {
        ...path,
        'Application-Response': 'FILE NOT FOUND',
      });
      channel.lastStopAt = performance.now();
      if (channel.playQueue.length > 0) channel.playTimer = setTimeout(() => this.playNext(channel), 20);
      return;
    }
    const run: PlaybackRun = { playback, entries, index, leadMs: list && index === 0 ? 250 : 0, playedMs: 0, segment: undefined, cursor: 0 };
    channel.playing = playback;
    channel.run = run;
    playback.startedAt = scheduledAt ?? performance.now();
    const started = { ...path, 'Event-Date-Timestamp': fsStamp(playback.startedAt) };
    const announceStart = (): void => this.channelEvent(channel, 'b_audio_stream.esl.jsonl', (e) => e['Event-Name'] === 'PLAYBACK_START', started);
    if (this.options.playbackStartDelayMs) setTimeout(announceStart, this.options.playbackStartDelayMs);
    else announceStart();
    // The wire is laid down on FreeSWITCH's own media clock, continuous within one playback: timer lateness
    // in this process moves when things are checked, never the packet times (so holes are the modelled ones).
    run.cursor = playback.startedAt + 15;
    if (run.leadMs > 0) {
      this.onWire(channel, { at: run.cursor, ms: run.leadMs, kind: 'silence', file: playback.file });
      run.cursor += run.leadMs;
    }
    this.scheduleAt(channel, run.cursor, () => this.playEntry(channel, run));
  }

  private scheduleAt(channel: FakeChannel, at: number, fn: () => void): void {
    channel.playTimer = setTimeout(fn, Math.max(0, at - performance.now()));
  }

  /** The entry at run.index is open (it existed when reached): its audio goes on the wire from run.cursor. */
  private playEntry(channel: FakeChannel, run: PlaybackRun): void {
    if (channel.run !== run) return;
    const samples = channel.files.get(run.entries[run.index]) ?? new Int16Array(0);
    const rate = /\.r8$/.test(run.entries[run.index]) ? 8000 : 16000;
    const ms = (samples.length * 1000) / rate;
    const segment: WireSegment = { at: run.cursor, ms, kind: 'audio', file: run.entries[run.index], samples };
    run.segment = segment;
    this.onWire(channel, segment);
    run.playback.samples = concat(run.playback.samples, samples);
    run.cursor += ms;
    this.scheduleAt(channel, run.cursor, () => {
      run.playedMs += ms;
      run.segment = undefined;
      // The next entry is opened only now: a file written meanwhile plays, one still missing is skipped.
      run.index++;
      while (run.index < run.entries.length && !channel.files.has(run.entries[run.index])) run.index++;
      if (run.index < run.entries.length) this.playEntry(channel, run);
      else this.scheduleAt(channel, run.cursor + 5, () => this.finishPlayback(channel, 'done', {}, run.cursor + 5));
    });
  }

  private onWire(channel: FakeChannel, segment: WireSegment): void {
    channel.wire.push(segment);
  }

  private finishPlayback(channel: FakeChannel, status: 'done' | 'break', extra: Record<string, string> = {}, scheduledAt?: number): void {
    const playback = channel.playing;
    const run = channel.run;
    if (!playback || !run) return;
    channel.playing = undefined;
    channel.run = undefined;
    clearTimeout(channel.playTimer);
    channel.playTimer = undefined;
    playback.endedAt = scheduledAt ?? performance.now();
    playback.status = status;
    channel.lastStopAt = playback.endedAt;
    // playback_ms counts what was read, lead-in included; on a break it still holds the previous value (i3a).
    if (status === 'done' && extra['Hangup-Cause'] === undefined) channel.variables.playback_ms = String(Math.round(run.leadMs + run.playedMs));
    const path = {
      'Application-Data': playback.file,
      'Playback-File-Path': playback.file,
      'Playback-Status': status,
      variable_playback_ms: channel.variables.playback_ms,
      ...extra,
    };
    this.channelEvent(channel, 'b_audio_stream.esl.jsonl', (e) => e['Event-Name'] === 'PLAYBACK_STOP' && e['Playback-Status'] === status, path);
    this.channelEvent(channel, 'b_audio_stream.esl.jsonl', (e) => e['Event-Name'] === 'CHANNEL_EXECUTE_COMPLETE' && e.Application === 'playback', {
      ...path,
      'Application-Response': extra['Hangup-Cause'] ? 'PLAYBACK ERROR' : 'FILE PLAYED',
    });
    // The next queued broadcast starts 120-145 ms after this PLAYBACK_STOP (capture i).
    const next = playback.endedAt + 140;
    if (channel.playQueue.length > 0 && !channel.hungUp) this.scheduleAt(channel, next, () => this.playNext(channel, next));
  }

  /** The wire goes quiet at `at`: the segment playing is cut there. */
  private cutWire(channel: FakeChannel, at: number): void {
    const segment = channel.run?.segment;
    if (segment && at < segment.at + segment.ms) segment.ms = Math.max(0, at - segment.at);
    const last = channel.wire[channel.wire.length - 1];
    if (last && last.kind === 'silence' && at < last.at + last.ms) last.ms = Math.max(0, at - last.at);
  }

  /** mod_audio_fork's killAudio (CF_BREAK): ends the file playing now; queued broadcasts go on. */
  breakCurrentPlayback(channel: FakeChannel): void {
    if (!channel.playing) return;
    clearTimeout(channel.playTimer);
    const cutAt = performance.now() + 19;
    // Stamped on FreeSWITCH's clock (when it stops), not when this process's timer gets to run.
    const stopAt = cutAt + 1;
    channel.playTimer = setTimeout(() => {
      this.cutWire(channel, cutAt);
      this.finishPlayback(channel, 'break', {}, stopAt);
    }, 20);
  }

  stopPlayback(channel: FakeChannel, status: 'break'): void {
    // `all` flushes the broadcasts not yet executed (capture i3a: files 2-4 never started).
    channel.playQueue.length = 0;
    clearTimeout(channel.playTimer);
    channel.playTimer = undefined;
    if (channel.playing) {
      const cutAt = performance.now() + 19;
      // The last loud packet left 19 ms after the command; PLAYBACK_STOP (break) came 22 ms after it. The stop is
      // stamped on FreeSWITCH's clock, not when this process's timer gets to run on a busy machine.
      const stopAt = cutAt + 3;
      channel.playTimer = setTimeout(() => {
        this.cutWire(channel, cutAt);
        this.finishPlayback(channel, status, {}, stopAt);
      }, 22);
    }
  }

  /** What the caller heard: audio segments in wire order, and the holes between consecutive ones. */
  wireAudio(uuid: string): { segments: WireSegment[]; holesMs: number[] } {
    const segments = this.channel(uuid).wire.filter((w) => w.kind === 'audio' && w.ms > 0);
    const holesMs: number[] = [];
    for (let i = 1; i < segments.length; i++) holesMs.push(segments[i].at - (segments[i - 1].at + segments[i - 1].ms));
    return { segments, holesMs };
  }

  // ---- originate ----

  async originate(args: string, jobUuid: string, session: PeerSession): Promise<void> {
    const vars: Record<string, string> = {};
    const match = /^\{([^}]*)\}(\S+)\s+(.*)$/.exec(args);
    if (!match) {
      session.backgroundJob(jobUuid, 'originate', args, this.captured.reply('g_errors.esl.jsonl', /^api originate$/, 0, 'esl-g2').body ?? '');
      return;
    }
    for (const pair of match[1].split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 0) vars[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    const uuid = vars.origination_uuid ?? randomUUID();
    const early = vars.ignore_early_media === 'false' || vars.ignore_early_media === 'consume' ? this.earlyCallee(match[2]) : undefined;
    if (early) return this.originateEarly(args, jobUuid, session, uuid, match[2], vars, early);
    const outcome = this.callee(match[2]);
    const sequence = this.captured.originateSequence(outcome);
    const channel = this.newChannel(uuid, sequence.uuid, match[2], vars);
    channel.originated = true;
    this.originates.push({ dial: match[2], variables: vars });
    let captureJob: string | undefined;
    for (const { event } of sequence.events) if (event['Event-Name'] === 'BACKGROUND_JOB') captureJob = event['Job-UUID'];
    if (captureJob) channel.ids.set(captureJob, jobUuid);
    await this.replay(channel, sequence.events, (e) => {
      if (e['Event-Name'] !== 'BACKGROUND_JOB') return {};
      return { 'Job-Command-Arg': args, body: outcome === 'answer' ? `+OK ${uuid}\n` : e._body };
    });
    if (outcome === 'answer') {
      channel.answered = true;
      this.emit('channel', channel);
    } else {
      channel.hungUp = true;
    }
  }

  /**
   * Capture j: j1/j2/j3 (ignore_early_media=false: the job's +OK comes 5-15 ms after CHANNEL_PROGRESS_MEDIA, park
   * runs unanswered) and j4/j5/j6 (consume: the job result only at answer or after the hangup).
   */
  private async originateEarly(args: string, jobUuid: string, session: PeerSession, uuid: string, dial: string, vars: Record<string, string>, callee: EarlyCallee): Promise<void> {
    const consume = vars.ignore_early_media === 'consume';
    const file = 'j_early_media.esl.jsonl';
    const template = { 480: consume ? '0000j400' : '0000j100', 404: consume ? '0000j500' : '0000j200', answer: consume ? '0000j600' : '0000j300' }[callee.final];
    const all = this.captured.timedEvents(file);
    const ofCall = all.filter((e) => (e.event['Unique-ID'] ?? '').startsWith(template));
    const captureUuid = ofCall[0]?.event['Unique-ID'] ?? '';
    const job = all.find((e) => e.event['Event-Name'] === 'BACKGROUND_JOB' && (e.event._body ?? '').includes(template) || (e.event['Event-Name'] === 'BACKGROUND_JOB' && (e.event['Job-Command-Arg'] ?? '').includes(captureUuid)));
    const channel = this.newChannel(uuid, captureUuid, dial, vars);
    channel.signalling = 'calling';
    if (job) channel.ids.set(job.event['Job-UUID'] ?? '', jobUuid);
    const send = (name: string, overrides: Record<string, string | undefined> = {}): void => {
      const found = ofCall.find((e) => e.event['Event-Name'] === name);
      if (found && !channel.hungUp) this.broadcast(channel, this.renderFor(channel, found.event, overrides));
    };
    const sendJob = (body: string): void => {
      if (job) this.broadcast(channel, this.renderFor(channel, job.event, { 'Job-Command-Arg': args, body }));
    };
    for (const name of ['CHANNEL_OUTGOING', 'CHANNEL_CREATE', 'CHANNEL_ORIGINATE']) send(name);
    if (callee.ring) {
      const j3 = all.find((e) => e.event['Event-Name'] === 'CHANNEL_PROGRESS' && (e.event['Unique-ID'] ?? '').startsWith('0000j300'));
      if (j3) this.broadcast(channel, this.renderFor(channel, j3.event));
      channel.signalling = 'ringing';
      await this.sleep(503);
    }
    if (channel.hungUp) return;
    if (callee.earlyAudio) {
      const pm = all.find((e) => e.event['Event-Name'] === 'CHANNEL_PROGRESS_MEDIA' && (e.event['Unique-ID'] ?? '').startsWith(template));
      if (pm) this.broadcast(channel, this.renderFor(channel, pm.event));
      channel.signalling = 'early';
      if (!consume) {
        await this.sleep(11);
        sendJob(`+OK ${uuid}\n`);
        const park = all.filter((e) => (e.event['Unique-ID'] ?? '').startsWith(captureUuid.slice(0, 8)) && ['CHANNEL_EXECUTE', 'CHANNEL_PARK'].includes(e.event['Event-Name'] ?? ''));
        for (const e of park.slice(0, 2)) this.broadcast(channel, this.renderFor(channel, e.event));
      }
      // The announcement is RTP from the callee: it reaches a stream started meanwhile (52-69 ms after the 183).
      await this.playToStream(channel, callee.earlyAudio);
      await this.sleep(330);
    } else {
      await this.sleep(500);
    }
    if (channel.hungUp) return;
    if (callee.final === 'answer') {
      const answer = all.find((e) => e.event['Event-Name'] === 'CHANNEL_ANSWER' && (e.event['Unique-ID'] ?? '').startsWith(template));
      if (answer) this.broadcast(channel, this.renderFor(channel, answer.event));
      channel.signalling = 'answered';
      channel.answered = true;
      if (consume) sendJob(`+OK ${uuid}\n`);
      this.emit('channel', channel);
      if (callee.answerAudio) void this.playToStream(channel, callee.answerAudio);
      return;
    }
    const cause = callee.final === 480 ? 'NO_USER_RESPONSE' : 'UNALLOCATED_NUMBER';
    channel.variables.sip_term_status = String(callee.final);
    await this.hangup(channel, cause);
    if (consume || !callee.earlyAudio) sendJob(`-ERR ${cause}\n`);
  }

  /** Queue 8 kHz callee audio on the channel's stream (upsampled to the stream rate), once a stream exists. */
  private async playToStream(channel: FakeChannel, pcm8k: Int16Array): Promise<void> {
    for (let waited = 0; !channel.stream && waited < 2000 && !channel.hungUp; waited += 10) await new Promise((r) => setTimeout(r, 10));
    const stream = channel.stream;
    if (!stream) {
      await this.sleep((pcm8k.length / 8000) * 1000);
      return;
    }
    const rate = stream.sampleRate;
    const out = rate === 8000 ? pcm8k : new Int16Array(pcm8k.length * 2);
    if (rate !== 8000) for (let i = 0; i < pcm8k.length; i++) out[2 * i] = out[2 * i + 1] = pcm8k[i]!;
    stream.sendAudio(out);
    while (stream.pendingAudioMs > 0 && !channel.hungUp && channel.stream === stream) await new Promise((r) => setTimeout(r, 20));
  }

  // ---- transfer ----

  /**
   * What the dialplan does with a transferred call. `tone` is capture e (the extension plays a tone and FS
   * hangs up); `bridge` and `no-route` are not captured: an agent phone answers (CHANNEL_BRIDGE with
   * Other-Leg-Unique-ID, FreeSWITCH's documented headers), or the context has no such extension and FS hangs
   * up with NO_ROUTE_DESTINATION; `ring` leaves the caller waiting while the agent phone rings (until the test
   * hangs the caller up).
   */
  setDialplan(route: (extension: string, context: string) => TransferRoute): void {
    this.route = route;
  }

  private route: (extension: string, context: string) => TransferRoute = () => 'tone';

  /** The agent phone a transferred caller rings (route `ring`) answers: the caller is bridged to it. */
  agentAnswers(uuid: string): void {
    const channel = this.channel(uuid);
    channel.bridgedTo = randomUUID();
    // Not captured: FreeSWITCH's documented bridge_uuid variable names the other leg while bridged.
    channel.variables.bridge_uuid = channel.bridgedTo;
    this.channelEvent(channel, 'b_audio_stream.esl.jsonl', (e) => e['Event-Name'] === 'CHANNEL_ANSWER', {
      'Event-Name': 'CHANNEL_BRIDGE',
      'Bridge-A-Unique-ID': channel.uuid,
      'Bridge-B-Unique-ID': channel.bridgedTo,
      'Other-Leg-Unique-ID': channel.bridgedTo,
    });
  }

  async transfer(channel: FakeChannel, extension: string, context = 'default'): Promise<void> {
    channel.transferredTo = extension;
    channel.transferredContext = context;
    this.stopPlayback(channel, 'break');
    const e = this.captured.timedEvents('e_record_transfer.esl.jsonl');
    const from = e.findIndex((x) => x.event['Event-Name'] === 'CHANNEL_UNPARK');
    const transferUuid = e[from].event['Unique-ID'];
    const ids = new Map(channel.ids);
    ids.set(transferUuid, channel.uuid);
    channel.ids = ids;
    channel.eventHeaders['Caller-Destination-Number'] = extension;
    const sequence = e.slice(from).filter((x) => x.event['Unique-ID'] === transferUuid);
    const hangupAt = sequence.findIndex((x) => x.event['Event-Name'] === 'CHANNEL_HANGUP');
    if (channel.bugAttached && channel.mediaModule === 'audio_fork') this.audioFork.detach(channel);
    else if (channel.stream) await this.stopAudioStream(channel);
    const route = this.route(extension, context);
    if (route !== 'tone') {
      // CHANNEL_UNPARK and EXECUTE_COMPLETE(park) as captured, then what the new extension does.
      await this.replay(channel, sequence.slice(0, 2));
      await this.sleep(50);
      if (route === 'no-route') {
        await this.hangup(channel, 'NO_ROUTE_DESTINATION');
        return;
      }
      if (route === 'ring') return;
      this.agentAnswers(channel.uuid);
      return;
    }
    await this.replay(channel, sequence.slice(0, hangupAt));
    channel.hungUp = true;
    channel.hangupCause = 'NORMAL_CLEARING';
    await this.replay(channel, sequence.slice(hangupAt));
  }
}

export type TransferRoute = 'tone' | 'bridge' | 'no-route' | 'ring';

/** One ESL connection of the fake: auth, subscriptions, command handling, split writes. */
export class PeerSession {
  authed: boolean;
  subscription: Subscription | undefined;
  myEventsUuid: string | undefined;
  channelUuid: string | undefined;
  private connected = false;
  private lingering = false;
  private pendingWrite: string[] = [];
  private writeScheduled = false;
  private readonly outQueue: Buffer[] = [];
  private draining = false;
  private readonly afterDrain: (() => void)[] = [];
  private input = '';
  private commandChain: Promise<void> = Promise.resolve();
  private goodbyeSent = false;

  constructor(
    private readonly fs: FakeFreeswitch,
    readonly socket: Socket,
    readonly outbound: boolean,
  ) {
    this.authed = outbound;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('end', () => {
      // Half-close from the client: FS still says goodbye (capture g), then closes.
      if (this.goodbyeSent) return;
      this.goodbyeSent = true;
      this.write(`Content-Type: text/disconnect-notice\n${this.outbound ? `Controlled-Session-UUID: ${this.channelUuid}\nContent-Disposition: disconnect\n` : ''}Content-Length: ${GOODBYE.length}\n\n${GOODBYE}`);
      this.flushThen(() => socket.end());
    });
    if (!outbound) this.write('Content-Type: auth/request\n\n');
  }

  offerEvent(event: FsEvent, channel: FakeChannel | undefined): void {
    const sub = this.subscription;
    if (!sub || !this.authed) return;
    const name = event['Event-Name'];
    const listed = sub.all || sub.names.has(name) || (name === 'CUSTOM' && sub.subclasses.has(event['Event-Subclass']));
    const mine = this.myEventsUuid !== undefined && event['Unique-ID'] === this.myEventsUuid && MY_EVENTS.test(name);
    if (this.myEventsUuid !== undefined) {
      // myevents filters everything to this channel; explicit subscriptions add non-channel kinds.
      if (event['Unique-ID'] !== this.myEventsUuid) return;
      if (!mine && !listed) return;
    } else if (!listed) {
      return;
    }
    if (channel && this.outbound && channel.uuid !== this.channelUuid) return;
    this.write(frameEvent(event, sub.format));
  }

  afterHangup(): void {
    if (!this.outbound) return;
    if (this.lingering) {
      this.write(
        `Content-Type: text/disconnect-notice\nControlled-Session-UUID: ${this.channelUuid}\nContent-Disposition: linger\n` +
          `Channel-Name: sofia/external/sipp@127.0.0.1:5085\nLinger-Time: -1\nContent-Length: 0\n\n`,
      );
      // FS keeps the socket open for ever after linger: only the client closes it.
      return;
    }
    this.write(`Content-Type: text/disconnect-notice\nContent-Length: ${GOODBYE.length}\n\n${GOODBYE}`);
    this.flushThen(() => this.socket.end());
  }

  backgroundJob(jobUuid: string, command: string, args: string, body: string): void {
    const template = this.fs.captured.event('a_inbound_auth_events.esl.jsonl', (e) => e['Event-Name'] === 'BACKGROUND_JOB');
    this.fs.broadcast(undefined, renderEvent(template, new Map([[template['Job-UUID'], jobUuid]]), { 'Job-Command': command, 'Job-Command-Arg': args, body }));
  }

  private onData(chunk: Buffer): void {
    this.input += chunk.toString('utf8');
    for (;;) {
      const end = this.input.indexOf('\n\n');
      if (end < 0) return;
      const text = this.input.slice(0, end);
      this.input = this.input.slice(end + 2);
      this.fs.commands.push(text);
      this.fs.emit('command', text);
      // FS runs one connection's commands in order; a blocking api holds back the next (capture b2x).
      this.commandChain = this.commandChain.then(() => this.handle(text)).catch(() => undefined);
    }
  }

  private reply(text: string): void {
    this.write(`Content-Type: command/reply\nReply-Text: ${text}\n\n`);
  }

  private apiResponse(body: string): void {
    this.write(`Content-Type: api/response\nContent-Length: ${Buffer.byteLength(body, 'utf8')}\n\n${body}`);
  }

  private async handle(text: string): Promise<void> {
    const [line, ...headerLines] = text.split('\n');
    const captured = this.fs.captured;
    if (this.outbound && !this.connected && line !== 'connect') {
      this.reply('-ERR command not found');
      return;
    }
    if (!this.authed) {
      if (line.startsWith('auth ')) {
        if (line.slice(5) === this.fs.password) {
          this.authed = true;
          this.write(frameReply(captured.reply('g_errors.esl.jsonl', /^auth ClueCon$/, 0, 'esl-g2')));
        } else {
          this.write(frameReply(captured.reply('g_errors.esl.jsonl', /^auth WrongPassword$/, 0, 'esl-g1-wrongpass')));
          this.write(`Content-Type: text/disconnect-notice\nContent-Length: ${GOODBYE.length}\n\n${GOODBYE}`);
          this.flushThen(() => this.socket.end());
        }
      } else {
        this.reply('-ERR command not found');
      }
      return;
    }
    const [verb, ...rest] = line.split(' ');
    const args = rest.join(' ');
    switch (verb) {
      case 'connect': {
        this.connected = true;
        const reply = captured.outboundMessages[0];
        const channel = this.channelUuid ? this.fs.channels.get(this.channelUuid) : undefined;
        // Channel data first, then the dialplan variables, then Content-Type and Reply-Text near the end (capture f).
        const tail = ['Content-Type', 'Reply-Text', 'Socket-Mode', 'Control'];
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(reply.headers)) if (!tail.includes(k)) headers[k] = v;
        for (const [k, v] of Object.entries(channel?.eventHeaders ?? {})) headers[k] = fsUrlEncode(v);
        for (const k of tail) headers[k] = reply.headers[k];
        let headerText = frameReply({ ...reply, headers });
        for (const [from, to] of channel?.ids ?? []) headerText = headerText.split(from).join(to);
        this.write(headerText);
        return;
      }
      case 'myevents':
        this.subscription ??= { format: 'plain', all: false, names: new Set(), subclasses: new Set() };
        this.myEventsUuid ??= this.channelUuid;
        this.reply('+OK Events Enabled');
        return;
      case 'linger':
        this.lingering = true;
        this.reply('+OK will linger');
        return;
      case 'event': {
        const [format, ...names] = args.split(' ');
        if (format !== 'json' && format !== 'plain') {
          this.reply('-ERR command not found');
          return;
        }
        const known = names.filter((n) => /^[A-Z_]+$/.test(n) && n !== 'NOT_AN_EVENT');
        if (known.length === 0) {
          this.reply('-ERR no keywords supplied');
          return;
        }
        const sub = this.subscription ?? { format, all: false, names: new Set<string>(), subclasses: new Set<string>() };
        sub.format = format;
        for (const n of names) {
          if (n === 'ALL') sub.all = true;
          else if (n.includes('::')) sub.subclasses.add(n);
          else sub.names.add(n);
        }
        this.subscription = sub;
        this.reply(`+OK event listener enabled ${format}`);
        return;
      }
      case 'noevents':
        this.subscription = undefined;
        this.reply('+OK no longer listening for events');
        return;
      case 'exit':
        this.reply('+OK bye');
        this.goodbyeSent = true;
        this.write(`Content-Type: text/disconnect-notice\nContent-Length: ${GOODBYE.length}\n\n${GOODBYE}`);
        this.flushThen(() => this.socket.end());
        return;
      case 'api': {
        const body = await this.runApi(args);
        this.apiResponse(body);
        return;
      }
      case 'bgapi': {
        const jobUuid = headerLines.find((h) => h.startsWith('Job-UUID: '))?.slice(10) ?? randomUUID();
        this.write(`Content-Type: command/reply\nReply-Text: +OK Job-UUID: ${jobUuid}\nJob-UUID: ${jobUuid}\n\n`);
        const [command, ...cmdArgs] = args.split(' ');
        if (command === 'originate') {
          void this.fs.originate(cmdArgs.join(' '), jobUuid, this);
        } else {
          void this.runApi(args).then((body) => this.backgroundJob(jobUuid, command, cmdArgs.join(' '), body));
        }
        return;
      }
      case 'sendmsg':
        this.handleSendmsg(args, headerLines);
        return;
      case 'getvar': {
        const channel = this.channelUuid ? this.fs.channels.get(this.channelUuid) : undefined;
        this.reply(channel?.variables[args] ?? '_undef_');
        return;
      }
      default:
        this.reply('-ERR command not found');
    }
  }

  private handleSendmsg(uuidArg: string, headerLines: string[]): void {
    const uuid = uuidArg || this.channelUuid || '';
    const channel = this.fs.channels.get(uuid);
    if (!channel) {
      this.reply(`-ERR invalid session id [${uuid}]`);
      return;
    }
    const headers = Object.fromEntries(headerLines.map((h) => [h.slice(0, h.indexOf(': ')), h.slice(h.indexOf(': ') + 2)]));
    this.reply('+OK');
    const command = headers['call-command'];
    if (command === 'hangup') {
      void this.fs.hangup(channel, headers['hangup-cause'] ?? 'NORMAL_CLEARING');
    } else if (command === 'execute') {
      const app = headers['execute-app-name'];
      const appUuid = headers['Event-UUID'] ?? randomUUID();
      const extra = { Application: app, 'Application-Data': headers['execute-app-arg'], 'Application-UUID': appUuid };
      const f = this.fs.captured.outboundMessages;
      void (async () => {
        await this.fs.sleep(20);
        const plain = (name: string, application?: string): FsEvent | undefined => {
          const m = f.find((msg) => msg.body?.includes(`Event-Name: ${name}\n`) && (!application || msg.body.includes(`\nApplication: ${application}\n`)));
          return m ? decodePlain(m.body ?? '') : undefined;
        };
        const emit = (name: string, application?: string, overrides: Record<string, string | undefined> = {}): void => {
          const template = plain(name, application);
          if (template) this.fs.broadcast(channel, this.fs.renderFor(channel, template, overrides));
        };
        emit('CHANNEL_EXECUTE', app === 'answer' ? 'answer' : 'playback', extra);
        if (app === 'answer' && !channel.answered) {
          channel.answered = true;
          emit('CHANNEL_ANSWER');
        }
        emit('CHANNEL_EXECUTE_COMPLETE', app === 'answer' ? 'answer' : 'playback', extra);
      })();
    }
  }

  /** The body FS returned for each api command, from the captures. */
  private async runApi(args: string): Promise<string> {
    const captured = this.fs.captured;
    const [command, uuid = '', sub = '', ...rest] = args.split(' ');
    const channel = this.fs.channels.get(uuid);
    const live = channel !== undefined && !channel.hungUp;
    const g = (pattern: RegExp): string => captured.reply('g_errors.esl.jsonl', pattern, 0, 'esl-g2').body ?? '';
    const b = (pattern: RegExp, nth = 0): string => captured.reply('b_audio_stream.esl.jsonl', pattern, nth).body ?? '';
    const e = (pattern: RegExp): string => captured.reply('e_record_transfer.esl.jsonl', pattern).body ?? '';
    switch (command) {
      case 'module_exists':
        return captured.reply('a_inbound_auth_events.esl.jsonl', /^api module_exists/).body ?? '';
      case 'status':
        return captured.reply('a_inbound_auth_events.esl.jsonl', /^api status/).body ?? '';
      case 'show': {
        // Not captured: documented `show channels as json` shape ({"row_count":0} when empty).
        if (uuid !== 'channels') return '-USAGE: show channels';
        const rows = [...this.fs.channels.values()]
          .filter((c) => !c.hungUp)
          .map((c) => ({ uuid: c.uuid, direction: c.originated ? 'outbound' : 'inbound', name: c.destination, state: 'CS_EXECUTE', callstate: c.answered ? 'ACTIVE' : 'EARLY' }));
        return JSON.stringify(rows.length === 0 ? { row_count: 0 } : { row_count: rows.length, rows });
      }
      case 'uuid_exists':
        // Not captured: documented to answer "true" / "false".
        return live ? 'true' : 'false';
      case 'uuid_audio_stream': {
        if (!channel) return sub ? g(/^api uuid_audio_stream \S+ start/) : g(/^api uuid_audio_stream \S+$/);
        if (sub === 'start') {
          // Capture j0: on an outbound leg with no media yet (180 without SDP) the module dereferences a NULL
          // read codec; the ESL socket closes 11 ms later and the process is gone.
          if (channel.signalling === 'calling' || channel.signalling === 'ringing') {
            this.fs.crashedBy = `uuid_audio_stream start on ${channel.signalling} leg ${channel.uuid}`;
            await this.fs.sleep(11);
            this.fs.crash(60_000);
            return '';
          }
          if (channel.bugAttached) return captured.reply('b2_audio_stream_edges.esl.jsonl', /uuid_audio_stream \S+ start/, 2).body ?? '';
          const [url, , rate, ...meta] = rest;
          // FS's argument splitter strips the quotes around the metadata.
          const metadata = meta.length > 0 ? meta.join(' ').replace(/'/g, '') : undefined;
          channel.mediaModule = 'audio_stream';
          this.fs.startAudioStream(channel, url, rate === '8k' ? 8000 : 16000, metadata);
          return b(/uuid_audio_stream \S+ start/);
        }
        if (sub === 'stop') {
          if (!channel.bugAttached) return g(/^api uuid_audio_stream \S+ start/);
          await this.fs.stopAudioStream(channel);
          return b(/uuid_audio_stream \S+ stop/);
        }
        if (sub === 'send_text') {
          channel.stream?.sendText(rest.join(' '));
          return b(/uuid_audio_stream \S+ send_text/);
        }
        if (sub === 'pause' || sub === 'resume') {
          if (sub === 'pause') channel.stream?.pause();
          else channel.stream?.resume();
          return b(new RegExp(`uuid_audio_stream \\S+ ${sub}`));
        }
        return g(/^api uuid_audio_stream \S+$/);
      }
      case 'uuid_audio_fork':
        return this.fs.audioFork.api(channel, args.split(' ').slice(1));
      case 'uuid_broadcast':
        if (!live) return g(/^api uuid_broadcast/);
        this.fs.broadcastFile(channel, sub);
        return b(/^api uuid_broadcast/);
      case 'uuid_break':
        if (!live) return g(/^api uuid_break/);
        this.fs.stopPlayback(channel, 'break');
        return b(/^api uuid_break/);
      case 'uuid_kill':
        if (!live) return g(/^api uuid_kill/);
        void this.fs.hangup(channel, sub || 'NORMAL_CLEARING');
        return b(/^api uuid_kill/);
      case 'uuid_record':
        if (!live) return g(/^api uuid_record/);
        if (sub === 'start') {
          if (this.fs.options.recordStartFails) return g(/^api uuid_record/);
          channel.recording = rest[0];
          this.fs.channelEvent(channel, 'e_record_transfer.esl.jsonl', (x) => x['Event-Name'] === 'RECORD_START', { 'Record-File-Path': rest[0] });
          return e(/uuid_record \S+ start/);
        }
        // `stop <path>` only stops the recording of that path (`all` stops any); otherwise FS cannot stop one.
        if (!channel.recording || (rest[0] !== 'all' && rest[0] !== channel.recording)) return e(/uuid_record \S+ stop all/);
        this.fs.channelEvent(channel, 'e_record_transfer.esl.jsonl', (x) => x['Event-Name'] === 'RECORD_STOP', { 'Record-File-Path': channel.recording });
        channel.recording = undefined;
        return e(/uuid_record \S+ stop \//);
      case 'uuid_transfer':
        if (!live) return g(/^api uuid_transfer/);
        void this.fs.transfer(channel, sub, rest[1]);
        return e(/^api uuid_transfer/);
      case 'uuid_setvar':
        // Not captured: documented reply "+OK".
        if (!live) return g(/^api uuid_kill/);
        channel.variables[sub] = rest.join(' ');
        return '+OK\n';
      case 'uuid_getvar':
        if (!channel) return g(/^api uuid_getvar/);
        return channel.variables[sub] ?? '_undef_';
      case 'uuid_answer':
        // Not captured: documented reply "+OK"; the dialplan normally answers first.
        if (!live) return g(/^api uuid_kill/);
        if (!channel.answered) {
          channel.answered = true;
          this.fs.channelEvent(channel, 'b_audio_stream.esl.jsonl', (x) => x['Event-Name'] === 'CHANNEL_ANSWER');
        }
        return '+OK\n';
      default:
        return `-ERR ${command} Command not found!\n`;
    }
  }

  write(text: string): void {
    this.pendingWrite.push(text);
    if (this.writeScheduled) return;
    this.writeScheduled = true;
    setImmediate(() => this.flush());
  }

  /** Runs `after` once everything written so far has left. */
  private flushThen(after: () => void): void {
    setImmediate(() => {
      if (!this.draining && this.outQueue.length === 0 && !this.writeScheduled) after();
      else this.afterDrain.push(after);
    });
  }

  /** Everything written in one tick leaves as one block, cut at random byte positions into reads. */
  private flush(): void {
    this.writeScheduled = false;
    const block = Buffer.from(this.pendingWrite.join(''), 'utf8');
    this.pendingWrite = [];
    if (block.length === 0) return;
    const cuts: number[] = [];
    const pieces = 1 + Math.floor(this.fs.nextRandom() * 3);
    for (let i = 1; i < pieces; i++) cuts.push(1 + Math.floor(this.fs.nextRandom() * (block.length - 1)));
    cuts.sort((x, y) => x - y);
    let at = 0;
    for (const cut of [...cuts, block.length]) {
      if (cut <= at) continue;
      this.outQueue.push(block.subarray(at, cut));
      at = cut;
    }
    if (!this.draining) this.drain();
  }

  /** One piece per event-loop turn, so the pieces reach the client as separate reads. */
  private drain(): void {
    const piece = this.outQueue.shift();
    if (piece === undefined) {
      this.draining = false;
      if (!this.writeScheduled) for (const after of this.afterDrain.splice(0)) after();
      return;
    }
    this.draining = true;
    if (!this.socket.destroyed) this.socket.write(piece);
    setImmediate(() => this.drain());
  }
}

function concat(a: Int16Array, b: Int16Array): Int16Array {
  const out = new Int16Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function decodePlain(body: string): FsEvent {
  const event: FsEvent = {};
  for (const line of body.split('\n\n')[0].split('\n')) {
    const i = line.indexOf(': ');
    if (i > 0) event[line.slice(0, i)] = decodeURIComponent(line.slice(i + 2));
  }
  return event;
}

/** An `Event-Date-Timestamp` for a performance.now() time: microseconds since the epoch, as FreeSWITCH writes it. */
function fsStamp(at: number): string {
  return String(Math.round((performance.timeOrigin + at) * 1000));
}
