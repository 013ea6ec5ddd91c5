/**
 * The slice of the ARI data model callpilot reads, as Asterisk 22 sends it. Fields that the
 * captures show as sometimes absent (cause, soft, args) are optional.
 */
export interface AriCallerId {
  name: string;
  number: string;
}

export interface AriDialplanCep {
  context: string;
  exten: string;
  priority: number;
  app_name?: string;
  app_data?: string;
}

export interface AriChannel {
  id: string;
  name: string;
  state: string;
  caller: AriCallerId;
  connected?: AriCallerId;
  dialplan?: AriDialplanCep;
  creationtime?: string;
  language?: string;
  channelvars?: Record<string, string>;
}

export interface AriBridge {
  id: string;
  name?: string;
  bridge_type?: string;
  technology?: string;
  channels: string[];
}

interface AriEventBase {
  timestamp?: string;
  application?: string;
  asterisk_id?: string;
}

export type AriEvent =
  | (AriEventBase & { type: 'StasisStart'; channel: AriChannel; args: string[]; replace_channel?: AriChannel })
  | (AriEventBase & { type: 'StasisEnd'; channel: AriChannel })
  | (AriEventBase & { type: 'ChannelStateChange'; channel: AriChannel })
  | (AriEventBase & { type: 'ChannelHangupRequest'; channel: AriChannel; cause?: number; soft?: boolean })
  | (AriEventBase & { type: 'ChannelDestroyed'; channel: AriChannel; cause: number; cause_txt: string })
  | (AriEventBase & { type: 'ChannelDtmfReceived'; channel: AriChannel; digit: string; duration_ms?: number })
  | (AriEventBase & { type: 'Dial'; peer: AriChannel; dialstatus: string; caller?: AriChannel })
  | (AriEventBase & { type: 'ChannelEnteredBridge' | 'ChannelLeftBridge'; channel: AriChannel; bridge: AriBridge })
  | (AriEventBase & { type: 'BridgeDestroyed'; bridge: AriBridge })
  | (AriEventBase & { type: 'ChannelVarset'; variable: string; value: string; channel?: AriChannel })
  /** Anything else ARI sends (playbacks, recordings, connected line, ...): passed through untyped. */
  | (AriEventBase & { type: 'Other'; originalType: string });

export type AriEventType = AriEvent['type'];
