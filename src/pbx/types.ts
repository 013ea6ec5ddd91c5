import type { EventEmitter } from 'node:events';
import type { AmdVerdict, CallProgressVerdict, EarlyMediaMonitor } from '../core/index.ts';
import type { AudioLeg, WebSocketRoute } from '../media/index.ts';

export type { AmdVerdict, CallProgressVerdict, EarlyMediaMonitor };

export type PbxKind = 'asterisk' | 'freeswitch' | 'simulator';

/** Outcome of an outbound attempt, the same for every PBX. */
export type Disposition = 'answered' | 'busy' | 'no-answer' | 'unreachable' | 'failed' | 'congestion' | 'cancelled';

/** How and why a call ended. `cause` is Q.850 (16 normal clearing, 17 busy, 19 no answer, ...). */
export interface HangupInfo {
  cause: number;
  causeText: string;
  by: 'caller' | 'bot' | 'pbx';
}

export interface PbxCallInfo {
  pbx: PbxKind;
  /** The PBX's own id (ARI channel id, FreeSWITCH Unique-ID). */
  pbxCallId: string;
  direction: 'inbound' | 'outbound';
  from?: string;
  to?: string;
  /** From dialplan args (`flow=...,lang=...`), originate variables or API. */
  flow?: string;
  lang?: string;
  variables: Record<string, string>;
}

export interface PbxCallEvents {
  dtmf: [digit: string];
  /** The call is over on the PBX side; emitted once. */
  hangup: [info: HangupInfo];
  /**
   * What became of a `transfer()`, as the PBX saw it (emitted once per transfer, possibly after `hangup`):
   * adapters that can verify a transfer emit it; the orchestration stores it instead of assuming success.
   */
  transferOutcome: [outcome: TransferOutcome];
  /**
   * A better-known cause for a hangup already reported (possibly long after it): e.g. a call ended while the PBX
   * was unreachable is reported at once with a provisional cause, and confirmed once the PBX is back (restarted:
   * 38). The orchestration stores it over the earlier one.
   */
  causeUpdate: [info: HangupInfo];
}

/** The verdict on a transfer. */
export interface TransferOutcome {
  /**
   * `connected`: the caller reached the target (bridged to an agent). `failed`: the target never took the
   * call (the PBX hung the caller up, or no route) — `cause` says why. `unknown`: no verdict within the
   * adapter's wait (e.g. the target is a queue or IVR that keeps the caller waiting).
   */
  result: 'connected' | 'failed' | 'unknown';
  /** Q.850 cause when the caller was hung up instead. */
  cause?: number;
  /** `failed` because the caller hung up before the target answered (SIP BYE/CANCEL from the caller's side). */
  abandoned?: boolean;
  causeText?: string;
  /** Where the call went, in the PBX's words (extension, bridge target). */
  target: string;
  detail?: string;
}

/** Where a human agent is. */
export type TransferTarget =
  | { kind: 'dialplan'; context: string; extension: string; priority?: number }
  | { kind: 'endpoint'; endpoint: string };

export interface OpenMediaOptions {
  /** Answer the call as part of the set-up (see PbxCall.openMedia). */
  answer?: boolean;
}

/** One live call on a PBX, with the adapter's machinery hidden. */
export interface PbxCall extends EventEmitter<PbxCallEvents> {
  readonly info: PbxCallInfo;
  answer(): Promise<void>;
  /**
   * Set up the media path (externalMedia, audio stream, ...) and resolve once audio flows both ways. With
   * `answer` the call is answered too (an inbound call): adapters overlap the answer with the media set-up, so a
   * burst of calls gets media up in fewer PBX round trips; the caller joins the media only once answered.
   */
  openMedia(opts?: OpenMediaOptions): Promise<AudioLeg>;
  /** Hang up with a Q.850 cause (default 16), after the bot's last audio has been played out (bounded wait). Idempotent. */
  hangup(cause?: number): Promise<void>;
  /** Hand the call to a human (`target` undefined = the configured agent destination); `notes` (transcript
   * summary) travel as a channel variable. */
  transfer(target: TransferTarget | undefined, notes?: string): Promise<void>;
  /**
   * Set by adapters that watch a transfer the PBX accepted: its `transferOutcome` (connected, failed or unknown)
   * comes within this many ms. Undefined where nothing is learned once the PBX has the call (Asterisk's dialplan).
   */
  readonly transferVerdictMs?: number;
  setVariable(name: string, value: string): Promise<void>;
}

