import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { MEDIA_TOKEN_PARAM } from '../core/index.ts';

/** How long a PBX has to connect with a media URL after callpilot handed it out. */
const DEFAULT_TTL_MS = 5 * 60_000;


/**
 * Per-call secrets for the WebSocket URLs callpilot hands to a PBX (chan_websocket client mode, mod_audio_stream,
 * mod_audio_fork): `<expiry>.<call key>.<hmac>`, signed with a key made at start-up. The call key (the FreeSWITCH
 * uuid, the Asterisk media channel id) must appear in the connecting URL, so a token opens only its own call's
 * media. Nothing is stored: a restart drops the key, and with it only URLs of calls that did not survive anyway.
 */
export class MediaTokens {
  private readonly key: Buffer;

  constructor(
    private readonly now: () => number = Date.now,
    key: Buffer = randomBytes(32),
  ) {
    this.key = key;
  }

  /** A token for the media connection of the call identified by `callKey` in its URL. */
  issue(callKey: string, ttlMs: number = DEFAULT_TTL_MS): string {
    const expires = (this.now() + ttlMs).toString(36);
    const key = Buffer.from(callKey, 'utf8').toString('base64url');
    return `${expires}.${key}.${this.sign(expires, key)}`;
  }

  /**
   * Whether `token` is genuine, unexpired, and names a call key that appears in `url` as a path segment or a
   * query value.
   */
  verify(token: string, url: URL): boolean {
    const parts = token.split('.');
    if (parts.length !== 3) return false;
    const [expires, key, signature] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(expires, key));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    if (!(parseInt(expires, 36) > this.now())) return false;
    const callKey = Buffer.from(key, 'base64url').toString('utf8');
    if (callKey === '') return false;
    const segments = url.pathname.split('/').map((s) => safeDecode(s));
    if (segments.includes(callKey)) return true;
    for (const [name, value] of url.searchParams) if (name !== MEDIA_TOKEN_PARAM && value === callKey) return true;
    return false;
  }

  private sign(expires: string, key: string): string {
    return createHmac('sha256', this.key).update(`${expires}.${key}`).digest('base64url');
  }
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
