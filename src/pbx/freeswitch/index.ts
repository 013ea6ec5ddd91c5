/**
 * FreeSWITCH adapter: inbound ESL (mod_event_socket), outbound `socket` mode, mod_audio_stream media.
 * The rest of callpilot sees only PbxAdapter / PbxCall; ESL messages never leave this folder.
 */
export { createFreeswitchAdapter, FreeswitchAdapter, INBOUND_SUBSCRIPTION } from './freeswitch-adapter.ts';
export { FreeswitchCall } from './freeswitch-call.ts';
export { AudioStreamLeg } from './audio-stream/audio-stream-leg.ts';
export { causeName, causeNumber, dispositionOfCause } from './hangup-causes.ts';
export { EslAuthError, EslCommandError, EslDisconnectedError, EslProtocolError } from './esl/esl-message.ts';
export type { EslEvent, EslMessage } from './esl/esl-message.ts';
export { EslFrameParser } from './esl/esl-frame-parser.ts';
export { EslConnection } from './esl/esl-connection.ts';
export { EslInboundClient } from './esl/esl-inbound-client.ts';
