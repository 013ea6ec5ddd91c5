import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createLogger } from '../../src/observability/index.ts';
import { LeakScanner } from '../support/leak-scanner.ts';
import { REPO_ROOT } from '../support/e2e.ts';

/* The log checks must themselves be able to fail: the line scanner, and `npm test`'s check over the whole run. */

function scanned(secrets: string[]): { log: ReturnType<typeof createLogger>; scanner: LeakScanner; reports: string[] } {
  const reports: string[] = [];
  const scanner = new LeakScanner((r) => reports.push(r), secrets);
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      scanner.feed(chunk.toString());
      done();
    },
  });
  return { log: createLogger({ level: 'debug' }, sink), scanner, reports };
}

test('the scanner passes masked production lines and flags a full number, spoken digits, a card, a token or a named secret', () => {
  const clean = scanned(['esl-pw-0a9b8c']);
  clean.log.info({ from: '13812345678', password: 'esl-pw-0a9b8c' }, 'inbound call');
  clean.log.child({ callId: 'c1' }).debug({ event: { text: '我的手机是一三八一二三四五六七八' } }, 'timeline');
  // The fraction digits of a timing are no phone number.
  clean.log.debug({ audioMs: 6115.14739229025 }, 'espeak-ng sentence');
  clean.scanner.flush();
  assert.is(clean.scanner.lines, 3);
  assert.equal(clean.reports, []);

  for (const [what, write] of [
    ['a number in the message text', (l: ReturnType<typeof createLogger>) => l.info('dialling 13812345678')],
    ['spoken Chinese digits', (l: ReturnType<typeof createLogger>) => l.info({ note: '一三八一二三四五六七八' }, 'x')],
    ['a card number', (l: ReturnType<typeof createLogger>) => l.warn({ note: '6222021234567890128' }, 'x')],
    ['an API token', (l: ReturnType<typeof createLogger>) => l.info({ note: 'cpt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, 'x')],
    ['a named secret', (l: ReturnType<typeof createLogger>) => l.info({ url: 'http://x/?k=esl-pw-0a9b8c' }, 'x')],
  ] as const) {
    const s = scanned(['esl-pw-0a9b8c']);
    write(s.log);
    assert.is(s.scanner.leaks, 1, what);
    assert.is(s.reports.length, 1, what);
  }
});

/** `npm test`'s runner on the fixture suite alone (a folder of its own holding one test file that runs it). */
function runSuites(mode: 'leaky' | 'clean'): Promise<{ code: number | null; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'callpilot-leaky-suite-'));
  writeFileSync(join(dir, 'leaky.test.ts'), `import ${JSON.stringify(join(REPO_ROOT, 'test/support/fixtures/leaky-suite.ts'))};\n`);
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/run-suites.ts'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUN_SUITES_ONLY: dir, LEAKY_SUITE_MODE: mode },
  });
  child.on('close', () => rmSync(dir, { recursive: true, force: true }));
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out })));
}

test('npm test fails when any process of the run logs a full number, and passes when every line is masked', async () => {
  const leaky = await runSuites('leaky');
  assert.is(leaky.code, 1, leaky.out);
  // In-process, a SIGKILLed child logging through testLog(), a child on the production logger: three leaks.
  assert.match(leaky.out, /log lines from \d+ processes checked, 3 leaked/, leaky.out);
  assert.match(leaky.out, /^1 passed, 1 failed$/m, leaky.out);
  assert.is(leaky.out.match(/in: .*dialling 13812345678/g)?.length, 2, 'the leaked lines are printed');
  assert.not.match(leaky.out, /an API token secret/, 'a CLI printing a token is output, not a log line');

  const clean = await runSuites('clean');
  assert.is(clean.code, 0, clean.out);
  assert.match(clean.out, /log lines from \d+ processes checked, 0 leaked/, clean.out);
  assert.match(clean.out, /^1 passed, 0 failed$/m, clean.out);
});

/** Tests that check a logger's own output line by line (the masking itself), so they build one over their sink. */
const OWN_LOGGER_TESTS = new Set([
  'test/calls/log-leak-detector.test.ts',
  'test/calls/log-masking.test.ts',
  'test/config/secret-files.test.ts',
  'test/core/number-mask.test.ts',
  'test/observability/observability.test.ts',
  'test/support/fixtures/leaky-child.ts',
  'test/support/run-log.ts',
]);

/** Everything under test/, and bench/lib's tests (its other files are benchmark tools, not run by `npm test`). */
function testSources(): Array<{ file: string; text: string }> {
  return [
    ['test', '.ts'],
    ['bench/lib', '.test.ts'],
  ].flatMap(([dir, suffix]) =>
    readdirSync(join(REPO_ROOT, dir!), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith(suffix!))
      .map((e) => {
        const path = join(e.parentPath, e.name);
        return { file: relative(REPO_ROOT, path), text: readFileSync(path, 'utf8') };
      }),
  );
}

test('every logger a test uses is checked: no test builds its own, and every spawned callpilot has its logs scanned', () => {
  const sources = testSources();
  const ownLoggers = sources.filter((s) => !OWN_LOGGER_TESTS.has(s.file) && /\bpino\(|\bcreateLogger\(/.test(s.text)).map((s) => s.file);
  assert.equal(ownLoggers, [], 'use testLog() from test/support/run-log.ts');
  const unscanned = sources.filter((s) => /bin\/callpilot\.js/.test(s.text) && /\b(spawn|execFile)\(/.test(s.text) && !s.text.includes('scanChildLogs(')).map((s) => s.file);
  assert.equal(unscanned, [], 'pass a spawned callpilot\'s stdout and stderr to scanChildLogs()');
  const appWithoutLog = sources.filter((s) => /startCallpilot\(config, \{(?![^}]*\blog\b)/.test(s.text)).map((s) => s.file);
  assert.equal(appWithoutLog, [], 'give startCallpilot the test logger');
});

test.run();
