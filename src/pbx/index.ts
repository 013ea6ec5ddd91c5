/** The PBX stage: one interface (types.ts), an adapter per PBX, and a simulated phone for tests and demos. */
import type { Logger } from 'pino';
import type { PbxConfig } from './config.ts';
import type { PbxAdapter } from './types.ts';
import { createAsteriskAdapter } from './asterisk/index.ts';
import { createFreeswitchAdapter } from './freeswitch/index.ts';

export * from './types.ts';
export * from './config.ts';
export * from './simulator/index.ts';
export { createAsteriskAdapter, createFreeswitchAdapter };

/** The adapters the config asks for; none when no PBX is configured (simulated calls only). */
export function createPbxAdapters(cfg: PbxConfig, opts: { log: Logger }): PbxAdapter[] {
  const adapters: PbxAdapter[] = [];
  if (cfg.asterisk) adapters.push(createAsteriskAdapter(cfg.asterisk, { log: opts.log.child({ pbx: 'asterisk' }) }));
  if (cfg.freeswitch) adapters.push(createFreeswitchAdapter(cfg.freeswitch, { log: opts.log.child({ pbx: 'freeswitch' }) }));
  return adapters;
}
