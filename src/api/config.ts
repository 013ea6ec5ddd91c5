import { z } from 'zod';

export const serverConfigSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /**
     * Calls at once (inbound, outbound and /media together); beyond it new calls are refused on every wire.
     * Unset: 25 per CPU core, the level bench/RESULTS.md measured within the latency targets (50 on 2 cores).
     */
    maxCalls: z.number().int().min(1).max(100_000).optional(),
    /**
     * New calls are refused (reason `overload`) while the shared ASR's backlog (smoothed age of the oldest caller
     * audio not decoded yet) is over this many ms; 0 turns the check off. 300 ms: a reply within the 500 ms
     * response budget leaves about 300 ms after the 200 ms end-of-turn floor, and every ms the recognizer is behind
     * delays the partials that end a turn and the final after it by as much, so past 300 ms calls already up miss
     * the budget; refusing new work then is what lets the backlog drain.
     */
    maxAsrBacklogMs: z.number().int().min(0).max(60_000).default(300),
    /**
     * Slow start on new calls: at most this many calls admitted within the last `rampWindowMs` (calls whose load the
     * ASR backlog has not seen yet: a caller speaks only after the greeting), or as many as the calls up longer than
     * that while the backlog stays under half of maxAsrBacklogMs, so the calls up can at most double per window;
     * and no more than fit while the ASR's measured busy share stays under 70 % at the cost per call measured; over
     * half the backlog limit, rampCalls shrunk in proportion to the headroom left (none at the limit).
     * Refusals have reason `overload`; the campaign dialer's pace follows `free`. 0 turns the ramp off. 10: with
     * the cost-proxy ASR and one core taken by another process, bursts of 50 and of 25 calls within 2 s broke down
     * before any measure could see them, and the same 50 over 30 s held (bench/RESULTS.md, 2026-12-03).
     */
    rampCalls: z.number().int().min(0).max(100_000).default(10),
    /** How long after its admission (an outbound call: its answer) a call counts as not yet measured for rampCalls. */
    rampWindowMs: z.number().int().min(100).max(600_000).default(10_000),
    /** On SIGTERM/SIGINT, how long live calls may go on before they are ended with reason `shutdown`. */
    drainTimeoutMs: z.number().int().min(0).max(3_600_000).default(30_000),
    /**
     * Dialplan location (`context,extension[,priority]`) PBX calls are sent to when they are refused (maxCalls,
     * draining) or ended by a shutdown; unset = hang up with cause 34 (NORMAL_CIRCUIT_CONGESTION).
     */
    overflowTarget: z
      .string()
      .regex(/^[^,\s]+,[^,\s]+(?:,\d+)?$/, 'context,extension[,priority]')
      .optional(),
    /**
     * Host names (optionally with :port) browsers may reach this server by; IP literals and `localhost` always
     * pass, `*` turns the check off. Protects against DNS rebinding.
     */
    allowedHosts: z.array(z.string().min(1)).default([]),
    /** Extra origins (`https://ops.example.com`) allowed to open WebSockets and send state-changing requests. */
    allowedOrigins: z.array(z.string().min(1)).default([]),
    /** Mark the session cookie `Secure` and trust X-Forwarded-Proto: set when TLS ends at a reverse proxy. */
    secureCookies: z.boolean().default(false),
    /**
     * Largest upload (contact import CSV/XLSX) accepted, in bytes; other routes have fixed limits sized to their
     * bodies (src/api/body-limits.ts). 120,000 contacts with names and two variables are about 10 MB of CSV.
     */
    uploadLimitBytes: z.number().int().min(1024).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
    /** Console sessions last this long after sign-in. */
    sessionHours: z.number().min(0.1).max(24 * 30).default(12),
  })
  .prefault({});
export type ServerConfig = z.infer<typeof serverConfigSchema>;
