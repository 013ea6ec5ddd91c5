import type { SampleRate } from '../../../media/index.ts';
import type { StreamWireFormat } from '../stream/stream-wire.ts';

/**
 * mod_audio_stream (amigniter, open-source build), as captured from FreeSWITCH 1.11.1 (captures b, b2):
 * no subprotocol; bot audio as `streamAudio`, filed and announced with `mod_audio_stream::play`;
 * a refused connect is `mod_audio_stream::error`. It has no barge-in message: `uuid_break` does it all.
 */
export const AUDIO_STREAM_WIRE: StreamWireFormat = {
  module: 'mod_audio_stream',
  command: 'uuid_audio_stream',
  subclasses: ['mod_audio_stream::play', 'mod_audio_stream::json', 'mod_audio_stream::connect', 'mod_audio_stream::disconnect', 'mod_audio_stream::error'],
  playSubclass: 'mod_audio_stream::play',
  failureSubclasses: ['mod_audio_stream::error'],
  fileNumbering: 'per-stream',
  // One 20 ms frame per message in the captures (640 B at 16 kHz); the metadata text is ours. 16 KiB bounds memory.
  maxMessageBytes: 16 * 1024,
  audioMessage(audioData: string, sampleRate: SampleRate): string {
    return JSON.stringify({ type: 'streamAudio', data: { audioDataType: 'raw', sampleRate, audioData } });
  },
};