export interface OriginateRequest {
  /** Dial string or endpoint, e.g. `PJSIP/13800138000@trunk` or `sofia/gateway/trunk/13800138000`. */
  endpoint: string;
  callerId?: string;
  timeoutSec?: number;
  flow?: string;
  lang?: string;
  variables?: Record<string, string>;
  /**
   * Campaign attempt this call belongs to. It travels with the call as a channel variable (Asterisk
   * `CALLPILOT_ATTEMPT`, FreeSWITCH `callpilot_attempt`) so that after a crash the attempt can be found on the PBX.
   */
  attemptId?: string;
  /**
   * The PBX channel id to dial with (from the adapter's `newChannelId()`), chosen and stored with the attempt before
   * the originate is sent, so a node that dies with the originate in flight leaves an id another node can ask the
   * PBX about. Omitted: the adapter makes one.
   */
  channelId?: string;
  /**
   * Listen to early media (183 announcements, ringback and busy tones) before answer. The adapter dials so
   * that early audio reaches callpilot (Asterisk: channel created and bridged before dial; FreeSWITCH:
   * `ignore_early_media=false` and the audio stream started on CHANNEL_PROGRESS_MEDIA), feeds it to the
   * monitor, and hangs up when the monitor reaches a verdict before answer. The answered call keeps the same
   * media path.
   */
  earlyMedia?: EarlyMediaMonitor;
}

/** A channel the PBX still has, as seen when reconciling after a restart. */
export interface LiveChannel {
  pbxCallId: string;
  /** The `attemptId` the channel was originated with, if any. */
  attemptId?: string;
  /** The PBX's own state word (Up, Ringing, CS_EXECUTE, ...), for logs. */
  state: string;
  /** The leg it is bridged to (FreeSWITCH `bridge_uuid`), where the adapter reads it: a transferred caller reached an agent. */
  bridgedTo?: string;
}

export type OriginateResult =
  | { disposition: 'answered'; call: PbxCall; progress?: CallProgressVerdict }
  | {
      disposition: Exclude<Disposition, 'answered'>;
      cause: number;
      causeText: string;
      /** Why the attempt failed, from early media or the signalling cause. Always set by the adapters. */
      progress?: CallProgressVerdict;
    };

/**
 * Why a media listener turned traffic away: an AudioSocket connection that sent no UUID in time, started with
 * something else, or named a UUID callpilot did not hand to Asterisk (or already used); an RTP packet from
 * anywhere but the address and port the call's UnicastRTP channel reported.
 */
export type MediaRejectReason = 'no_uuid' | 'bad_start' | 'unknown_uuid' | 'wrong_source';

export interface PbxAdapterEvents {
  /** A new inbound call entered the bot (Stasis, park, socket). */
  call: [call: PbxCall];
  /** A media listener turned a connection or packet away (counted in callpilot_media_rejected_total). */
  mediaRejected: [transport: 'audiosocket' | 'rtp', reason: MediaRejectReason];
  /** Readiness changed; `reason` says why when not ready. */
  ready: [ready: boolean, reason?: string];
}

/** One PBX connection. Asterisk (ARI) and FreeSWITCH (ESL) implement it. */
export interface PbxAdapter extends EventEmitter<PbxAdapterEvents> {
  readonly kind: PbxKind;
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly ready: boolean;
  readonly notReadyReason?: string;
  /** Place an outbound call; resolves when it is answered or has failed. */
  originate(req: OriginateRequest): Promise<OriginateResult>;
  /**
   * Outbound channels the PBX has right now (ARI `GET /channels`, ESL `show channels`), with their attempt ids.
   * Used before any campaign dials, to find what a crashed process left behind.
   */
  listLiveCalls?(): Promise<LiveChannel[]>;
  /** A fresh channel id in the form this PBX takes on an originate (ARI `channelId`, FreeSWITCH `origination_uuid`). */
  newChannelId?(): string;
  /** One channel by the PBX's id: undefined when the PBX no longer has it; throws when the PBX cannot answer. */
  findChannel?(pbxCallId: string): Promise<LiveChannel | undefined>;
  /** Hangs up a channel by the PBX's id; false when it no longer exists. */
  hangupChannel?(pbxCallId: string, cause?: number): Promise<boolean>;
  /** WebSocket endpoints this adapter needs on callpilot's HTTP server (chan_websocket client mode, mod_audio_stream). */
  webSocketRoutes(): WebSocketRoute[];
  /**
   * Whether the PBX knows the endpoint a dial string names, asked before anything is dialled so a typo is refused
   * up front (4xx) instead of stored as a failed call. Adapters whose PBX cannot say leave it out or answer
   * `unknown`; only `missing` refuses.
   */
  checkEndpoint?(endpoint: string): Promise<EndpointCheck>;
}

/**
 * `exists`: the PBX knows it. `missing`: the PBX says it does not (422). `invalid`: not a dial string this PBX can
 * dial at all (400). `unknown`: the PBX cannot say for this form (Local/, a host, a gateway): dialled, and logged.
 */
export type EndpointCheck = { status: 'exists' | 'unknown'; detail?: string } | { status: 'missing' | 'invalid'; detail: string };
