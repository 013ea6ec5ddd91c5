import type { PbxCallInfo } from '../types.ts';

/** Channel variables callpilot reads: `callpilot_flow`, `callpilot_lang`, any other `callpilot_*`. */
const VARIABLE_PREFIX = 'variable_callpilot_';

/** PbxCallInfo from a channel's event headers (CHANNEL_PARK, or the outbound `connect` channel data). */
export function callInfoFromHeaders(headers: Readonly<Record<string, string>>, direction: 'inbound' | 'outbound'): PbxCallInfo {
  const variables: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (key.startsWith(VARIABLE_PREFIX)) variables[key.slice(VARIABLE_PREFIX.length)] = value;
  }
  const { flow, lang, ...rest } = variables;
  return {
    pbx: 'freeswitch',
    pbxCallId: headers['Unique-ID'] ?? '',
    direction,
    from: headers['Caller-Caller-ID-Number'] || undefined,
    to: headers['Caller-Destination-Number'] || undefined,
    flow: flow || undefined,
    lang: lang || undefined,
    variables: rest,
  };
}
