import { randomBytes } from 'node:crypto';

/**
 * Call ids are callpilot's own: UUID v7 (RFC 9562), so they sort by creation time and never come from a client,
 * Asterisk or FreeSWITCH. Ids those send are kept as `externalId`/`pbxCallId` and never used in a path.
 */
export type CallId = string;

const CALL_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

export function newCallId(now: number = Date.now()): CallId {
  const bytes = randomBytes(16);
  // 48-bit big-endian Unix milliseconds, then version 7 and the RFC 4122 variant over random bits.
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** True for ids callpilot itself made: safe to use as a folder name or key. */
export function isCallId(value: unknown): value is CallId {
  return typeof value === 'string' && CALL_ID_PATTERN.test(value);
}
