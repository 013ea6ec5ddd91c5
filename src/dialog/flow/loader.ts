import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { yamlPathPosition } from '../../config/index.ts';
import { builtinIntents, compileIntent, IntentClassifier, mergeIntentSpecs } from '../nlu/index.ts';
import { checkFlowDefinition, suggest, type PathProblem } from './check.ts';
import { flowSchema, type FlowDefinition } from './schema.ts';
import type { FlowLoadResult, FlowProblem } from './types.ts';

function schemaHint(issue: z.core.$ZodIssue, value: unknown): string {
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeysAt(issue.path);
      return issue.keys
        .map((k) =>
          /[\s,]/.test(k)
            ? `"${k}" looks like the rest of a value after a comma: quote values that contain commas inside { }`
            : allowed
              ? `"${k}": ${suggest(k, allowed, 'key')}`
              : `remove "${k}"`,
        )
        .join('; ');
    }
    case 'invalid_type':
      return value === undefined ? `add ${String(issue.path[issue.path.length - 1])}: (it is required)` : `write a ${issue.expected} here`;
    case 'invalid_union':
      return 'a transition is a step name, or { goto: <step>, say: ..., set: {...} }; a text is a string or a list of strings';
    case 'invalid_value':
      return `use one of: ${issue.values.map(String).join(', ')}`;
    case 'too_small':
    case 'too_big':
      return 'change the value to fit the range';
    case 'invalid_format':
      return issue.message;
    default:
      return 'see docs/flows.md for the flow language';
  }
}

const stepKeys = ['say', 'audio', 'barge_in', 'set', 'callback', 'webhook', 'on', 'dtmf', 'on_emotion', 'no_input', 'no_match', 'goto', 'end', 'transfer'];
const topKeys = ['flow', 'lang', 'version', 'description', 'start', 'variables', 'settings', 'intents', 'globals', 'emotions', 'defaults', 'fallback', 'voicemail', 'assistant', 'steps'];

function allowedKeysAt(path: PropertyKey[]): string[] | undefined {
  if (path.length === 0) return topKeys;
  if (path.length === 2 && path[0] === 'steps') return stepKeys;
  if (path.length === 1 && path[0] === 'settings') return ['confidence_threshold', 'timezone', 'llm_fallback', 'max_turns'];
  if (path.length === 2 && path[0] === 'intents') return ['keywords', 'exact', 'patterns', 'negation', 'implies', 'slot', 'weight', 'description'];
  if (path[path.length - 1] === 'no_input' || path[path.length - 1] === 'no_match') return ['retries', 'say', 'reprompt', 'goto'];
  return undefined;
}

function valueAt(data: unknown, path: PropertyKey[]): unknown {
  let v: unknown = data;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[seg];
  }
  return v;
}

/**
 * Parses, validates and compiles one flow file's text. Never throws for a bad file: every problem comes back
 * with the line and column to fix.
 */
