import { parseArgs } from 'node:util';
import { runFlowsCheck } from '../dialog/index.ts';
import { ConfigError, loadConfig, renderConfigReference } from '../config/index.ts';
import { runModelsCommand } from './models-command.ts';
import { runSimulate } from './simulate-command.ts';
import { runStart } from './start-command.ts';
import { runTokensCommand } from './tokens-command.ts';

const USAGE = `callpilot — voice-bot media server for Asterisk and FreeSWITCH

Usage:
  callpilot start [--config FILE]              run the server (HTTP, media WebSocket, PBX adapters)
  callpilot simulate [--wav FILE] [--lang zh|en] [--flow NAME] [--url URL --token TOKEN] [--config FILE]
                                               call the bot like a phone: stream a WAV (or a built-in
                                               demo conversation) in real time and print the timeline
  callpilot models list                        known models and where they are installed
  callpilot models pull NAME [--sha256 HEX] [--force]
                                               download a released model into the cache (checksum-verified)
  callpilot flows check FILE...                validate flow files, with line numbers and fix hints
  callpilot config check [--config FILE]       validate a config file
  callpilot config reference                   print every config key, its default and env variable
  callpilot tokens create --role ROLE [--name N] [--expires 30d] [--grant unmask]
                                               create an API token (shown once); roles admin,
                                               operator, auditor, pbx
  callpilot tokens list | tokens revoke ID     list tokens / revoke one (see callpilot tokens --help)
`;

/** Entry point of the `callpilot` command; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const out = (line: string): void => void process.stdout.write(`${line}\n`);
  const err = (line: string): void => void process.stderr.write(`${line}\n`);
  try {
    switch (command) {
      case 'start':
        return await runStart(rest);
      case 'simulate':
        return await runSimulate(rest, out);
      case 'tokens':
        return await runTokensCommand(rest, out, err);
      case 'models':
        return await runModelsCommand(rest, out, err);
      case 'flows':
        if (rest[0] !== 'check') break;
        return await runFlowsCheck(rest.slice(1), out);
      case 'config': {
        if (rest[0] === 'reference') {
          out(renderConfigReference());
          return 0;
        }
        if (rest[0] === 'check') {
          const { values } = parseArgs({ args: rest.slice(1), options: { config: { type: 'string' } } });
          loadConfig({ path: values.config });
          out('config OK');
          return 0;
        }
        break;
      }
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        out(USAGE);
        return 0;
    }
    err(`unknown command: ${argv.join(' ')}\n`);
    err(USAGE);
    return 2;
  } catch (e) {
    if (e instanceof ConfigError) {
      err(e.message);
      return 2;
    }
    err(`callpilot ${command}: ${(e as Error).message}`);
    return 1;
  }
}
