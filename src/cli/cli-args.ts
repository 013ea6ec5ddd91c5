import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A usage mistake: the command prints the message and its usage on stderr and exits 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Printed by a command when its `--help` was asked for: usage on stdout, exit 0. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super('help');
    this.name = 'HelpRequested';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs<O extends Options> {
  values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string };
  positionals: string[];
}

/**
 * Strict parsing for every command: `--help`/`-h` anywhere gives the usage, an unknown option or a missing value
 * is a UsageError naming it, and positionals beyond `maxPositionals` are refused.
 */
export function parseCommandArgs<O extends Options>(args: string[], usage: string, options: O, maxPositionals = 0): ParsedArgs<O> {
  if (args.includes('--help') || args.includes('-h')) throw new HelpRequested(usage);
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    // Node's messages name the option ("Unknown option '--bogus'"); drop its advice about '--' which does not apply.
    throw new UsageError((err as Error).message.split('. To specify a positional')[0]!.replace(/\.$/, ''), usage);
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument${parsed.positionals.length - maxPositionals > 1 ? 's' : ''}: ${parsed.positionals.slice(maxPositionals).join(' ')}`, usage);
  }
  return parsed as ParsedArgs<O>;
}
