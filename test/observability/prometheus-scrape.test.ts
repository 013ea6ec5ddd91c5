import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { startScriptedApp, type ScriptedApp } from '../calls/scripted-app.ts';
import { issueToken } from '../support/auth.ts';
import { freePort, REPO_ROOT } from '../support/e2e.ts';
import { until } from '../support/wait.ts';
import { dashboardQueries, expandGrafanaVariables } from './dashboard-queries.ts';

/*
 * A real Prometheus (Debian's package, installed by .ci/run) with the compose demo's docker/prometheus/prometheus.yml,
 * changed only where the test machine differs (the target's port, the token file's path, a 1 s scrape): the config
 * loads, the scrape authenticates with an auditor token as compose sets it up, Prometheus's own parser takes the
 * exposition, and every Grafana dashboard query evaluates on the scraped data. The static check beside it
 * (grafana-dashboard.test.ts) reads the same files with the PromQL grammar only.
 */

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';

interface PromResponse {
  status: string;
  error?: string;
  data: unknown;
}

if (!existsSync(PROMETHEUS) || !existsSync(PROMTOOL)) {
  console.log('prometheus-scrape.test.ts skipped: Prometheus is not installed (apt-get install prometheus; .ci/run does)');
} else {
  let scripted: ScriptedApp | undefined;
  let prometheus: ChildProcess | undefined;
  let promUrl = '';
  let dir = '';
  let promLog = '';

  async function query(path: string, params: Record<string, string>): Promise<PromResponse> {
    const res = await fetch(`${promUrl}${path}?${new URLSearchParams(params)}`);
    return (await res.json()) as PromResponse;
  }

  test.before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'callpilot-prometheus-'));
    scripted = await startScriptedApp();
    // Compose's Prometheus scrapes with an auditor token (docker/README.md): the least role /metrics accepts.
    const tokenFile = join(dir, 'callpilot-token');
    writeFileSync(tokenFile, await issueToken(scripted.app.store, 'auditor', { name: 'prometheus' }), { mode: 0o600 });
    const config = parseYaml(readFileSync(join(REPO_ROOT, 'docker/prometheus/prometheus.yml'), 'utf8')) as Record<string, any>;
    config.global.scrape_interval = '1s';
    config.global.evaluation_interval = '1s';
    const job = config.scrape_configs.find((j: Record<string, unknown>) => j.job_name === 'callpilot');
    assert.ok(job, 'a callpilot scrape job');
    job.authorization.credentials_file = tokenFile;
    job.static_configs[0].targets = [new URL(scripted.app.url).host];
    const configFile = join(dir, 'prometheus.yml');
    writeFileSync(configFile, stringifyYaml(config));
    const check = spawnSync(PROMTOOL, ['check', 'config', configFile], { encoding: 'utf8' });
    assert.is(check.status, 0, `promtool check config: ${check.stdout}${check.stderr}`);

    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prometheus = spawn(PROMETHEUS, [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    prometheus.stderr?.on('data', (chunk: Buffer) => {
      promLog = (promLog + chunk.toString()).slice(-4000);
    });
    // The log is read when the wait fails, not when it starts (it is empty then).
    await until(async () => (await fetch(`${promUrl}/-/ready`).catch(() => undefined))?.status === 200, 'Prometheus ready', 30_000).catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)} (exit code ${prometheus?.exitCode}; log: ${promLog})`);
    });
  });

  test.after(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((resolve) => prometheus!.once('exit', resolve));
      prometheus.kill('SIGTERM');
      await exited;
    }
    await scripted?.dispose();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the shipped scrape config reaches callpilot with the auditor token, and the target is up', async () => {
    let health = '';
    let lastError = '';
    await until(async () => {
      const targets = (await query('/api/v1/targets', { state: 'active' })).data as { activeTargets: Array<{ labels: Record<string, string>; health: string; lastError: string }> };
      const target = targets.activeTargets.find((t) => t.labels.job === 'callpilot');
      health = target?.health ?? 'none';
      lastError = target?.lastError ?? '';
      return health === 'up';
    }, 'the callpilot target to be scraped', 30_000).catch(() => assert.unreachable(`target health ${health}: ${lastError}`));
    const up = (await query('/api/v1/query', { query: 'up{job="callpilot"}' })).data as { result: Array<{ value: [number, string] }> };
    assert.is(up.result[0]?.value[1], '1');
  });

  test('a scrape without the token is refused, as Prometheus reports it', async () => {
    const res = await fetch(`${scripted!.app.url}/metrics`);
    assert.is(res.status, 401, 'without credentials /metrics answers 401, so the token in the config is what made the target up');
  });

  test('every Grafana dashboard query evaluates on the scraped data, and the headline panels have series', async () => {
    // Two scrapes at least, so rate() and increase() have samples to work on.
    await until(async () => {
      const r = (await query('/api/v1/query', { query: 'count_over_time(up{job="callpilot"}[1m])' })).data as { result: Array<{ value: [number, string] }> };
      return Number(r.result[0]?.value[1] ?? 0) >= 3;
    }, 'three scrapes', 30_000);
    const failures: string[] = [];
    const empty: string[] = [];
    for (const q of dashboardQueries()) {
      // The dashboard's variables: every value ('.*', as Grafana's "All" sends) and the interval ones.
      const expr = expandGrafanaVariables(q.expr).replace(/\$[a-z_]+/g, '.*');
      const r = await query('/api/v1/query', { query: q.labelValues ? `count by (${q.labelValues}) (${expr})` : expr });
      if (r.status !== 'success') failures.push(`${q.where}: ${r.error}`);
      else if ((r.data as { result: unknown[] }).result.length === 0) empty.push(q.where);
    }
    assert.equal(failures, [], 'every query is valid PromQL for a real Prometheus');
    // With no call up yet, the stat panels an operator reads first still show a value (0 calls, the build), not "No data".
    for (const panel of ['Active calls', 'Build', 'CPU (cores)', 'Resident memory', 'Event loop lag p99']) {
      assert.not.ok(empty.some((w) => w.startsWith(`panel "${panel}"`)), `panel "${panel}" has data (empty: ${empty.join('; ')})`);
    }
  });
}

test.run();
