import { isLang, LANGS, type Lang } from '../../core/index.ts';

export type CallTargetCheck =
  | { ok: true; flow: string; lang: Lang }
  | { ok: false; field: 'flow' | 'lang'; message: string; validFlows: string[]; validLangs: Lang[] };

/**
 * Checks the flow and language a call asks for against the flows loaded now (`FlowDialogFactory.flows()`), before
 * anything is dialled: a call to a flow that does not exist would reach a person and hang up on them at once.
 * The error names the valid choices. Absent values take the defaults.
 */
export function checkCallTarget(
  loaded: Record<string, Lang[]>,
  request: { flow?: string; lang?: string },
  defaults: { flow: string; lang: Lang },
): CallTargetCheck {
  const validFlows = Object.keys(loaded).sort();
  const flow = request.flow ?? defaults.flow;
  const lang = request.lang ?? defaults.lang;
  if (!isLang(lang)) {
    return { ok: false, field: 'lang', message: `unknown language "${lang}"; valid: ${LANGS.join(', ')}`, validFlows, validLangs: [...LANGS] };
  }
  const langs = loaded[flow];
  if (!langs) {
    return {
      ok: false,
      field: 'flow',
      message: `unknown flow "${flow}"; valid: ${validFlows.join(', ') || '(no flows loaded)'}`,
      validFlows,
      validLangs: [...LANGS],
    };
  }
  if (!langs.includes(lang)) {
    return {
      ok: false,
      field: 'lang',
      message: `flow "${flow}" has no "${lang}" version; it has: ${[...langs].sort().join(', ')}`,
      validFlows,
      validLangs: [...langs].sort(),
    };
  }
  return { ok: true, flow, lang };
}
