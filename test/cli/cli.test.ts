import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml } from 'yaml';
import { main } from '../../src/cli/main.ts';
import { REPO_ROOT } from '../support/e2e.ts';
import { scanChildLogs } from '../support/run-log.ts';

const work = mkdtempSync(join(tmpdir(), 'callpilot-cli-test-'));

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** The real command in a child process (what a user types), with its own environment. */
function spawnCli(args: string[], env: Record<string, string>): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO_ROOT, 'bin/callpilot.js'), ...args], { cwd: work, env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      scanChildLogs(stdout);
      scanChildLogs(stderr);
      resolve({ code, out: stdout, err: stderr });
    });
  });
}

test.after(() => rmSync(work, { recursive: true, force: true }));

test('--version prints the package version', async () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await run([flag]);
    assert.is(r.code, 0);
    assert.is(r.out, pkg.version);
  }
});

test('--help works on every command and subcommand, on stdout, exit 0', async () => {
  const cases: Array<[string[], string]> = [
    [['--help'], 'callpilot start'],
    [['start', '--help'], 'usage: callpilot start'],
    [['simulate', '--help'], 'usage: callpilot simulate'],
    [['simulate', '-h'], 'usage: callpilot simulate'],
    [['models', '--help'], 'usage: callpilot models'],
    [['models', 'list', '--help'], 'usage: callpilot models list'],
    [['models', 'pull', '--help'], 'trust on first use'],
    [['models', 'use', '--help'], 'usage: callpilot models use'],
    [['flows', '--help'], 'usage: callpilot flows check'],
    [['flows', 'check', '--help'], 'usage: callpilot flows check'],
    [['config', '--help'], 'usage: callpilot config'],
    [['config', 'check', '--help'], 'usage: callpilot config check'],
    [['config', 'reference', '--help'], 'usage: callpilot config reference'],
  ];
  for (const [argv, expected] of cases) {
    const r = await run(argv);
    assert.is(r.code, 0, argv.join(' '));
    assert.ok(r.out.includes(expected), `${argv.join(' ')} printed:\n${r.out}`);
    assert.is(r.err, '', argv.join(' '));
  }
});

test('unknown commands, subcommands and options: the problem and the usage on stderr, exit 2', async () => {
  const cases: Array<[string[], string, string]> = [
    [['bogus'], 'unknown command "bogus"', 'Usage:'],
    [['start', '--bogus'], "Unknown option '--bogus'", 'usage: callpilot start'],
    [['simulate', '--wav'], "'--wav <value>' argument missing", 'usage: callpilot simulate'],
    [['models', 'fetch'], 'unknown subcommand "models fetch"', 'usage: callpilot models'],
    [['models', 'pull'], 'missing model name', 'usage: callpilot models pull'],
    [['models', 'pull', 'zh-en', '--sha256', 'xyz'], '--sha256 takes 64 hex digits', 'usage: callpilot models pull'],
    [['models', 'use', 'no-such-model'], 'unknown model "no-such-model"', 'usage: callpilot models use'],
    [['flows'], 'missing subcommand', 'usage: callpilot flows check'],
    [['flows', 'check'], 'no flow file or folder given', 'usage: callpilot flows check'],
    [['config', 'check', 'extra'], 'unexpected argument: extra', 'usage: callpilot config check'],
  ];
  for (const [argv, problem, usage] of cases) {
    const r = await run(argv);
    assert.is(r.code, 2, argv.join(' '));
    assert.ok(r.err.includes(problem), `${argv.join(' ')}: ${r.err}`);
    assert.ok(r.err.includes(usage), `${argv.join(' ')}: ${r.err}`);
    assert.is(r.out, '', argv.join(' '));
  }
});

test('simulate: an unknown language or flow is a usage error naming the valid ones, before any call', async () => {
  const lang = await run(['simulate', '--lang', 'fr', '--url', 'http://127.0.0.1:9']);
  assert.is(lang.code, 2);
  assert.match(lang.err, 'unknown language "fr"; valid: zh, en');
  const flow = await run(['simulate', '--flow', 'nonexistent']);
  assert.is(flow.code, 2);
  assert.match(flow.err, 'unknown flow "nonexistent"; valid: ');
  assert.match(flow.err, 'credit_card_overdue');
  assert.match(flow.err, 'demo');
  assert.not.match(flow.out, 'calling', 'nothing was dialled');
});

test('flows check reports every problem of a file broken three ways, with the path as given', async () => {
  const file = join(work, 'three.yaml');
  // Broken three ways: a schema error (lang), an unknown key (gotoo), and semantic errors the schema error used
  // to hide (a transition to a step that does not exist, an unknown formatter).
  writeFileSync(
    file,
    [
      'flow: three',
      'lang: fr',
      'start: greeting',
      'variables:',
      '  company: { default: X }',
      'steps:',
      '  greeting:',
      '    say: "Hello {{company | shout}}"',
      '    on:',
      '      yes: byebye',
      '    no_input: { retries: 1, goto: bye }',
      '    no_match: { retries: 1, goto: bye }',
      '  bye:',
      '    say: "Bye"',
      '    end: done',
      '    gotoo: greeting',
      '',
    ].join('\n'),
  );
  const r = await run(['flows', 'check', file]);
  assert.is(r.code, 1);
  const errors = r.out.split('\n').filter((l) => l.includes(': error ['));
  assert.ok(errors.some((l) => l.includes('[schema] lang')), r.out);
  assert.ok(errors.some((l) => l.includes('gotoo')), r.out);
  assert.ok(errors.some((l) => l.includes('[unknown-step]') && l.includes('byebye')), r.out);
  assert.ok(errors.some((l) => l.includes('[unknown-formatter]') && l.includes('shout')), r.out);
  for (const l of errors) assert.ok(l.startsWith(`${file}:`), `path kept as given: ${l}`);
  assert.match(r.out, `1 file(s) checked: ${errors.length} error(s)`);
});

