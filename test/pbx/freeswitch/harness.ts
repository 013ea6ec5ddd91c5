import { once } from 'node:events';
import { type FreeswitchConfig, freeswitchConfigSchema } from '../../../src/pbx/config.ts';
import { type FreeswitchAdapter, createFreeswitchAdapter } from '../../../src/pbx/freeswitch/index.ts';
import type { PbxCall } from '../../../src/pbx/types.ts';
import { FakeFreeswitch } from './peer/fake-freeswitch.ts';
import { TestMediaServer } from './peer/media-server.ts';
import { testLog } from '../../support/run-log.ts';

export const log = testLog();

/** A fake FreeSWITCH, a stand-in HTTP server for the media WebSocket, and an adapter between them. */
export interface Rig {
  fs: FakeFreeswitch;
  media: TestMediaServer;
  adapter: FreeswitchAdapter;
  cfg: FreeswitchConfig;
}

export type PeerOptions = ConstructorParameters<typeof FakeFreeswitch>[0];

export async function rig(overrides: Partial<FreeswitchConfig> = {}, peer: PeerOptions = {}): Promise<Rig> {
  const fs = new FakeFreeswitch({ timeScale: 0.05, ...peer });
  const port = await fs.listen();
  const media = new TestMediaServer();
  const mediaPort = await media.listen();
  const cfg = freeswitchConfigSchema.parse({
    port,
    password: fs.password,
    mediaUrl: `ws://127.0.0.1:${mediaPort}/media/freeswitch`,
    reconnect: { initialMs: 50, maxMs: 200 },
    ...overrides,
  });
  const adapter = createFreeswitchAdapter(cfg, { log });
  media.routes = adapter.webSocketRoutes();
  return { fs, media, adapter, cfg };
}

export async function teardown(r: Rig): Promise<void> {
  await r.adapter.stop();
  await r.media.close();
  await r.fs.close();
}

export { until } from '../../support/e2e.ts';

export function tone(ms: number, rate = 16000, freq = 440): Int16Array {
  const pcm = new Int16Array((rate * ms) / 1000);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * freq * i) / rate));
  return pcm;
}

export async function inboundCall(r: Rig, variables: Record<string, string> = {}): Promise<{ call: PbxCall; uuid: string }> {
  const callPromise = once(r.adapter, 'call') as Promise<[PbxCall]>;
  const channel = await r.fs.placeInboundCall({ callerId: '13800138000', variables });
  const [call] = await callPromise;
  return { call, uuid: channel.uuid };
}
