export type CallStatus = 'active' | 'ended';

export interface CallRecord {
  id: string;
  pbx: string;
  pbxCallId?: string;
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
  at: string; // ISO 8601
}

export interface CallEvent {
  callId: string;
  at: string;
  type: string;
  data: Record<string, unknown>;
}

/** Durable storage of calls. SQLite by default; PostgreSQL later (same interface). */
export interface CallStore {
  createCall(call: CallRecord): void;
  updateCall(id: string, patch: Partial<Omit<CallRecord, 'id'>>): void;
  getCall(id: string): CallRecord | undefined;
  listCalls(opts?: { limit?: number; status?: CallStatus }): CallRecord[];
  addTurn(turn: TurnRecord): void;
  listTurns(callId: string): TurnRecord[];
  addEvent(ev: CallEvent): void;
  listEvents(callId: string): CallEvent[];
  /** Calls left `active` by a crash: ended with disposition `interrupted`, returned so their owners can clean up. */
  recoverInterruptedCalls(now: Date): CallRecord[];
  close(): void;
}
