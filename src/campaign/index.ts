/** Outbound campaigns: lifecycle, compliance, contacts import, DNC ledger, the dialer and CRM webhooks. */
export { type Clock, systemClock, ManualClock } from './clock.ts';
export { campaignsConfigSchema, type CampaignsConfig } from './config.ts';
export {
  BUILTIN_PROFILES,
  checkWindow,
  complianceProfileSchema,
  loadComplianceProfiles,
  localPeriods,
  localTime,
  zonedInstant,
  type ComplianceProfile,
  type WindowVerdict,
} from './compliance.ts';
export { normalizeNumber, renderDialString, zoneOfNumber, type NormalizeResult } from './numbers.ts';
export { TokenBucket, trunkBurst } from './token-bucket.ts';
export { abandonAccount, abandonAllowance, abandonPeriod, type AbandonAccount } from './abandon-rate.ts';
export { nextAttempt } from './retry.ts';
export { CampaignDialer, newAttemptId, attemptClaimedAt, type CallPlacer, type DialerOptions, type ReconcileReport } from './dialer.ts';
export { CampaignService, CampaignError, numberOfDialString, campaignInputSchema, type CampaignAction, type CampaignInput, type CampaignServiceOptions, type CampaignStatsView, type CampaignWindow } from './campaign-service.ts';
export { importContacts, readRows, decodeText, rejectsCsv, type ImportOptions, type ImportResult } from './contact-import.ts';
export {
  WebhookSender,
  signWebhook,
  verifyWebhookSignature,
  webhookBackoffMs,
  maskWebhookPayload,
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  IDEMPOTENCY_HEADER,
  type WebhookSenderOptions,
  type WebhookTryResult,
} from './webhook-sender.ts';
export { CampaignMetrics, type CampaignMetricsOptions } from './campaign-metrics.ts';
