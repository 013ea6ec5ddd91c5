import { z } from 'zod';

export const campaignsConfigSchema = z
  .object({
    /** Dial campaigns on this node. */
    enabled: z.boolean().default(true),
    /** Our own numbers: a campaign may only show these as caller id. */
    callerIdPool: z.array(z.string()).default([]),
    /** Country for numbers written without a country code. */
    defaultCountry: z.string().regex(/^[A-Z]{2}$/).default('CN'),
    /** YAML with compliance profiles (cn-collection, cn-marketing, us-tcpa and your own); built-ins when absent. */
    profilesFile: z.string().default('configs/compliance-profiles.yaml'),
    leaseSec: z.number().int().min(5).max(3600).default(30),
    heartbeatSec: z.number().int().min(1).max(600).default(10),
    /** How often the dialer schedules (ms): pause/stop take effect within this. */
    tickMs: z.number().int().min(10).max(1000).default(100),
    /** Webhook deliveries: attempts before dead-lettering, first backoff. */
    webhookMaxTries: z.number().int().min(1).max(50).default(8),
    webhookBackoffSec: z.number().min(0.1).max(3600).default(5),
    webhookTimeoutSec: z.number().min(1).max(120).default(10),
    /** Longest wait between two tries, however many failed. */
    webhookMaxBackoffSec: z.number().min(1).max(86_400).default(3600),
    /** Mask phone numbers (contact number, slots, transcript) in webhook bodies; off only for a CRM allowed to hold them. */
    webhookMaskNumbers: z.boolean().default(true),
    /** How often an idle webhook sender looks for due deliveries. */
    webhookPollMs: z.number().int().min(50).max(60_000).default(1000),
    /** Campaign ids used as label values of callpilot_campaign_* per process; more campaigns share `_other`. */
    metricsMaxCampaigns: z.number().int().min(1).max(500).default(20),
  })
  .prefault({});
export type CampaignsConfig = z.infer<typeof campaignsConfigSchema>;
