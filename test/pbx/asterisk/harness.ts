import type { Logger } from 'pino';
import type { AsteriskConfig } from '../../../src/pbx/index.ts';
import { asteriskConfigSchema } from '../../../src/pbx/config.ts';
import { AsteriskAdapter, type AsteriskAdapterOptions } from '../../../src/pbx/asterisk/index.ts';
import type { PbxCall } from '../../../src/pbx/types.ts';
import { FakeAsterisk, type FakeAsteriskOptions } from './peer/fake-asterisk.ts';
import { testLog } from '../../support/run-log.ts';
import { until } from '../../support/wait.ts';

export const silent = testLog();

export interface Harness {
  asterisk: FakeAsterisk;
  adapter: AsteriskAdapter;
  cfg: AsteriskConfig;
  close(): Promise<void>;
}

/** A fake Asterisk on an ephemeral port and an adapter connected to it (credentials as captured: bot/bot, app bot). */
export async function startHarness(
  overrides: Partial<AsteriskConfig> = {},
  peer: FakeAsteriskOptions = {},
  connect = true,
  log: Logger = silent,
  adapterOptions: Omit<AsteriskAdapterOptions, 'log'> = {},
): Promise<Harness> {
  const asterisk = new FakeAsterisk(peer);
  await asterisk.start();
  const cfg = asteriskConfigSchema.parse({
    url: asterisk.url,
    username: 'bot',
    password: 'bot',
    app: 'bot',
    audioSocketPort: 0,
    mediaBindHost: '127.0.0.1',
    rtpPortRange: [0, -1],
    ...overrides,
  });
  const adapter = new AsteriskAdapter(cfg, { ...adapterOptions, log });
  if (connect) {
    await adapter.start();
    await until(() => adapter.ready, 'adapter ready', 5000);
  }
  return {
    asterisk,
    adapter,
    cfg,
    async close() {
      await adapter.stop();
      await asterisk.stop();
    },
  };
}

export function nextCall(adapter: AsteriskAdapter, ms = 3000): Promise<PbxCall> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no call event')), ms);
    adapter.once('call', (call) => {
      clearTimeout(timer);
      resolve(call);
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A sine tone as 16-bit PCM (test signal for transport checks; never used as "speech"). */
export function tone(rate: number, ms: number, hz = 440, amplitude = 8000): Int16Array {
  const n = Math.round((rate * ms) / 1000);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rate));
  return out;
}

export function rms(pcm: Int16Array): number {
  let sum = 0;
  for (let i = 0; i < pcm.length; i++) sum += pcm[i] * pcm[i];
  return pcm.length === 0 ? 0 : Math.sqrt(sum / pcm.length);
}

