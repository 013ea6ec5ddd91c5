import { z } from 'zod';

export const qaConfigSchema = z
  .object({
    /** Run the QA rules on every call. */
    enabled: z.boolean().default(true),
    /** Folder of QA rule YAML files; a missing folder means no rules. */
    rulesDir: z.string().default('configs/qa'),
  })
  .strict()
  .prefault({});

export type QaConfig = z.infer<typeof qaConfigSchema>;
