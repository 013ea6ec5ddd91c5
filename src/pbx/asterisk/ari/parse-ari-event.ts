import type { AriBridge, AriChannel, AriEvent } from './ari-types.ts';

export type ParsedAriEvent = { ok: true; event: AriEvent } | { ok: false; error: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function channelOf(v: unknown): AriChannel | undefined {
  if (!isObject(v) || typeof v.id !== 'string' || typeof v.name !== 'string' || typeof v.state !== 'string') return undefined;
  const caller = isObject(v.caller) ? v.caller : {};
  return {
    ...(v as object),
    id: v.id,
    name: v.name,
    state: v.state,
    caller: { name: String(caller.name ?? ''), number: String(caller.number ?? '') },
  } as AriChannel;
}

function bridgeOf(v: unknown): AriBridge | undefined {
  if (!isObject(v) || typeof v.id !== 'string') return undefined;
  return { ...(v as object), id: v.id, channels: Array.isArray(v.channels) ? v.channels.map(String) : [] } as AriBridge;
}

/**
 * Validate one events-socket message. Anything malformed (bad JSON, a known event missing the
 * fields callpilot relies on) is rejected with a reason instead of throwing, so one bad message
 * never takes the process down. Unknown event types pass through as `Other`.
 */
export function parseAriEvent(text: string): ParsedAriEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: `not JSON: ${text.slice(0, 80)}` };
  }
  if (!isObject(raw) || typeof raw.type !== 'string') return { ok: false, error: 'event without a type' };
  const type = raw.type;
  const base = { timestamp: raw.timestamp as string | undefined, application: raw.application as string | undefined };
  const needChannel = (): AriChannel | string => channelOf(raw.channel) ?? `${type} without a valid channel`;
  switch (type) {
    case 'StasisStart': {
      const channel = needChannel();
      if (typeof channel === 'string') return { ok: false, error: channel };
      const args = Array.isArray(raw.args) ? raw.args.map(String) : [];
      return { ok: true, event: { ...base, type, channel, args } };
    }
    case 'StasisEnd':
    case 'ChannelStateChange': {
      const channel = needChannel();
      if (typeof channel === 'string') return { ok: false, error: channel };
      return { ok: true, event: { ...base, type, channel } };
    }
    case 'ChannelHangupRequest': {
      const channel = needChannel();
      if (typeof channel === 'string') return { ok: false, error: channel };
      const cause = typeof raw.cause === 'number' ? raw.cause : undefined;
      return { ok: true, event: { ...base, type, channel, cause, soft: raw.soft === true } };
    }
    case 'ChannelDestroyed': {
      const channel = needChannel();
      if (typeof channel === 'string') return { ok: false, error: channel };
      if (typeof raw.cause !== 'number') return { ok: false, error: 'ChannelDestroyed without a numeric cause' };
      return { ok: true, event: { ...base, type, channel, cause: raw.cause, cause_txt: String(raw.cause_txt ?? '') } };
    }
    case 'ChannelDtmfReceived': {
      const channel = needChannel();
      if (typeof channel === 'string') return { ok: false, error: channel };
      if (typeof raw.digit !== 'string' || raw.digit.length !== 1) return { ok: false, error: 'ChannelDtmfReceived without a digit' };
      return { ok: true, event: { ...base, type, channel, digit: raw.digit, duration_ms: raw.duration_ms as number | undefined } };
    }
    case 'Dial': {
      const peer = channelOf(raw.peer);
      if (!peer) return { ok: false, error: 'Dial without a valid peer' };
      return { ok: true, event: { ...base, type, peer, dialstatus: String(raw.dialstatus ?? ''), caller: channelOf(raw.caller) } };
    }
    case 'ChannelEnteredBridge':
    case 'ChannelLeftBridge': {
      const channel = needChannel();
      const bridge = bridgeOf(raw.bridge);
      if (typeof channel === 'string') return { ok: false, error: channel };
      if (!bridge) return { ok: false, error: `${type} without a valid bridge` };
      return { ok: true, event: { ...base, type, channel, bridge } };
    }
    case 'BridgeDestroyed': {
      const bridge = bridgeOf(raw.bridge);
      if (!bridge) return { ok: false, error: 'BridgeDestroyed without a valid bridge' };
      return { ok: true, event: { ...base, type, bridge } };
    }
    case 'ChannelVarset':
      return {
        ok: true,
        event: { ...base, type, variable: String(raw.variable ?? ''), value: String(raw.value ?? ''), channel: channelOf(raw.channel) },
      };
    default:
      return { ok: true, event: { ...base, type: 'Other', originalType: type } };
  }
}
