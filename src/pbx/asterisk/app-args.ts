/** What `Stasis(app,flow=overdue-reminder,lang=zh,debtor=42)` asked for. */
export interface StasisArgs {
  flow?: string;
  lang?: string;
  /** Every other `key=value` arg; bare words become `argN=word`. */
  variables: Record<string, string>;
}

/**
 * Parse Stasis app args. Dialplan authors write `key=value` pairs; positional words are kept
 * as `arg1`, `arg2`, ... so nothing they pass is lost.
 */
export function parseStasisArgs(args: readonly string[]): StasisArgs {
  const out: StasisArgs = { variables: {} };
  let positional = 0;
  for (const raw of args) {
    const arg = raw.trim();
    if (arg === '') continue;
    const eq = arg.indexOf('=');
    if (eq <= 0) {
      out.variables[`arg${++positional}`] = arg;
      continue;
    }
    const key = arg.slice(0, eq).trim();
    const value = arg.slice(eq + 1).trim();
    if (key === 'flow') out.flow = value;
    else if (key === 'lang') out.lang = value;
    else out.variables[key] = value;
  }
  return out;
}

/** Build app args for an originate (commas separate args in ARI, so values must not hold any). */
export function formatStasisArgs(parts: Record<string, string | undefined>): string {
  return Object.entries(parts)
    .filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '')
    .map(([k, v]) => `${k}=${v.replace(/,/g, ' ')}`)
    .join(',');
}
