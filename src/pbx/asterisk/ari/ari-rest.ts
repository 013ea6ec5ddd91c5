import type { AriClient } from 'ari-client';
import type { AriBridge, AriChannel } from './ari-types.ts';

/** An ARI REST call failed; `message` is Asterisk's own (`{"message":...}` or `{"error":...}`). */
export class AriRequestError extends Error {
  readonly notFound: boolean;
  readonly notInStasis: boolean;
  /** Refused at once because Asterisk is known to be down (see AriRestGate). */
  readonly unreachable: boolean;
  constructor(
    readonly operation: string,
    message: string,
  ) {
    super(`ARI ${operation}: ${message}`);
    this.name = 'AriRequestError';
    this.notFound = /not found|no endpoints found/i.test(message);
    this.unreachable = /^Asterisk unreachable/.test(message);
    this.notInStasis = /not in Stasis/i.test(message);
  }
}

export interface ExternalMediaParams {
  app: string;
  channelId: string;
  format: string;
  transport?: 'udp' | 'tcp' | 'websocket';
  encapsulation?: 'rtp' | 'audiosocket' | 'none';
  connectionType?: 'client' | 'server';
  externalHost?: string;
  data?: string;
  transportData?: string;
  variables?: Record<string, string>;
}

export interface OriginateParams {
  endpoint: string;
  app: string;
  appArgs: string;
  channelId: string;
  callerId?: string;
  timeoutSec?: number;
  variables?: Record<string, string>;
}

export interface CreateChannelParams {
  endpoint: string;
  app: string;
  appArgs: string;
  channelId: string;
  variables?: Record<string, string>;
}

/** The typed ARI operations callpilot uses; nothing outside this file sees ari-client objects. */
export interface AriRest {
  asteriskInfo(): Promise<{ startupTime: string; version: string }>;
  listChannels(): Promise<AriChannel[]>;
  /** undefined when the channel no longer exists. */
  getChannel(id: string): Promise<AriChannel | undefined>;
  answer(id: string): Promise<void>;
  /** Returns false when the channel was already gone (404), which is fine for a hangup. */
  hangup(id: string, reasonCode?: number): Promise<boolean>;
  originate(p: OriginateParams): Promise<AriChannel>;
  /** `POST /channels/create`: the channel exists (Down, in Stasis) but nothing is dialled until `dial`. */
  createChannel(p: CreateChannelParams): Promise<AriChannel>;
  /** `POST /channels/{id}/dial` on a created channel. */
  dial(id: string, timeoutSec?: number): Promise<void>;
  externalMedia(p: ExternalMediaParams): Promise<AriChannel>;
  setVariable(id: string, name: string, value: string): Promise<void>;
  getVariable(id: string, name: string): Promise<string | undefined>;
  continueInDialplan(id: string, context: string, extension: string, priority: number): Promise<void>;
  redirect(id: string, endpoint: string): Promise<void>;
  listBridges(): Promise<AriBridge[]>;
  createBridge(bridgeId: string, name: string): Promise<AriBridge>;
  addChannel(bridgeId: string, channelId: string): Promise<void>;
  /** Returns false when the bridge was already gone. */
  destroyBridge(bridgeId: string): Promise<boolean>;
  /** GET /endpoints/{tech}/{resource}: undefined when Asterisk has no such endpoint (404). */
  getEndpoint(tech: string, resource: string): Promise<AriEndpoint | undefined>;
  /** GET /endpoints/{tech}: undefined when the technology has no endpoints at all (404). */
  listEndpoints(tech: string): Promise<AriEndpoint[] | undefined>;
}

export interface AriEndpoint {
  technology: string;
  resource: string;
  state?: string;
  channel_ids?: string[];
}

/** ari-client resources carry the JSON fields plus methods and a `_client` back-reference. */
function plain<T>(value: unknown): T {
  if (Array.isArray(value)) return value.map((v) => plain(v)) as T;
  if (typeof value !== 'object' || value === null) return value as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith('_') || typeof v === 'function') continue;
    out[k] = v;
  }
  return out as T;
}

function errorMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  try {
    const body = JSON.parse(text) as { message?: string; error?: string };
    return body.message ?? body.error ?? text;
  } catch {
    return text;
  }
}

/**
 * swagger-client never settles a request whose connection is refused or reset, so every call
 * gets a deadline of its own.
 */
const DEFAULT_REQUEST_TIMEOUT_MS = 8000;

/**
 * Known-unreachable Asterisk (connections refused after a crash): requests fail at once instead of each waiting
 * out its deadline, so tearing down after a crash takes milliseconds, not 8 s per request. Opened again as soon
 * as ARI answers.
 */
export class AriRestGate {
  private downReason: string | undefined;
  private tripped: { promise: Promise<never>; reject: (err: Error) => void } | undefined;

  get down(): string | undefined {
    return this.downReason;
  }

  /** Fail every request in flight and every new one until open(). */
  close(reason: string): void {
    if (this.downReason !== undefined) return;
    this.downReason = reason;
    this.tripped?.reject(new Error(`Asterisk unreachable: ${reason}`));
    this.tripped = undefined;
  }

  open(): void {
    this.downReason = undefined;
  }

  /** Rejects when the gate closes; one shared promise per open period, so racing it costs nothing per request. */
  whenClosed(): Promise<never> {
    if (!this.tripped) {
      let reject!: (err: Error) => void;
      const promise = new Promise<never>((_, r) => (reject = r));
      promise.catch(() => undefined);
      this.tripped = { promise, reject };
    }
    return this.tripped.promise;
  }
}

