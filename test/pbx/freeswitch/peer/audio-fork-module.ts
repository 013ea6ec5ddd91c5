import { AudioStreamClient } from './audio-stream-client.ts';
import type { FakeChannel, FakeFreeswitch } from './fake-freeswitch.ts';

/**
 * mod_audio_fork (drachtio) inside the fake FreeSWITCH.
 *
 * DOC-DERIVED, NOT CAPTURED: no capture of mod_audio_fork exists. Everything here follows the
 * module's README and source (drachtio-freeswitch-modules, modules/mod_audio_fork), unlike the
 * mod_audio_stream behaviour next door, which replays real FreeSWITCH 1.11.1 captures. The CUSTOM
 * events reuse the captured `mod_audio_stream::connect` event as a template for the channel
 * headers (switch_channel_event_set_data adds the same ones), with subclass and body replaced.
 *
 * From the source:
 * - `uuid_audio_fork <uuid> start <url> <mono|mixed|stereo> <8k|16k|N> [metadata]` answers
 *   `+OK Success` before the WebSocket connects; the connect is queued to the lws service thread.
 *   An unknown uuid or a second start while the bug is attached: `-ERR Operation Failed`. Fewer
 *   than 4 arguments: `-USAGE: ...`. A bad mix type: no output at all.
 * - The client offers subprotocol `audio.drachtio.org`. On connect: `mod_audio_fork::connect`
 *   (no body), then the metadata as a text frame, then binary L16 with whatever the buffer holds
 *   at each write (one or more 20 ms frames per message).
 * - A failed connect: `mod_audio_fork::connect_failed` with `{"reason":"..."}`. A close from the
 *   server: `mod_audio_fork::disconnect` (no body). Either way the bug stays attached until `stop`.
 * - `stop`: the client closes with 1000 and the reply is `+OK Success` without waiting for TCP; no
 *   event. Files written for the session are deleted. Hangup: the same, from the channel close.
 * - Server text frames: `playAudio` -> `<temp>/<uuid>_<n>.tmp.r16` (n counts over all sessions)
 *   and `mod_audio_fork::play_audio` with the `data` object, `audioContent` replaced by `file`;
 *   `killAudio` -> `mod_audio_fork::kill_audio` (no body) and CF_BREAK, which ends the file
 *   playing now but not broadcasts queued behind it; `transcription`, `transfer`, `error`,
 *   `disconnect` -> the event of that name with `data` as body; anything else is only logged.
 *   Binary frames from the server are discarded.
 */
export class AudioForkModule {
  /** Files are numbered by one counter for the whole module (a static in mod_audio_fork). */
  private playCount = 0;

  constructor(
    private readonly fs: FakeFreeswitch,
    private readonly options: { tempDir?: string; bursty?: boolean } = {},
  ) {}

