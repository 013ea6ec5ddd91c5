import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { yamlPathPosition, type YamlPath } from '../config/index.ts';
import { compileRule, QaRules, type CompiledQaRule } from './engine.ts';
import { qaRuleFileSchema, type QaRuleFile } from './rule-schema.ts';

/** A problem in a QA rule file, with the line and column to fix (as `flows check` reports them). */
export interface QaProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

/** Parses and validates one rule file's text; never throws for a bad file. */
export function checkQaSource(source: string, file: string): { problems: QaProblem[]; rules?: QaRuleFile } {
  const lines = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      problems: doc.errors.slice(0, 3).map((err) => {
        const pos = err.linePos?.[0] ?? lines.linePos(err.pos[0]);
        return { file, line: pos.line, column: pos.col, message: `YAML syntax: ${err.message.split('\n')[0]}` };
      }),
    };
  }
  const at = (path: YamlPath, message: string): QaProblem => {
    const { line, column } = yamlPathPosition(doc, lines, path);
    return { file, line, column, message };
  };
  const parsed = qaRuleFileSchema.safeParse(doc.toJS({ maxAliasCount: 100 }));
  if (!parsed.success) {
    return {
      problems: parsed.error.issues.map((issue) => {
        const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
        const extra = issue.code === 'unrecognized_keys' ? ` (${issue.keys.join(', ')})` : '';
        return at(path, `${path.length > 0 ? `${path.join('.')}: ` : ''}${issue.message}${extra}`);
      }),
    };
  }
  const problems: QaProblem[] = [];
  const seen = new Map<string, number>();
  parsed.data.rules.forEach((rule, i) => {
    const earlier = seen.get(rule.id);
    if (earlier !== undefined) problems.push(at(['rules', i, 'id'], `rules.${i}.id: "${rule.id}" is already the id of rule ${earlier}`));
    seen.set(rule.id, i);
    if (rule.type === 'regex') {
      try {
        new RegExp(rule.pattern, rule.flags.includes('u') ? rule.flags : `${rule.flags}u`);
      } catch (err) {
        problems.push(at(['rules', i, 'pattern'], `rules.${i}.pattern: not a valid regular expression: ${(err as Error).message}`));
      }
    }
    if (rule.type === 'sequence' && rule.first.phrases.some((p) => rule.then.phrases.includes(p))) {
      problems.push(at(['rules', i, 'then'], `rules.${i}.then: a phrase of "first" is also in "then", so the rule matches itself`));
    }
  });
  return problems.length > 0 ? { problems } : { problems, rules: parsed.data };
}

/** The YAML files a path names: the file itself, or a folder's *.yaml / *.yml files in name order. */
export function qaFilesIn(path: string): string[] {
  try {
    if (statSync(path).isDirectory()) return readdirSync(path).filter((n) => /\.ya?ml$/i.test(n)).sort().map((n) => join(path, n));
  } catch {
    // reported by the reader
  }
  return [path];
}

export function checkQaFile(file: string): { problems: QaProblem[]; rules?: QaRuleFile } {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    return { problems: [{ file, line: 1, column: 1, message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }] };
  }
  return checkQaSource(source, file);
}

/**
 * Loads every rule file in `dir` (startup): all must be valid, and rule ids unique across files, or it throws
 * with every problem listed `file:line:col: message`.
 */
export function loadQaRules(paths: readonly string[]): QaRules {
  const problems: QaProblem[] = [];
  const compiled: CompiledQaRule[] = [];
  const owners = new Map<string, string>();
  for (const file of paths.flatMap(qaFilesIn)) {
    const result = checkQaFile(file);
    problems.push(...result.problems);
    if (!result.rules) continue;
    for (const rule of result.rules.rules) {
      const key = `${result.rules.qa}/${rule.id}`;
      if (owners.has(key)) problems.push({ file, line: 1, column: 1, message: `rule ${key} is also defined in ${owners.get(key)}` });
      owners.set(key, file);
      compiled.push(compileRule(result.rules.qa, rule, { flows: result.rules.flows, langs: result.rules.langs }));
    }
  }
  if (problems.length > 0) throw new QaRulesError(problems);
  return new QaRules(compiled);
}

export class QaRulesError extends Error {
  constructor(readonly problems: QaProblem[]) {
    super(`invalid QA rules:\n${problems.map(formatQaProblem).join('\n')}`);
    this.name = 'QaRulesError';
  }
}

export function formatQaProblem(p: QaProblem): string {
  return `${p.file}:${p.line}:${p.column}: error ${p.message}`;
}

/** `callpilot qa check FILE|DIR...`: exit 0 when every file is valid, 1 on errors, 2 on usage. */
export async function runQaCheck(argv: string[], out: (line: string) => void): Promise<number> {
  const paths = argv.filter((a) => !a.startsWith('--'));
  if (paths.length === 0 || argv.includes('--help')) {
    out('usage: callpilot qa check FILE|DIR...');
    out('  Validates QA (质检) rule files: syntax, rule types and fields, regular expressions, duplicate ids.');
    return 2;
  }
  let errors = 0;
  let rules = 0;
  const files = paths.flatMap(qaFilesIn);
  for (const file of files) {
    const result = checkQaFile(file);
    for (const p of result.problems) out(formatQaProblem(p));
    errors += result.problems.length;
    if (result.rules) {
      rules += result.rules.rules.length;
      out(`${file}: ok (${result.rules.rules.length} rules)`);
    }
  }
  out(`${files.length} file(s) checked: ${rules} rule(s), ${errors} error(s)`);
  return errors > 0 ? 1 : 0;
}
