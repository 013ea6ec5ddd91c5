import { z } from 'zod';

export const logConfigSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .prefault({});
export type LogConfig = z.infer<typeof logConfigSchema>;