export function compileFlowSource(source: string, file: string, baseDir = dirname(file)): FlowLoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: FlowProblem[] = [];
  const at = (p: PathProblem): FlowProblem => {
    const { line, column } = yamlPathPosition(doc, lines, p.path, p.atKey ?? false);
    return { file, line, column, severity: p.severity, code: p.code, message: p.message, hint: p.hint };
  };

  if (doc.errors.length > 0) {
    const sourceLines = source.split('\n');
    // After the first syntax error the parser's later complaints are mostly echoes of it.
    for (const err of doc.errors.slice(0, 3)) {
      const pos = err.linePos?.[0] ?? lines.linePos(err.pos[0]);
      const lineText = sourceLines[pos.line - 1] ?? '';
      problems.push({
        file,
        line: pos.line,
        column: pos.col,
        severity: 'error',
        code: 'yaml-syntax',
        message: `YAML syntax: ${err.message.split('\n')[0]}`,
        hint:
          err.code === 'DUPLICATE_KEY'
            ? 'each key may appear once in a map; merge or rename the duplicates'
            : lineText.includes('{{')
              ? 'put text with {{variables}} in quotes: say: "您好{{name}}" (unquoted { starts a YAML map)'
              : lineText.includes('\t')
                ? 'indent with spaces; YAML does not allow tabs'
                : 'check indentation (spaces, not tabs), the colon after each key and closing brackets/quotes',
      });
    }
    return { problems };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    problems.push({ file, line: 1, column: 1, severity: 'error', code: 'yaml-syntax', message: `YAML: ${(err as Error).message}`, hint: 'avoid aliases (*name) that expand too much' });
    return { problems };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    problems.push({ file, line: 1, column: 1, severity: 'error', code: 'schema', message: 'a flow file must be a map with flow:, lang:, start: and steps:', hint: 'see configs/flows/demo.zh.yaml for a small complete flow' });
    return { problems };
  }
  const parsed = flowSchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      const where = path.length > 0 ? `${path.join('.')}: ` : '';
      problems.push(at({ path, severity: 'error', code: 'schema', message: `${where}${issue.message}`, hint: schemaHint(issue, valueAt(data, path)) }));
    }
    // Report the other problems too (unknown steps, formatters, ...) instead of one layer at a time: check a copy
    // with the bad parts repaired or removed, and keep what it finds outside the parts already reported.
    const repaired = flowSchema.safeParse(repairForChecking(data, parsed.error.issues));
    if (repaired.success) {
      const reported = parsed.error.issues.map((i) => i.path.map(String));
      for (const p of checkFlowDefinition(repaired.data, baseDir)) {
        const path = p.path.map(String);
        const overlaps = reported.some((r) => r.every((seg, k) => path[k] === seg) || path.every((seg, k) => r[k] === seg));
        if (!overlaps) problems.push(at(p));
      }
    }
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    return { problems };
  }
  const def: FlowDefinition = parsed.data;
  for (const p of checkFlowDefinition(def, baseDir)) problems.push(at(p));
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  if (problems.some((p) => p.severity === 'error')) return { problems };

  const specs = mergeIntentSpecs(builtinIntents[def.lang], def.intents);
  const classifier = new IntentClassifier(def.lang, Object.entries(specs).map(([name, spec]) => compileIntent(name, spec)));
  const version = createHash('sha1').update(source).digest('hex').slice(0, 12);
  return { flow: { name: def.flow, lang: def.lang, file, version, definition: def, classifier, baseDir }, problems };
}

/**
 * A deep copy of `data` where each schema issue is fixed the cheapest way (first allowed value of an enum, unknown
 * keys dropped, anything else removed), only so that the semantic checks can run; never used to run a flow.
 */
function repairForChecking(data: unknown, issues: z.core.$ZodIssue[]): unknown {
  const copy = structuredClone(data) as Record<string | number, unknown>;
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    let parent: unknown = copy;
    for (const seg of path.slice(0, -1)) parent = parent !== null && typeof parent === 'object' ? (parent as Record<string | number, unknown>)[seg] : undefined;
    const target = path.length === 0 ? copy : parent;
    if (target === null || typeof target !== 'object') continue;
    const obj = target as Record<string | number, unknown>;
    const key = path[path.length - 1];
    if (issue.code === 'unrecognized_keys') {
      const holder = key === undefined ? obj : (obj[key] as Record<string, unknown> | undefined);
      if (holder && typeof holder === 'object') for (const k of issue.keys) delete holder[k];
    } else if (key !== undefined) {
      if (issue.code === 'invalid_value' && issue.values.length > 0) obj[key] = issue.values[0];
      else if (Array.isArray(obj)) obj.splice(Number(key), 1);
      else delete obj[key];
    }
  }
  return copy;
}

/** Reads and compiles a flow file; an unreadable file is a problem, not an exception. */
export function loadFlowFile(file: string): FlowLoadResult {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    return { problems: [{ file, line: 1, column: 1, severity: 'error', code: 'io', message: `cannot read file: ${(err as Error).message}`, hint: 'check the path' }] };
  }
  return compileFlowSource(source, file);
}

/** Problems of one flow file (errors and warnings), for `callpilot flows check` and editors. */
export function checkFlowFile(file: string): FlowProblem[] {
  return loadFlowFile(file).problems;
}
