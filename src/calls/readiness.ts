import type { PromptWarmingProgress } from '../dialog/index.ts';
import type { PbxAdapter } from '../pbx/index.ts';
import type { Store } from '../store/index.ts';
import type { CallAdmission } from './call-admission.ts';

export interface ReadinessCheck {
  ok: boolean;
  detail?: string;
}

export interface Readiness {
  ready: boolean;
  /** Set while shutting down: new calls are refused and load balancers should send calls elsewhere. */
  status?: 'draining';
  checks: Record<string, ReadinessCheck>;
}

/**
 * What `/readyz` reports: the speech models (loading, loaded, and which ASR model), every PBX connection, the
 * store, call capacity, and prompt warming as information.
 */
export function readiness(
  adapters: PbxAdapter[],
  warming: Pick<PromptWarmingProgress, 'done' | 'total'>,
  store?: Pick<Store, 'backend' | 'health'>,
  admission?: Pick<CallAdmission, 'draining' | 'inUse' | 'maxCalls'>,
  speech: ReadinessCheck & { detail: string } = { ok: true, detail: 'loaded' },
): Readiness {
  const checks: Record<string, ReadinessCheck> = {
    speech: { ok: speech.ok, detail: speech.detail },
    // Informational: calls work before it is done, their first prompts are just synthesized on the spot.
    prompts: { ok: true, detail: warming.total === 0 || warming.done < warming.total ? `warming ${warming.done}/${warming.total}` : `${warming.total} cached` },
  };
  if (store) {
    const h = store.health();
    checks.store = { ok: h.ok, detail: h.detail ?? store.backend };
  }
  for (const a of adapters) checks[a.kind] = { ok: a.ready, detail: a.ready ? undefined : a.notReadyReason };
  if (admission) {
    checks.calls = admission.draining ? { ok: false, detail: 'draining' } : { ok: true, detail: `${admission.inUse}/${admission.maxCalls}` };
  }
  const ready = Object.values(checks).every((c) => c.ok);
  return admission?.draining ? { ready, status: 'draining', checks } : { ready, checks };
}
