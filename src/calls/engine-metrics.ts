import type { EngineMetrics } from '../dialog/index.ts';
import type { Metrics } from '../observability/index.ts';

/** What the engine reports, onto the process's Prometheus metrics. */
export function engineMetrics(m: Metrics): EngineMetrics {
  return {
    callStarted: () => m.activeCalls.inc(),
    callEnded: (disposition) => {
      m.activeCalls.dec();
      m.callsTotal.inc({ disposition });
    },
    turn: (latency) => {
      m.turnsTotal.inc();
      if (latency !== undefined) m.turnLatency.observe(latency);
    },
    bargeIn: (stop) => m.bargeInStop.observe(stop),
    legStats: (s) => {
      m.lateFrames.inc(s.lateFrames);
      m.droppedFrames.inc(s.droppedFrames);
    },
  };
}
