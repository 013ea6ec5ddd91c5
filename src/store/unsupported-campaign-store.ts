import type { CampaignStore } from './campaign-types.ts';
import { StoreError } from './store-error.ts';

/**
 * The campaign domain on a backend that does not have it yet (PostgreSQL until its campaign tables land): every
 * operation fails with an error that says so, instead of the process failing to start.
 */
export function unsupportedCampaignStore(backend: string): CampaignStore {
  return new Proxy({} as CampaignStore, {
    get: (_target, prop) => {
      if (prop === 'then' || typeof prop === 'symbol') return undefined;
      return async () => {
        throw new StoreError(`campaigns are not available on the ${backend} store yet; use the SQLite store for campaigns`, String(prop));
      };
    },
  });
}
