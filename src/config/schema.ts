import { z } from 'zod';
import { serverConfigSchema } from '../api/config.ts';
import { clusterConfigSchema } from '../cluster/config.ts';
import { campaignsConfigSchema } from '../campaign/config.ts';
import { dialogConfigSchema } from '../dialog/config.ts';
import { mediaConfigSchema } from '../media/config.ts';
import { grpcConfigSchema } from '../grpc/config.ts';
import { logConfigSchema, observabilityConfigSchema } from '../observability/config.ts';
import { pbxConfigSchema } from '../pbx/config.ts';
import { qaConfigSchema } from '../qa/config.ts';
import { speechConfigSchema } from '../speech/config.ts';
import { storeConfigSchema } from '../store/config.ts';

/** The whole config file. Each section's schema lives with the code it configures. */
export const configSchema = z
  .object({
    server: serverConfigSchema,
    log: logConfigSchema,
    observability: observabilityConfigSchema,
    store: storeConfigSchema,
    speech: speechConfigSchema,
    dialog: dialogConfigSchema,
    pbx: pbxConfigSchema,
    media: mediaConfigSchema,
    cluster: clusterConfigSchema,
    campaigns: campaignsConfigSchema,
    qa: qaConfigSchema,
    grpc: grpcConfigSchema,
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
