/**
 * The caller-style utterance sets of issue 12 (fixtures/callers, fixtures/callers-heldout) and how a flow step reads
 * one answer: shared by the text-level test (nlu-callers.test.ts) and the audio bench through the tiny ASR
 * (bench/understanding.ts), so both score the same way.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadFlowFile, type CompiledFlow } from '../../src/dialog/flow/index.ts';
import { isDoubtfulConsent } from '../../src/dialog/flow/session.ts';
import type { Lang } from '../../src/core/index.ts';

export const CALLER_SET_DIR = fileURLToPath(new URL('./fixtures/callers/', import.meta.url));
/** Written after the first set's figure was known, before the rules it checks were coded: how the rules generalize. */
export const HELD_OUT_SET_DIR = fileURLToPath(new URL('./fixtures/callers-heldout/', import.meta.url));
const flowsDir = fileURLToPath(new URL('../../configs/flows/', import.meta.url));
/** The fixtures' dates (下周三, 月底) are labelled as of this moment. */
export const CALLER_SET_NOW = new Date('2024-05-15T10:00:00+08:00');
export const REFUSALS: ReadonlySet<string> = new Set(['no', 'not_interested', 'refuse_pay', 'stop_calling', 'wrong_number', 'cancel_order']);

export interface CallerLine {
  /** Fixture file name (`<flow>.<lang>.tsv`). */
  file: string;
  flow: CompiledFlow;
  lang: Lang;
  step: string;
  utterance: string;
  /** The intent the step should act on; '-' = no intent, the step asks again. */
  expected: string;
}

export function readCallerSet(dir: string): CallerLine[] {
  const flows = new Map<string, CompiledFlow>();
  const lines: CallerLine[] = [];
  for (const file of readdirSync(dir).filter((name) => name.endsWith('.tsv')).sort()) {
    const [flowName, lang] = file.replace(/\.tsv$/, '').split('.') as [string, Lang];
    let flow = flows.get(`${flowName}.${lang}`);
    if (!flow) {
      const loaded = loadFlowFile(`${flowsDir}${flowName}.${lang}.yaml`);
      if (!loaded.flow) throw new Error(`${file}: flow does not load: ${JSON.stringify(loaded.problems)}`);
      flow = loaded.flow;
      flows.set(`${flowName}.${lang}`, flow);
    }
    for (const row of readFileSync(`${dir}${file}`, 'utf8').split('\n')) {
      if (!row.trim() || row.startsWith('#')) continue;
      const [step, utterance, expected] = row.split('\t') as [string, string, string];
      if (!flow.definition.steps[step]) throw new Error(`${file}: unknown step ${step}`);
      lines.push({ file, flow, lang, step, utterance, expected });
    }
  }
  return lines;
}

/** Step intents first (they win ties), then the flow's global intents, as the dialog session offers them. */
function candidates(flow: CompiledFlow, stepName: string): { own: string[]; all: string[] } {
  const own = Object.keys(flow.definition.steps[stepName]!.on ?? {});
  return { own, all: [...own, ...Object.keys(flow.definition.globals).filter((g) => !own.includes(g))] };
}

/**
 * The intent the step acts on for `text` (what the session does before any LLM fallback): the classifier's intent,
 * `any` where the step takes any answer, '-' for a re-prompt, and a doubtful yes in a step that can take a refusal
 * is a re-prompt too.
 */
export function stepAnswer(line: Pick<CallerLine, 'flow' | 'step'>, text: string, asrConfidence?: number): string {
  const def = line.flow.definition;
  const step = def.steps[line.step]!;
  const { own, all } = candidates(line.flow, line.step);
  const r = line.flow.classifier.classify(text, all, { now: CALLER_SET_NOW, timeZone: def.settings.timezone, threshold: def.settings.confidence_threshold });
  const clear = line.flow.classifier.opensClearly('yes', r.normalized);
  if (isDoubtfulConsent(step, r, asrConfidence, def.settings.consent_min_confidence, clear)) return '-';
  return r.intent ?? (own.includes('any') ? 'any' : '-');
}

/** The phrases the step's intents are matched on: what the turn loop gives the endpointer as expected answers. */
export function expectedPhrases(line: Pick<CallerLine, 'flow' | 'step'>): string[] {
  const phrases = new Set<string>();
  for (const intent of candidates(line.flow, line.step).all) {
    if (intent === 'any') continue;
    for (const p of line.flow.classifier.phrasesOf(intent)) phrases.add(p);
  }
  return [...phrases];
}

export interface SetScore {
  total: number;
  correct: number;
  /** Correct, or another intent the step maps to the very same action (yes and cancel_order in "cancel it?"). */
  sameAction: number;
  refusalsAsConsent: string[];
  misses: string[];
}

export function emptyScore(): SetScore {
  return { total: 0, correct: 0, sameAction: 0, refusalsAsConsent: [], misses: [] };
}

/** Adds one answer the step got (`got`) for `line` to `score`. `heard` names what was classified, for the lists. */
export function scoreAnswer(score: SetScore, line: CallerLine, got: string, heard = line.utterance): void {
  score.total++;
  if (got === line.expected) score.correct++;
  const on = line.flow.definition.steps[line.step]!.on as Record<string, unknown> | undefined;
  if (got === line.expected || (on?.[got] !== undefined && JSON.stringify(on[got]) === JSON.stringify(on[line.expected]))) score.sameAction++;
  const shown = heard === line.utterance ? line.utterance : `${line.utterance} [heard: ${heard}]`;
  if (got !== line.expected) score.misses.push(`${line.file} ${line.step}: ${shown} -> ${got} (want ${line.expected})`);
  if (got === 'yes' && REFUSALS.has(line.expected)) score.refusalsAsConsent.push(`${line.file} ${line.step}: ${shown}`);
}

export function percent(n: number, of: number): string {
  return of === 0 ? '-' : `${((n / of) * 100).toFixed(1)} %`;
}
