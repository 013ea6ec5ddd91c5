import { maskText, maskValue, maskVariables } from '../core/index.ts';
import type { CallEvent, CallRecord, TurnRecord } from '../store/index.ts';

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
