import type { Lang } from '../types.ts';
import type { IntentClassifier } from '../nlu/index.ts';
import type { FlowDefinition } from './schema.ts';

export type FlowProblemCode =
  | 'yaml-syntax'
  | 'schema'
  | 'unknown-step'
  | 'unreachable-step'
  | 'undefined-intent'
  | 'missing-no-input'
  | 'missing-no-match'
  | 'missing-global'
  | 'undefined-variable'
  | 'unknown-formatter'
  | 'step-kind'
  | 'no-exit'
  | 'goto-loop'
  | 'bad-pattern'
  | 'missing-audio'
  | 'duplicate-flow'
  | 'refusal-not-recorded'
  | 'io';

/** One thing wrong (or doubtful) in a flow file, pointing at the line an author must fix. */
export interface FlowProblem {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  severity: 'error' | 'warning';
  code: FlowProblemCode;
  message: string;
  /** How to fix it. */
  hint: string;
}

/** A validated flow, ready to run calls. Immutable: a reload builds a new one. */
export interface CompiledFlow {
  name: string;
  lang: Lang;
  file: string;
  /** Content hash: which version of the file a call ran. */
  version: string;
  definition: FlowDefinition;
  classifier: IntentClassifier;
  /** Folder that relative audio paths are resolved against. */
  baseDir: string;
}

export interface FlowLoadResult {
  flow?: CompiledFlow;
  /** Errors and warnings; `flow` is absent when any is an error. */
  problems: FlowProblem[];
}

/** A refusal heard in a call, for the do-not-call ledger (a flow step's `do_not_call` action). */
export interface DoNotCallRequest {
  callId: string;
  /** The number to block as the call knows it (E.164 for campaign calls; a dial string or caller id otherwise). */
  number: string;
  scope: 'global' | 'campaign';
  /** The campaign that placed the call, when one did. */
  campaignId?: string;
  reason: string;
  /** What the caller said (or keyed) that led to the refusal: the ledger's proof. */
  words: string;
  flow: string;
  step: string;
}

/**
 * Records a refusal; resolves once it is durable. The flow layer knows no store: the app wires this to the campaign
 * service's DNC ledger.
 */
export type DoNotCallRecorder = (req: DoNotCallRequest) => Promise<void>;
