import type { HangupInfo } from '../types.ts';

/** Q.850 cause texts as Asterisk prints them (cause_txt), for the causes a call centre meets. */
const Q850_TEXT: Record<number, string> = {
  0: 'Unknown',
  1: 'Unallocated (unassigned) number',
  3: 'No route to destination',
  16: 'Normal Clearing',
  17: 'User busy',
  18: 'No user responding',
  19: 'User alerting, no answer',
  20: 'Subscriber absent',
  21: 'Call Rejected',
  22: 'Number changed',
  23: 'Redirected to new destination',
  27: 'Destination out of order',
  28: 'Invalid number format',
  31: 'Normal, unspecified',
  34: 'Circuit/channel congestion',
  38: 'Network out of order',
  41: 'Temporary failure',
  42: 'Switching equipment congestion',
  44: 'Requested channel not available',
  58: 'Bearer capability not available',
  127: 'Interworking, unspecified',
};

export function causeText(cause: number): string {
  return Q850_TEXT[cause] ?? `Cause ${cause}`;
}

/**
 * AST_SOFTHANGUP_* bits: with `soft:true`, ChannelHangupRequest.cause is this bitmask, not Q.850
 * (DELETE gives 32 EXPLICIT, `core stop` gives 4 SHUTDOWN).
 */
export const SOFT_HANGUP = { DEV: 1, ASYNCGOTO: 2, SHUTDOWN: 4, TIMEOUT: 8, APPUNLOAD: 16, EXPLICIT: 32 } as const;

export interface HangupRequestFields {
  cause?: number;
  soft?: boolean;
}

/**
 * What a ChannelHangupRequest on the call's own channel means. `botCause` is the cause callpilot
 * asked for if it hung up itself.
 */
export function hangupFromRequest(req: HangupRequestFields, botCause: number | undefined): HangupInfo {
  if (req.soft) {
    const mask = req.cause ?? 0;
    if (mask & SOFT_HANGUP.SHUTDOWN) return { cause: 16, causeText: 'Normal Clearing (Asterisk shutting down)', by: 'pbx' };
    if (botCause !== undefined) return { cause: botCause, causeText: causeText(botCause), by: 'bot' };
    // Someone else (another ARI app, AMI, CLI) hung the channel up from the Asterisk side.
    return { cause: 16, causeText: causeText(16), by: 'pbx' };
  }
  // No cause at all: the far end hung up (a BYE without a Reason header).
  if (req.cause === undefined || req.cause === 0) return { cause: 16, causeText: causeText(16), by: 'caller' };
  return { cause: req.cause, causeText: causeText(req.cause), by: 'caller' };
}

/** ChannelDestroyed's cause; 0 ("Unknown", a BYE without Reason) reads as normal clearing. */
export function hangupFromDestroyed(cause: number, text: string, botCause: number | undefined): HangupInfo {
  if (botCause !== undefined) return { cause: botCause, causeText: causeText(botCause), by: 'bot' };
  if (cause === 0) return { cause: 16, causeText: causeText(16), by: 'caller' };
  return { cause, causeText: text || causeText(cause), by: 'caller' };
}
