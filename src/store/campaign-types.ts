/** Outbound campaigns: campaigns, contacts, attempts (with leases), the DNC/consent ledger, import reports, webhooks. */

export type CampaignState = 'draft' | 'running' | 'paused' | 'stopped' | 'finished';
export type ContactRole = 'debtor' | 'related' | 'unrelated';

/**
 * Dispositions the retry rules know. Telephony ones come from the PBX (busy, no-answer, failed, ...), `machine` from
 * answering-machine detection, `callback_requested` from the flow, `interrupted` from a crash or a policy hangup.
 */
export type RetryDisposition = 'busy' | 'no-answer' | 'failed' | 'unreachable' | 'congestion' | 'machine' | 'callback_requested' | 'interrupted';

export interface RetryPolicy {
  /** Attempts per contact in this campaign, the first one included. */
  maxAttempts: number;
  /** Minutes to wait before the next attempt, per disposition; a disposition not listed is never retried. */
  delaysMin: Partial<Record<RetryDisposition, number>>;
}

export interface CampaignWebhook {
  url: string;
  /** HMAC-SHA256 key for the signature header. */
  secret: string;
}

export interface CampaignRecord {
  id: string;
  name: string;
  flow: string;
  lang: string;
  /** `asterisk` or `freeswitch`; undefined = the first connected PBX. */
  pbx?: string;
  /** Dial string with `{number}` (E.164 digits), `{e164}` (+...) or `{national}` (0-prefixed national), e.g. `PJSIP/{national}@trunk`. */
  dialPattern: string;
  /** Name of the trunk: CPS and caller-id rotation are per trunk. */
  trunk: string;
  /** Caller ids shown, rotated per trunk; each must be in the configured pool of our own numbers. */
  callerIds: string[];
  maxConcurrent: number;
  /** Calls per second on this campaign's trunk. */
  cps: number;
  /** Higher first when several campaigns compete for capacity. */
  priority: number;
  /** Compliance profile name (`cn-collection`, `cn-marketing`, `us-tcpa`, or one from the profiles file). */
  profile: string;
  /** IANA zone used when neither the contact nor its number's region gives one. */
  timeZone: string;
  /** Expected call length: a call is not started when it would not fit before the window closes. */
  expectedCallSec: number;
  ringTimeoutSec: number;
  retry: RetryPolicy;
  webhook?: CampaignWebhook;
  state: CampaignState;
  createdAt: string;
  updatedAt: string;
}

export type ContactState = 'pending' | 'dialing' | 'done' | 'blocked' | 'unknown';

export interface ContactInput {
  /** E.164, normalized by the importer. */
  number: string;
  role?: ContactRole;
  timeZone?: string;
  consent?: boolean;
  variables: Record<string, string>;
  /** Row in the imported file (1-based, header = 1). */
  rowNo?: number;
  /** Earliest attempt time (ISO); default now. */
  notBefore?: string;
}

export interface ContactRecord extends ContactInput {
  id: number;
  campaignId: string;
  consent: boolean;
  state: ContactState;
  /** Attempts made so far. */
  attempts: number;
  /** When the next attempt may be made (ISO); undefined when none is planned. */
  nextAt?: string;
  lastDisposition?: string;
}

/** `dialing`: row committed, originate may be under way. `live`: answered, in the dialog. */
export type AttemptState = 'dialing' | 'live' | 'done' | 'unknown';

export interface AttemptRecord {
  id: string;
  campaignId: string;
  contactId: number;
  attemptNo: number;
  number: string;
  state: AttemptState;
  /** Node holding the lease while the attempt is in flight. */
  nodeId: string;
  leaseUntil: string;
  trunk: string;
  callerId?: string;
  callId?: string;
  pbxCallId?: string;
  disposition?: string;
  /** Q.850 cause. */
  cause?: number;
  /** Call-progress / answering-machine verdict (invalid_number, powered_off, human, machine, assistant, ...). */
  progress?: string;
  createdAt: string;
  answeredAt?: string;
  endedAt?: string;
  durationSec?: number;
  slots?: Record<string, string>;
  /** Why the attempt ended as it did, in words (reconciliation, errors). */
  note?: string;
}

