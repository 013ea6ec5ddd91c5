import { renderTemplate } from './template.ts';
import type { CompiledFlow } from './types.ts';

/**
 * Every prompt text a flow can say, rendered with the flow's variable defaults: what to synthesize ahead of the
 * first call so that no caller waits for TTS on a static prompt. Prompts whose variables differ per call (amounts,
 * names) render differently at call time and are synthesized then, sentence by sentence.
 */
export function flowPromptTexts(flow: CompiledFlow): string[] {
  const defaults = new Map<string, string>();
  for (const [name, spec] of Object.entries(flow.definition.variables ?? {})) {
    const value = (spec as { default?: unknown } | undefined)?.default;
    if (value !== undefined) defaults.set(name, String(value));
  }
  const texts = new Set<string>();
  collectSay(flow.definition, (text) => {
    const rendered = renderTemplate(text, flow.lang, (name) => defaults.get(name)).trim();
    if (rendered !== '') texts.add(rendered);
  });
  return [...texts];
}

/** Walks the flow definition for `say:` values (a string or a list of alternative phrasings), wherever they are. */
function collectSay(node: unknown, add: (text: string) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) collectSay(item, add);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'say') {
      if (typeof value === 'string') add(value);
      else if (Array.isArray(value)) for (const v of value) if (typeof v === 'string') add(v);
    } else collectSay(value, add);
  }
}
