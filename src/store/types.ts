import type { CampaignStore } from './campaign-types.ts';
import type { AmdVerdict, CallProgressVerdict } from '../core/index.ts';
import type { NodeStore } from './node-types.ts';
import type { AuditStore } from './audit-types.ts';
import type { TokenStore } from './tokens-types.ts';
import type { QaStore } from './qa-types.ts';

export type CallStatus = 'active' | 'ended';

export interface CallRecord {
  id: string;
  pbx: string;
  /** The PBX's id for the call (Asterisk channel id, FreeSWITCH uuid). */
  pbxCallId?: string;
  /** The id a media client gave the call; callpilot's own id is `id`. Neither of these is ever used in a path. */
  externalId?: string;
  direction: 'inbound' | 'outbound';
  from?: string;
  to?: string;
  flow?: string;
  lang: string;
  status: CallStatus;
  startedAt: string; // ISO 8601
  answeredAt?: string;
  endedAt?: string;
  /** Flow outcome (promised_to_pay, transferred, ...) or telephony outcome (busy, no-answer, ...). */
  disposition?: string;
  hangupCause?: number;
  hangupBy?: string;
  /** Folder with caller.wav, bot.wav, mixed.wav. */
  recordingDir?: string;
  variables: Record<string, string>;
  /** Outbound: what the line said before answer (announcement, tone or cause). */
  progress?: CallProgressVerdict;
  /** Outbound: who answered (human, machine, assistant), when detection ran. */
  amd?: AmdVerdict;
}

export interface TurnRecord {
  callId: string;
  seq: number;
  /** Caller speech, as heard and transcribed. */
  callerText: string;
  inputKind: 'speech' | 'dtmf' | 'noInput';
  /** What the bot answered. */
  botText?: string;
  /** Audio-clock ms (from the first caller frame). */
  speechStartMs?: number;
  speechEndMs?: number;
  /** End of caller speech -> first bot frame on the wire. */
  latencyMs?: number;
  /** The caller talked over the bot in this turn. */
  bargeIn: boolean;
  /** What of the bot's prompt the caller heard before barging in (ms). */
  heardMs?: number;
  /**
   * The caller went on with turn `continuesSeq` after a pause the bot took for its end: this turn holds the words
   * after the pause, and its intent, slots and answer are the dialog's decision on the whole turn, which replaced
   * that turn's.
   */
  continuesSeq?: number;
  /** The intent the dialog acted on (speech or DTMF), absent when nothing matched. */
  intent?: string;
  /** 0..1 confidence of that intent. */
  confidence?: number;
  /** Values heard in the turn (number, amount, date, time, digits), as text. */
  slots?: Record<string, string>;
  /** The caller's emotion cue in the utterance (lexicon and punctuation). */
  emotion?: TurnEmotion;
  at: string; // ISO 8601
}

export interface TurnEmotion {
  label: 'angry' | 'negative' | 'neutral' | 'positive';
  /** 0..1: how strongly the cues point at the label. */
  score: number;
}

export interface CallEvent {
  callId: string;
  at: string;
  type: string;
  data: Record<string, unknown>;
}

/** Filters of a call list; every one given must hold. */
export interface CallQuery {
  /** Page size, 1..1000 (default 50). */
  limit?: number;
  status?: CallStatus;
  /** ISO 8601 bounds on the start: from `since` (inclusive) to `until` (exclusive). */
  since?: string;
  until?: string;
  flow?: string;
  disposition?: string;
  direction?: 'inbound' | 'outbound';
  /** Calls of a campaign (its attempts carry `campaign_id` in their variables). */
  campaign?: string;
  /** The caller's or callee's number ends with these digits (the part masking leaves visible). */
  numberSuffix?: string;
  /** A cursor from a previous page's `next`. */
  after?: string;
}

export interface CallPage {
  calls: CallRecord[];
  next?: string;
}

/**
 * Durable storage of calls, turns and their events. Asynchronous because the PostgreSQL backend is: the SQLite one
 * answers from a settled promise.
 */
export interface CallStore {
  createCall(call: CallRecord): Promise<void>;
  updateCall(id: string, patch: Partial<Omit<CallRecord, 'id'>>): Promise<void>;
  getCall(id: string): Promise<CallRecord | undefined>;
  listCalls(opts?: { limit?: number; status?: CallStatus }): Promise<CallRecord[]>;
  /** Calls newest first, filtered, one page at a time (`next`: the cursor of the following page, absent at the end). */
  findCalls(query: CallQuery): Promise<CallPage>;
  addTurn(turn: TurnRecord): Promise<void>;
  listTurns(callId: string): Promise<TurnRecord[]>;
  addEvent(ev: CallEvent): Promise<void>;
  listEvents(callId: string): Promise<CallEvent[]>;
  /** Calls left `active` by a crash: ended with disposition `interrupted`, returned so their owners can clean up. */
  recoverInterruptedCalls(now: Date): Promise<CallRecord[]>;
  /**
   * Calls a dead node left `active` (shared stores): ended as `interrupted`. A single-node store has no other
   * nodes and returns nothing.
   */
  recoverCallsOfNode(nodeId: string, now: Date): Promise<CallRecord[]>;
}

/**
 * Everything callpilot keeps, one sub-store per domain on one database. New domains (tokens, audit, campaigns, QA)
 * add a member here and an implementation per backend.
 */
export interface Store {
  /** `sqlite` or `postgres`: what the store runs on (readyz, logs). */
  readonly backend: string;
  readonly calls: CallStore;
  readonly nodes: NodeStore;
  /** Whether the database is reachable now (readyz); `detail` says why not. */
  health(): { ok: boolean; detail?: string };
  /** API tokens, console sessions and server secrets. */
  readonly tokens: TokenStore;
  /** Append-only, hash-chained record of who read or changed what. */
  readonly audit: AuditStore;
  readonly campaigns: CampaignStore;
  /** QA (质检) rule hits. */
  readonly qa: QaStore;
  close(): Promise<void>;
}
