import { readFileSync } from 'node:fs';

/** callpilot's version, from package.json (node registry, build info, `--version`). */
export const CALLPILOT_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
