/**
 * FreeSWITCH adapter: inbound ESL (mod_event_socket), outbound `socket` mode, mod_audio_stream or
 * mod_audio_fork media, optional PBX-side recording (uuid_record).
 * The rest of callpilot sees only PbxAdapter / PbxCall; ESL messages never leave this folder.
 */
export { createFreeswitchAdapter, FreeswitchAdapter, INBOUND_SUBSCRIPTION, inboundSubscription, streamWireFormat } from './freeswitch-adapter.ts';
export { FreeswitchCall, RECORDING_VARIABLE } from './freeswitch-call.ts';
export { StreamLeg } from './stream/stream-leg.ts';
export type { StreamWireFormat } from './stream/stream-wire.ts';
export { AUDIO_STREAM_WIRE } from './audio-stream/audio-stream-wire.ts';
export { AUDIO_FORK_SUBPROTOCOL, AUDIO_FORK_WIRE } from './audio-fork/audio-fork-wire.ts';
export { recordingPath } from './call-recording.ts';
export { causeName, causeNumber, dispositionOfCause } from './hangup-causes.ts';
export { EslAuthError, EslCommandError, EslDisconnectedError, EslProtocolError } from './esl/esl-message.ts';
export type { EslEvent, EslMessage } from './esl/esl-message.ts';
export { EslFrameParser } from './esl/esl-frame-parser.ts';
export { EslConnection } from './esl/esl-connection.ts';
export { EslInboundClient } from './esl/esl-inbound-client.ts';