  /** The api body for `uuid_audio_fork <args>`. */
  async api(channel: FakeChannel | undefined, args: string[]): Promise<string> {
    const [, sub, url, mix, rate, ...meta] = args;
    if (args.length < 2 || (sub === 'start' && args.length < 4)) {
      return '-USAGE: <uuid> [start | stop | send_text | pause | resume | graceful-shutdown ] [wss-url | path] [mono | mixed | stereo] [8000 | 16000 | 24000 | 32000 | 64000] [metadata]\n';
    }
    if (!channel || channel.hungUp) return '-ERR Operation Failed\n';
    switch (sub) {
      case 'start': {
        if (mix !== 'mono' && mix !== 'mixed' && mix !== 'stereo') return '';
        const sampling = rate === '16k' ? 16000 : rate === '8k' ? 8000 : Number.parseInt(rate ?? '', 10);
        if (!/^(ws|wss|http|https):\/\//i.test(url ?? '') || !(sampling % 8000 === 0) || channel.bugAttached) return '-ERR Operation Failed\n';
        if (sampling !== 8000 && sampling !== 16000) return '-ERR Operation Failed\n'; // the fake's client only does these
        // switch_separate_string drops the single quotes around the metadata.
        this.start(channel, url.replace(/^http/i, 'ws'), sampling, meta.length > 0 ? meta.join(' ').replace(/'/g, '') : undefined);
        return '+OK Success\n';
      }
      case 'stop':
        if (!channel.bugAttached) return '-ERR Operation Failed\n';
        this.detach(channel);
        return '+OK Success\n';
      case 'send_text':
        if (!channel.bugAttached) return '-ERR Operation Failed\n';
        channel.stream?.sendText(meta.length > 0 ? [url, mix, rate, ...meta].join(' ') : (url ?? ''));
        return '+OK Success\n';
      default:
        return '-ERR Operation Failed\n';
    }
  }

  /** The channel is closing (hangup, transfer away): graceful close, no event, files deleted. */
  detach(channel: FakeChannel): void {
    const stream = channel.stream;
    channel.stream = undefined;
    channel.bugAttached = false;
    for (const file of [...channel.files.keys()]) if (file.includes('.tmp.r')) channel.files.delete(file);
    if (stream) void stream.close();
    this.fs.channelEvent(channel, 'b_audio_stream.esl.jsonl', (e) => e['Event-Name'] === 'MEDIA_BUG_STOP', { 'Media-Bug-Function': 'audio_fork' });
  }

  private start(channel: FakeChannel, url: string, rate: 8000 | 16000, metadata: string | undefined): void {
    channel.bugAttached = true;
    channel.mediaModule = 'audio_fork';
    channel.streamStarts.push(url);
    this.fs.channelEvent(channel, 'b_audio_stream.esl.jsonl', (e) => e['Event-Name'] === 'MEDIA_BUG_START', { 'Media-Bug-Function': 'audio_fork' });
    const client = new AudioStreamClient({
      url,
      sampleRate: rate,
      metadata,
      subprotocol: 'audio.drachtio.org',
      oneMessagePerWrite: true,
      bursty: this.options.bursty,
    });
    channel.stream = client;
    client.on('connected', () => this.custom(channel, 'mod_audio_fork::connect', undefined));
    client.on('refused', (err) => {
      if (channel.stream === client) channel.stream = undefined;
      // The bug stays attached: the AudioPipe is gone but the channel's private pointer is not.
      const reason = /ECONNREFUSED/.test(err.message) ? 'Connection refused' : err.message;
      this.custom(channel, 'mod_audio_fork::connect_failed', JSON.stringify({ reason }));
    });
    // lws reports a close it did not start (close frame or bare TCP close) once, as CONNECTION_DROPPED.
    let dropped = false;
    const drop = (): void => {
      if (dropped || channel.stream !== client) return;
      dropped = true;
      this.custom(channel, 'mod_audio_fork::disconnect', undefined);
    };
    client.on('serverClose', drop);
    client.on('closed', drop);
    client.on('text', (text) => this.onServerText(channel, text));
    client.connect();
  }

  private onServerText(channel: FakeChannel, text: string): void {
    let message: { type?: unknown; data?: Record<string, unknown> } | undefined;
    try {
      message = JSON.parse(text) as { type?: unknown; data?: Record<string, unknown> };
    } catch {
      return; // "could not parse message": logged by FS, nothing else
    }
    const data = message.data;
    switch (message.type) {
      case 'playAudio': {
        if (!data) return; // "missing data payload in playAudio request"
        const { audioContent, ...rest } = data;
        const rate = Number(rest.sampleRate) || 16000;
        if (rest.audioContentType === 'raw' && typeof audioContent === 'string') {
          const file = `${this.options.tempDir ?? '/tmp'}/${channel.uuid}_${this.playCount++}.tmp.r${rate === 8000 ? 8 : 16}`;
          const bytes = Buffer.from(audioContent, 'base64');
          const samples = new Int16Array(bytes.length >> 1);
          for (let i = 0; i < samples.length; i++) samples[i] = bytes.readInt16LE(i * 2);
          channel.files.set(file, samples);
          rest.file = file;
        }
        this.custom(channel, 'mod_audio_fork::play_audio', JSON.stringify(rest));
        return;
      }
      case 'killAudio':
        channel.killAudios = (channel.killAudios ?? 0) + 1;
        this.custom(channel, 'mod_audio_fork::kill_audio', undefined);
        this.fs.breakCurrentPlayback(channel);
        return;
      case 'transcription':
      case 'transfer':
      case 'error':
      case 'disconnect':
        this.custom(channel, `mod_audio_fork::${message.type}`, data === undefined ? undefined : JSON.stringify(data));
        return;
      case 'json':
        this.custom(channel, 'mod_audio_fork::json', text);
        return;
      default:
        return; // "unsupported msg type": logged by FS
    }
  }

  private custom(channel: FakeChannel, subclass: string, body: string | undefined): void {
    this.fs.channelEvent(channel, 'b2_audio_stream_edges.esl.jsonl', (e) => e['Event-Subclass'] === 'mod_audio_stream::connect', {
      'Event-Subclass': subclass,
      body,
    });
  }
}
