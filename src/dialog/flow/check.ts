import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { YamlPath } from '../../config/index.ts';
import { builtinIntents, globalIntentNames } from '../nlu/index.ts';
import type { FlowDefinition, StepDefinition, TextDefinition, Transition } from './schema.ts';
import { formatterNames, parseTemplateRefs, runtimeNamespaces } from './template.ts';
import type { FlowProblemCode } from './types.ts';
import { stepEdges, transitionTarget } from './graph.ts';

export type { YamlPath };

/** A problem located by its path in the YAML tree; the loader turns the path into a line and column. */
export interface PathProblem {
  path: YamlPath;
  /** Point at the key itself rather than its value (for "this step ..." messages). */
  atKey?: boolean;
  severity: 'error' | 'warning';
  code: FlowProblemCode;
  message: string;
  hint: string;
}

/** Variables the engine sets itself, usable in templates without declaring them. */
export const engineVariables = [
  'callback_date', 'callback_time', 'callback_at', 'disposition', 'transfer_reason', 'webhook_status', 'today', 'caller_number',
] as const;

interface Edge {
  from: string | undefined;
  to: string;
  path: YamlPath;
  /** Moves on without waiting for the caller (goto, webhook): a cycle of these never ends. */
  passThrough: boolean;
}

function levenshtein(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0]!;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j]!;
      dp[j] = Math.min(dp[j]! + 1, dp[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length]!;
}

/** "did you mean X?" for a misspelt name, or the list of valid names. */
export function suggest(name: string, known: string[], what: string): string {
  const close = known
    .map((k) => ({ k, d: levenshtein(name.toLowerCase(), k.toLowerCase()) }))
    .filter((x) => x.d <= Math.max(2, Math.floor(name.length / 3)) || (x.k.length >= 3 && (name.includes(x.k) || x.k.includes(name))))
    .sort((a, b) => a.d - b.d)[0];
  if (close) return `did you mean "${close.k}"?`;
  const list = known.slice(0, 12).join(', ');
  return known.length === 0 ? `define a ${what} first` : `use one of the ${what}s: ${list}${known.length > 12 ? ', ...' : ''}`;
}

function stepKinds(step: StepDefinition): string[] {
  const kinds: string[] = [];
  if (step.end !== undefined) kinds.push('end');
  if (step.transfer !== undefined) kinds.push('transfer');
  if (step.webhook !== undefined) kinds.push('webhook');
  if (step.on !== undefined || step.dtmf !== undefined) kinds.push('on');
  if (step.goto !== undefined) kinds.push('goto');
  return kinds;
}

export function isWaitingStep(step: StepDefinition): boolean {
  return step.on !== undefined || step.dtmf !== undefined;
}

export function isTerminalStep(step: StepDefinition): boolean {
  return step.end !== undefined || step.transfer !== undefined;
}

