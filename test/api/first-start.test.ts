import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isLoopback, startCallpilot } from '../../src/app.ts';
import { runTokensCommand } from '../../src/cli/tokens-command.ts';
import { configSchema } from '../../src/config/index.ts';
import { openSqliteStore } from '../../src/store/index.ts';
import { testLog } from '../support/run-log.ts';

const dir = mkdtempSync(join(tmpdir(), 'callpilot-first-start-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('first start beyond loopback without any token is refused, naming the command that makes one', async () => {
  const config = configSchema.parse({ server: { host: '0.0.0.0', port: 0 }, store: { path: join(dir, 'a.db'), recordingsDir: join(dir, 'rec') } });
  const outcome = await startCallpilot(config, { log: testLog(), cwd: dir }).then(
    async (app) => {
      await app.close();
      return 'started';
    },
    (err: Error) => err.message,
  );
  assert.match(outcome, /no API token exists/);
  assert.match(outcome, /callpilot tokens create --role admin/);
});

test('loopback binds are recognised', () => {
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) assert.ok(isLoopback(host), host);
  for (const host of ['0.0.0.0', '::', '10.0.0.5', 'callpilot.example']) assert.not.ok(isLoopback(host), host);
});

test('callpilot tokens create / list / revoke on the configured store, audited; bad input is a usage error', async () => {
  const db = join(dir, 'cli.db');
  const env = process.env.CALLPILOT_STORE_PATH;
  process.env.CALLPILOT_STORE_PATH = db;
  const out: string[] = [];
  const err: string[] = [];
  const run = (args: string[]) => runTokensCommand(args, (l) => out.push(l), (l) => err.push(l));
  try {
    assert.is(await run(['create', '--role', 'admin', '--name', 'ops lead', '--expires', '90d', '--grant', 'unmask']), 0);
    const token = out.find((l) => l.startsWith('cpt_'));
    assert.ok(token, out.join('\n'));
    const id = /created (tok_[0-9a-f]+)/.exec(out.join('\n'))?.[1];
    assert.ok(id);
    out.length = 0;
    assert.is(await run(['list']), 0);
    assert.match(out.join('\n'), new RegExp(`${id}\\s+active\\s+admin\\s+"ops lead"\\s+grants=unmask`));
    assert.not.match(out.join('\n'), /cpt_/);
    assert.is(await run(['revoke', id!]), 0);
    assert.is(await run(['revoke', id!]), 1);
    assert.is(await run(['create', '--role', 'root']), 2);
    assert.match(err.join('\n'), /unknown role "root"/);
    assert.is(await run(['create']), 2);
    assert.is(await run(['create', '--role', 'auditor', '--expires', 'someday']), 2);
    out.length = 0;
    assert.is(await run(['--help']), 0);
    assert.match(out.join('\n'), /tokens create --role ROLE/);

    const store = openSqliteStore(db);
    try {
      const actions = (await store.audit.list({ limit: 10 })).map((e) => `${e.action}:${e.actor}`);
      assert.equal(actions, ['token.create:cli', 'token.revoke:cli']);
      assert.equal(await store.audit.verify(), { ok: true, rows: 2 });
    } finally {
      await store.close();
    }
  } finally {
    if (env === undefined) delete process.env.CALLPILOT_STORE_PATH;
    else process.env.CALLPILOT_STORE_PATH = env;
  }
});

test.run();