export function createAriRest(client: AriClient, requestTimeoutMs = DEFAULT_REQUEST_TIMEOUT_MS, gate = new AriRestGate()): AriRest {
  const call = async <T>(operation: string, run: () => Promise<unknown>): Promise<T> => {
    if (gate.down !== undefined) throw new AriRequestError(operation, `Asterisk unreachable: ${gate.down}`);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reply within ${requestTimeoutMs} ms (Asterisk unreachable?)`)), requestTimeoutMs);
    });
    try {
      return plain<T>(await Promise.race([run(), deadline, gate.whenClosed()]));
    } catch (err) {
      throw new AriRequestError(operation, errorMessage(err));
    } finally {
      clearTimeout(timer);
    }
  };
  const ch = client.channels;
  const br = client.bridges;
  const params = (o: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

  return {
    async asteriskInfo() {
      const info = await call<{ status?: { startup_time?: string }; system?: { version?: string } }>('asterisk info', () => client.asterisk.getInfo());
      return { startupTime: info.status?.startup_time ?? '', version: info.system?.version ?? '' };
    },
    listChannels: () => call('list channels', () => ch.list()),
    async getChannel(id) {
      try {
        return await call<AriChannel>(`get channel ${id}`, () => ch.get({ channelId: id }));
      } catch (err) {
        if (err instanceof AriRequestError && err.notFound) return undefined;
        throw err;
      }
    },
    answer: (id) => call(`answer ${id}`, () => ch.answer({ channelId: id })),
    async hangup(id, reasonCode) {
      try {
        await call(`hang up ${id}`, () => ch.hangup(params({ channelId: id, reason_code: reasonCode === undefined ? undefined : String(reasonCode) })));
        return true;
      } catch (err) {
        if (err instanceof AriRequestError && err.notFound) return false;
        throw err;
      }
    },
    originate: (p) =>
      call(`originate ${p.endpoint}`, () =>
        ch.originate(
          params({
            endpoint: p.endpoint,
            app: p.app,
            appArgs: p.appArgs,
            channelId: p.channelId,
            callerId: p.callerId,
            timeout: p.timeoutSec,
            variables: p.variables && Object.keys(p.variables).length > 0 ? p.variables : undefined,
          }),
        ),
      ),
    createChannel: (p) =>
      call(`create channel ${p.endpoint}`, () =>
        ch.create(
          params({
            endpoint: p.endpoint,
            app: p.app,
            appArgs: p.appArgs,
            channelId: p.channelId,
            variables: p.variables && Object.keys(p.variables).length > 0 ? p.variables : undefined,
          }),
        ),
      ),
    dial: (id, timeoutSec) => call(`dial ${id}`, () => ch.dial(params({ channelId: id, timeout: timeoutSec }))),
    externalMedia: (p) =>
      call(`externalMedia ${p.channelId}`, () =>
        ch.externalMedia(
          params({
            app: p.app,
            channelId: p.channelId,
            format: p.format,
            transport: p.transport,
            encapsulation: p.encapsulation,
            connection_type: p.connectionType,
            external_host: p.externalHost,
            data: p.data,
            transport_data: p.transportData,
            variables: p.variables && Object.keys(p.variables).length > 0 ? p.variables : undefined,
          }),
        ),
      ),
    setVariable: (id, name, value) => call(`set ${name} on ${id}`, () => ch.setChannelVar({ channelId: id, variable: name, value })),
    async getVariable(id, name) {
      try {
        const res = await call<{ value?: string }>(`get ${name} on ${id}`, () => ch.getChannelVar({ channelId: id, variable: name }));
        return res.value;
      } catch (err) {
        if (err instanceof AriRequestError && err.notFound) return undefined;
        throw err;
      }
    },
    continueInDialplan: (id, context, extension, priority) =>
      call(`continue ${id}`, () => ch.continueInDialplan({ channelId: id, context, extension, priority })),
    redirect: (id, endpoint) => call(`redirect ${id}`, () => ch.redirect({ channelId: id, endpoint })),
    listBridges: () => call('list bridges', () => br.list()),
    createBridge: (bridgeId, name) => call(`create bridge ${bridgeId}`, () => br.create({ type: 'mixing', bridgeId, name })),
    addChannel: (bridgeId, channelId) => call(`add ${channelId} to ${bridgeId}`, () => br.addChannel({ bridgeId, channel: channelId })),
    async getEndpoint(tech, resource) {
      try {
        return await call<AriEndpoint>(`get endpoint ${tech}/${resource}`, () => client.endpoints.get({ tech, resource }));
      } catch (err) {
        if (err instanceof AriRequestError && err.notFound) return undefined;
        throw err;
      }
    },
    async listEndpoints(tech) {
      try {
        return await call<AriEndpoint[]>(`list ${tech} endpoints`, () => client.endpoints.listByTech({ tech }));
      } catch (err) {
        if (err instanceof AriRequestError && err.notFound) return undefined;
        throw err;
      }
    },
    async destroyBridge(bridgeId) {
      try {
        await call(`destroy bridge ${bridgeId}`, () => br.destroy({ bridgeId }));
        return true;
      } catch (err) {
        if (err instanceof AriRequestError && err.notFound) return false;
        throw err;
      }
    },
  };
}
