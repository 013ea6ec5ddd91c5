import type { Disposition } from '../types.ts';

export interface OriginateProgress {
  /** Ringing was seen (ChannelStateChange Ringing / Dial RINGING). */
  ringing: boolean;
  /** callpilot cancelled the attempt itself. */
  cancelled: boolean;
  /** Last Dial dialstatus seen (BUSY, NOANSWER, CONGESTION, CHANUNAVAIL, ...). */
  dialstatus: string;
}

/**
 * Map a failed originate's final Q.850 cause to a disposition. The captures show that cause 19
 * comes both from a callee that rang out and from an originate timeout with no provisional
 * response at all, so "did it ring" decides between no-answer and unreachable.
 */
export function dispositionFor(cause: number, p: OriginateProgress): Exclude<Disposition, 'answered'> {
  if (p.cancelled) return 'cancelled';
  if (cause === 17 || p.dialstatus === 'BUSY') return 'busy';
  if (cause === 19 || cause === 18) return p.ringing ? 'no-answer' : 'unreachable';
  if (p.dialstatus === 'CONGESTION' || cause === 34 || cause === 38 || cause === 41 || cause === 42 || cause === 44) return 'congestion';
  if (cause === 1 || cause === 3 || cause === 20 || cause === 27 || cause === 28 || p.dialstatus === 'CHANUNAVAIL') return 'unreachable';
  if (cause === 16 && p.ringing) return 'no-answer';
  return 'failed';
}
