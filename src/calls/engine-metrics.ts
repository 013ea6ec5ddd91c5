import type { CallMetricLabels, EngineMetrics } from '../dialog/index.ts';
import type { Metrics } from '../observability/index.ts';

/**
 * What the engine reports, onto the process's Prometheus metrics. `transportOf` names the media wire of a PBX
 * (from the config: websocket, audiosocket, rtp, audio_stream, audio_fork; `media` for callpilot's own socket).
 */
export function engineMetrics(m: Metrics, transportOf: (pbx: string) => string = () => 'unknown'): EngineMetrics {
  const full = (l: CallMetricLabels): Record<'flow' | 'lang' | 'pbx' | 'transport', string> => ({ ...l, transport: transportOf(l.pbx) });
  return {
    callStarted: (l) => m.activeCalls.inc({ pbx: l.pbx, transport: transportOf(l.pbx) }),
    callEnded: (disposition, l) => {
      m.activeCalls.dec({ pbx: l.pbx, transport: transportOf(l.pbx) });
      m.callsTotal.inc({ disposition, ...full(l) });
    },
    turn: (latency, l) => {
      m.turnsTotal.inc(full(l));
      if (latency !== undefined) m.turnLatency.observe(full(l), latency);
    },
    transfer: (l) => m.transfers.inc(full(l)),
    bargeIn: (stop) => m.bargeInStop.observe(stop),
    legStats: (s) => {
      m.lateFrames.inc(s.lateFrames);
      m.droppedFrames.inc(s.droppedFrames);
    },
  };
}
