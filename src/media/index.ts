/**
 * The media layer: wire codecs, resampling, framing, the AudioLeg base every transport extends,
 * call recording and callpilot's own media WebSocket.
 */
export * from './types.ts';
export * from './config.ts';
/** `createCodec(codec)`: PCM16 <-> pcmu / pcma / l16le / l16be, allocation-free with caller buffers. */
export type { FrameCodec } from './codec/frame-codec.ts';
export { CodecBufferError } from './codec/frame-codec.ts';
export { createCodec } from './codec/create-codec.ts';
/** `createResampler(inRate, outRate)`: streaming anti-aliased polyphase resampler. */
export type { Resampler, ResamplerQuality } from './resample/resampler.ts';
export { createResampler } from './resample/create-resampler.ts';
/** `FrameAssembler`: byte stream -> exact N-byte frames. */
export { FrameAssembler, type FrameCallback } from './frame-assembler.ts';
/** `BaseAudioLeg`: queue, pacer, marks, flush and close for every transport. */
export {
  BaseAudioLeg,
  LATE_FRAME_MS,
  DEFAULT_CALLER_GAP_MS,
  DEFAULT_DEAD_MEDIA_MS,
  type BaseAudioLegOptions,
  type AudioLegStats,
  type CallerClockOptions,
} from './leg/base-audio-leg.ts';
export { repairWavFile, wavHeaderConsistent, type WavRepair } from './record/wav-repair.ts';
/** Recordings at rest: chunked AES-256-GCM `<leg>.wav.enc` files with a key id, decrypted per chunk on download. */
export {
  RecordingKeyring,
  RecordingCryptoError,
  encryptRecordingFile,
  encryptRecordingFolder,
  openEncryptedRecording,
  parseRecordingKey,
  recordingKeyId,
  ENCRYPTED_RECORDING_SUFFIX,
  type EncryptedRecording,
  type RecordingCryptoFailure,
} from './record/recording-crypto.ts';
/** `WavWriter`: streaming PCM16 mono WAV; `attachRecorder(leg, dir)`: caller/bot/mixed recordings of a leg. */
export { WavWriter, type WavWriterOptions, type WavFileSummary } from './record/wav-writer.ts';
export {
  attachRecorder,
  type CallRecorder,
  type CallRecorderOptions,
  type CallRecording,
  type CallRecordingFiles,
} from './record/call-recorder.ts';
export { LegMixer, type MixedFrameListener } from './record/leg-mixer.ts';
/** callpilot's own media WebSocket (docs/media-websocket.md): the server route, its leg, and a client. */
export { createMediaWebSocketRoute, type MediaWebSocketRouteOptions } from './websocket/media-websocket-route.ts';
export { MediaWebSocketLeg, type MediaWebSocketLegOptions } from './websocket/media-websocket-leg.ts';
export {
  MediaWebSocketClient,
  type MediaClientEvents,
  type MediaStartRequest,
  type StreamPcmOptions,
} from './websocket/media-websocket-client.ts';
export {
  MEDIA_SUBPROTOCOL,
  DEFAULT_MEDIA_PATH,
  MAX_MEDIA_MESSAGE_BYTES,
  MAX_START_BYTES,
  MAX_PROTOCOL_ERRORS,
  MAX_CONTROL_BYTES,
  MAX_VARIABLES_BYTES,
  CLOSE_TRY_AGAIN_LATER,
  type MediaStart,
  type MediaStartMessage,
  type MediaCodecName,
  type MediaNotice,
  type MediaServerMessage,
  type MediaClientControl,
} from './websocket/protocol.ts';