/** Semantic checks of a schema-valid flow: targets, intents, no-input handling, templates, reachability, exits. */
export function checkFlowDefinition(def: FlowDefinition, baseDir: string): PathProblem[] {
  const problems: PathProblem[] = [];
  const stepNames = Object.keys(def.steps);
  const stepSet = new Set(stepNames);
  const builtins = builtinIntents[def.lang];
  const knownIntents = new Set([...Object.keys(builtins), ...Object.keys(def.intents)]);
  const intentList = [...knownIntents];

  const edges: Edge[] = [];
  const globalEdges: Edge[] = [];
  const addTarget = (from: string | undefined, to: string, path: YamlPath, passThrough: boolean, global = false): void => {
    if (!stepSet.has(to)) {
      problems.push({
        path,
        severity: 'error',
        code: 'unknown-step',
        message: `goes to step "${to}", which does not exist`,
        hint: `${suggest(to, stepNames, 'step')} (or add "${to}:" under steps:)`,
      });
      return;
    }
    (global ? globalEdges : edges).push({ from, to, path, passThrough });
  };
  const checkIntent = (name: string, path: YamlPath, atKey: boolean): void => {
    if (knownIntents.has(name)) return;
    problems.push({
      path,
      atKey,
      severity: 'error',
      code: 'undefined-intent',
      message: `intent "${name}" is used but not defined`,
      hint: `${suggest(name, intentList, 'intent')} (or define it under intents: with keywords)`,
    });
  };

  if (!stepSet.has(def.start)) {
    problems.push({ path: ['start'], severity: 'error', code: 'unknown-step', message: `start step "${def.start}" does not exist`, hint: suggest(def.start, stepNames, 'step') });
  }

  // Intents: patterns compile, negation/implies point at real intents.
  for (const [name, intent] of Object.entries(def.intents)) {
    intent.patterns.forEach((p, i) => {
      try {
        new RegExp(p, 'u');
      } catch (err) {
        problems.push({ path: ['intents', name, 'patterns', i], severity: 'error', code: 'bad-pattern', message: `pattern is not a valid regular expression: ${(err as Error).message}`, hint: 'escape special characters such as ( ) [ ] with a backslash' });
      }
    });
    if (intent.negation !== undefined) checkIntent(intent.negation, ['intents', name, 'negation'], false);
    if (intent.implies !== undefined) checkIntent(intent.implies, ['intents', name, 'implies'], false);
    if (intent.keywords.length + intent.exact.length + intent.patterns.length === 0 && !intent.slot && !(name in builtins)) {
      problems.push({ path: ['intents', name], atKey: true, severity: 'error', code: 'schema', message: `intent "${name}" has no keywords, exact words, patterns or slot`, hint: 'add keywords: [...] with the phrases callers say' });
    }
  }

  const defaultNoInput = def.defaults.no_input;
  const defaultNoMatch = def.defaults.no_match;

  for (const [name, step] of Object.entries(def.steps)) {
    const at: YamlPath = ['steps', name];
    const kinds = stepKinds(step);
    if (kinds.length === 0) {
      problems.push({ path: at, atKey: true, severity: 'error', code: 'step-kind', message: `step "${name}" does not say what happens next`, hint: 'add on: (wait for an answer), goto: (move on), webhook:, end: <disposition> or transfer:' });
    } else if (kinds.length > 1) {
      problems.push({ path: at, atKey: true, severity: 'error', code: 'step-kind', message: `step "${name}" mixes ${kinds.join(' and ')}`, hint: 'a step does one of: wait for an answer (on/dtmf), goto, webhook, end or transfer; split it into two steps' });
    }
    if (!isWaitingStep(step) && (step.no_input || step.no_match || step.on_emotion)) {
      problems.push({ path: at, atKey: true, severity: 'warning', code: 'step-kind', message: `step "${name}" has no_input/no_match/on_emotion but does not wait for an answer`, hint: 'add on: with the answers it expects, or remove these handlers' });
    }
    for (const intent of Object.keys(step.on ?? {})) if (intent !== 'any') checkIntent(intent, [...at, 'on', intent], true);
    for (const [key, intent] of Object.entries(step.dtmf ?? {})) {
      checkIntent(intent, [...at, 'dtmf', key], false);
      if (intent !== 'any' && step.on && !(intent in step.on) && !(intent in def.globals)) {
        problems.push({ path: [...at, 'dtmf', key], severity: 'error', code: 'undefined-intent', message: `DTMF ${key} gives intent "${intent}", which this step has no transition for`, hint: `add "${intent}: <step>" under on:` });
      }
    }
    for (const edge of stepEdges(step)) addTarget(name, edge.to, [...at, ...edge.path], edge.passThrough);
    if (isWaitingStep(step)) {
      if (!step.no_input && !defaultNoInput) {
        problems.push({ path: at, atKey: true, severity: 'error', code: 'missing-no-input', message: `step "${name}" waits for an answer but has no no_input handling`, hint: 'add no_input: { retries: 1, say: ..., goto: <step> } here or under defaults:' });
      }
      if (!step.no_match && !defaultNoMatch && !(step.on && 'any' in step.on)) {
        problems.push({ path: at, atKey: true, severity: 'warning', code: 'missing-no-match', message: `step "${name}" has no no_match handling`, hint: 'add no_match: { retries: 1, say: ..., goto: <step> } here or under defaults:' });
      }
      const noInput = step.no_input ?? defaultNoInput;
      if (noInput && !noInput.goto && !def.fallback) {
        problems.push({ path: at, atKey: true, severity: 'error', code: 'missing-no-input', message: `step "${name}" has nowhere to go when the caller stays silent after the retries`, hint: 'give no_input a goto:, or set fallback: <step> at the top' });
      }
    }
    if (step.audio && !existsSync(resolve(baseDir, step.audio))) {
      problems.push({ path: [...at, 'audio'], severity: 'warning', code: 'missing-audio', message: `audio file ${step.audio} not found`, hint: `paths are relative to the flow file's folder (${baseDir}); TTS of say: is used meanwhile` });
    }
  }

  for (const [intent, g] of Object.entries(def.globals)) {
    checkIntent(intent, ['globals', intent], true);
    if (g.goto) addTarget(undefined, g.goto, ['globals', intent, 'goto'], false, true);
    if (!g.goto && !g.say && !g.repeat) {
      problems.push({ path: ['globals', intent], atKey: true, severity: 'error', code: 'schema', message: `global "${intent}" does nothing`, hint: 'give it goto: <step>, say: <answer> (then the step re-prompts) or repeat: true' });
    }
  }
  for (const name of globalIntentNames) {
    if (!(name in def.globals)) {
      problems.push({ path: ['globals'], atKey: true, severity: 'warning', code: 'missing-global', message: `global intent "${name}" is not handled`, hint: `add "${name}:" under globals: so callers can use it in every step` });
    }
  }
  for (const [emotion, t] of Object.entries(def.emotions)) addTarget(undefined, transitionTarget(t!), ['emotions', emotion], false, true);
  if (defaultNoInput?.goto) addTarget(undefined, defaultNoInput.goto, ['defaults', 'no_input', 'goto'], false, true);
  if (defaultNoMatch?.goto) addTarget(undefined, defaultNoMatch.goto, ['defaults', 'no_match', 'goto'], false, true);
  if (def.fallback) addTarget(undefined, def.fallback, ['fallback'], false, true);
  if (def.assistant && 'goto' in def.assistant) addTarget(undefined, def.assistant.goto, ['assistant', 'goto'], false, true);

  problems.push(...checkTemplates(def));
  problems.push(...checkGraph(def, edges, globalEdges));
  problems.push(...checkRefusals(def));
  return problems;
}

