import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO_ROOT } from '../support/e2e.ts';
import { until } from '../support/wait.ts';

// `npm test` (test/run-suites.ts) on three small suites: one with a failing test, one that passes after it, one
// that dies before uvu can report. None may hide another, and the last line counts all of them.
const work = mkdtempSync(join(tmpdir(), 'callpilot-run-suites-'));
symlinkSync(join(REPO_ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');
test.after(() => rmSync(work, { recursive: true, force: true }));

function suite(name: string, body: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, `${name}.test.ts`), `import { test } from 'uvu';\nimport * as assert from 'uvu/assert';\n${body}\ntest.run();\n`);
  return dir;
}

function runSuites(dirs: string[]): { stdout: string; status: number | null; lines: string[] } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/run-suites.ts')], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, RUN_SUITES_ONLY: dirs.join(',') },
    timeout: 120_000,
  });
  return { stdout: r.stdout, status: r.status, lines: r.stdout.trim().split('\n') };
}

test('every suite runs although an earlier one failed or crashed; one closing line; exit 1', () => {
  const failing = suite('failing', "test('one passes', () => assert.is(1, 1));\ntest('one fails', () => assert.is(1, 2));");
  const crashing = suite('crashing', 'process.exit(3);');
  const passing = suite('passing', "test('passes', () => assert.ok(true));");
  const r = runSuites([failing, crashing, passing]);
  const lines = r.lines;
  assert.is(lines.at(-1), '2 passed, 2 failed', r.stdout.slice(-800));
  assert.is(r.status, 1);
  assert.match(r.stdout, 'passing.test.ts', 'the suite after the failures ran');
  assert.match(r.stdout, `${crashing}: crashed (exit 3) before reporting`);
  assert.match(lines.at(-2) ?? '', /^suites took \d+ s$/);
  // Where the time went, per test file (a slow CI run's log must say), and how loaded the machine was.
  assert.match(lines.at(-4) ?? '', new RegExp(`^slowest files: .*${failing}/failing\\.test\\.ts \\d+ s`));
  assert.match(lines.at(-4) ?? '', `${passing}/passing.test.ts`);
  assert.match(lines.at(-3) ?? '', /^load average at the end: [\d.]+ [\d.]+ [\d.]+$/);
  // CI shows only the tail of a run: the closing lines name the failed test and its assertion.
  const closing = lines.slice(lines.findIndex((l) => l.startsWith('log leak detector:')));
  assert.ok(
    closing.some((l) => l.startsWith(`failed: ${failing}/failing.test.ts: "one fails": Expected values to be strictly equal`)),
    closing.join('\n'),
  );
});

test('all passing: exit 0 and "N passed, 0 failed"', () => {
  const passing = suite('alone', "test('a', () => assert.ok(true));\ntest('b', () => assert.ok(true));");
  const r = runSuites([passing]);
  assert.is(r.lines.at(-1), '2 passed, 0 failed', r.stdout.slice(-800));
  assert.is(r.status, 0);
});

test('stopped by SIGTERM (a hang guard): it names the file it was in, the slowest files so far and the load', async () => {
  const quick = suite('quick', "test('a', () => assert.ok(true));");
  const hanging = suite('hanging', "test('never ends', () => new Promise(() => setInterval(() => {}, 1000)));");
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/run-suites.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, RUN_SUITES_ONLY: [quick, hanging].join(',') },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await until(() => out.includes('hanging.test.ts'), 'the hanging file to start', 60_000);
    child.kill('SIGTERM');
    assert.is(await exited, 143);
  } finally {
    child.kill('SIGKILL');
  }
  assert.match(out, new RegExp(`stopped by SIGTERM after \\d+ s in ${hanging}/hanging\\.test\\.ts \\(running for \\d+ s\\)`));
  assert.match(out, new RegExp(`slowest files: .*${quick}/quick\\.test\\.ts \\d+ s`));
  assert.match(out, /load average: [\d.]+ [\d.]+ [\d.]+/);
});

test.run();