export interface AttemptOutcome {
  disposition: string;
  cause?: number;
  progress?: string;
  answeredAt?: string;
  endedAt: string;
  durationSec?: number;
  slots?: Record<string, string>;
  callId?: string;
  pbxCallId?: string;
  note?: string;
}

/** What happens to the contact once an attempt ends. */
export interface ContactNext {
  state: ContactState;
  nextAt?: string;
}

export interface ClaimRequest {
  campaignId: string;
  contactId: number;
  attemptId: string;
  nodeId: string;
  now: string;
  leaseUntil: string;
  trunk: string;
  callerId?: string;
  /**
   * The PBX channel id the attempt will be dialled with (ARI channelId, FreeSWITCH origination_uuid), chosen before
   * the claim and committed with it: a node that dies with the originate in flight leaves the id a survivor asks the
   * PBX about.
   */
  pbxCallId?: string;
  /**
   * The campaign's compliance profile dials only contacts with recorded consent (us-tcpa): checked in the claim, so a
   * contact without it is blocked (`no_consent`) however it got into the campaign.
   */
  requireConsent?: boolean;
  /**
   * Take the call from the trunk's shared CPS budget (takeTrunkToken) inside the claim, after every other check: a
   * token is spent exactly when an attempt is committed, so nodes racing for the same contact spend none on the
   * claims they lose. No token: `paced`, nothing written.
   */
  pacing?: TrunkPace;
  /** Frequency caps checked in the claiming transaction, across all campaigns. */
  caps: {
    /** Start of the number's local day / week (ISO instants). */
    dayStart: string;
    weekStart: string;
    maxAttemptsPerDay?: number;
    maxAttemptsPerWeek?: number;
    maxConnectedPerDay?: number;
    /** Where to move the contact when a cap is reached (next local day). */
    nextDay: string;
  };
}

/**
 * One take from a trunk's shared token bucket. The burst comes from the dialer (trunkBurst in src/campaign), so the
 * per-node bucket and the shared one hold the same figure and the stores only do the arithmetic.
 */
export interface TrunkPace {
  ratePerSec: number;
  /** Most tokens the bucket holds. */
  burst: number;
  /** The store-side clock (ms). */
  nowMs: number;
}

export type ClaimResult =
  | { ok: true; attempt: AttemptRecord }
  | {
      ok: false;
      /**
       * `full`: the campaign already has maxConcurrent attempts in flight, counted across every node in the claim.
       * `paced`: the trunk's shared CPS budget is spent for now (only with `pacing`).
       */
      reason: 'dnc' | 'no-consent' | 'cap' | 'full' | 'paced' | 'taken' | 'no-contact' | 'not-running';
      detail?: string;
    };

export type DncSource = 'import' | 'api' | 'call';

export interface DncEntry {
  number: string;
  /** `global` or a campaign id. */
  scope: string;
  reason: string;
  source: DncSource;
  /** Call that heard the refusal, and the words, so the ledger proves why. */
  callId?: string;
  words?: string;
  addedAt: string;
  expiresAt?: string;
}

export interface ImportReject {
  row: number;
  column: string;
  reason: string;
  value?: string;
}

export interface ImportReport {
  id: string;
  campaignId: string;
  file: string;
  createdAt: string;
  rows: number;
  accepted: number;
  rejected: number;
}

export type WebhookState = 'pending' | 'delivered' | 'dead';

export interface WebhookDelivery {
  id: number;
  campaignId: string;
  event: string;
  /** Unique: the receiver uses it to drop replays. */
  idempotencyKey: string;
  payload: Record<string, unknown>;
  state: WebhookState;
  tries: number;
  nextAt: string;
  lastError?: string;
  createdAt: string;
}

export interface WebhookEnqueue {
  campaignId: string;
  event: string;
  idempotencyKey: string;
  payload: Record<string, unknown>;
}

/** A contact's last disposition, and an import reject's reason, when its campaign's profile requires consent it lacks. */
export const NO_CONSENT = 'no_consent';

/** Dispositions of an attempt the bot transferred to a human (abandon-rate accounting). */
export const TRANSFER_DISPOSITIONS = ['transferred', 'abandoned', 'transfer_failed'] as const;
/** Transfers that never reached a human: the caller hung up while the agent rang, or the PBX could not reach one. */
export const ABANDONED_DISPOSITIONS = ['abandoned', 'transfer_failed'] as const;

