import type { CallProgressVerdict } from '../core/index.ts';
import type { Disposition } from './types.ts';

/** The telephony disposition of an attempt ended by a call-progress verdict before answer. */
export function dispositionForVerdict(v: CallProgressVerdict): Exclude<Disposition, 'answered'> {
  switch (v.kind) {
    case 'busy':
      return 'busy';
    case 'no_answer':
      return 'no-answer';
    case 'invalid_number':
    case 'rejected':
      return 'failed';
    case 'powered_off':
    case 'suspended':
    case 'unreachable':
      return v.heard === 'congestion_tone' ? 'congestion' : 'unreachable';
    default:
      return 'failed';
  }
}

/** Q.850 cause callpilot hangs up with after a verdict: 16 normal clearing (we end a call that is still ringing). */
export const VERDICT_HANGUP_CAUSE = 16;