/** Intents that are a request never to be called again: where they lead, the number must go on the DNC ledger. */
const refusalIntents = ['stop_calling'];

/**
 * A caller who says 别再打了 / "stop calling me" must be recorded on the do-not-call ledger, or the next campaign
 * dials them again. Follows the handler's target through goto steps looking for a `do_not_call` action.
 */
function checkRefusals(def: FlowDefinition): PathProblem[] {
  const problems: PathProblem[] = [];
  const records = (start: string): boolean => {
    let name: string | undefined = start;
    for (let hop = 0; name !== undefined && hop < 32; hop++) {
      const step: StepDefinition | undefined = def.steps[name];
      if (!step) return true; // unknown-step is reported elsewhere
      if (step.do_not_call) return true;
      name = step.goto;
    }
    return false;
  };
  const hint = 'add do_not_call: { scope: global } to the step it goes to, so the refusal is recorded with the call and the words';
  for (const intent of refusalIntents) {
    const g = def.globals[intent];
    if (g?.goto && !records(g.goto)) {
      problems.push({ path: ['globals', intent, 'goto'], severity: 'warning', code: 'refusal-not-recorded', message: `"${intent}" goes to "${g.goto}", which never puts the number on the do-not-call list`, hint });
    }
    for (const [name, step] of Object.entries(def.steps)) {
      const t = step.on?.[intent];
      if (t && !records(transitionTarget(t))) {
        problems.push({ path: ['steps', name, 'on', intent], severity: 'warning', code: 'refusal-not-recorded', message: `"${intent}" goes to "${transitionTarget(t)}", which never puts the number on the do-not-call list`, hint });
      }
    }
  }
  for (const [name, step] of Object.entries(def.steps)) {
    if (step.do_not_call && step.transfer) {
      problems.push({ path: ['steps', name, 'do_not_call'], severity: 'warning', code: 'refusal-not-recorded', message: `step "${name}" records a refusal and then transfers the caller to a person`, hint: 'a caller who refused calls should hear a goodbye: end the call in this step' });
    }
  }
  return problems;
}