/** Transfers to humans of one campaign (abandon-rate accounting). */
export interface TransferCounts {
  /** When the campaign's first attempt was made (ISO); absent before any. */
  firstAttemptAt?: string;
  /** Attempts placed since `since` that ended in one of TRANSFER_DISPOSITIONS. */
  transferred: number;
  /** Of those, the ones in ABANDONED_DISPOSITIONS. */
  abandoned: number;
}

export interface CampaignStats {
  contacts: number;
  pending: number;
  dialing: number;
  done: number;
  blocked: number;
  unknown: number;
  attempts: number;
  /** Attempts answered, live ones included. */
  connected: number;
  /** Attempts that ended after being answered: the answer rate's numerator (ended attempts are its denominator). */
  connectedEnded: number;
  /** Attempts that ended, by disposition. */
  byDisposition: Record<string, number>;
  avgHandleSec: number;
  /** Transfers to a human that never reached one, and all transfers, over the campaign's life (TransferCounts). */
  abandoned: number;
  transferred: number;
  /**
   * Attempts the retry policy still allows, exactly: per open contact, `retry.maxAttempts` minus the attempts it has
   * used (a pending contact at least one: it is due), nothing for a number on a DNC list now (its next claim is
   * refused). Future outcomes can only lower it (an answered call ends the contact).
   */
  attemptsLeft: number;
  /** Earliest planned attempt of a pending contact (ISO). */
  nextAt?: string;
}

/** Durable campaign data. Every multi-row change is one transaction: a crash leaves either all of it or none. */
export interface CampaignStore {
  createCampaign(c: CampaignRecord): Promise<void>;
  getCampaign(id: string): Promise<CampaignRecord | undefined>;
  listCampaigns(opts?: { state?: CampaignState }): Promise<CampaignRecord[]>;
  updateCampaign(id: string, patch: Partial<Omit<CampaignRecord, 'id' | 'createdAt' | 'state'>>, now: string): Promise<void>;
  /** Compare-and-set of the state; enqueues the state-change webhook in the same transaction. False when `from` did not match. */
  setState(id: string, from: CampaignState[], to: CampaignState, now: string, webhook?: WebhookEnqueue): Promise<boolean>;

  /** Inserts contacts; numbers already in the campaign are returned as duplicates (by input index). */
  addContacts(campaignId: string, contacts: ContactInput[], now: string): Promise<{ inserted: number; duplicates: number[] }>;
  getContact(id: number): Promise<ContactRecord | undefined>;
  listContacts(campaignId: string, opts?: { limit?: number; afterId?: number; state?: ContactState }): Promise<ContactRecord[]>;
  /** Pending contacts due at `now`, in order (next attempt time, then import order). */
  dueContacts(campaignId: string, now: string, limit: number): Promise<ContactRecord[]>;
  /** Moves a pending contact's next attempt (outside its window) or blocks it (role, consent). */
  deferContact(id: number, next: ContactNext, reason?: string): Promise<void>;
  /**
   * running -> finished, in one transaction, when no contact is pending or dialing; enqueues the state-change webhook
   * with it. An import at the same moment either keeps the campaign running (its contacts seen, or the import still
   * in flight) or comes after the finish (and the campaign service reopens it): a finish never strands contacts
   * imported with it. False when the campaign is not running, still has open contacts, or is being imported into.
   */
  finishIfDrained(campaignId: string, now: string, webhook?: WebhookEnqueue): Promise<boolean>;

