/**
 * Request body ceilings, one per kind of route, each sized to the largest body that route can legally take.
 * fastify checks Content-Length before reading and counts streamed (chunked) bytes as they arrive, answering 413
 * before any handler runs, so an oversize body is never buffered whole, parsed or stored.
 */
export const BODY_LIMITS = {
  /** Routes that take no body (sign-out, revoke, campaign actions): room for a stray `{}` and nothing more. */
  none: 1024,
  /** Sign-in and token creation: a token of at most 200 chars, a name, a role, grants, an expiry. */
  small: 4 * 1024,
  /** Anything not listed (fastify's server-wide default here instead of its 1 MiB). */
  default: 16 * 1024,
  /** POST /api/calls: endpoint, caller id, flow and the call's variables (8 KiB on /media, JSON escaping doubles). */
  originate: 32 * 1024,
  /** POST /api/campaigns: a campaign definition with its windows, retry rules and script variables. */
  campaign: 256 * 1024,
  /** POST /api/dnc: up to 100,000 numbers of at most 40 characters, JSON-quoted. */
  dncList: 6 * 1024 * 1024,
} as const;

/** Contact imports (CSV/XLSX) are the one upload; their limit is `server.uploadLimitBytes`. */
export const DEFAULT_UPLOAD_LIMIT_BYTES = 64 * 1024 * 1024;
