/**
 * PBX media URLs carry a per-call secret: callpilot makes it (src/auth) when it sets a call's media up, hands it to
 * Asterisk or FreeSWITCH inside the WebSocket URL, and checks it on the upgrade. The PBX adapters only need this.
 */
export const MEDIA_TOKEN_PARAM = 'callpilot_token';

/** Returns the token for the media connection whose URL carries `callKey` (a path segment or a query value). */
export type MediaTokenIssuer = (callKey: string) => string;
