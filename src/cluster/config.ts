import { z } from 'zod';

export const clusterConfigSchema = z
  .object({
    /** This node's id in the shared store; default: the host name (unique per pod/host). */
    nodeId: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,100}$/, 'letters, digits, "_", ".", ":" and "-", at most 100')
      .optional(),
    /** Address other systems reach this node at (shown in GET /api/nodes); default: the server's own URL. */
    advertiseUrl: z.string().url().optional(),
    heartbeatMs: z.number().int().min(200).max(60_000).default(5000),
    /** A node whose heartbeat is older than this is dead: its calls are closed and its work taken over. */
    deadAfterMs: z.number().int().min(1000).max(600_000).default(20_000),
  })
  .prefault({});
export type ClusterConfig = z.infer<typeof clusterConfigSchema>;