function checkTemplates(def: FlowDefinition): PathProblem[] {
  const problems: PathProblem[] = [];
  const provided = new Set<string>([...Object.keys(def.variables), ...engineVariables]);
  const templated: Array<{ text: string; path: YamlPath }> = [];
  const addTexts = (t: TextDefinition | undefined, path: YamlPath): void => {
    if (t === undefined) return;
    if (typeof t === 'string') templated.push({ text: t, path });
    else t.forEach((s, i) => templated.push({ text: s, path: [...path, i] }));
  };
  const addSet = (set: Record<string, string> | undefined, path: YamlPath): void => {
    for (const [k, v] of Object.entries(set ?? {})) {
      provided.add(k);
      templated.push({ text: v, path: [...path, k] });
    }
  };
  const addTransition = (t: Transition, path: YamlPath): void => {
    if (typeof t === 'string') return;
    addTexts(t.say, [...path, 'say']);
    addSet(t.set, [...path, 'set']);
  };
  for (const [name, step] of Object.entries(def.steps)) {
    const at = ['steps', name];
    addTexts(step.say, [...at, 'say']);
    addSet(step.set, [...at, 'set']);
    for (const [intent, t] of Object.entries(step.on ?? {})) addTransition(t, [...at, 'on', intent]);
    for (const [e, t] of Object.entries(step.on_emotion ?? {})) addTransition(t!, [...at, 'on_emotion', e]);
    addTexts(step.no_input?.say, [...at, 'no_input', 'say']);
    addTexts(step.no_match?.say, [...at, 'no_match', 'say']);
    if (step.webhook) {
      for (const k of Object.keys(step.webhook.save)) provided.add(k);
      templated.push({ text: step.webhook.url, path: [...at, 'webhook', 'url'] });
      for (const [k, v] of Object.entries(step.webhook.body ?? {})) templated.push({ text: v, path: [...at, 'webhook', 'body', k] });
      for (const [k, v] of Object.entries(step.webhook.headers)) templated.push({ text: v, path: [...at, 'webhook', 'headers', k] });
    }
    if (step.transfer?.target) templated.push({ text: step.transfer.target, path: [...at, 'transfer', 'target'] });
  }
  for (const [intent, g] of Object.entries(def.globals)) {
    addTexts(g.say, ['globals', intent, 'say']);
    addSet(g.set, ['globals', intent, 'set']);
  }
  for (const [e, t] of Object.entries(def.emotions)) addTransition(t!, ['emotions', e]);
  addTexts(def.defaults.no_input?.say, ['defaults', 'no_input', 'say']);
  addTexts(def.defaults.no_match?.say, ['defaults', 'no_match', 'say']);

  const declared = [...provided];
  for (const { text, path } of templated) {
    for (const ref of parseTemplateRefs(text)) {
      const [ns] = ref.name.split('.');
      const isRuntime = ref.name.includes('.') && (runtimeNamespaces as readonly string[]).includes(ns ?? '');
      if (!isRuntime && !provided.has(ref.name)) {
        problems.push({
          path,
          severity: 'error',
          code: 'undefined-variable',
          message: `template variable "${ref.name}" is not provided`,
          hint: ref.name.includes('.')
            ? `only slot.* (date, time, amount, number, digits) and input.* (text, digits, intent) have dots`
            : `${suggest(ref.name, declared, 'variable')} (or declare it under variables: / set it with set:)`,
        });
      }
      for (const f of ref.formatters) {
        if (!(formatterNames as readonly string[]).includes(f.name)) {
          problems.push({ path, severity: 'error', code: 'unknown-formatter', message: `unknown formatter "${f.name}" in {{${ref.name} | ${f.name}}}`, hint: `formatters: ${formatterNames.join(', ')}` });
        }
      }
    }
  }
  return problems;
}

