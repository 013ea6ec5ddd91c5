import type { CallObserver } from './call-engine.ts';
import type { CallTimelineEvent } from './timeline.ts';

/**
 * Several observers as one, nested like scopes: starts and events go to them in the given order, ends in the
 * reverse order, each `callEnded` settling before the next starts. So with `(live feed, QA)` the feed publishes a
 * final before QA's live hit on it, and QA's end-of-call hits before the feed's `call.ended`. One observer
 * failing does not keep the others from seeing the call.
 */
export function combineObservers(...observers: (CallObserver | undefined)[]): CallObserver | undefined {
  const present = observers.filter((o): o is CallObserver => o !== undefined);
  if (present.length <= 1) return present[0];
  const each = (run: (o: CallObserver) => void): void => {
    let failure: unknown;
    for (const o of present) {
      try {
        run(o);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  };
  return {
    callStarted: (call) => each((o) => o.callStarted(call)),
    event: (callId: string, event: CallTimelineEvent) => each((o) => o.event(callId, event)),
    async callEnded(callId, end) {
      let failure: unknown;
      for (const o of [...present].reverse()) await o.callEnded(callId, end).catch((err: unknown) => (failure ??= err));
      if (failure !== undefined) throw failure;
    },
  };
}
