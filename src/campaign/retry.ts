import type { ContactNext, RetryDisposition, RetryPolicy } from '../store/index.ts';

/** Dispositions the PBX, progress detection or flow may report, mapped onto the retry rule that covers them. */
const RULE_OF: Record<string, RetryDisposition> = {
  busy: 'busy',
  'no-answer': 'no-answer',
  failed: 'failed',
  unreachable: 'unreachable',
  congestion: 'congestion',
  cancelled: 'failed',
  machine: 'machine',
  voicemail: 'machine',
  assistant: 'machine',
  powered_off: 'unreachable',
  callback_requested: 'callback_requested',
  interrupted: 'interrupted',
};

/** Carrier verdicts that mean the number cannot be reached at all: never retried. */
const FINAL = new Set(['invalid_number', 'suspended', 'unknown']);

/**
 * The contact's next state after an attempt: another attempt after the rule's delay (a callback at the time the
 * caller named, from the `callback_at` slot), or done. Retries are new attempt rows, made by the next claim.
 */
export function nextAttempt(policy: RetryPolicy, attemptNo: number, disposition: string, now: number, slots?: Record<string, string>): ContactNext {
  if (FINAL.has(disposition) || attemptNo >= policy.maxAttempts) return { state: 'done' };
  const rule = RULE_OF[disposition];
  if (!rule) return { state: 'done' };
  const delayMin = policy.delaysMin[rule];
  if (delayMin === undefined) return { state: 'done' };
  if (rule === 'callback_requested') {
    const named = slots?.callback_at ? Date.parse(slots.callback_at) : NaN;
    if (Number.isFinite(named) && named > now) return { state: 'pending', nextAt: new Date(named).toISOString() };
  }
  return { state: 'pending', nextAt: new Date(now + delayMin * 60_000).toISOString() };
}
