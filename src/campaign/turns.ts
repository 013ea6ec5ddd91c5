/**
 * What one turn of a lane did: `progress` (it claimed, or spent its turn on a contact it could not dial), `waiting`
 * (nothing it may do until time passes: its trunk's tokens are spent) or `done` (nothing more this pass).
 */
export type TurnResult = 'progress' | 'waiting' | 'done';

/**
 * Runs `turn` for each lane in order (priority order), one turn each per round, until a whole round makes no
 * progress or `more()` says stop. Lanes take turns instead of one running to its end before the next starts, so a
 * campaign with many claims to make (a high CPS, short calls) cannot hold a paced one back for the length of its
 * claims: each claim is a store transaction, and while one campaign claims twenty in a row the others' trunk
 * tokens would pile up past their burst and be lost. A `waiting` lane is asked again in the next round, by which
 * time its tokens may have come back.
 */
export async function takeTurns<L>(lanes: readonly L[], turn: (lane: L) => Promise<TurnResult>, more: () => boolean): Promise<void> {
  const open = new Set(lanes);
  while (open.size > 0 && more()) {
    let progressed = false;
    for (const lane of lanes) {
      if (!open.has(lane) || !more()) continue;
      const result = await turn(lane);
      if (result === 'done') open.delete(lane);
      else if (result === 'progress') progressed = true;
    }
    if (!progressed) return;
  }
}
