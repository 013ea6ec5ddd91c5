import type { Logger } from 'pino';
import type { LiveChannel, PbxAdapter, TransferOutcome } from '../pbx/index.ts';
import type { CallRecord, CallStore } from '../store/index.ts';

/**
 * Stored while a PBX that verifies transfers (FreeSWITCH) has not yet said whether the agent took the caller. A
 * crash in that window leaves it; the next start asks the PBX (`settlePendingTransfers`) instead of claiming success.
 */
export const TRANSFER_PENDING = 'transfer_pending';
/**
 * A transfer the PBX accepted whose result nobody learned: no verdict within the watch, or the channel was gone when
 * callpilot came back from a crash. Not `transferred`: the caller may have been dropped while the agent rang.
 */
export const TRANSFER_UNVERIFIED = 'transfer_unverified';

/**
 * Settles one call whose transfer verdict a crash lost, from what the PBX shows now: its channel bridged to another
 * leg means an agent has the caller (`transferred`); still ringing, gone or not asked means `transfer_unverified`.
 * Stores the disposition and a `transferOutcome` event marked `recovered`; returns the disposition.
 */
export async function settleRecoveredTransfer(calls: CallStore, call: CallRecord, channel: LiveChannel | undefined, why = channelWhy(channel)): Promise<string> {
  const bridged = channel?.bridgedTo !== undefined;
  const disposition = bridged ? 'transferred' : TRANSFER_UNVERIFIED;
  const outcome: TransferOutcome & { recovered: true } = {
    result: bridged ? 'connected' : 'unknown',
    target: '',
    detail: bridged ? `bridged to ${channel.bridgedTo} when callpilot came back` : why,
    recovered: true,
  };
  await calls.addEvent({ callId: call.id, at: new Date().toISOString(), type: 'transferOutcome', data: { ...outcome } });
  await calls.updateCall(call.id, { disposition });
  return disposition;
}

/** What the PBX shows of a call's channel: undefined when it is gone (or the adapter cannot look it up). */
export async function channelOfCall(adapters: readonly PbxAdapter[], call: CallRecord): Promise<{ channel?: LiveChannel; why: string }> {
  const adapter = adapters.find((a) => a.kind === call.pbx);
  if (!adapter?.findChannel || !call.pbxCallId) return { why: `the ${call.pbx} adapter cannot look the channel up` };
  if (!adapter.ready) return { why: `${call.pbx} was not reachable when callpilot came back` };
  const channel = await adapter.findChannel(call.pbxCallId);
  return { channel, why: channelWhy(channel) };
}

function channelWhy(channel: LiveChannel | undefined): string {
  return channel ? `the channel was not bridged when callpilot came back (${channel.state})` : 'the channel was gone when callpilot came back: whether an agent answered is unknown';
}

/**
 * At start: every call left `transfer_pending` by a crash is settled against the PBX. A PBX that cannot answer leaves
 * the call `transfer_unverified` (never `transferred` on faith). Only calls that ended before `endedBefore`: a later
 * one may still be watched by the node that ran it (a cluster shares the store). Returns how many ended each way.
 */
export async function settlePendingTransfers(
  calls: CallStore,
  adapters: readonly PbxAdapter[],
  log: Logger,
  opts: { endedBefore: string },
): Promise<Record<string, number>> {
  const settled: Record<string, number> = {};
  const seen = new Set<string>();
  for (;;) {
    // Settled calls leave the filter; the guard stops at a page of calls already seen (a store that did not update).
    const pending = (await calls.findCalls({ disposition: TRANSFER_PENDING, limit: 100 })).calls.filter((c) => !seen.has(c.id));
    if (pending.length === 0) return settled;
    for (const call of pending) {
      seen.add(call.id);
      if (!call.endedAt || call.endedAt >= opts.endedBefore) continue;
      let found: { channel?: LiveChannel; why: string };
      try {
        found = await channelOfCall(adapters, call);
      } catch (err) {
        found = { why: `asking ${call.pbx} failed: ${(err as Error).message}` };
      }
      const disposition = await settleRecoveredTransfer(calls, call, found.channel, found.why);
      settled[disposition] = (settled[disposition] ?? 0) + 1;
      log.warn({ callId: call.id, disposition, detail: found.why }, 'transfer verdict lost by a restart: settled from the PBX');
    }
  }
}
