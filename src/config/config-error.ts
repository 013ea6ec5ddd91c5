/** One problem found in the config, located as precisely as the source allows. */
export interface ConfigIssue {
  /** Dotted key path, e.g. `speech.endpoint.trailingSilenceMs` (empty for the whole document). */
  path: string;
  message: string;
  /** Config file the value came from. */
  file?: string;
  /** 1-based line and column in `file`. */
  line?: number;
  column?: number;
  /** Environment variable the value came from. */
  env?: string;
}

/** The config could not be loaded; `issues` lists every problem found, not only the first. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];

  constructor(issues: ConfigIssue[]) {
    super(`Invalid callpilot config:\n${issues.map((issue) => `  - ${formatIssue(issue)}`).join('\n')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

function formatIssue(issue: ConfigIssue): string {
  const where = issue.env
    ? `env ${issue.env}`
    : issue.file
      ? `${issue.file}${issue.line ? `:${issue.line}${issue.column ? `:${issue.column}` : ''}` : ''}`
      : undefined;
  const key = issue.path === '' ? '(root)' : issue.path;
  return `${key}: ${issue.message}${where ? ` (${where})` : ''}`;
}
