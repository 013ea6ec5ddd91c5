import type { QaHit, TurnRecord } from '../store/index.ts';

/** A hit as a turn lists it: enough to show a badge and seek the recording to it; the full hit is in `qaHits`. */
export interface TurnQaHit {
  id: number;
  ruleId: string;
  severity: QaHit['severity'];
  leg: NonNullable<QaHit['leg']>;
  atMs: number;
}

export type TurnWithQa = TurnRecord & { qaHits: TurnQaHit[] };

/**
 * Hands each hit said by a leg to the turn it happened in: a turn runs from its caller speech start (turns without
 * one, DTMF and no-input, extend the turn before) to the next turn's; what comes before the first caller speech
 * (the greeting) belongs to the first turn. Whole-call hits (no leg: missing disclosures, ratios) stay off the turns.
 */
export function attachQaHits(turns: readonly TurnRecord[], hits: readonly QaHit[]): TurnWithQa[] {
  const out: TurnWithQa[] = turns.map((t) => ({ ...t, qaHits: [] }));
  if (out.length === 0) return out;
  const starts: number[] = [];
  let anchor = -Infinity;
  for (const t of turns) {
    if (t.speechStartMs !== undefined) anchor = t.speechStartMs;
    starts.push(anchor);
  }
  for (const hit of [...hits].sort((a, b) => a.atMs - b.atMs || a.id - b.id)) {
    if (!hit.leg) continue;
    let index = 0;
    for (let i = 0; i < starts.length; i++) if (starts[i]! <= hit.atMs) index = i;
    out[index]!.qaHits.push({ id: hit.id, ruleId: hit.ruleId, severity: hit.severity, leg: hit.leg, atMs: hit.atMs });
  }
  return out;
}
