import { basename } from 'node:path';
import type { Lang } from '../types.ts';
import type { FlowDefinition, StepDefinition, Transition } from './schema.ts';
import type { CompiledFlow } from './types.ts';

/** One way out of a step: what takes it (an intent, an emotion, a retry running out, a webhook branch) and where to. */
export interface StepEdge {
  /** `yes`, `emotion:angry`, `no_input`, `no_match`, `next` (goto), `webhook:<n>`, `webhook:default`, `webhook:error`. */
  via: string;
  to: string;
  /** Where in the step the target is written (for problems pointing at the line). */
  path: (string | number)[];
  /** True when the step moves on without waiting for the caller (goto, webhook). */
  passThrough: boolean;
}

export function transitionTarget(t: Transition): string {
  return typeof t === 'string' ? t : t.goto;
}

/** Every transition a step declares, in the order the file gives them: what the checker and the console's diagram walk. */
export function stepEdges(step: StepDefinition): StepEdge[] {
  const edges: StepEdge[] = [];
  const add = (via: string, to: string, path: (string | number)[], passThrough: boolean): void => {
    edges.push({ via, to, path, passThrough });
  };
  for (const [intent, t] of Object.entries(step.on ?? {})) add(intent, transitionTarget(t), ['on', intent], false);
  for (const [emotion, t] of Object.entries(step.on_emotion ?? {})) add(`emotion:${emotion}`, transitionTarget(t), ['on_emotion', emotion], false);
  if (step.no_input?.goto) add('no_input', step.no_input.goto, ['no_input', 'goto'], false);
  if (step.no_match?.goto) add('no_match', step.no_match.goto, ['no_match', 'goto'], false);
  if (step.goto) add('next', step.goto, ['goto'], true);
  if (step.webhook) {
    step.webhook.branches.forEach((b, i) => add(`webhook:${i + 1}`, b.goto, ['webhook', 'branches', i, 'goto'], true));
    if (step.webhook.default) add('webhook:default', step.webhook.default, ['webhook', 'default'], true);
    add('webhook:error', step.webhook.on_error, ['webhook', 'on_error'], true);
  }
  return edges;
}

/** A step as the console's flow diagram shows it. */
export interface FlowStepView {
  name: string;
  /** The first wording of what the bot says on entering the step (templates unrendered). */
  say?: string;
  kind: 'ask' | 'goto' | 'webhook' | 'end' | 'transfer';
  /** `end`: the disposition; `transfer`: the reason. */
  outcome?: string;
  edges: { via: string; to: string }[];
}

/** One loaded flow version: what GET /api/flows lists. */
export interface FlowView {
  name: string;
  lang: string;
  /** Content hash of the file; calls store the version they ran (`flow_version`). */
  version: string;
  file: string;
  description?: string;
  start: string;
  steps: FlowStepView[];
  /** Intents any waiting step takes (`globals:`) that move the dialog to a step. */
  globals: { via: string; to: string }[];
}

function stepKind(step: StepDefinition): FlowStepView['kind'] {
  if (step.end !== undefined) return 'end';
  if (step.transfer !== undefined) return 'transfer';
  if (step.webhook !== undefined) return 'webhook';
  if (step.on !== undefined || step.dtmf !== undefined) return 'ask';
  return 'goto';
}

/** A compiled flow as a diagram: its steps in file order with their transitions, and the global intents. */
export function describeFlow(flow: CompiledFlow): FlowView {
  const def = flow.definition;
  const steps = Object.entries(def.steps).map(([name, step]): FlowStepView => {
    const say = Array.isArray(step.say) ? step.say[0] : step.say;
    const outcome = step.end ?? step.transfer?.reason;
    return { name, ...(say ? { say } : {}), kind: stepKind(step), ...(outcome ? { outcome } : {}), edges: stepEdges(step).map(({ via, to }) => ({ via, to })) };
  });
  const globals = Object.entries(def.globals).flatMap(([via, g]) => (g.goto ? [{ via, to: g.goto }] : []));
  return { name: flow.name, lang: flow.lang, version: flow.version, file: basename(flow.file), ...(def.description ? { description: def.description } : {}), start: def.start, steps, globals };
}

/** Every loaded flow version (each language of a flow is its own file and version), by name then language. */
export function describeFlows(source: { flows(): Record<string, Lang[]>; flow(name: string, lang: Lang): CompiledFlow | undefined }): FlowView[] {
  const names = Object.entries(source.flows()).sort(([a], [b]) => a.localeCompare(b));
  return names.flatMap(([name, langs]) => [...langs].sort().flatMap((lang) => {
    const flow = source.flow(name, lang);
    return flow ? [describeFlow(flow)] : [];
  }));
}
