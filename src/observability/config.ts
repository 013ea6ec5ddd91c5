import { z } from 'zod';

export const logConfigSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .prefault({});
export type LogConfig = z.infer<typeof logConfigSchema>;

export const observabilityConfigSchema = z
  .object({
    /** Serve /metrics without a token (for a Prometheus that cannot send one); off by default. */
    metricsPublic: z.boolean().default(false),
  })
  .prefault({});
export type ObservabilityConfig = z.infer<typeof observabilityConfigSchema>;