  /**
   * Claims a contact: in ONE transaction checks the campaign runs, the contact is pending and due, the number is on
   * no DNC list and under its frequency caps, then writes the attempt row (unique per campaign, contact, attempt
   * number) with the node's lease. Nothing may be dialled without this row committed.
   */
  claimAttempt(req: ClaimRequest): Promise<ClaimResult>;
  getAttempt(id: string): Promise<AttemptRecord | undefined>;
  listAttempts(campaignId: string, opts?: { limit?: number; afterId?: string }): Promise<AttemptRecord[]>;
  /** Records the call id / PBX id / answer of an in-flight attempt. */
  markAttempt(id: string, patch: { callId?: string; pbxCallId?: string; state?: 'live'; answeredAt?: string; progress?: string }): Promise<void>;
  /** Ends an attempt, moves its contact on and enqueues its webhook: one transaction. False if it was already over. */
  finishAttempt(id: string, outcome: AttemptOutcome, contact: ContactNext, webhook?: WebhookEnqueue, state?: 'done' | 'unknown'): Promise<boolean>;
  /** Extends the lease of every in-flight attempt the node holds. */
  heartbeat(nodeId: string, leaseUntil: string): Promise<number>;
  /**
   * In-flight attempts this node must reconcile: its own, and any whose lease expired. `expiredOnly`: only those
   * whose lease expired (the periodic sweep of a running node, which must not touch its own live attempts).
   */
  attemptsToReconcile(nodeId: string, now: string, opts?: { expiredOnly?: boolean }): Promise<AttemptRecord[]>;
  /**
   * Hands back an attempt this node claimed but never dialled (drain, admission refused before the originate):
   * the attempt row is deleted and its contact is pending again with its attempt count restored, in one
   * transaction. Only a `dialing` attempt held by `nodeId` with no call id can be handed back. False otherwise.
   */
  handBack(id: string, nodeId: string): Promise<boolean>;
  /** Takes over an expired or own lease (compare-and-set on node and lease). */
  takeOver(id: string, nodeId: string, now: string, leaseUntil: string): Promise<boolean>;
  /**
   * Takes one call from the trunk's calls-per-second budget, shared by every node on the store (a token bucket row
   * refilled at `pace.ratePerSec` up to `pace.burst`). False when the budget is spent.
   */
  takeTrunkToken(trunk: string, pace: TrunkPace): Promise<boolean>;
  /** In-flight attempts per campaign. */
  liveCount(campaignId: string): Promise<number>;
  /** Live statistics; `now` (ISO) decides which DNC entries are in force for `attemptsLeft`. */
  stats(campaignId: string, now: string): Promise<CampaignStats>;
  /** Transfers to humans among the campaign's attempts placed since `since` (ISO; all when absent). */
  transferCounts(campaignId: string, since?: string): Promise<TransferCounts>;
  /** Attempts for a number across all campaigns since `since` (frequency caps, reporting). */
  countAttempts(number: string, since: string): Promise<number>;

  addDnc(entries: DncEntry[]): Promise<number>;
  removeDnc(number: string, scope: string): Promise<boolean>;
  /** The entry blocking `number` for the campaign at `now` (global or campaign scope, unexpired). */
  findDnc(number: string, campaignId: string | undefined, now: string): Promise<DncEntry | undefined>;
  listDnc(opts?: { scope?: string; limit?: number; afterNumber?: string }): Promise<DncEntry[]>;

  saveImportReport(report: ImportReport, rejects: ImportReject[]): Promise<void>;
  getImportReport(id: string): Promise<{ report: ImportReport; rejects: ImportReject[] } | undefined>;

  enqueueWebhook(w: WebhookEnqueue, now: string): Promise<void>;
  dueWebhooks(now: string, limit: number): Promise<WebhookDelivery[]>;
  /**
   * Takes up to `limit` due pending deliveries for one sender: their `nextAt` moves to `leaseUntil` in the same
   * statement, so no other sender (node) takes them while this one tries; a sender that dies leaves them due again
   * when the lease passes (at-least-once, same idempotency key).
   */
  claimWebhooks(now: string, leaseUntil: string, limit: number): Promise<WebhookDelivery[]>;
  getWebhook(id: number): Promise<WebhookDelivery | undefined>;
  webhookDelivered(id: number, now: string): Promise<void>;
  /** One more failed try: retried at `nextAt`, or dead-lettered when `nextAt` is undefined. */
  webhookFailed(id: number, error: string, nextAt: string | undefined): Promise<void>;
  listWebhooks(opts: { state?: WebhookState; limit?: number; campaignId?: string }): Promise<WebhookDelivery[]>;
  /** Deliveries per state (metrics). */
  countWebhooks(): Promise<Record<WebhookState, number>>;
  /** A dead-lettered delivery goes back to pending with its tries reset; false when it is not dead. */
  replayWebhook(id: number, now: string): Promise<boolean>;
}
