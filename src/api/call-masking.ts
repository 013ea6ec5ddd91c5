import { z } from 'zod';
import { mayUnmask, type Principal } from '../auth/index.ts';
import { maskText, maskValue, maskVariables } from '../core/index.ts';
import type { CallEvent, CallRecord, TurnRecord } from '../store/index.ts';
import { HttpError } from './http-error.ts';

/** `?unmask=true`: full numbers, for principals allowed to see them; every such read is audited. */
export const unmaskParam = z
  .enum(['true', 'false', '1', '0'])
  .optional()
  .transform((v) => v === 'true' || v === '1');

/**
 * Numbers are masked for everyone by default; full numbers are a deliberate `?unmask=true` read, refused to
 * principals without the right, so the audit log holds exactly the reads that showed them.
 */
export function wantsUnmasked(principal: Principal, asked: boolean): boolean {
  if (!asked) return false;
  if (!mayUnmask(principal)) throw new HttpError(403, `role ${principal.role} without the unmask grant sees masked numbers only`);
  return true;
}

// What a reader without `unmask` sees of a call: every number of a person masked by src/core's rules (138****5678),
// in the record, the variables, both sides of every turn (spoken digit runs too) and the events' data.

export function maskCall(call: CallRecord): CallRecord {
  const masked: CallRecord = { ...call, variables: maskVariables(call.variables) };
  if (call.from !== undefined) masked.from = maskText(call.from);
  if (call.to !== undefined) masked.to = maskText(call.to);
  return masked;
}

export function maskTurn(turn: TurnRecord): TurnRecord {
  const masked: TurnRecord = { ...turn, callerText: maskText(turn.callerText) };
  if (turn.botText !== undefined) masked.botText = maskText(turn.botText);
  // Digits and amounts heard can be a card or phone number.
  if (turn.slots !== undefined) masked.slots = maskVariables(turn.slots);
  return masked;
}

export function maskEvent(event: CallEvent): CallEvent {
  return { ...event, data: maskValue(event.data) as Record<string, unknown> };
}
