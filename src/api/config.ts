import { z } from 'zod';

export const serverConfigSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
  })
  .prefault({});
export type ServerConfig = z.infer<typeof serverConfigSchema>;
