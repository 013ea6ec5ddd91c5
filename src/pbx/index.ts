/** The PBX stage: one interface (types.ts), an adapter per PBX, and a simulated phone for tests and demos. */
import type { Logger } from 'pino';
import type { MediaTokenIssuer } from '../core/index.ts';
import type { CallerClockOptions } from '../media/index.ts';
import type { PbxConfig } from './config.ts';
import type { PbxAdapter } from './types.ts';

export * from './types.ts';
export * from './config.ts';
export * from './simulator/index.ts';

/**
 * The adapters the config asks for; none when no PBX is configured (simulated calls only). Each adapter is
 * loaded only when configured, so a FreeSWITCH site never loads ari-client and vice versa.
 */
export async function createPbxAdapters(
  cfg: PbxConfig,
  opts: { log: Logger; maxQueuedMs?: number; clock?: CallerClockOptions; mediaToken?: MediaTokenIssuer },
): Promise<PbxAdapter[]> {
  const adapters: PbxAdapter[] = [];
  if (cfg.asterisk) {
    const { createAsteriskAdapter } = await import('./asterisk/index.ts');
    adapters.push(
      createAsteriskAdapter(cfg.asterisk, { log: opts.log.child({ pbx: 'asterisk' }), maxQueuedMs: opts.maxQueuedMs, clock: opts.clock, mediaToken: opts.mediaToken }),
    );
  }
  if (cfg.freeswitch) {
    const { createFreeswitchAdapter } = await import('./freeswitch/index.ts');
    adapters.push(createFreeswitchAdapter(cfg.freeswitch, { log: opts.log.child({ pbx: 'freeswitch' }), maxQueuedMs: opts.maxQueuedMs, clock: opts.clock, mediaToken: opts.mediaToken }));
  }
  return adapters;
}
