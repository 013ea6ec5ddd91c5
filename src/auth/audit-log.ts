import type { AuditEntry, AuditStore } from '../store/index.ts';
import type { Principal } from './roles.ts';

/** Who the audit log names: a principal, or callpilot itself / the command line. */
export type AuditActor = Principal | { name: 'cli' | 'system'; role: 'admin' | 'system'; tokenId?: undefined };

export const CLI_ACTOR: AuditActor = { name: 'cli', role: 'admin' };
export const SYSTEM_ACTOR: AuditActor = { name: 'system', role: 'system' };

/** What is audited; new kinds go here so the log's vocabulary stays one list. */
export type AuditAction =
  | 'token.create'
  | 'token.revoke'
  | 'session.login'
  | 'session.logout'
  | 'call.originate'
  | 'call.unmasked'
  | 'calls.unmasked'
  | 'transcript.read'
  | 'recording.download'
  | 'config.change'
  | (string & {});

/** Writes audit rows. A failed write fails the request that caused it: nothing audited happens unrecorded. */
export class AuditLog {
  constructor(
    private readonly store: AuditStore,
    private readonly now: () => Date = () => new Date(),
  ) {}

  record(actor: AuditActor, action: AuditAction, target?: string, detail: Record<string, unknown> = {}): Promise<AuditEntry> {
    return this.store.append({
      at: this.now().toISOString(),
      actor: actor.name,
      role: actor.role,
      tokenId: actor.tokenId,
      action,
      target,
      detail,
    });
  }

  list(opts: { after?: number; before?: number; limit?: number }): Promise<AuditEntry[]> {
    return this.store.list(opts);
  }

  verify(): ReturnType<AuditStore['verify']> {
    return this.store.verify();
  }
}
