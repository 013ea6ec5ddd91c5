/** Asterisk over ARI: inbound Stasis calls, originate, and externalMedia transports as AudioLegs. */
export { createAsteriskAdapter, AsteriskAdapter, type AsteriskAdapterOptions } from './asterisk-adapter.ts';
export type { AsteriskCall } from './asterisk-call.ts';
export { parseStasisArgs, formatStasisArgs, type StasisArgs } from './app-args.ts';
export { dispositionFor, type OriginateProgress } from './disposition.ts';
export { causeText, hangupFromRequest, hangupFromDestroyed, SOFT_HANGUP } from './hangup-cause.ts';
export { parseAriEvent, type ParsedAriEvent } from './ari/parse-ari-event.ts';
export type { AriEvent, AriChannel, AriBridge } from './ari/ari-types.ts';
export { ChanWebSocketLeg, MAX_MESSAGE_BYTES, type MediaStartInfo } from './media/chan-websocket-leg.ts';
export { parseControlMessage, formatCommand, type ChanWebSocketEvent } from './media/chan-websocket-control.ts';
export { AudioSocketLeg } from './media/audiosocket-leg.ts';
export { AudioSocketServer } from './media/audiosocket-server.ts';
export { AudioSocketFrameParser, AudioSocketKind, encodeAudioSocketMessage } from './media/audiosocket-frame-parser.ts';
export { RtpLeg } from './media/rtp-leg.ts';
export { parseRtpHeader, RtpPacketizer, type RtpHeader } from './media/rtp-packet.ts';
export { RtpReorderBuffer } from './media/rtp-reorder-buffer.ts';
