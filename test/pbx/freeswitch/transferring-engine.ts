import type { CallEngine, StartCallRequest } from '../../../src/dialog/index.ts';
import type { CallStore } from '../../../src/store/index.ts';
import { tone } from './harness.ts';

/**
 * Speaks a last sentence and transfers, then stores its end the way the real engine does (`transferred`, or the
 * request's `transferDisposition`). The
 * call row is created unless it exists (an outbound attempt's row is stored before dialling).
 */
export function transferringEngine(calls: CallStore, seen: { callId?: string; pbxCallId?: string }): CallEngine {
  return {
    runCall: async (req: StartCallRequest) => {
      const callId = req.callId ?? 'missing';
      seen.callId = callId;
      seen.pbxCallId = req.pbxCallId;
      if (!(await calls.getCall(callId))) {
        await calls.createCall({ id: callId, pbx: req.pbx ?? 'freeswitch', pbxCallId: req.pbxCallId, direction: 'inbound', lang: 'zh', status: 'active', startedAt: new Date().toISOString(), variables: {} });
      }
      req.leg.play(tone(400));
      await req.control?.transfer('caller asked for a human', '转人工');
      await calls.updateCall(callId, { status: 'ended', endedAt: new Date().toISOString(), disposition: req.transferDisposition ?? 'transferred', hangupBy: 'transfer' });
      return { callId, disposition: 'transferred', endedBy: 'transfer', transcript: [] };
    },
  } as unknown as CallEngine;
}