function checkGraph(def: FlowDefinition, edges: Edge[], globalEdges: Edge[]): PathProblem[] {
  const problems: PathProblem[] = [];
  const steps = def.steps;
  if (!(def.start in steps)) return problems;
  const out = new Map<string, string[]>();
  for (const name of Object.keys(steps)) out.set(name, []);
  for (const e of edges) if (e.from) out.get(e.from)!.push(e.to);
  // Global handlers, emotions, defaults and the fallback can fire in any step that waits for an answer.
  for (const [name, step] of Object.entries(steps)) {
    if (isWaitingStep(step)) for (const g of globalEdges) out.get(name)!.push(g.to);
  }

  const reachable = new Set<string>([def.start]);
  const queue = [def.start];
  while (queue.length > 0) {
    const s = queue.shift()!;
    for (const t of out.get(s) ?? []) if (!reachable.has(t)) (reachable.add(t), queue.push(t));
  }
  for (const name of Object.keys(steps)) {
    if (!reachable.has(name)) {
      problems.push({ path: ['steps', name], atKey: true, severity: 'warning', code: 'unreachable-step', message: `step "${name}" can never be reached from start "${def.start}"`, hint: `point a transition at it or delete it` });
    }
  }

  // Steps from which no end/transfer can be reached would keep the caller forever.
  const reverse = new Map<string, string[]>();
  for (const [from, tos] of out) for (const to of tos) (reverse.get(to) ?? reverse.set(to, []).get(to)!).push(from);
  const canExit = new Set<string>();
  const exitQueue = Object.entries(steps).filter(([, s]) => isTerminalStep(s)).map(([n]) => n);
  for (const n of exitQueue) canExit.add(n);
  while (exitQueue.length > 0) {
    const s = exitQueue.shift()!;
    for (const p of reverse.get(s) ?? []) if (!canExit.has(p)) (canExit.add(p), exitQueue.push(p));
  }
  for (const name of Object.keys(steps)) {
    if (reachable.has(name) && !canExit.has(name)) {
      problems.push({ path: ['steps', name], atKey: true, severity: 'error', code: 'no-exit', message: `step "${name}" is in a loop with no way to an end or transfer step`, hint: 'give one step of the loop (or its no_input/no_match) a goto to an end: or transfer: step' });
    }
  }

  // A cycle of goto/webhook steps would spin without waiting for the caller.
  const passOut = new Map<string, string[]>();
  for (const e of edges) if (e.passThrough && e.from) (passOut.get(e.from) ?? passOut.set(e.from, []).get(e.from)!).push(e.to);
  const state = new Map<string, 1 | 2>();
  const reported = new Set<string>();
  const visit = (n: string): void => {
    state.set(n, 1);
    for (const t of passOut.get(n) ?? []) {
      if (state.get(t) === 1 && !reported.has(t)) {
        reported.add(t);
        problems.push({ path: ['steps', t], atKey: true, severity: 'error', code: 'goto-loop', message: `steps loop through goto/webhook back to "${t}" without waiting for the caller`, hint: 'make one step of the loop wait for an answer (on:) or end it' });
      } else if (!state.has(t)) visit(t);
    }
    state.set(n, 2);
  };
  for (const n of passOut.keys()) if (!state.has(n)) visit(n);
  return problems;
}
