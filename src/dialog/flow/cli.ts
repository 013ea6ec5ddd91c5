import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkFlowFile } from './loader.ts';
import type { FlowProblem } from './types.ts';

function expand(arg: string): string[] {
  try {
    if (statSync(arg).isDirectory()) {
      return readdirSync(arg).filter((n) => /\.ya?ml$/i.test(n)).sort().map((n) => join(arg, n));
    }
  } catch {
    // A missing path is reported by checkFlowFile with a clear message.
  }
  return [arg];
}

/** One problem as `file:line:col: ...`, the file exactly as the user named it (editors jump to it). */
export function formatProblem(p: FlowProblem): string[] {
  return [`${p.file}:${p.line}:${p.column}: ${p.severity} [${p.code}] ${p.message}`, `    hint: ${p.hint}`];
}

/**
 * `callpilot flows check FILE|DIR...`: prints each problem with file, line, column and a hint.
 * Exit code 0 when no file has errors (warnings allowed, or `--strict` to fail on them), 1 on errors, 2 on usage.
 */
export async function runFlowsCheck(argv: string[], out: (line: string) => void): Promise<number> {
  const strict = argv.includes('--strict');
  const paths = argv.filter((a) => !a.startsWith('--'));
  if (paths.length === 0 || argv.includes('--help')) {
    out('usage: callpilot flows check [--strict] FILE|DIR...');
    out('  Validates flow YAML files: syntax, types, step targets, intents, no-input handling, variables, loops.');
    return 2;
  }
  let errors = 0;
  let warnings = 0;
  const files = paths.flatMap(expand);
  for (const file of files) {
    const problems = checkFlowFile(file);
    for (const p of problems) {
      for (const line of formatProblem(p)) out(line);
      if (p.severity === 'error') errors++;
      else warnings++;
    }
    if (problems.length === 0) out(`${file}: ok`);
  }
  out(`${files.length} file(s) checked: ${errors} error(s), ${warnings} warning(s)`);
  return errors > 0 || (strict && warnings > 0) ? 1 : 0;
}
