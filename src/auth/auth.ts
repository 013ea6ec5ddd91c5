import type { Store } from '../store/index.ts';
import { AuditLog } from './audit-log.ts';
import { MediaTokens } from './media-tokens.ts';
import { TokenService } from './token-service.ts';

/** Everything the HTTP server, the PBX adapters and the CLI need from src/auth, built on one store. */
export interface Auth {
  tokens: TokenService;
  audit: AuditLog;
  mediaTokens: MediaTokens;
}

export function createAuth(store: Pick<Store, 'tokens' | 'audit'>, opts: { now?: () => Date } = {}): Auth {
  const now = opts.now ?? (() => new Date());
  return {
    tokens: new TokenService(store.tokens, { now }),
    audit: new AuditLog(store.audit, now),
    mediaTokens: new MediaTokens(() => now().getTime()),
  };
}