// ---- models pull / use / list through the real command, against a release served on 127.0.0.1 ----

let server: Server;
let archive: Buffer;
let requests = 0;

test.before(async () => {
  // A stand-in for the vits-melo-tts-zh_en release: the registry's layout, tiny files.
  const src = join(work, 'release', 'vits-melo-tts-zh_en');
  mkdirSync(join(src, 'dict'), { recursive: true });
  writeFileSync(join(src, 'model.onnx'), Buffer.alloc(200_000, 7));
  writeFileSync(join(src, 'tokens.txt'), 'a 0\n');
  writeFileSync(join(src, 'lexicon.txt'), 'a a\n');
  writeFileSync(join(src, 'dict', 'jieba.dict.utf8'), 'x\n');
  execFileSync('tar', ['-cjf', join(work, 'release.tar.bz2'), '-C', join(work, 'release'), 'vits-melo-tts-zh_en']);
  archive = readFileSync(join(work, 'release.tar.bz2'));
  server = createServer((req, res) => {
    requests++;
    if (req.url !== '/vits-melo-tts-zh_en.tar.bz2') return void res.writeHead(404, 'Not Found').end();
    res.writeHead(200, { 'content-length': String(archive.length) });
    res.end(archive);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

test.after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('models pull (download, verify, record in the lock), models use (writes the config), models list (marks it)', async () => {
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const env = { XDG_CACHE_HOME: join(work, 'cache'), CALLPILOT_MODELS_LOCK: join(work, 'models.lock.json'), CALLPILOT_MODELS: '', CALLPILOT_CONFIG: '' };
  const missing = await spawnCli(['models', 'pull', 'tts-zh-en', '--from', `${url}/nothing-here.tar.bz2`], env);
  assert.is(missing.code, 1);
  assert.match(missing.err, `GET ${url}/nothing-here.tar.bz2: HTTP 404 Not Found`);

  const pulled = await spawnCli(['models', 'pull', 'tts-zh-en', '--from', `${url}/vits-melo-tts-zh_en.tar.bz2`], env);
  assert.is(pulled.code, 0, pulled.err);
  assert.match(pulled.err, /downloading vits-melo-tts-zh_en .*100%/, 'progress on stderr');
  assert.match(pulled.out, `installed vits-melo-tts-zh_en in ${join(work, 'cache', 'callpilot', 'models', 'vits-melo-tts-zh_en')}`);
  assert.match(pulled.out, 'trusted on first use');
  assert.match(pulled.out, 'speech.tts.model: vits-melo-tts-zh_en');
  const lock = JSON.parse(readFileSync(env.CALLPILOT_MODELS_LOCK, 'utf8'));
  assert.is(lock.models['vits-melo-tts-zh_en'].trust, 'first-use');
  assert.ok(existsSync(join(work, 'cache', 'callpilot', 'models', 'vits-melo-tts-zh_en', 'dict', 'jieba.dict.utf8')));

  const config = join(work, 'callpilot.yaml');
  writeFileSync(config, '# my settings\nserver:\n  port: 9999 # mine\n');
  const used = await spawnCli(['models', 'use', 'tts-zh-en', '--config', config], env);
  assert.is(used.code, 0, used.err);
  const written = readFileSync(config, 'utf8');
  assert.match(written, '# mine', 'comments kept');
  const parsed = parseYaml(written) as { server: { port: number }; speech: { tts: { engine: string; model: string } } };
  assert.is(parsed.server.port, 9999);
  assert.equal(parsed.speech.tts, { engine: 'sherpa', model: 'vits-melo-tts-zh_en' });

  const listed = await spawnCli(['models', 'list', '--config', config], env);
  assert.is(listed.code, 0, listed.err);
  const line = listed.out.split('\n').find((l) => l.includes('vits-melo-tts-zh_en'))!;
  assert.match(line, /^\* /);
  assert.match(line, 'installed (cache');
  assert.match(line, 'used by the config (speech.tts.model)');
  const zipformer = listed.out.split('\n').find((l) => l.includes('zipformer'))!;
  assert.match(zipformer, 'not installed: callpilot models pull zh-en');
  assert.ok(requests >= 2);
});

test('models use refuses a model that is not installed', async () => {
  const env = { XDG_CACHE_HOME: join(work, 'empty-cache'), CALLPILOT_MODELS: '' };
  const config = join(work, 'untouched.yaml');
  writeFileSync(config, 'server:\n  port: 9998\n');
  const r = await spawnCli(['models', 'use', 'zh-en', '--config', config], env);
  assert.is(r.code, 1);
  assert.match(r.err, 'not installed; install it first: callpilot models pull zh-en');
  assert.is(readFileSync(config, 'utf8'), 'server:\n  port: 9998\n');
});

test.run();
