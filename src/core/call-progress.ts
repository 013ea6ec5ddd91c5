/**
 * Verdicts about who or what is on the line: before answer (call progress: carrier announcements, tones,
 * signalling causes) and after answer (answering-machine / assistant detection). Shared by the PBX adapters
 * (which carry them), speech (which decides them), calls (which stores them) and the campaign dialer (which
 * turns them into dispositions and retries).
 */

/**
 * What the line said before anyone answered.
 * - `invalid_number` 空号 (announcement, SIP 404, Q.850 1)
 * - `powered_off` 关机
 * - `suspended` 停机 / 欠费
 * - `busy` 正在通话中, busy tone, SIP 486, Q.850 17
 * - `unreachable` 无法接通, 不在服务区, congestion tone, SIP 480/503/408, Q.850 18/20/27/34/38/41
 * - `no_answer` rang out (Q.850 19 after ringing)
 * - `rejected` the callee declined (SIP 603, Q.850 21)
 * - `answered` nothing decided before the answer
 */
export type CallProgressKind =
  | 'invalid_number'
  | 'powered_off'
  | 'suspended'
  | 'busy'
  | 'unreachable'
  | 'no_answer'
  | 'rejected'
  | 'answered';

export const CALL_PROGRESS_KINDS: readonly CallProgressKind[] = [
  'invalid_number',
  'powered_off',
  'suspended',
  'busy',
  'unreachable',
  'no_answer',
  'rejected',
  'answered',
];

/** What the verdict was decided from. */
export type CallProgressSource = 'announcement' | 'tone' | 'cause';

/** What was heard in early media before the verdict or the answer. */
export type EarlyMediaHeard = 'none' | 'ringback_tone' | 'colour_ringback' | 'announcement' | 'busy_tone' | 'congestion_tone';

export interface CallProgressVerdict {
  kind: CallProgressKind;
  source: CallProgressSource;
  /** Milliseconds of early-media audio (audio clock) heard when the verdict was reached; absent for causes. */
  atMs?: number;
  /** The keyword or tone that decided (`空号`, `busy_tone 350/350`, `cause 17`). */
  evidence?: string;
  /** What the ASR heard in the early media (the announcement), when any. */
  transcript?: string;
  /** Q.850 cause of the failed attempt, when the PBX gave one. */
  cause?: number;
  /** What early media was heard at all (colour ringback is music, not a verdict). */
  heard?: EarlyMediaHeard;
}

/** Who answered. */
export type AmdKind = 'human' | 'machine' | 'assistant' | 'unknown';

export const AMD_KINDS: readonly AmdKind[] = ['human', 'machine', 'assistant', 'unknown'];

/** Why the AMD verdict was reached. */
export type AmdReason =
  | 'keyword' // a voicemail or assistant phrase in the transcript
  | 'beep' // a voicemail beep
  | 'short_greeting' // 喂 / 您好 then a pause: people do that
  | 'long_greeting' // talking on without a pause: recordings do that
  | 'silence' // nothing said in the detection window
  | 'timeout'; // no rule decided within the window

export interface AmdVerdict {
  kind: AmdKind;
  reason: AmdReason;
  /** Milliseconds after answer (audio clock of the caller's audio) at which the verdict was reached. */
  atMs: number;
  evidence?: string;
  /** What the ASR heard in the detection window. */
  transcript?: string;
  /** When a machine's beep was heard (ms after answer). */
  beepAtMs?: number;
}

/**
 * Feeds the early media of one outbound attempt to a classifier. The PBX adapter calls `onSignal` and
 * `onAudio` while the call is unanswered; `verdict` resolves once the classifier decided the attempt should
 * end before answer (an announcement or a busy/congestion tone). The adapter then hangs up. `stop()` is
 * called once the call is answered or has ended, and returns what was heard so far.
 */
export interface EarlyMediaMonitor {
  onSignal(signal: 'ringing' | 'early_media'): void;
  /** One frame of early audio, PCM16 at `sampleRate`. The array may be reused: copy to keep. */
  onAudio(pcm: Int16Array, sampleRate: number): void;
  readonly verdict: Promise<CallProgressVerdict>;
  stop(): EarlyMediaHeard;
}

/** Q.850 cause to call-progress kind, for attempts that failed without a classified announcement. */
export function progressFromCause(cause: number, opts: { ringing?: boolean } = {}): CallProgressKind {
  switch (cause) {
    case 1: // unallocated number
    case 3: // no route to destination
    case 22: // number changed
    case 28: // invalid number format
      return 'invalid_number';
    case 17: // user busy
      return 'busy';
    case 19: // no answer from user (user alerted)
      return opts.ringing ? 'no_answer' : 'unreachable';
    case 21: // call rejected
      return 'rejected';
    case 20: // subscriber absent
      return 'powered_off';
    case 16: // normal clearing before answer: the far end gave up after ringing
    case 102: // recovery on timer expiry
    case 31:
      return opts.ringing ? 'no_answer' : 'unreachable';
    default:
      return 'unreachable';
  }
}

/** A verdict from the signalling cause alone. */
export function progressVerdictFromCause(cause: number, opts: { ringing?: boolean; heard?: EarlyMediaHeard } = {}): CallProgressVerdict {
  return { kind: progressFromCause(cause, opts), source: 'cause', cause, evidence: `cause ${cause}`, heard: opts.heard };
}
