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
