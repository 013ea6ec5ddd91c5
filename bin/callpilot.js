#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so there is no build step between `npm install` and `npm start`.
const argv = process.argv.slice(2);
// `start` binds its port first, in plain JavaScript: /healthz answers before tsx and the module graph load (seconds
// of CPU on a busy machine), and a taken port is known at once.
const early = argv[0] === 'start' ? await (await import('../src/cli/early-listener.js')).bindEarly(argv.slice(1)) : undefined;
const { register } = await import('tsx/esm/api');
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(argv, undefined, { early });
