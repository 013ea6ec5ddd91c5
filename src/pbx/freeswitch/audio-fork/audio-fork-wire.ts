import type { SampleRate } from '../../../media/index.ts';
import type { StreamWireFormat } from '../stream/stream-wire.ts';

/** The subprotocol mod_audio_fork offers (its MOD_AUDIO_FORK_SUBPROTOCOL_NAME default). */
export const AUDIO_FORK_SUBPROTOCOL = 'audio.drachtio.org';

/**
 * drachtio's mod_audio_fork, from its README and source (no capture of it exists):
 * - the client offers the `audio.drachtio.org` subprotocol;
 * - `playAudio` JSON is written to `<temp>/<uuid>_<n>.tmp.r16` and announced with
 *   `mod_audio_fork::play_audio` (the `data` object with `audioContent` replaced by `file`);
 * - `killAudio` breaks the file playing now (CF_BREAK), not broadcasts queued behind it, so
 *   barge-in still needs `uuid_break <uuid> all`;
 * - a failed connect is `mod_audio_fork::connect_failed` (`{"reason":"..."}`); `::error` is only
 *   raised for an `error` message from the server, which callpilot never sends.
 * `textContent` is optional and left out: the leg only sees PCM.
 */
/**
 * mod_audio_fork buffers caller audio for up to MOD_AUDIO_FORK_BUFFER_SECS (1-5 s) and writes whatever has built up
 * as one binary message when the socket is writable: at 16 kHz, 16-bit, two channels (both legs) that is 320,000 B.
 */
const AUDIO_FORK_MAX_MESSAGE_BYTES = 5 * 16000 * 2 * 2;

export const AUDIO_FORK_WIRE: StreamWireFormat = {
  module: 'mod_audio_fork',
  command: 'uuid_audio_fork',
  protocols: [AUDIO_FORK_SUBPROTOCOL],
  subclasses: [
    'mod_audio_fork::play_audio',
    'mod_audio_fork::kill_audio',
    'mod_audio_fork::connect',
    'mod_audio_fork::connect_failed',
    'mod_audio_fork::disconnect',
    'mod_audio_fork::error',
  ],
  playSubclass: 'mod_audio_fork::play_audio',
  failureSubclasses: ['mod_audio_fork::connect_failed'],
  fileNumbering: 'global',
  maxMessageBytes: AUDIO_FORK_MAX_MESSAGE_BYTES,
  audioMessage(audioContent: string, sampleRate: SampleRate): string {
    return JSON.stringify({ type: 'playAudio', data: { audioContentType: 'raw', sampleRate, audioContent } });
  },
  bargeInMessage: JSON.stringify({ type: 'killAudio' }),
};
