import { readFileSync } from 'node:fs';
import { ConfigError, loadConfig, renderConfigReference } from '../config/index.ts';
import { HelpRequested, parseCommandArgs, UsageError } from './cli-args.ts';
import type { EarlyBind } from './early-listener.js';

export const USAGE = `callpilot — voice-bot media server for Asterisk and FreeSWITCH

Usage:
  callpilot start [--config FILE]              run the server (HTTP, media WebSocket, PBX adapters)
  callpilot simulate [--wav FILE] [--lang zh|en] [--flow NAME] [--url URL --token TOKEN] [--config FILE]
                                               call the bot like a phone and print the timeline, one
                                               wire latency per turn and the barge-in figure
  callpilot models list [--config FILE]        known models, what is installed, what the config uses
  callpilot models pull NAME [--sha256 HEX] [--from FILE|URL] [--force]
                                               download a production model (zh-en, sense-voice, vad,
                                               tts-zh-en), verified, installed atomically
  callpilot models use NAME [--config FILE]    write the model into the config file
  callpilot flows check [--strict] FILE|DIR... validate flow files: every problem, with line and hint
  callpilot qa check FILE|DIR...               validate QA (质检) rule files, every problem with its line
  callpilot config check [--config FILE]       validate a config file
  callpilot config reference                   print every config key, its default and env variable
  callpilot tokens create --role ROLE [--name N] [--expires 30d] [--grant unmask]
                                               create an API token (shown once); roles admin,
                                               operator, auditor, pbx
  callpilot tokens list | tokens revoke ID     list tokens / revoke one (see callpilot tokens --help)
  callpilot campaign create|import|start|pause|resume|stop|status|export ...
                                               run outbound campaigns on a running server through its
                                               REST API (see callpilot campaign --help)
  callpilot --version                          print the version

Every command takes --help.`;

const FLOWS_USAGE = `usage: callpilot flows check [--strict] FILE|DIR...

Validates flow YAML files (syntax, types, step targets, intents, no-input handling, variables, formatters,
loops) and prints every problem with file, line, column and a hint. Exit 0 when no file has errors (--strict:
no warnings either), 1 otherwise, 2 on a usage error.`;

const QA_USAGE = `usage: callpilot qa check FILE|DIR...

Validates QA (质检) rule files (configs/qa/*.yaml): syntax, rule types and fields, regular expressions and
duplicate rule ids, and prints every problem as file:line:col. Exit 0 when all are valid, 1 otherwise, 2 on a
usage error.`;

const CONFIG_USAGE = `usage: callpilot config <check|reference>

  callpilot config check [--config FILE]   validate a config file (and the CALLPILOT_* environment)
  callpilot config reference               print every config key, its default and env variable`;

const CONFIG_CHECK_USAGE = `usage: callpilot config check [--config FILE]

Validates the config file (default: $CALLPILOT_CONFIG, then configs/callpilot.yaml) merged with CALLPILOT_*
environment overrides; every problem is named with its key, file and line.`;

const CONFIG_REFERENCE_USAGE = `usage: callpilot config reference

Prints every config key with its type, default, environment variable and description (Markdown table).`;

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Progress bars (stderr by default). */
  progress?: (text: string, done: boolean) => void;
}

const defaultIo: CliIo = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
};

/**
 * Entry point of the `callpilot` command; returns the exit code: 0 done, 1 failed, 2 usage error (unknown command,
 * option, flow or language; bad config).
 */
export async function main(argv: string[], io: CliIo = defaultIo, launch: { early?: EarlyBind } = {}): Promise<number> {
  const { out, err } = io;
  const [command, ...rest] = argv;
  try {
    switch (command) {
      // Commands load their modules on demand: `--version` or `models list` need not load the speech engines,
      // and `start` can answer /healthz sooner.
      case 'start':
        return await (await import('./start-command.ts')).runStart(rest, launch.early);
      case 'simulate':
        return await (await import('./simulate-command.ts')).runSimulate(rest, out);
      case 'tokens':
        return await (await import('./tokens-command.ts')).runTokensCommand(rest, out, err);
      case 'models':
        return await (await import('./models-command.ts')).runModelsCommand(rest, { out, err });
      case 'campaign':
      case 'campaigns':
        return await (await import('./campaign-command.ts')).runCampaignCommand(rest, { out, err, progress: io.progress });
      case 'flows': {
        const [sub, ...files] = rest;
        if (sub === '--help' || sub === '-h' || sub === 'help') throw new HelpRequested(FLOWS_USAGE);
        if (sub !== 'check') throw new UsageError(sub === undefined ? 'missing subcommand' : `unknown subcommand "flows ${sub}"`, FLOWS_USAGE);
        const { values, positionals } = parseCommandArgs(files, FLOWS_USAGE, { strict: { type: 'boolean' } }, Infinity);
        if (positionals.length === 0) throw new UsageError('no flow file or folder given', FLOWS_USAGE);
        const { runFlowsCheck } = await import('../dialog/index.ts');
        return await runFlowsCheck([...(values.strict ? ['--strict'] : []), ...positionals], out);
      }
      case 'qa': {
        const [sub, ...files] = rest;
        if (sub === '--help' || sub === '-h' || sub === 'help') throw new HelpRequested(QA_USAGE);
        if (sub !== 'check') throw new UsageError(sub === undefined ? 'missing subcommand' : `unknown subcommand "qa ${sub}"`, QA_USAGE);
        const { positionals } = parseCommandArgs(files, QA_USAGE, {}, Infinity);
        if (positionals.length === 0) throw new UsageError('no QA rule file or folder given', QA_USAGE);
        const { runQaCheck } = await import('../qa/index.ts');
        return await runQaCheck(positionals, out);
      }
      case 'config': {
        const [sub, ...more] = rest;
        if (sub === 'reference') {
          parseCommandArgs(more, CONFIG_REFERENCE_USAGE, {});
          out(renderConfigReference());
          return 0;
        }
        if (sub === 'check') {
          const { values } = parseCommandArgs(more, CONFIG_CHECK_USAGE, { config: { type: 'string' } });
          loadConfig({ path: values.config });
          out('config OK');
          return 0;
        }
        if (sub === '--help' || sub === '-h' || sub === 'help') throw new HelpRequested(CONFIG_USAGE);
        throw new UsageError(sub === undefined ? 'missing subcommand' : `unknown subcommand "config ${sub}"`, CONFIG_USAGE);
      }
      case '--version':
      case '-V':
      case 'version':
        out(version());
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return 0;
    }
    throw new UsageError(`unknown command "${command}"`, USAGE);
  } catch (e) {
    // By name, not instanceof: commands are loaded on demand, and a loader (tsx's CommonJS hook in tests) may give
    // them their own copy of cli-args.ts.
    const name = (e as Error | undefined)?.name;
    if (name === 'HelpRequested') {
      out((e as HelpRequested).usage);
      return 0;
    }
    if (name === 'UsageError') {
      err(`callpilot: ${(e as UsageError).message}\n`);
      err((e as UsageError).usage);
      return 2;
    }
    if (e instanceof ConfigError || name === 'ConfigError') {
      err((e as Error).message);
      return 2;
    }
    err(`callpilot ${command}: ${(e as Error).message}`);
    return 1;
  }
}
