import { z } from 'zod';

export const serverConfigSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    /**
     * Host names (optionally with :port) browsers may reach this server by; IP literals and `localhost` always
     * pass, `*` turns the check off. Protects against DNS rebinding.
     */
    allowedHosts: z.array(z.string().min(1)).default([]),
    /** Extra origins (`https://ops.example.com`) allowed to open WebSockets and send state-changing requests. */
    allowedOrigins: z.array(z.string().min(1)).default([]),
    /** Mark the session cookie `Secure` and trust X-Forwarded-Proto: set when TLS ends at a reverse proxy. */
    secureCookies: z.boolean().default(false),
    /** Console sessions last this long after sign-in. */
    sessionHours: z.number().min(0.1).max(24 * 30).default(12),
  })
  .prefault({});
export type ServerConfig = z.infer<typeof serverConfigSchema>;
